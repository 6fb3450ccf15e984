//! `:ZenCompact`: the current model summarises the earlier turns (a normal streamed request, its
//! cost recorded like an answer's); the buffer then shows those turns folded inside a
//! `::: compacted · not sent {{{` block (the transcript parser skips it) and a `## Summary` that
//! is sent instead of them. The history keeps everything (a `compact` record). With
//! `openrouter.compact = "auto"` it runs before a submit that would fill most of the context.

use std::sync::Arc;

use futures::StreamExt;
use serde_json::{json, Value as Json};

use super::context::{self, Fill};
use crate::app::registry::Cancel;
use crate::app::{Error, Result, Shared, Which};
use crate::config::{Compact, AUTO_COMPACT_PERCENT};
use crate::data::transcript::{self, SUMMARY_HEADER};
use crate::data::{Message, Role, Usage};
use crate::openrouter::client::ChatRequest;
use crate::openrouter::stream::StreamEvent;
use crate::store::Record;

/// What the model is asked, after the conversation.
const INSTRUCTION: &str = "Summarise our conversation so far, so that we can continue it from the summary alone: keep every fact, decision, open question, name, file and piece of code that still matters. Answer with the summary only.";

/// `:ZenCompact` in a chat buffer: checks there is something to compact, then compacts in the
/// background (the editor does not wait on the model) and says when it is done.
pub async fn compact(app: &Shared, which: Which) -> Result<Json> {
    let buf = which.buf.ok_or(Error::NoneHere)?;
    let id = app.resolve(&which)?.ok_or_else(|| {
        Error::refused("this buffer is not a zen chat. Run :ZenCompact in a chat buffer.")
    })?;
    let cancel = app.registry.start_turn(&id)?;
    let plan = match plan(app, buf).await {
        Ok(p) => p,
        Err(e) => {
            app.registry.end_turn(&id);
            return Err(e);
        }
    };
    let task_app = app.clone();
    let task_id = id.clone();
    let task = app.tasks.spawn(async move {
        let done = run(&task_app, &task_id, buf, plan, &cancel).await;
        task_app.registry.end_turn(&task_id);
        if let Ok(ready) = task_app.ready() {
            match done {
                Ok(n) => {
                    let text = format!("zen: compacted {n} messages into a summary.");
                    ready.ui.notify(&text, "info").await;
                }
                Err(e) => ready.ui.notify(&e.to_string(), "error").await,
            }
        }
    });
    drop(task);
    Ok(json!({"id": id}))
}

/// Whether a submit of `messages` should compact first (`compact = "auto"`, and the
/// conversation's estimate passes `AUTO_COMPACT_PERCENT` of the model's context).
pub fn wanted(mode: Compact, messages: &[Message], context_length: Option<u64>) -> bool {
    let Some(ctx) = context_length.filter(|c| *c > 0) else {
        return false;
    };
    let answered = messages.iter().any(|m| m.role == Role::Assistant);
    mode == Compact::Auto
        && answered
        && crate::models::estimate_tokens(messages) * 100 >= ctx * AUTO_COMPACT_PERCENT
}

/// What to compact: the conversation as sent, a prompt typed after the last answer (kept under
/// the summary), and the rows to fold.
pub struct Plan {
    messages: Vec<Message>,
    pending: Option<Message>,
    first: usize,
    last: usize,
}

impl Plan {
    /// The conversation a submit would send now (the pending prompt included).
    pub fn all(&self) -> Vec<Message> {
        let mut all = self.messages.clone();
        all.extend(self.pending.clone());
        all
    }
}

/// Reads the buffer and finds what to compact; refuses when there is no answer yet.
pub async fn plan(app: &Shared, buf: i64) -> Result<Plan> {
    let ready = app.ready()?;
    let chat = ready
        .ui
        .read_chat(buf)
        .await
        .map_err(Error::Neovim)?
        .ok_or(Error::refused("the chat buffer is not loaded."))?;
    let mut messages = transcript::parse(&chat.lines, &chat.answers);
    let pending = messages
        .last()
        .is_some_and(|m| m.role == Role::User)
        .then(|| messages.pop())
        .flatten();
    let nothing = "nothing to compact yet: a chat needs an answer first.";
    if !messages.iter().any(|m| m.role == Role::Assistant) {
        return Err(Error::refused(nothing));
    }
    // The last `## User` header outside the answers starts what stays below the summary.
    let in_answer = |row: usize| chat.answers.iter().any(|a| a.first <= row && row <= a.last);
    let header = (0..chat.lines.len())
        .rev()
        .find(|&r| chat.lines[r].trim_end() == "## User" && !in_answer(r))
        .ok_or(Error::refused(nothing))?;
    let first = (1..header)
        .find(|&r| !chat.lines[r].trim().is_empty())
        .ok_or(Error::refused(nothing))?;
    Ok(Plan {
        messages,
        pending,
        first,
        last: header - 1,
    })
}

