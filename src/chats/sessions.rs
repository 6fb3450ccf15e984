//! Sessions of either kind: the list, opening (a chat's live or rebuilt buffer; agents branch
//! off to `agents::sessions`), kill, rename, and a chat buffer closing.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use crate::agents::sessions as agents;
use crate::app::registry::End;
use crate::app::{Error, Result, Shared, Which};
use crate::data::session::{validate_agent_name, validate_name};
use crate::data::transcript;

/// Every session, most recent first, with what the picker shows.
pub async fn list(app: &Shared) -> Vec<Json> {
    let agent_states = agents::states(app).await;
    app.registry
        .list()
        .into_iter()
        .map(|row| {
            let m = row.meta;
            let state = match agent_states.get(&m.id) {
                Some(s) => *s,
                None if row.streaming => "streaming",
                None => "idle",
            };
            json!({
                "id": m.id, "kind": m.kind, "name": m.name, "model": m.model,
                "dir": m.dir, "created": m.created, "updated": m.updated, "state": state,
                "cost": m.totals.cost, "turns": m.totals.turns,
                "prompt_tokens": m.totals.prompt_tokens, "completion_tokens": m.totals.completion_tokens,
                "buf": row.buf,
            })
        })
        .collect()
}

/// Shows a session: its live buffer, or a new one rebuilt from its history.
pub async fn open(app: &Shared, which: &Which) -> Result<Json> {
    let id = app.resolve_some(which)?;
    app.registry.touch(&id);
    if app.registry.with(&id, |e| e.meta.agent.is_some()) == Some(true) {
        return agents::open_agent(app, &id).await;
    }
    let buf = chat_buffer(app, &id).await?;
    let meta = app
        .registry
        .with(&id, |e| e.meta.clone())
        .ok_or(Error::Gone)?;
    Ok(
        json!({"id": id, "buf": buf, "name": meta.name, "model": meta.model, "cost": meta.totals.cost}),
    )
}

/// The live buffer of chat `id`, or a new one rebuilt from its history (warnings shown).
pub async fn chat_buffer(app: &Shared, id: &str) -> Result<i64> {
    let ready = app.ready()?;
    let (meta, buf) = app
        .registry
        .with(id, |e| (e.meta.clone(), e.buf))
        .ok_or(Error::Gone)?;
    if let Some(buf) = buf {
        if ready.ui.buffer_alive(buf).await {
            return Ok(buf);
        }
    }
    // A long history is megabytes: read it without holding up the other async tasks.
    let loaded = tokio::task::block_in_place(|| ready.store.load_history(id));
    for w in &loaded.warnings {
        ready.ui.notify(&format!("zen: {w}."), "warn").await;
    }
    let model = meta.model.clone().unwrap_or_default();
    let chat = transcript::render(&transcript::title(&meta.name, &model), &loaded.messages);
    let buf = ready
        .ui
        .create_chat_buffer(id, &meta.name, &chat)
        .await
        .map_err(|e| Error::io(format!("reopening {}", meta.name), e))?;
    app.registry.with(id, |e| e.buf = Some(buf));
    let fill = Some(super::context::fill(&loaded.messages));
    super::context::show(app, buf, id, &model, fill).await;
    if meta.acp.is_some() {
        crate::agents::acp::session::mark_chat(app, id, buf);
    }
    Ok(buf)
}

/// `:ZenKill[!]`: `force` also removes a worktree with uncommitted changes.
#[derive(Deserialize)]
pub struct Kill {
    #[serde(flatten)]
    pub which: Which,
    #[serde(default)]
    pub force: bool,
}

/// What a kill did, for Lua to wipe the buffer and say so.
#[derive(Serialize)]
pub struct Killed {
    id: String,
    name: String,
    buf: Option<i64>,
    note: Option<String>,
}

/// Stops a session (waiting for its answer to save), forgets it and deletes its history.
pub async fn kill(app: &Shared, req: &Kill) -> Result<Killed> {
    let id = app.resolve_some(&req.which)?;
    app.stop_turn(&id, End::Killed).await;
    let meta = app
        .registry
        .with(&id, |e| e.meta.clone())
        .ok_or(Error::Gone)?;
    let note = agents::stop_agent(app, &meta, req.force).await?;
    let entry = app.registry.remove(&id).ok_or(Error::Gone)?;
    app.kill_session(&id).await?;
    Ok(Killed {
        id,
        name: entry.meta.name,
        buf: entry.buf,
        note,
    })
}

/// `:ZenRename {new_name}`.
#[derive(Deserialize)]
pub struct Rename {
    #[serde(flatten)]
    pub which: Which,
    pub new_name: String,
}

/// Renames a session (its buffer, title and tmux session follow); answers `{id, name}`. Refused
/// while the session answers.
pub async fn rename(app: &Shared, req: &Rename) -> Result<Json> {
    let ready = app.ready()?;
    let id = app.resolve_some(&req.which)?;
    let new = &req.new_name;
    validate_name(new)?;
    let before = app
        .registry
        .with(&id, |e| e.meta.clone())
        .ok_or(Error::Gone)?;
    if before.agent.is_some() {
        validate_agent_name(new)?;
    }
    // Refused, not waited for: an answer can stream for minutes, and the rename would change
    // the title and buffer name under it (and its events would carry the old name).
    if app.registry.active(&id).is_some() {
        return Err(Error::Busy(before.name));
    }
    if app.registry.by_name(new).is_some_and(|other| other != id) {
        return Err(Error::refused(format!(
            "a session is already called '{new}'."
        )));
    }
    if before.agent.is_some() {
        agents::rename_agent(app, &before, new).await?;
    }
    let (buf, model) = app
        .registry
        .with(&id, |e| {
            e.meta.name = new.clone();
            (e.buf, e.meta.model.clone().unwrap_or_default())
        })
        .ok_or(Error::Gone)?;
    app.save_index().await;
    if let Some(buf) = buf {
        let _ = ready.ui.rename_buffer(buf, new).await;
        if before.agent.is_none() {
            let _ = ready
                .ui
                .set_title(buf, &transcript::title(new, &model))
                .await;
        }
    }
    Ok(json!({"id": id, "name": new}))
}

/// A chat buffer was unloaded or wiped: stop its stream (what arrived is saved) and forget it.
pub fn buffer_closed(app: &Shared, buf: i64) {
    let which = Which {
        buf: Some(buf),
        ..Which::default()
    };
    if let Ok(ready) = app.ready() {
        ready.ui.forget(buf);
    }
    if let Ok(Some(id)) = app.resolve(&which) {
        app.registry.cancel(&id, End::BufferClosed);
        app.registry.with(&id, |e| e.buf = None);
    }
}
