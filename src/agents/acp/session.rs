//! An ACP agent's life: `:ZenNew <kind> mode=chat` (the adapter checked and started,
//! `initialize`, `session/new`, the chat buffer), `ensure` (the adapter again after it exited or
//! the backend restarted: `session/load` restores the agent's state, its replay dropped since
//! the buffer shows zen's own history), and the dispatcher of what the agent sends.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value as Json};
use tokio::sync::mpsc;

use super::{live_map, permission, Agent, Event, State};
use crate::acp::protocol::{
    self, InitializeResult, SessionNotification, SessionResult, SessionUpdate,
};
use crate::acp::{Conn, ConnError, Incoming};
use crate::agents::{self as agents, Kind};
use crate::app::which::session_dir;
use crate::app::{Error, Result, Shared};
use crate::data::{transcript, AcpMeta, SessionMeta};
use crate::nvim::Ui;

/// How long an adapter may take to start a session (claude-code-acp starts Claude Code).
const START_TIMEOUT: Duration = Duration::from_secs(60);

const CHAT_KEYS: &[&str] = &["dir", "prompt", "name", "mode", "model"];

/// The adapter's command line: `agents.<kind>.acp_cmd` from setup() only (it runs a program).
pub fn acp_argv(app: &Shared, kind: Kind) -> Result<Vec<String>> {
    let ready = app.ready()?;
    agents::settings(&ready.config.agents, kind)
        .acp_cmd
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            Error::refused(format!(
                "{} has no ACP adapter. Set agents.{}.acp_cmd in setup(), or use mode=terminal.",
                kind.name(),
                kind.name()
            ))
        })
}

/// Checks the adapter is installed; the message names the npm package that provides it.
fn check_adapter(kind: Kind, argv: &[String]) -> Result<()> {
    if which::which(&argv[0]).is_ok() {
        return Ok(());
    }
    let install = kind
        .acp_package()
        .map(|p| format!("Install it with `npm install -g {p}`, or"))
        .unwrap_or_else(|| "Install it, or".into());
    Err(Error::refused(format!(
        "{} not found (the ACP adapter of {} chats). {install} point agents.{}.acp_cmd at it in setup().",
        argv[0],
        kind.name(),
        kind.name()
    )))
}

/// `:ZenNew <kind> mode=chat`: starts the adapter and its session, then the chat buffer. With
/// `prompt=`, the prompt is typed in and `submit` says Lua should send it.
pub async fn new_chat(
    app: &Shared,
    kind: Kind,
    args: &HashMap<String, String>,
    cwd: &Path,
) -> Result<Json> {
    let ready = app.ready()?;
    if let Some(bad) = args.keys().find(|k| !CHAT_KEYS.contains(&k.as_str())) {
        return Err(Error::refused(format!(
            "unknown argument '{bad}' for :ZenNew {} mode=chat. Known: {}.",
            kind.name(),
            CHAT_KEYS.join(", ")
        )));
    }
    let (dir, _) = session_dir(&ready.config, cwd, args.get("dir"))?;
    let argv = acp_argv(app, kind)?;
    check_adapter(kind, &argv)?;
    let name = app.choose_name(args.get("name"), kind.name())?;
    let id = uuid::Uuid::new_v4().to_string();
    let agent = start(app, &id, kind, &argv, &dir, None).await?;
    if let Some(model) = args.get("model").filter(|m| !m.trim().is_empty()) {
        if let Err(e) = super::model::choose(&agent, model.trim()).await {
            kill_agent(&agent);
            return Err(e);
        }
    }
    let model = shown_model(&agent);
    let now = crate::data::now();
    let meta = SessionMeta {
        id: id.clone(),
        kind: kind.name().into(),
        name: name.clone(),
        model: Some(model.clone()),
        temperature: None,
        dir,
        created: now,
        updated: now,
        totals: Default::default(),
        web: false,
        agent: None,
        acp: Some(AcpMeta {
            session_id: Some(agent.session_id()),
            argv,
        }),
    };
    if let Err(e) = app.add_session(meta).await {
        kill_agent(&agent);
        return Err(e);
    }
    let prompt = args.get("prompt").filter(|p| !p.trim().is_empty());
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
    mark_chat_now(app, &id, buf).await;
    Ok(json!({
        "id": id, "buf": buf, "name": name, "model": model, "kind": kind.name(),
        "chat": true, "submit": prompt.is_some(),
    }))
}

