//! Chat requests: `new_chat`, `submit`, `stop`, `set_model`.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{args, Reply};
use crate::app::Shared;
use crate::session::registry::Cancel;
use crate::session::transcript::{self, same_text};
use crate::session::turn::{self, Turn};
use crate::session::{validate_name, Message, Role, SessionMeta};
use crate::store::Record;

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
    let ready = app.ready()?;
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
    let dir = match req.args.get("dir") {
        Some(d) => req.cwd.join(d),
        None => req.cwd.clone(),
    };
    let dir = dir
        .canonicalize()
        .map_err(|e| format!("zen: dir={} cannot be used ({e}).", dir.display()))?;
    let (cfg, _) = ready
        .config
        .for_dir(&dir)
        .map_err(|e| format!("zen: {e:#}."))?;
    // Cascade: setup() < the model picked outside a chat < the project file < model=.
    let project_model = (cfg.openrouter.default_model != ready.config.openrouter.default_model)
        .then(|| cfg.openrouter.default_model.clone());
    let model = req
        .args
        .get("model")
        .cloned()
        .or(project_model)
        .or(app.prefs().default_model)
        .unwrap_or(cfg.openrouter.default_model.clone());
    if model.trim().is_empty() {
        return Err("zen: model= is empty. Give a model id such as openai/gpt-4o.".into());
    }
    let temperature = match req.args.get("temperature") {
        None => None,
        Some(t) => Some(parse_temperature(t)?),
    };
    let name = match req.args.get("name") {
        Some(n) => {
            validate_name(n)?;
            if app.registry.name_taken(n) {
                return Err(format!(
                    "zen: a session is already called '{n}'. Pick another name."
                ));
            }
            n.clone()
        }
        None => next_name(app, "chat"),
    };
    let id = uuid::Uuid::new_v4().to_string();
    let mut meta = SessionMeta::new_chat(id.clone(), name.clone(), model.clone(), dir);
    meta.temperature = temperature;
    ready
        .store
        .append(&id, &Record::Meta { meta: meta.clone() }, true)
        .map_err(|e| format!("zen: saving the new session: {e:#}."))?;
    app.registry.insert(meta);
    app.registry.with(&id, |e| e.history = Some(Vec::new()));
    app.save_index().await;

    let mut lines = transcript::render(&transcript::title(&name, &model), &[]);
    let prompt = req.args.get("prompt").filter(|p| !p.trim().is_empty());
    if let Some(p) = prompt {
        lines.extend(p.split('\n').map(String::from));
    }
    let buf = ready
        .ui
        .create_chat_buffer(&id, &name, &lines)
        .await
        .map_err(|e| format!("zen: creating the chat buffer: {e:#}."))?;
    app.registry.with(&id, |e| e.buf = Some(buf));
    if prompt.is_some() {
        start_turn(app, &id, buf).await?;
    }
    Ok(json!({"id": id, "buf": buf, "name": name, "model": model}))
}

fn parse_temperature(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(t) if (0.0..=2.0).contains(&t) => Ok(t),
        _ => Err(format!(
            "zen: temperature={text} must be a number from 0 to 2."
        )),
    }
}

/// `chat-1`, `chat-2`, ...: the first free name.
fn next_name(app: &Shared, stem: &str) -> String {
    (1..)
        .map(|n| format!("{stem}-{n}"))
        .find(|n| !app.registry.name_taken(n))
        .expect("some name is free")
}

#[derive(Deserialize)]
struct BufArg {
    buf: i64,
}

/// Sends the conversation in a chat buffer and streams the answer into it.
pub async fn submit(app: &Shared, arg: Json) -> Reply {
    let BufArg { buf } = args(arg)?;
    let id = session_of_buffer(app, buf).await?;
    start_turn(app, &id, buf).await?;
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

async fn start_turn(app: &Shared, id: &str, buf: i64) -> Result<(), String> {
    let cancel = app.registry.start_turn(id)?;
    let started = prepare_turn(app, id, buf, cancel).await;
    if started.is_err() {
        app.registry.end_turn(id);
    }
    started
}

/// Reads the buffer, saves the prompt, opens the answer and spawns the turn.
async fn prepare_turn(
    app: &Shared,
    id: &str,
    buf: i64,
    cancel: std::sync::Arc<Cancel>,
) -> Result<(), String> {
    let ready = app.ready()?;
    let chat = ready
        .ui
        .read_chat(buf)
        .await
        .map_err(|e| format!("zen: {e:#}."))?
        .ok_or("zen: the chat buffer is not loaded.")?;
    let messages = transcript::parse(&chat.lines);
    if messages.last().is_none_or(|m| m.role != Role::User) {
        return Err(
            "zen: nothing to send. Type your message under the last '## User' header.".into(),
        );
    }
    let meta = app
        .registry
        .with(id, |e| e.meta.clone())
        .ok_or("zen: the session is gone.")?;
    let (mut cfg, _) = ready
        .config
        .for_dir(&meta.dir)
        .map_err(|e| format!("zen: {e:#}."))?;
    let model = meta
        .model
        .clone()
        .unwrap_or(cfg.openrouter.default_model.clone());
    let catalogue = crate::models::cached(app).await;
    let entry = catalogue.as_ref().and_then(|c| c.find(&model));
    for warning in crate::models::preflight(entry, &messages, &mut cfg.openrouter)? {
        ready.ui.notify(&warning, "warn").await;
    }
    record_conversation(app, id, &messages);
    app.update_prefs(|p| p.used(&model));
    let header = format!("{} · {model}", transcript::header(Role::Assistant));
    let mark = ready
        .ui
        .begin_answer(buf, &header)
        .await
        .map_err(|e| format!("zen: {e:#}."))?;
    let temperature = meta.temperature.or(cfg.openrouter.temperature);
    let turn = Turn {
        app: app.clone(),
        session: id.to_string(),
        name: meta.name.clone(),
        buf,
        mark,
        cfg: cfg.openrouter,
        model,
        temperature,
        messages,
        cancel,
    };
    app.tasks.spawn(turn::run(turn));
    Ok(())
}

/// Saves what the buffer holds now: the new prompt, or the whole conversation when the user
/// edited earlier turns (history stays append-only either way).
fn record_conversation(app: &Shared, id: &str, messages: &[Message]) {
    let Ok(ready) = app.ready() else { return };
    let stored = app
        .registry
        .with(id, |e| e.history.clone())
        .flatten()
        .unwrap_or_else(|| ready.store.load_history(id).messages);
    // Keep what the history knows of unchanged turns (reasoning, model, usage, end).
    let merged: Vec<Message> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| match stored.get(i) {
            Some(s) if same_text(std::slice::from_ref(s), std::slice::from_ref(m)) => s.clone(),
            _ => m.clone(),
        })
        .collect();
    let records: Vec<Record> =
        if stored.len() <= merged.len() && same_text(&stored, &merged[..stored.len()]) {
            merged[stored.len()..]
                .iter()
                .map(|m| Record::Message { message: m.clone() })
                .collect()
        } else {
            vec![Record::Rewrite {
                messages: merged.clone(),
            }]
        };
    for record in &records {
        if let Err(e) = ready.store.append(id, record, true) {
            tracing::error!("saving prompt: {e:#}");
        }
    }
    app.registry
        .with(id, |e| e.history = Some(messages.to_vec()));
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
