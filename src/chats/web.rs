//! `:ZenWeb [on|off]`: a chat's web search (OpenRouter's `web` plugin on each prompt), kept in
//! the session's metadata; `:ZenNew openrouter web=true` starts a chat with it on.

use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::app::{Error, Result, Shared, Which};

/// `:ZenWeb [on|off]` in a chat (no argument: toggle).
#[derive(Deserialize)]
pub struct SetWeb {
    #[serde(flatten)]
    pub which: Which,
    #[serde(default)]
    pub state: Option<String>,
}

/// Reads `on`/`off` (and `true`/`false`), for `:ZenWeb` and `web=`.
pub fn parse_switch(text: &str, what: &str) -> Result<bool> {
    match text {
        "on" | "true" => Ok(true),
        "off" | "false" => Ok(false),
        _ => Err(Error::refused(format!(
            "{what} takes on or off (true or false), not '{text}'."
        ))),
    }
}

/// Turns the chat's web search on, off, or over; answers `{name, web}`.
pub async fn set_web(app: &Shared, req: SetWeb) -> Result<Json> {
    let id = app.resolve(&req.which)?.ok_or_else(|| {
        Error::refused("no chat here. Run :ZenWeb in a chat buffer (:ZenNew openrouter web=true starts one with it on).")
    })?;
    let wanted = req
        .state
        .as_deref()
        .map(|s| parse_switch(s, ":ZenWeb"))
        .transpose()?;
    let (name, web) = app
        .registry
        .with(&id, |e| {
            if e.meta.agent.is_some() {
                return Err(Error::refused(
                    ":ZenWeb is for chats; an agent searches the web its own way.",
                ));
            }
            e.meta.web = wanted.unwrap_or(!e.meta.web);
            Ok((e.meta.name.clone(), e.meta.web))
        })
        .ok_or(Error::Gone)??;
    app.save_index().await;
    Ok(json!({"name": name, "web": web}))
}