/// What the title and the list show as the model: the agent's current model, else its kind.
pub fn shown_model(agent: &Agent) -> String {
    let state = agent.state();
    state
        .models
        .as_ref()
        .map(|m| m.current_model_id.clone())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| agent.kind.name().to_string())
}

/// The running agent of session `id`, started again (with `session/load` when it can) if it
/// exited or the backend restarted.
pub async fn ensure(app: &Shared, id: &str) -> Result<Arc<Agent>> {
    if let Some(agent) = super::live(id) {
        return Ok(agent);
    }
    let meta = app
        .registry
        .with(id, |e| e.meta.clone())
        .ok_or(Error::Gone)?;
    let acp = meta
        .acp
        .clone()
        .ok_or(Error::refused("not an agent chat."))?;
    let kind = Kind::parse(&meta.kind).ok_or(Error::refused("unknown agent kind."))?;
    let argv = acp_argv(app, kind)?;
    check_adapter(kind, &argv)?;
    let agent = start(app, id, kind, &argv, &meta.dir, acp.session_id.clone()).await?;
    if acp.session_id.as_deref() != Some(agent.session_id().as_str()) {
        app.registry.with(id, |e| {
            if let Some(a) = e.meta.acp.as_mut() {
                a.session_id = Some(agent.session_id());
            }
        });
        app.save_index().await;
    }
    if let Some(buf) = meta_buf(app, id) {
        mark_chat(app, id, buf);
    }
    Ok(agent)
}

fn meta_buf(app: &Shared, id: &str) -> Option<i64> {
    app.registry.with(id, |e| e.buf).flatten()
}

/// Starts the adapter, `initialize`s it and opens (or loads) its session.
async fn start(
    app: &Shared,
    id: &str,
    kind: Kind,
    argv: &[String],
    dir: &Path,
    resume: Option<String>,
) -> Result<Arc<Agent>> {
    // The adapter is another vendor's program: it gets no OpenRouter key.
    let hide = [app.ready()?.config.openrouter.api_key_env.clone()];
    let (conn, rx) = Conn::spawn(argv, dir, &hide, kind.name())
        .map_err(|e| Error::refused(format!("{e}. Check agents.{}.acp_cmd.", kind.name())))?;
    let agent = Arc::new(Agent {
        conn: conn.clone(),
        kind,
        id: id.to_string(),
        cwd: dir.to_path_buf(),
        state: Mutex::new(State::default()),
    });
    app.tasks.spawn(dispatch(app.clone(), agent.clone(), rx));
    let started = tokio::time::timeout(START_TIMEOUT, open_session(&agent, dir, resume)).await;
    let started = started.unwrap_or_else(|_| {
        Err(Error::refused(format!(
            "{} did not start its session within {} s. Check that {} runs on its own.",
            kind.name(),
            START_TIMEOUT.as_secs(),
            argv[0]
        )))
    });
    if let Err(e) = started {
        conn.kill();
        return Err(e);
    }
    live_map().insert(id.to_string(), agent.clone());
    Ok(agent)
}

