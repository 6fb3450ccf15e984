//! Chat requests: `new_chat`, `submit`, `stop`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{args, Reply};
use crate::app::Shared;
use crate::data::session::validate_name;
use crate::data::{transcript, SessionMeta};
use crate::session::submit;

#[derive(Deserialize)]
struct NewChat {
    #[serde(default, deserialize_with = "super::map_or_empty_list")]
    args: HashMap<String, String>,
    cwd: PathBuf,
}

const NEW_CHAT_KEYS: &[&str] = &["model", "temperature", "name", "dir", "prompt"];

/// Creates an OpenRouter chat session and its buffer; with `prompt=`, sends it at once.
pub async fn new_chat(app: &Shared, arg: Json) -> Reply {
    let req: NewChat = args(arg)?;
    if let Some(bad) = req
        .args
        .keys()
        .find(|k| !NEW_CHAT_KEYS.contains(&k.as_str()))
    {
        return Err(format!(
            "zen: unknown argument '{bad}' for :ZenNew openrouter. Known: {}.",
            NEW_CHAT_KEYS.join(", ")
        ));
    }
    let prompt = req.args.get("prompt").filter(|p| !p.trim().is_empty());
    let chat = create_chat(app, &req.args, &req.cwd, prompt.map(String::as_str)).await?;
    if prompt.is_some() {
        if let Err(message) = submit::start_turn(app, &chat.id, chat.buf, None).await {
            // The chat exists and holds the prompt: show it, and say why it was not sent.
            app.ready()?.ui.notify(&message, "error").await;
        }
    }
    Ok(json!({"id": chat.id, "buf": chat.buf, "name": chat.name, "model": chat.model}))
}

/// A chat just created.
pub struct NewChatSession {
    pub id: String,
    pub buf: i64,
    pub name: String,
    pub model: String,
}

/// Creates a chat session (settings cascade, name, history file) and its buffer, with `prompt`
/// typed under the first `## User` header.
pub async fn create_chat(
    app: &Shared,
    args: &HashMap<String, String>,
    cwd: &Path,
    prompt: Option<&str>,
) -> Result<NewChatSession, String> {
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
        return Err("zen: model= is empty. Give a model id such as openai/gpt-4o.".into());
    }
    crate::data::model_id::check(&model)
        .map_err(|why| crate::data::model_id::refused(&model, "model=", &why))?;
    let temperature = args
        .get("temperature")
        .map(|t| parse_temperature(t))
        .transpose()?;
    let name = choose_name(app, args.get("name"), "chat")?;
    let id = uuid::Uuid::new_v4().to_string();
    let mut meta = SessionMeta::new_chat(id.clone(), name.clone(), model.clone(), dir);
    meta.temperature = temperature;
    app.add_session(meta).await?;

    let mut chat = transcript::render(&transcript::title(&name, &model), &[]);
    if let Some(p) = prompt {
        chat.lines.extend(p.split('\n').map(String::from));
    }
    let buf = ready
        .ui
        .create_chat_buffer(&id, &name, &chat)
        .await
        .map_err(|e| format!("zen: creating the chat buffer: {e:#}."))?;
    app.registry.with(&id, |e| e.buf = Some(buf));
    Ok(NewChatSession {
        id,
        buf,
        name,
        model,
    })
}

fn parse_temperature(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(t) if (0.0..=2.0).contains(&t) => Ok(t),
        _ => Err(format!(
            "zen: temperature={text} must be a number from 0 to 2."
        )),
    }
}

/// A new session's directory (`dir=`, relative to `cwd`) and its settings (project file merged).
pub fn session_dir(
    config: &crate::config::Config,
    cwd: &Path,
    dir: Option<&String>,
) -> Result<(PathBuf, crate::config::Config), String> {
    let dir = cwd.join(dir.map(String::as_str).unwrap_or("."));
    let dir = dir
        .canonicalize()
        .map_err(|e| format!("zen: dir={} cannot be used ({e}).", dir.display()))?;
    let (cfg, _) = config.for_dir(&dir).map_err(|e| format!("zen: {e:#}."))?;
    Ok((dir, cfg))
}

