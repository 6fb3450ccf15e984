//! Session requests: `list`, `open`, `kill`, `rename`, and the `buffer_closed` notice.

use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::chat::target_session;
use super::{args, Reply};
use crate::app::Shared;
use crate::data::session::{validate_agent_name, validate_name};
use crate::data::transcript;

/// Every session, most recent first, with what the picker shows.
pub async fn list(app: &Shared) -> Reply {
    let agent_states = super::agents::states(app).await;
    let rows: Vec<Json> = app
        .registry
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
        .collect();
    Ok(Json::Array(rows))
}

#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    buf: Option<i64>,
    /// `b:zen_session` of `buf` (after a backend restart the registry has no buffers).
    #[serde(default)]
    session: Option<String>,
    /// `:ZenKill!`: also remove a worktree with uncommitted changes.
    #[serde(default)]
    force: bool,
}

fn resolve(app: &Shared, named: &Named) -> Result<String, String> {
    if let Some(id) = named.id.as_deref().filter(|i| !i.is_empty()) {
        return app
            .registry
            .by_name(id)
            .ok_or(format!("zen: no session '{id}'. :ZenList shows them."));
    }
    if let Some(name) = named.name.as_deref().filter(|n| !n.is_empty()) {
        return app.registry.by_name(name).ok_or(format!(
            "zen: no session called '{name}'. :ZenList shows them."
        ));
    }
    let here = named.buf.and_then(|buf| app.registry.by_buf(buf));
    here.or_else(|| {
        let id = named.session.as_deref()?;
        app.registry.with(id, |e| e.buf = named.buf)?;
        Some(id.to_string())
    })
    .ok_or("zen: no session here. Give a name, or run it in a chat buffer.".to_string())
}

/// Shows a session: its live buffer, or a new one rebuilt from its history.
pub async fn open(app: &Shared, arg: Json) -> Reply {
    let named: Named = args(arg)?;
    let id = resolve(app, &named)?;
    app.registry.touch(&id);
    if app.registry.with(&id, |e| e.meta.agent.is_some()) == Some(true) {
        return super::agents::open_agent(app, &id).await;
    }
    let buf = chat_buffer(app, &id).await?;
    let meta = app
        .registry
        .with(&id, |e| e.meta.clone())
        .ok_or("zen: the session is gone.")?;
    Ok(
        json!({"id": id, "buf": buf, "name": meta.name, "model": meta.model, "cost": meta.totals.cost}),
    )
}

/// The live buffer of chat `id`, or a new one rebuilt from its history (warnings shown).
pub async fn chat_buffer(app: &Shared, id: &str) -> Result<i64, String> {
    let ready = app.ready()?;
    let (meta, buf) = app
        .registry
        .with(id, |e| (e.meta.clone(), e.buf))
        .ok_or("zen: the session is gone.")?;
    if let Some(buf) = buf {
        if ready.ui.buffer_alive(buf).await {
            return Ok(buf);
        }
    }
    let loaded = ready.store.load_history(id);
    for w in &loaded.warnings {
        ready.ui.notify(&format!("zen: {w}."), "warn").await;
    }
    let model = meta.model.clone().unwrap_or_default();
    let chat = transcript::render(&transcript::title(&meta.name, &model), &loaded.messages);
    let buf = ready
        .ui
        .create_chat_buffer(id, &meta.name, &chat)
        .await
        .map_err(|e| format!("zen: reopening {}: {e:#}.", meta.name))?;
    app.registry.with(id, |e| e.buf = Some(buf));
    Ok(buf)
}

/// Stops a session, forgets it and deletes its history; returns its buffer for Lua to wipe.
pub async fn kill(app: &Shared, arg: Json) -> Reply {
    let named: Named = args(arg)?;
    let id = resolve(app, &named)?;
    app.registry.cancel(&id, "killed");
    let meta = app
        .registry
        .with(&id, |e| e.meta.clone())
        .ok_or("zen: the session is gone.")?;
    let note = super::agents::stop_agent(app, &meta, named.force).await?;
    let entry = app
        .registry
        .remove(&id)
        .ok_or("zen: the session is gone.")?;
    // A turn still ending cannot write the history back: appends never re-create it.
    app.kill_session(&id).await?;
    Ok(json!({"id": id, "name": entry.meta.name, "buf": entry.buf, "note": note}))
}

#[derive(Deserialize)]
struct Rename {
    #[serde(flatten)]
    target: Named,
    new_name: String,
}

/// Renames a session (its buffer and title follow).
pub async fn rename(app: &Shared, arg: Json) -> Reply {
    let req: Rename = args(arg)?;
    let ready = app.ready()?;
    let id = resolve(app, &req.target)?;
    validate_name(&req.new_name)?;
    let is_agent = app.registry.with(&id, |e| e.meta.agent.is_some()) == Some(true);
    if is_agent {
        validate_agent_name(&req.new_name)?;
    }
    if app
        .registry
        .by_name(&req.new_name)
        .is_some_and(|other| other != id)
    {
        return Err(format!(
            "zen: a session is already called '{}'.",
            req.new_name
        ));
    }
    let before = app
        .registry
        .with(&id, |e| e.meta.clone())
        .ok_or("zen: the session is gone.")?;
    if is_agent {
        super::agents::rename_agent(app, &before, &req.new_name).await?;
    }
    let (buf, model) = app
        .registry
        .with(&id, |e| {
            e.meta.name = req.new_name.clone();
            (e.buf, e.meta.model.clone().unwrap_or_default())
        })
        .ok_or("zen: the session is gone.")?;
    app.save_index().await;
    if let Some(buf) = buf {
        let _ = ready.ui.rename_buffer(buf, &req.new_name).await;
        if before.agent.is_none() {
            let title = transcript::title(&req.new_name, &model);
            let _ = ready.ui.set_title(buf, &title).await;
        }
    }
    Ok(json!({"id": id, "name": req.new_name}))
}

#[derive(Deserialize)]
struct Closed {
    buf: i64,
}

/// A chat buffer was unloaded or wiped: stop its stream (what arrived is saved) and forget it.
pub fn buffer_closed(app: &Shared, arg: Json) {
    let Ok(Closed { buf }) = args::<Closed>(arg) else {
        return;
    };
    let target = super::chat::Target::for_buf(buf);
    if let Some(id) = target_session(app, &target) {
        app.registry.cancel(&id, "buffer closed");
        app.registry.with(&id, |e| e.buf = None);
    }
}