/// `initialize`, then `session/load` (when resuming and the agent can) or `session/new`.
async fn open_session(agent: &Agent, dir: &Path, resume: Option<String>) -> Result<()> {
    let name = agent.kind.name();
    let init: InitializeResult = agent
        .conn
        .call(
            "initialize",
            json!({
                "protocolVersion": protocol::VERSION,
                "clientCapabilities": {"fs": {"readTextFile": true, "writeTextFile": true}, "terminal": false},
                "clientInfo": {"name": "zen-portal", "version": env!("CARGO_PKG_VERSION")},
            }),
        )
        .await
        .map_err(|e| start_error(name, "initialize", e, &[]))?;
    let load = init.agent_capabilities.load_session;
    let cwd = dir.to_string_lossy();
    let opened: SessionResult = match resume.filter(|_| load) {
        Some(sid) => {
            let params = json!({"sessionId": sid, "cwd": cwd, "mcpServers": []});
            let result = agent.conn.request("session/load", params).await;
            let result =
                result.map_err(|e| start_error(name, "session/load", e, &init.auth_methods))?;
            let mut r: SessionResult = serde_json::from_value(result).unwrap_or_default();
            r.session_id = sid;
            r
        }
        None => agent
            .conn
            .call("session/new", json!({"cwd": cwd, "mcpServers": []}))
            .await
            .map_err(|e| start_error(name, "session/new", e, &init.auth_methods))?,
    };
    let mut state = agent.state();
    state.session_id = opened.session_id;
    state.models = opened.models;
    state.modes = opened.modes;
    state.load_session = load;
    // What `session/load` replayed went nowhere (no turn runs): the buffer shows zen's history.
    Ok(())
}

/// The one line for a failed start: what to run to log in, or what went wrong.
fn start_error(name: &str, step: &str, e: ConnError, auth: &[protocol::AuthMethod]) -> Error {
    let auth_error = matches!(&e, ConnError::Rpc { code, message, .. }
        if *code == protocol::AUTH_REQUIRED || message.to_lowercase().contains("auth"));
    if auth_error {
        let ways: Vec<String> = auth
            .iter()
            .map(|m| match &m.description {
                Some(d) if !d.is_empty() => format!("{} ({})", m.name, d),
                _ => m.name.clone(),
            })
            .collect();
        let ways = if ways.is_empty() {
            "see its documentation".to_string()
        } else {
            ways.join("; ")
        };
        return Error::refused(format!(
            "{name} needs you to log in first: {ways}. Do that in a terminal, then run :ZenNew {name} mode=chat again."
        ));
    }
    Error::refused(format!(
        "{name} failed to start ({step}: {e}). zen's log has the agent's own messages."
    ))
}

fn kill_agent(agent: &Agent) {
    live_map().remove(&agent.id);
    agent.conn.kill();
}

/// Marks `buf` as agent chat `id`'s (`:ZenAccept`, `:ZenModel` act on the agent) with the
/// agent's slash commands, if it runs (in the background).
pub fn mark_chat(app: &Shared, id: &str, buf: i64) {
    let (app, id) = (app.clone(), id.to_string());
    tokio::spawn(async move { mark_chat_now(&app, &id, buf).await });
}

/// `mark_chat`, done before returning (a new chat is marked before `:ZenNew` returns).
pub async fn mark_chat_now(app: &Shared, id: &str, buf: i64) {
    let Ok(ready) = app.ready() else { return };
    let Some(kind) = app.registry.with(id, |e| e.meta.kind.clone()) else {
        return;
    };
    let commands = super::live(id)
        .map(|a| a.state().commands.clone())
        .unwrap_or_default();
    let info = json!({"kind": kind, "commands": commands});
    if let Err(e) = ready.ui.acp_chat(buf, &info).await {
        tracing::debug!("marking the agent chat: {e:#}");
    }
}

