//! New chats (`:ZenNew openrouter`: the model cascade, name, history file, buffer), submitting
//! a chat buffer, and stopping its answer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::submit;
use crate::app::which::session_dir;
use crate::app::{Error, Result, Shared, Which};
use crate::data::{model_id, transcript, SessionMeta};

/// `:ZenNew openrouter key=value...` run in `cwd`.
#[derive(Deserialize)]
pub struct NewChat {
    #[serde(default, deserialize_with = "crate::data::map_or_empty_list")]
    pub args: HashMap<String, String>,
    pub cwd: PathBuf,
}

const NEW_CHAT_KEYS: &[&str] = &["model", "temperature", "name", "dir", "prompt", "web"];

/// A chat just created.
#[derive(Serialize)]
pub struct NewChatSession {
    pub id: String,
    pub buf: i64,
    pub name: String,
    pub model: String,
}

/// Creates an OpenRouter chat session and its buffer; with `prompt=`, sends it at once.
pub async fn new_chat(app: &Shared, req: NewChat) -> Result<NewChatSession> {
    if let Some(bad) = req
        .args
        .keys()
        .find(|k| !NEW_CHAT_KEYS.contains(&k.as_str()))
    {
        return Err(Error::refused(format!(
            "unknown argument '{bad}' for :ZenNew openrouter. Known: {}.",
            NEW_CHAT_KEYS.join(", ")
        )));
    }
    let prompt = req.args.get("prompt").filter(|p| !p.trim().is_empty());
    let chat = create_chat(app, &req.args, &req.cwd, prompt.map(String::as_str)).await?;
    if prompt.is_some() {
        if let Err(e) = submit::start_turn(app, &chat.id, chat.buf, None).await {
            // The chat exists and holds the prompt: show it, and say why it was not sent.
            app.ready()?.ui.notify(&e.to_string(), "error").await;
        }
    }
    Ok(chat)
}

/// Creates a chat session (settings cascade, name, history file) and its buffer, with `prompt`
/// typed under the first `## User` header.
pub async fn create_chat(
    app: &Shared,
    args: &HashMap<String, String>,
    cwd: &Path,
    prompt: Option<&str>,
) -> Result<NewChatSession> {
    let ready = app.ready()?;
    let (dir, cfg) = session_dir(&ready.config, cwd, args.get("dir"))?;
    // Cascade: setup() < the model picked outside a chat < the project file < model=.
    let project_model = (cfg.openrouter.default_model != ready.config.openrouter.default_model)
        .then(|| cfg.openrouter.default_model.clone());
    let model = args
        .get("model")
        .cloned()
        .or(project_model)
        .or(app.prefs().default_model)
        .unwrap_or(cfg.openrouter.default_model.clone());
    if model.trim().is_empty() {
        return Err(Error::refused(
            "model= is empty. Give a model id such as openai/gpt-4o.",
        ));
    }
    model_id::check(&model).map_err(|why| model_id::refused(&model, "model=", why))?;
    let temperature = args.get("temperature").map(|t| parse_temperature(t));
    let web = args.get("web").map(|w| super::web::parse_switch(w, "web="));
    let name = app.choose_name(args.get("name"), "chat")?;
    let id = uuid::Uuid::new_v4().to_string();
    let mut meta = SessionMeta::new_chat(id.clone(), name.clone(), model.clone(), dir);
    meta.temperature = temperature.transpose()?;
    meta.web = web.transpose()?.unwrap_or(false);
    app.add_session(meta).await?;

    let mut chat = transcript::render(&transcript::title(&name, &model), &[]);
    if let Some(p) = prompt {
        chat.lines.extend(p.split('\n').map(String::from));
    }
    let buf = ready
        .ui
        .create_chat_buffer(&id, &name, &chat)
        .await
        .map_err(|e| Error::io("creating the chat buffer", e))?;
    app.registry.with(&id, |e| e.buf = Some(buf));
    let fill = Some(super::context::fill(&[]));
    super::context::show(app, buf, &id, &model, fill).await;
    Ok(NewChatSession {
        id,
        buf,
        name,
        model,
    })
}

fn parse_temperature(text: &str) -> Result<f64> {
    match text.parse::<f64>() {
        Ok(t) if (0.0..=2.0).contains(&t) => Ok(t),
        _ => Err(Error::refused(format!(
            "temperature={text} must be a number from 0 to 2."
        ))),
    }
}

/// `:ZenSubmit` in buffer `buf`, coming from `origin` (for `#buffer` and `#diagnostics`).
#[derive(Deserialize)]
pub struct Submit {
    #[serde(flatten)]
    pub which: Which,
    #[serde(default)]
    pub origin: Option<i64>,
}

/// Sends the conversation in a chat buffer and streams the answer into it; answers its id.
pub async fn submit(app: &Shared, req: Submit) -> Result<String> {
    let buf = req.which.buf.ok_or(Error::NoneHere)?;
    let id = app.resolve(&req.which)?.ok_or_else(|| {
        Error::refused(
            "this buffer is not a zen chat. Open one with :ZenNew openrouter or :ZenList.",
        )
    })?;
    submit::start_turn(app, &id, buf, req.origin).await?;
    Ok(id)
}

/// Cancels the running answer; what arrived stays, marked as stopped. False when none ran.
pub fn stop(app: &Shared, which: &Which) -> Result<bool> {
    let id = app
        .resolve(which)?
        .ok_or_else(|| Error::refused("no chat here to stop. Run :ZenStop in a chat buffer."))?;
    Ok(app.registry.cancel(&id, crate::app::registry::End::Stopped))
}
