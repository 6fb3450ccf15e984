//! `send`: code as a prompt (`:ZenSend`, the `<Plug>(zen-send)` operator and visual mapping).
//! Picks the target session, formats the selection, types it into the chat and starts the turn.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::create::create_chat;
use crate::app::{Error, Result, Shared, Which};
use crate::send;

/// A selection (or text) for `:ZenSend`, and where it goes.
#[derive(Deserialize)]
pub struct SendReq {
    /// The selected text, line by line (empty: text only).
    #[serde(default)]
    lines: Vec<String>,
    #[serde(default)]
    first: Option<u64>,
    #[serde(default)]
    last: Option<u64>,
    #[serde(default)]
    path: String,
    #[serde(default)]
    filetype: String,
    #[serde(default)]
    instruction: String,
    #[serde(flatten)]
    target: Which,
    /// The user chose "new openrouter chat" in the target picker.
    #[serde(default)]
    new_chat: bool,
    /// The buffer the selection came from (for `#buffer` in the instruction).
    #[serde(default)]
    origin: Option<i64>,
    cwd: PathBuf,
}

/// Sends a selection (and/or text) to the target session; answers `{pick}` when there is no
/// obvious target, for Lua to ask.
pub async fn send(app: &Shared, req: SendReq) -> Result<Json> {
    let code = (!req.lines.is_empty()).then(|| req.lines.join("\n"));
    let label = send::label(&req.path, &req.cwd, req.first, req.last);
    let text = send::prompt(
        &req.instruction,
        code.as_deref().map(|c| {
            (
                label.as_str(),
                send::language_of(&req.filetype, &req.path),
                c,
            )
        }),
    );
    if text.is_empty() {
        return Err(Error::refused(
            "nothing to send. Select lines, give a range, or add text: :ZenSend explain this.",
        ));
    }
    let id = if req.new_chat {
        create_chat(app, &HashMap::new(), &req.cwd, None).await?.id
    } else if let Some(id) = app
        .resolve(&req.target)?
        .or_else(|| app.registry.last_used())
    {
        id
    } else {
        return Ok(json!({"pick": pick_rows(app)}));
    };
    if app.registry.with(&id, |e| e.active.is_some()) == Some(true) {
        let name = app
            .registry
            .with(&id, |e| e.meta.name.clone())
            .unwrap_or_default();
        return Err(Error::refused(format!(
            "{name} is still answering. Stop it with :ZenStop, or send when it is done."
        )));
    }
    if app.registry.with(&id, |e| e.meta.agent.is_some()) == Some(true) {
        return crate::agents::sessions::deliver(app, &id, &text).await;
    }
    let buf = super::sessions::chat_buffer(app, &id).await?;
    let ready = app.ready()?;
    ready
        .ui
        .append_prompt(buf, &text)
        .await
        .map_err(Error::Neovim)?;
    super::submit::start_turn(app, &id, buf, req.origin).await?;
    let name = app
        .registry
        .with(&id, |e| e.meta.name.clone())
        .unwrap_or_default();
    Ok(json!({"id": id, "buf": buf, "name": name}))
}

/// Every session, for the "send to which session?" picker (`model` is "" for an agent or a chat
/// without one: never null, which Lua would show as `vim.NIL`).
fn pick_rows(app: &Shared) -> Vec<Json> {
    app.registry
        .list()
        .into_iter()
        .filter(|row| row.meta.kind != "edit") // :ZenEdit's history, not a chat to send to
        .map(|row| {
            let model = row.meta.model.unwrap_or_default();
            json!({"id": row.meta.id, "name": row.meta.name, "kind": row.meta.kind, "model": model})
        })
        .collect()
}
