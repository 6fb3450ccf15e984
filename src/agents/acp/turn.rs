//! One turn of an agent chat: `session/prompt` with the user's new text, the agent's updates
//! streamed into the buffer through the same `Renderer` as chats (one edit per frame), its
//! requests shown as they come, and the end: `stopReason` (or why the turn ended) as a note,
//! the answer saved, the `## User` header, the events.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc;

use super::updates::{Out, View};
use super::{permission, session, Agent, Event};
use crate::acp::protocol::PromptResult;
use crate::app::registry::{Cancel, End};
use crate::app::render::{Renderer, AGENT_FLUSH_BYTES};
use crate::app::{Error, Result, Shared};
use crate::data::transcript::{self, NOTE_PREFIX};
use crate::data::{Message, Role};
use crate::store::Record;

/// How long a cancelled turn waits for the agent to answer `session/prompt` (it should, with
/// `cancelled`) before it ends anyway.
const CANCEL_GRACE: Duration = Duration::from_secs(5);

/// Starts a turn of agent chat `id` in `buf` with `prompt` (already saved in the history).
/// The agent is started first if it is not running.
pub async fn start(
    app: &Shared,
    id: &str,
    buf: i64,
    prompt: String,
    cancel: Arc<Cancel>,
) -> Result<()> {
    let ready = app.ready()?;
    let agent = session::ensure(app, id).await?;
    let name = app
        .registry
        .with(id, |e| e.meta.name.clone())
        .ok_or(Error::Gone)?;
    let header = format!(
        "{} · {}",
        transcript::header(Role::Assistant),
        agent.kind.name()
    );
    let mark = ready
        .ui
        .begin_answer(buf, &header)
        .await
        .map_err(Error::Neovim)?;
    let (tx, rx) = mpsc::unbounded_channel();
    agent.state().sink = Some(tx);
    let turn = Turn {
        app: app.clone(),
        session: id.to_string(),
        name,
        buf,
        mark,
        agent,
        prompt,
        cancel: cancel.clone(),
    };
    cancel.set_task(app.tasks.spawn(run(turn, rx)));
    Ok(())
}

struct Turn {
    app: Shared,
    session: String,
    name: String,
    buf: i64,
    mark: i64,
    agent: Arc<Agent>,
    prompt: String,
    cancel: Arc<Cancel>,
}

/// How the prompt ended.
enum Ended {
    /// The agent's stop reason (`end_turn`, `cancelled`, ...).
    Stopped(String),
    /// The one line the user is told.
    Failed(String),
}

async fn run(turn: Turn, mut rx: mpsc::UnboundedReceiver<Event>) {
    let app = turn.app.clone();
    let Ok(ready) = app.ready() else { return };
    let ui = ready.ui.clone();
    let agent = turn.agent.clone();
    // The events name the agent's model as the title does (its kind when it offers none).
    let model = session::shown_model(&agent);
    ui.emit(
        "ZenStreamStart",
        &json!({"session": turn.session, "name": turn.name, "model": model}),
    )
    .await;
    let renderer = Renderer::spawn_paced(
        ui.clone(),
        turn.buf,
        turn.mark,
        turn.cancel.clone(),
        AGENT_FLUSH_BYTES,
    );
    let mut view = View::default();
    let ended = converse(&turn, &mut rx, &mut view, &renderer).await;
    agent.state().sink = None;
    let mut out = Vec::new();
    for (key, line) in permission::cancel_all(&agent) {
        view.permission(&key, line, &mut out);
    }
    drop_edits(&ui, &agent.id).await;
    view.finish(&mut out);
    push(&renderer, out);

    let stop_reason = turn.cancel.reason();
    let (end, notes, error) = outcome(&turn, &ended, stop_reason);
    let unsaved = save(&turn, &view, end);
    let mut notes = notes;
    if let Some(e) = &unsaved {
        notes.push(format!("{NOTE_PREFIX} this answer is not saved ({e})"));
    }
    let footer = footer(&view.content(), &notes);
    let stats = renderer.finish().await;
    if !stats.buffer_gone {
        let _ = ui.end_answer(turn.buf, turn.mark, &footer, 0).await;
    }
    app.registry.with(&turn.session, |e| {
        e.meta.totals.turns += 1;
        e.meta.updated = crate::data::now();
    });
    app.registry.end_turn(&turn.session);
    app.save_index().await;
    if let Some(text) = &error {
        ui.notify(text, "error").await;
    }
    ui.emit(
        "ZenStreamDone",
        &json!({
            "session": turn.session, "name": turn.name, "model": model,
            "error": error, "stopped": stop_reason.map(End::as_str),
            "stop_reason": match &ended { Ended::Stopped(r) => Some(r), Ended::Failed(_) => None }, "flushes": stats.flushes,
        }),
    )
    .await;
}

