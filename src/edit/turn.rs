//! One edit streaming in: the request, the answer batched into at most one review update per
//! frame (the stream task never waits on Neovim), then history, spend and the end of the turn.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rmpv::Value;
use tokio::sync::Notify;

use crate::app::registry::{Cancel, End};
use crate::app::render::FRAME;
use crate::app::Shared;
use crate::chats::answering;
use crate::config::OpenRouter;
use crate::data::{Message, Usage};
use crate::nvim::Ui;
use crate::openrouter::client::ChatRequest;
use crate::openrouter::stream::StreamEvent;
use crate::store::Record;

/// Why an edit stops when the user rejected it (or unloaded its buffer) while it streamed.
const GONE: End = End::BufferClosed;

/// Everything an edit needs, captured when the user asked.
pub struct EditTurn {
    pub app: Shared,
    pub session: String,
    /// The pending change's id in `zen.review`.
    pub review: i64,
    pub cfg: OpenRouter,
    pub model: String,
    pub messages: Vec<Message>,
    pub cancel: Arc<Cancel>,
}

/// The answer so far, shared between the stream and the render task.
#[derive(Default)]
struct Live {
    text: Mutex<String>,
    more: Notify,
    done: AtomicBool,
}

/// What the stream gathered.
#[derive(Default)]
struct Answer {
    reasoning: String,
    usage: Option<Usage>,
    finished: bool,
}

/// Runs the edit to its end: the change gets every line that arrived; history and spend are saved.
pub async fn run(turn: EditTurn) {
    let app = turn.app.clone();
    let Ok(ready) = app.ready() else { return };
    let ui = ready.ui.clone();
    let started = Instant::now();
    let live = Arc::new(Live::default());
    let render = tokio::spawn(render_loop(
        ui.clone(),
        turn.review,
        live.clone(),
        turn.cancel.clone(),
    ));
    let mut answer = Answer::default();
    let error = stream(&turn, &live, &mut answer).await.err();
    live.done.store(true, Ordering::SeqCst);
    live.more.notify_one();
    let sent = render.await.unwrap_or_default();

    let stopped = turn.cancel.reason();
    let text = live.text.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let end = match (&stopped, &error) {
        (Some(r), _) => Some(r.as_str().to_string()),
        (None, Some(e)) => Some(format!("error: {}", e.kind())),
        (None, None) if !answer.finished => Some("error: truncated".into()),
        _ => None,
    };
    // The change is completed first: the user is waiting for it, the history save syncs to disk.
    if stopped != Some(GONE) {
        let code = super::code::extract(&text, true);
        let (rest, reset) = match code.strip_prefix(sent.as_str()) {
            Some(rest) => (rest.to_string(), false),
            None => (code, true),
        };
        let note = end.clone().map(Value::from).unwrap_or(Value::Nil);
        let args = vec![
            turn.review.into(),
            rest.into(),
            reset.into(),
            true.into(),
            note,
        ];
        if let Err(e) = ui.review("stream", args).await {
            tracing::warn!("ending edit {}: {e:#}", turn.review);
        }
    }
    save(&turn, &text, &answer, end.clone());
    app.registry.end_turn(&turn.session);
    app.save_index().await;
    if let Some(e) = error.filter(|_| stopped.is_none()) {
        ui.notify(&e.to_string(), "error").await;
    }
    tracing::info!(
        "edit {} done in {:?}: {} bytes, end {:?}",
        turn.session,
        started.elapsed(),
        text.len(),
        end
    );
}

/// Sends the request and gathers the answer until it ends, fails or is cancelled.
async fn stream(
    turn: &EditTurn,
    live: &Live,
    answer: &mut Answer,
) -> Result<(), crate::openrouter::ChatError> {
    let request = ChatRequest {
        cfg: &turn.cfg,
        model: &turn.model,
        temperature: None,
        messages: &turn.messages,
        session_id: &turn.session,
        plugins: &[],
    };
    let mut no_retry_line = |_| {}; // an edit has no waiting line to tell
    let token = &turn.cancel.token;
    let Some(mut answering) =
        answering::open(&turn.app, &request, token, &mut no_retry_line).await?
    else {
        return Ok(());
    };
    while let Some(item) = answering.next().await {
        let mut added = String::new();
        for event in item? {
            match event {
                StreamEvent::Content(c) => added.push_str(&c),
                StreamEvent::Reasoning(r) => answer.reasoning.push_str(&r),
                StreamEvent::Usage(u) => answer.usage = Some(u),
                StreamEvent::Finish(_) | StreamEvent::Done => answer.finished = true,
                // An edit asks for no web search; its model shows in the review header.
                StreamEvent::Citations(_) | StreamEvent::Answered { .. } => {}
            }
        }
        if !added.is_empty() {
            live.text
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_str(&added);
            live.more.notify_one();
        }
    }
    Ok(())
}

/// Sends the code that arrived to the pending change, once per frame at most, one call in flight.
/// Only what was added since the last call crosses, unless the code so far changed shape (a fence
/// appeared after unfenced text): then all of it, replacing. Returns the code sent.
async fn render_loop(ui: Ui, review: i64, live: Arc<Live>, cancel: Arc<Cancel>) -> String {
    let mut sent = String::new();
    loop {
        live.more.notified().await;
        if live.done.load(Ordering::SeqCst) {
            return sent;
        }
        let started = tokio::time::Instant::now();
        let text = live.text.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let code = super::code::extract(&text, false);
        let (delta, reset) = match code.strip_prefix(sent.as_str()) {
            Some(rest) => (rest.to_string(), false),
            None => (code.clone(), true),
        };
        if !delta.is_empty() || reset {
            let args = vec![
                review.into(),
                delta.into(),
                reset.into(),
                false.into(),
                Value::Nil,
            ];
            match ui.review("stream", args).await {
                Ok(Value::Boolean(true)) => {}
                _ => {
                    cancel.cancel(GONE);
                    return sent;
                }
            }
            sent = code;
        }
        tokio::time::sleep_until(started + FRAME).await;
    }
}

/// Appends the answer to the edit session's history and its usage to the ledger.
fn save(turn: &EditTurn, text: &str, answer: &Answer, end: Option<String>) {
    let Ok(ready) = turn.app.ready() else { return };
    if let Some(usage) = &answer.usage {
        turn.app.registry.with(&turn.session, |e| {
            e.meta.totals.add(usage);
            e.meta.updated = crate::data::now();
        });
        if let Err(e) =
            crate::spend::record(&ready.config.state_dir, &turn.session, &turn.model, usage)
        {
            tracing::error!("saving usage: {e:#}");
        }
    }
    if text.is_empty() && answer.reasoning.is_empty() {
        return;
    }
    let message = Message::answer(
        text.to_string(),
        &answer.reasoning,
        &turn.model,
        answer.usage.clone(),
        end,
    );
    if let Err(e) = ready
        .store
        .append(&turn.session, &Record::Message { message }, true)
    {
        tracing::error!("saving edit answer: {e:#}");
    }
}
