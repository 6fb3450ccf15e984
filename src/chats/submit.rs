//! Starting a turn: read the chat buffer, keep what the history knows of unchanged turns,
//! resolve the new prompt's references, check it against the model, save it, open the answer,
//! and hand over to the streaming task.

use std::sync::Arc;

use super::turn::{self, Turn};
use crate::app::registry::Cancel;
use crate::app::{Error, Result, Shared};
use crate::data::transcript::{self, same_text};
use crate::data::{Message, Role};
use crate::refs;
use crate::store::Record;

/// Starts a turn in chat `id` shown in `buf`; `origin` is the buffer the user came from.
pub async fn start_turn(app: &Shared, id: &str, buf: i64, origin: Option<i64>) -> Result<()> {
    let cancel = app.registry.start_turn(id)?;
    app.registry.touch(id);
    let started = prepare(app, id, buf, origin, cancel).await;
    if started.is_err() {
        app.registry.end_turn(id);
    }
    started
}

async fn prepare(
    app: &Shared,
    id: &str,
    buf: i64,
    origin: Option<i64>,
    cancel: Arc<Cancel>,
) -> Result<()> {
    let ready = app.ready()?;
    let chat = ready
        .ui
        .read_chat(buf)
        .await
        .map_err(Error::Neovim)?
        .ok_or(Error::refused("the chat buffer is not loaded."))?;
    let mut messages = transcript::parse(&chat.lines, &chat.answers);
    if messages.last().is_none_or(|m| m.role != Role::User) {
        return Err(Error::refused(
            "nothing to send. Type your message under the last '## User' header.",
        ));
    }
    let meta = app
        .registry
        .with(id, |e| e.meta.clone())
        .ok_or(Error::Gone)?;
    if meta.acp.is_some() {
        // An agent chat: the agent keeps its own context; it gets only the new prompt.
        let stored = stored_history(app, id);
        record(app, id, &stored, &messages);
        let prompt = messages
            .last()
            .map(|m| m.content.clone())
            .unwrap_or_default();
        return crate::agents::acp::turn::start(app, id, buf, prompt, cancel).await;
    }
    let (mut cfg, _) = ready
        .config
        .for_dir(&meta.dir)
        .map_err(|e| Error::refused(format!("{e:#}.")))?;
    let model = meta
        .model
        .clone()
        .unwrap_or(cfg.openrouter.default_model.clone());
    let stored = stored_history(app, id);
    keep_known_turns(&mut messages, &stored);

    let catalogue = crate::models::cached(app).await;
    let entry = catalogue.as_ref().and_then(|c| c.find(&model));
    let last = messages.last_mut().expect("a user message");
    let found = refs::find(&last.content);
    if last.attachments.is_empty() && !found.is_empty() {
        let wants_code = found
            .iter()
            .any(|r| matches!(r, refs::Ref::Buffer | refs::Ref::Diagnostics));
        let code = match (wants_code, origin) {
            (true, Some(origin)) => ready.ui.code_buffer(origin).await.ok().flatten(),
            _ => None,
        };
        let root = crate::config::project_root(&meta.dir);
        let ctx = refs::Context {
            root: &root,
            model: &model,
            entry,
            limits: refs::Limits {
                max_file_bytes: cfg.references.max_file_bytes,
                max_image_bytes: cfg.references.max_image_bytes,
                max_pdf_bytes: cfg.references.max_pdf_bytes,
            },
            code,
            pdf_engine: cfg.openrouter.pdf_engine.is_some(),
        };
        last.attachments = refs::resolve(&found, &ctx)?;
    }
    let warnings = crate::models::preflight(entry, &messages, &mut cfg.openrouter);
    for warning in warnings? {
        ready.ui.notify(&warning, "warn").await;
    }
    record(app, id, &stored, &messages);
    app.update_prefs(|p| p.used(&model));
    let note = super::system::apply(app, &meta, &mut messages, cfg.system_prompt.clone()).await;

    let header = format!("{} · {model}", transcript::header(Role::Assistant));
    let mark = ready
        .ui
        .begin_answer(buf, &header)
        .await
        .map_err(Error::Neovim)?;
    let plugins = super::extras::plugins(meta.web, cfg.openrouter.pdf_engine, &messages);
    let turn = Turn {
        app: app.clone(),
        session: id.to_string(),
        name: meta.name.clone(),
        buf,
        mark,
        temperature: meta.temperature.or(cfg.openrouter.temperature),
        cfg: cfg.openrouter,
        model,
        messages,
        plugins,
        cancel,
        notes: note.into_iter().collect(),
    };
    let running = turn.cancel.clone();
    running.set_task(app.tasks.spawn(turn::run(turn)));
    Ok(())
}

fn stored_history(app: &Shared, id: &str) -> Vec<Message> {
    // From memory unless another editor wrote the file since (see store/history.rs).
    app.ready()
        .map(|r| r.store.load_history(id).messages)
        .unwrap_or_default()
}

/// Unchanged turns keep what the history knows of them (reasoning, model, usage, attachments).
fn keep_known_turns(messages: &mut [Message], stored: &[Message]) {
    for (m, s) in messages.iter_mut().zip(stored) {
        if same_text(std::slice::from_ref(s), std::slice::from_ref(m)) {
            *m = s.clone();
        }
    }
}

/// Saves the new prompt, or the whole conversation when earlier turns were edited (the history
/// stays append-only either way).
fn record(app: &Shared, id: &str, stored: &[Message], messages: &[Message]) {
    let Ok(ready) = app.ready() else { return };
    let records: Vec<Record> =
        if stored.len() <= messages.len() && same_text(stored, &messages[..stored.len()]) {
            messages[stored.len()..]
                .iter()
                .map(|m| Record::Message { message: m.clone() })
                .collect()
        } else {
            vec![Record::Rewrite {
                messages: messages.to_vec(),
            }]
        };
    for r in &records {
        if let Err(e) = ready.store.append(id, r, true) {
            tracing::error!("saving prompt: {e:#}");
        }
    }
}