/// Sends the prompt and shows what the agent sends until the prompt is answered, the agent
/// fails, or the turn is cancelled (then `session/cancel`, and a bounded wait for the answer).
async fn converse(
    turn: &Turn,
    rx: &mut mpsc::UnboundedReceiver<Event>,
    view: &mut View,
    renderer: &Renderer,
) -> Ended {
    let agent = &turn.agent;
    let kind = agent.kind.name();
    let sid = agent.session_id();
    let params = json!({"sessionId": sid, "prompt": [{"type": "text", "text": turn.prompt}]});
    let conn = agent.conn.clone();
    let mut prompt = pin!(async move { conn.call::<PromptResult>("session/prompt", params).await });
    let mut grace = pin!(tokio::time::sleep(Duration::MAX / 4));
    let mut cancelled = false;
    loop {
        tokio::select! {
            biased;
            // Updates first: those sent before the prompt's answer are shown before it ends.
            event = rx.recv() => match event {
                Some(Event::Update(update)) => {
                    let mut out = Vec::new();
                    view.apply(update, &mut out);
                    push(renderer, out);
                }
                Some(Event::Permission { key, line }) => {
                    let mut out = Vec::new();
                    view.permission(&key, line, &mut out);
                    push(renderer, out);
                }
                Some(Event::Malformed(why)) => {
                    let _ = agent.conn.notify("session/cancel", json!({"sessionId": sid})).await;
                    return Ended::Failed(format!("zen: {kind} sent a malformed message ({why}); the turn ended. :ZenSubmit sends again."));
                }
                Some(Event::Closed(status)) => {
                    return Ended::Failed(format!("zen: {kind} exited{status}; the turn ended and the transcript is kept. :ZenSubmit starts it again."));
                }
                None => {}
            },
            _ = turn.cancel.token.cancelled(), if !cancelled => {
                cancelled = true;
                let mut out = Vec::new();
                for (key, line) in permission::cancel_all(agent) {
                    view.permission(&key, line, &mut out);
                }
                push(renderer, out);
                let _ = agent.conn.notify("session/cancel", json!({"sessionId": sid})).await;
                grace.as_mut().reset(tokio::time::Instant::now() + CANCEL_GRACE);
            }
            _ = &mut grace => return Ended::Stopped("cancelled".into()),
            answer = &mut prompt => return match answer {
                Ok(r) => Ended::Stopped(r.stop_reason),
                Err(crate::acp::ConnError::Closed(status)) => Ended::Failed(format!(
                    "zen: {kind} exited{status}; the turn ended and the transcript is kept. :ZenSubmit starts it again."
                )),
                Err(e) => Ended::Failed(format!("zen: {kind} failed the prompt: {e}.")),
            },
        }
    }
}

fn push(renderer: &Renderer, out: Vec<Out>) {
    for o in out {
        match o {
            Out::Text(t) => renderer.push(t),
            Out::Op(op) => renderer.op(op),
        }
    }
}

/// The history's `end`, the notes under the answer and the error to notify.
fn outcome(
    turn: &Turn,
    ended: &Ended,
    stopped: Option<End>,
) -> (Option<String>, Vec<String>, Option<String>) {
    let kind = turn.agent.kind.name();
    if let Some(reason) = stopped {
        let text = reason.as_str();
        return (
            Some(text.into()),
            vec![format!("{NOTE_PREFIX} {text}")],
            None,
        );
    }
    match ended {
        Ended::Stopped(reason) => {
            let note = match reason.as_str() {
                "end_turn" | "" => None,
                "max_tokens" => Some(format!("{kind} hit its token limit (max_tokens)")),
                "max_turn_requests" => {
                    Some(format!("{kind} hit its limit of requests in one turn"))
                }
                "refusal" => Some(format!("{kind} refused to go on")),
                "cancelled" => Some("stopped".into()),
                other => Some(format!("{kind} stopped: {other}")),
            };
            let end = note.clone();
            let notes = note
                .map(|n| format!("{NOTE_PREFIX} {n}"))
                .into_iter()
                .collect();
            (end, notes, None)
        }
        Ended::Failed(text) => {
            let note = format!("{NOTE_PREFIX} error: {}", text.trim_start_matches("zen: "));
            (Some("error".into()), vec![note], Some(text.clone()))
        }
    }
}

/// Saves the answer as the buffer shows it; the error when the disk refused.
fn save(turn: &Turn, view: &View, end: Option<String>) -> Option<String> {
    let ready = turn.app.ready().ok()?;
    if view.is_empty() && end.is_none() {
        return None;
    }
    let mut message = Message::new(Role::Assistant, view.content());
    message.model = Some(turn.agent.kind.name().into());
    message.end = end;
    match ready
        .store
        .append(&turn.session, &Record::Message { message }, true)
    {
        Err(e) if !crate::store::is_gone(&e) => {
            tracing::error!("saving agent answer: {e:#}");
            Some(format!("{e:#}"))
        }
        _ => None,
    }
}

/// Notes under the answer, then a fresh `## User` header.
fn footer(content: &str, notes: &[String]) -> String {
    let mut out = String::new();
    if !content.is_empty() {
        if !content.ends_with('\n') {
            out.push('\n');
        }
        out.push('\n');
    }
    for note in notes {
        out.push_str(note);
        out.push_str("\n\n");
    }
    out.push_str("## User\n");
    out
}

/// Drops the session's pending changes whose permission was answered `cancelled`.
async fn drop_edits(ui: &crate::nvim::Ui, session: &str) {
    if let Err(e) = ui.drop_agent_edit(session, None).await {
        tracing::debug!("dropping the agent's pending changes: {e:#}");
    }
}