/// Asks for the summary, saves it (history, spend, totals) and folds the turns in the buffer.
/// Answers how many messages were compacted.
pub async fn run(
    app: &Shared,
    id: &str,
    buf: i64,
    plan: Plan,
    cancel: &Arc<Cancel>,
) -> Result<usize> {
    let ready = app.ready()?;
    let meta = app
        .registry
        .with(id, |e| e.meta.clone())
        .ok_or(Error::Gone)?;
    let (cfg, _) = ready
        .config
        .for_dir(&meta.dir)
        .map_err(|e| Error::refused(format!("{e:#}.")))?;
    let model = meta
        .model
        .clone()
        .unwrap_or(cfg.openrouter.default_model.clone());
    ready
        .ui
        .notify(
            &format!("zen: compacting the earlier turns of {}…", meta.name),
            "info",
        )
        .await;
    let mut ask = plan.messages.clone();
    ask.push(Message::new(Role::User, INSTRUCTION.into()));
    let (text, usage) = summarise(app, &cfg.openrouter, &model, id, &ask, cancel).await?;

    let mut summary = Message::new(Role::System, text.trim().to_string());
    summary.summary = true;
    summary.model = Some(model.clone());
    summary.usage = usage.clone();
    // Paid for, whatever happens to the buffer.
    if let Some(u) = &usage {
        app.registry.with(id, |e| e.meta.totals.add(u));
        if let Err(e) = crate::spend::record(&ready.config.state_dir, id, &model, u) {
            tracing::error!("saving usage: {e:#}");
        }
    }
    let mut lines = vec![SUMMARY_HEADER.to_string(), String::new()];
    lines.extend(summary.content.split('\n').map(String::from));
    lines.push(String::new());
    let note = transcript::summary_note(usage.as_ref());
    lines.extend([note, String::new()]);
    let shown = ready
        .ui
        .compact(buf, plan.first, plan.last, &lines)
        .await
        .map_err(Error::Neovim)?;
    // The history follows the buffer: a chat that changed meanwhile keeps its turns.
    if shown != "changed" {
        save(app, id, &plan, &summary);
    }
    app.save_index().await;
    match shown.as_str() {
        "ok" => {}
        "changed" => return Err(Error::refused(
            "the chat changed while compacting; nothing was folded (the summary's cost is counted). Run :ZenCompact again.",
        )),
        _ => return Err(Error::refused(
            "the chat buffer went away while compacting; the summary is saved. :ZenList reopens it.",
        )),
    }
    // What the next request starts from: the summary (its own size, as the model counted it).
    let fill = usage.as_ref().map(|u| Fill {
        tokens: u.completion_tokens,
        estimate: false,
    });
    context::show(app, buf, id, &model, fill).await;
    Ok(plan.messages.len())
}

/// One streamed request; the summary's text and usage.
async fn summarise(
    app: &Shared,
    cfg: &crate::config::OpenRouter,
    model: &str,
    id: &str,
    messages: &[Message],
    cancel: &Arc<Cancel>,
) -> Result<(String, Option<Usage>)> {
    let ready = app.ready()?;
    let failed =
        |e: crate::openrouter::ChatError| Error::refused(format!("compacting failed: {e}"));
    let key = app.api_key(cfg).await.map_err(failed)?;
    let request = ChatRequest {
        cfg,
        model,
        temperature: cfg.temperature,
        messages,
        session_id: id,
        plugins: &[],
    };
    let mut events = ready
        .client
        .open(&request, &key, &cancel.token, &mut |_| {})
        .await
        .map_err(failed)?;
    let (mut text, mut usage) = (String::new(), None);
    while let Some(batch) = events.next().await {
        for event in batch.map_err(failed)? {
            match event {
                StreamEvent::Content(c) => text.push_str(&c),
                StreamEvent::Usage(u) => usage = Some(u),
                _ => {}
            }
        }
        if cancel.token.is_cancelled() {
            return Err(Error::refused("compacting was stopped; nothing changed."));
        }
    }
    if text.trim().is_empty() {
        return Err(Error::refused(
            "the model answered no summary; nothing changed. Try :ZenCompact again.",
        ));
    }
    Ok((text, usage))
}

/// The history after compaction: what it compacted before, these turns (as the history knows
/// them) marked compacted, the summary, and the prompt still to send.
fn save(app: &Shared, id: &str, plan: &Plan, summary: &Message) {
    let Ok(ready) = app.ready() else { return };
    let stored = ready.store.load_history(id).messages;
    let (mut all, live): (Vec<Message>, Vec<Message>) =
        stored.into_iter().partition(|m| m.compacted);
    let mut turns = plan.messages.clone();
    super::submit::keep_known_turns(&mut turns, &live);
    all.extend(turns.into_iter().map(|mut m| {
        m.compacted = true;
        m
    }));
    all.push(summary.clone());
    // A prompt already saved (sent, but not answered) stays the last message; one never sent
    // is saved by the next submit.
    if let Some(p) = &plan.pending {
        let saved = live.last().filter(|m| m.role == Role::User);
        if let Some(s) = saved.filter(|s| s.content.trim() == p.content.trim()) {
            all.push(s.clone());
        }
    }
    if let Err(e) = ready
        .store
        .append(id, &Record::Compact { messages: all }, true)
    {
        tracing::error!("saving the compaction: {e:#}");
    }
}