/// Handles what the agent sends until it exits: replies to their requests, updates to the
/// running turn (or nowhere between turns), its requests answered each in their own task.
async fn dispatch(app: Shared, agent: Arc<Agent>, mut rx: mpsc::UnboundedReceiver<Incoming>) {
    loop {
        let incoming = tokio::select! {
            m = rx.recv() => m,
            _ = app.stopping.cancelled() => {
                agent.conn.kill();
                return;
            }
        };
        let Some(incoming) = incoming else { return };
        let current = &agent;
        match incoming {
            Incoming::Reply { id, result } => agent.conn.resolve(id, result),
            Incoming::Notification { method, params } if method == "session/update" => {
                match serde_json::from_value::<SessionNotification>(params) {
                    Ok(n) => on_update(&app, current, n.update),
                    Err(e) => {
                        let why = format!("a session/update that does not parse: {e}");
                        current.to_turn(Event::Malformed(why));
                    }
                }
            }
            Incoming::Notification { method, .. } => tracing::debug!("ignored {method}"),
            Incoming::Request { id, method, params } => {
                // A permission is queued here, in arrival order; the answer waits in a task.
                let asked = (method == "session/request_permission")
                    .then(|| permission::ask(current, params.clone()));
                let agent = current.clone();
                let ui = app
                    .ready()
                    .ok()
                    .map(|r| (r.ui.clone(), layout_name(r.config.layout)));
                tokio::spawn(async move { answer(&agent, ui, id, &method, params, asked).await });
            }
            Incoming::Malformed(why) => {
                tracing::warn!("{}: malformed message: {why}", agent.kind.name());
                current.to_turn(Event::Malformed(why));
            }
            Incoming::Closed(status) => {
                current.to_turn(Event::Closed(status));
                let _ = permission::cancel_all(current);
                let mut live = live_map();
                if live
                    .get(&agent.id)
                    .is_some_and(|a| Arc::ptr_eq(&a.conn, &agent.conn))
                {
                    live.remove(&agent.id);
                }
                return;
            }
        }
    }
}

fn on_update(app: &Shared, agent: &Arc<Agent>, update: SessionUpdate) {
    match update {
        SessionUpdate::AvailableCommandsUpdate { available_commands } => {
            agent.state().commands = available_commands;
            if let Some(buf) = meta_buf(app, &agent.id) {
                mark_chat(app, &agent.id, buf);
            }
        }
        SessionUpdate::CurrentModeUpdate { current_mode_id } => {
            if let Some(modes) = agent.state().modes.as_mut() {
                modes.current_mode_id = current_mode_id;
            }
        }
        SessionUpdate::ToolCall(ref call) | SessionUpdate::ToolCallUpdate(ref call) => {
            {
                let mut state = agent.state();
                let known = state
                    .tool_calls
                    .entry(call.tool_call_id.clone())
                    .or_default();
                super::updates::merge_tool(known, call.clone());
                // Its diff, for the permission request it may go with (joined by toolCallId).
                state.edits.update(call);
            }
            agent.to_turn(Event::Update(update));
        }
        other => {
            agent.to_turn(Event::Update(other));
        }
    }
}

/// Answers one request of the agent (`asked`: a permission request already queued).
async fn answer(
    agent: &Arc<Agent>,
    ui: Option<(Ui, String)>,
    id: Json,
    method: &str,
    params: Json,
    asked: Option<std::result::Result<Option<permission::Asked>, super::Refusal>>,
) {
    let result = match (method, asked) {
        (_, Some(Err(refusal))) => Err(refusal),
        (_, Some(Ok(asked))) => {
            if let (Some((ui, layout)), Some(asked)) = (&ui, &asked) {
                super::review::propose(agent, ui, asked, layout).await;
            }
            permission::answered(agent, asked).await
        }
        _ => answer_fs(agent, ui.as_ref().map(|u| &u.0), method, params).await,
    };
    let sent = match result {
        Ok(value) => agent.conn.respond(id, value).await,
        Err(r) => agent.conn.respond_error(id, r.code, &r.message).await,
    };
    if let Err(e) = sent {
        tracing::warn!("answering {method}: {e}");
    }
}

async fn answer_fs(
    agent: &Arc<Agent>,
    ui: Option<&Ui>,
    method: &str,
    params: Json,
) -> std::result::Result<Json, super::Refusal> {
    match method {
        "fs/read_text_file" => super::fs::read_text_file(agent, ui, params).await,
        "fs/write_text_file" => super::fs::write_text_file(agent, ui, params).await,
        _ => Err(super::Refusal::new(
            -32601,
            format!("{method} is not supported by zen"),
        )),
    }
}

/// The directory a session's agent works in, for the fs checks.
pub fn root(agent: &Agent) -> PathBuf {
    agent
        .cwd
        .canonicalize()
        .unwrap_or_else(|_| agent.cwd.clone())
}

/// The `layout` option's name (where an agent's edited file is shown).
fn layout_name(layout: crate::config::Layout) -> String {
    serde_json::to_value(layout)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}
