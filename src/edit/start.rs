//! The `edit` request's service: starts a `:ZenEdit` in the file's `edit` session (made on first
//! use); the answer streams into the pending change Lua already opened (see `turn.rs`).

use serde_json::{json, Value as Json};

use super::{turn::EditTurn, Capture};
use crate::app::which::session_dir;
use crate::app::{Error, Result, Shared};
use crate::data::{model_id, Role, SessionMeta};
use crate::store::Record;

/// Starts an edit; returns its session and model at once (the answer streams in later).
pub async fn start(app: &Shared, capture: Capture) -> Result<Json> {
    if capture.instruction.trim().is_empty() {
        return Err(Error::refused(
            ":ZenEdit needs an instruction, e.g. :ZenEdit add error handling.",
        ));
    }
    let ready = app.ready()?;
    let (_, cfg) = session_dir(&ready.config, &capture.cwd, None)?;
    let model = edit_model(app, &cfg.openrouter);
    model_id::check(&model)
        .map_err(|why| model_id::refused(&model, "openrouter.edit_model", why))?;
    let (session, name) = edit_session(app, &capture.path, &capture.cwd, &model).await?;
    let cancel = app.registry.start_turn(&session)?;
    let messages = super::messages(&capture);
    let prompt = messages.iter().find(|m| m.role == Role::User).cloned();
    if let Some(message) = prompt {
        if let Err(e) = ready
            .store
            .append(&session, &Record::Message { message }, true)
        {
            app.registry.end_turn(&session);
            return Err(Error::refused(format!(
                "saving the edit's prompt failed ({e:#}). Free some disk space and try again."
            )));
        }
    }
    let task = app.tasks.spawn(super::turn::run(EditTurn {
        app: app.clone(),
        session: session.clone(),
        review: capture.review,
        cfg: cfg.openrouter,
        model: model.clone(),
        messages,
        cancel: cancel.clone(),
    }));
    cancel.set_task(task);
    Ok(json!({"session": session, "name": name, "model": model}))
}

/// `openrouter.edit_model`, else the model of the chat used last, else the default model.
fn edit_model(app: &Shared, cfg: &crate::config::OpenRouter) -> String {
    let last_chat = || {
        let id = app.registry.last_used()?;
        app.registry
            .with(&id, |e| {
                (e.meta.kind == "openrouter")
                    .then(|| e.meta.model.clone())
                    .flatten()
            })
            .flatten()
    };
    cfg.edit_model
        .clone()
        .or_else(last_chat)
        .or_else(|| app.prefs().default_model)
        .unwrap_or_else(|| cfg.default_model.clone())
}

/// The file's edit session (its `dir` is the file), made on first use. Not marked as used last:
/// `:ZenSend` keeps going to the user's chat.
async fn edit_session(
    app: &Shared,
    path: &str,
    cwd: &std::path::Path,
    model: &str,
) -> Result<(String, String)> {
    let file = cwd.join(path);
    if let Some(m) = app
        .registry
        .metas()
        .into_iter()
        .find(|m| m.kind == "edit" && m.dir == file)
    {
        app.registry
            .with(&m.id, |e| e.meta.model = Some(model.into()));
        return Ok((m.id, m.name));
    }
    let stem = super::session_name(path);
    let name = if app.registry.name_taken(&stem) {
        app.choose_name(None, &stem)?
    } else {
        stem
    };
    let id = uuid::Uuid::new_v4().to_string();
    let mut meta = SessionMeta::new_chat(id.clone(), name.clone(), model.into(), file);
    meta.kind = "edit".into();
    let ready = app.ready()?;
    ready
        .store
        .append(&id, &Record::Meta { meta: meta.clone() }, true)
        .map_err(|e| Error::io("saving the new edit session", e))?;
    app.registry.insert(meta);
    app.save_index().await;
    Ok((id, name))
}