/// The name of a new session: `given` (checked, and not in use), else the first free `{stem}-N`.
pub fn choose_name(app: &Shared, given: Option<&String>, stem: &str) -> Result<String, String> {
    let Some(n) = given else {
        return Ok(next_name(app, stem));
    };
    validate_name(n)?;
    if app.registry.name_taken(n) {
        return Err(format!(
            "zen: a session is already called '{n}'. Pick another name."
        ));
    }
    Ok(n.clone())
}

/// `chat-1`, `chat-2`, ...: the first free name.
fn next_name(app: &Shared, stem: &str) -> String {
    (1..)
        .map(|n| format!("{stem}-{n}"))
        .find(|n| !app.registry.name_taken(n))
        .expect("some name is free")
}

#[derive(Deserialize)]
struct SubmitArg {
    buf: i64,
    /// The buffer the user came from (for `#buffer` and `#diagnostics`).
    #[serde(default)]
    origin: Option<i64>,
}

/// Sends the conversation in a chat buffer and streams the answer into it.
pub async fn submit(app: &Shared, arg: Json) -> Reply {
    let SubmitArg { buf, origin } = args(arg)?;
    let id = session_of_buffer(app, buf).await?;
    submit::start_turn(app, &id, buf, origin).await?;
    Ok(json!({"id": id}))
}

/// The session a buffer shows: known to the registry, or named by `b:zen_session` (after a
/// backend restart, the buffer outlives the registry).
async fn session_of_buffer(app: &Shared, buf: i64) -> Result<String, String> {
    if let Some(id) = app.registry.by_buf(buf) {
        return Ok(id);
    }
    let ready = app.ready()?;
    let chat = ready
        .ui
        .read_chat(buf)
        .await
        .map_err(|e| format!("zen: {e:#}."))?;
    let Some(id) = chat.and_then(|c| c.session) else {
        return Err(
            "zen: this buffer is not a zen chat. Open one with :ZenNew openrouter or :ZenList."
                .into(),
        );
    };
    if app.registry.with(&id, |e| e.buf = Some(buf)).is_none() {
        return Err("zen: this chat's session no longer exists (killed?). Start a new one with :ZenNew openrouter.".into());
    }
    Ok(id)
}

/// Which session a request means: by name, else the one shown in a buffer.
#[derive(Deserialize)]
pub struct Target {
    #[serde(default)]
    buf: Option<i64>,
    #[serde(default)]
    name: Option<String>,
    /// `b:zen_session` of `buf`: finds the chat after a backend restart.
    #[serde(default)]
    session: Option<String>,
}

impl Target {
    /// The session name the request gave, if any.
    pub fn named(&self) -> Option<&str> {
        self.name.as_deref().filter(|n| !n.is_empty())
    }

    /// The session shown in `buf`.
    pub fn for_buf(buf: i64) -> Target {
        Target {
            buf: Some(buf),
            name: None,
            session: None,
        }
    }
}

/// Resolves a request's target: by name, else the session shown in `buf`.
pub fn target_session(app: &Shared, target: &Target) -> Option<String> {
    if let Some(name) = target.name.as_deref().filter(|n| !n.is_empty()) {
        return app.registry.by_name(name);
    }
    let buf = target.buf?;
    if let Some(id) = app.registry.by_buf(buf) {
        return Some(id);
    }
    let id = target.session.as_deref()?;
    app.registry.with(id, |e| e.buf = Some(buf))?;
    Some(id.to_string())
}

/// Cancels the running answer; what arrived stays, marked as stopped.
pub async fn stop(app: &Shared, arg: Json) -> Reply {
    let target: Target = args(arg)?;
    let id = target_session(app, &target)
        .ok_or("zen: no chat here to stop. Run :ZenStop in a chat buffer.")?;
    let stopped = app.registry.cancel(&id, "stopped");
    Ok(json!({"stopped": stopped}))
}
