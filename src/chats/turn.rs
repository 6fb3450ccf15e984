//! One turn of a chat: send the conversation, stream the answer into the buffer, save it as it
//! arrives, and close the turn with usage (or the reason it ended) under the answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::answering;
use super::context;
use crate::app::registry::{Cancel, End};
use crate::app::render::Renderer;
use crate::app::Shared;
use crate::config::OpenRouter;
use crate::data::transcript::{
    note_text, usage_note, NOTE_PREFIX, REASONING_CLOSE, REASONING_OPEN,
};
use crate::data::{Message, Usage};
use crate::openrouter::client::ChatRequest;
use crate::openrouter::retry::Retry;
use crate::openrouter::stream::StreamEvent;
use crate::openrouter::ChatError;
use crate::store::Record;

/// How often a long answer is saved while it streams.
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// Everything a turn needs, captured when the user submits.
pub struct Turn {
    pub app: Shared,
    pub session: String,
    pub name: String,
    pub buf: i64,
    pub mark: i64,
    pub cfg: OpenRouter,
    pub model: String,
    pub temperature: Option<f64>,
    pub messages: Vec<Message>,
    /// OpenRouter plugins asked for (web search): see `extras::plugins`.
    pub plugins: Vec<serde_json::Value>,
    pub cancel: Arc<Cancel>,
    /// Notes to put under the answer whatever happens (a project prompt left out).
    pub notes: Vec<String>,
}

/// The answer as it builds up, and where the buffer stands.
#[derive(Default)]
struct Answer {
    content: String,
    reasoning: String,
    in_reasoning: bool,
    finish: Option<String>,
    usage: Option<Usage>,
    /// Web pages the answer cites, as the server sent them (made safe at the end).
    citations: Vec<crate::data::Citation>,
    /// The model the stream named first, and the generation id.
    answered: Option<String>,
    generation: Option<String>,
    /// The answering model as the header shows it, when not the one asked for.
    other_model: Option<String>,
    done: bool,
    saved_upto: usize,
    /// A partial save failed (full or read-only disk): the user was told once.
    save_failed: bool,
    /// Lines of zen's reasoning block above the content (where the model's text starts).
    lead: usize,
    /// The reasoning block was opened and closed (it can fold).
    block_closed: bool,
}

impl Answer {
    /// Appends to `out` the buffer text for one event (reasoning goes in its own foldable block).
    fn apply(&mut self, event: StreamEvent, out: &mut String) {
        match event {
            StreamEvent::Reasoning(r) => {
                if !self.in_reasoning && self.reasoning.is_empty() && self.content.is_empty() {
                    self.in_reasoning = true;
                    out.push_str(REASONING_OPEN);
                    out.push('\n');
                    self.lead += 1;
                }
                self.reasoning.push_str(&r);
                if self.in_reasoning {
                    out.push_str(&r); // after the answer began: kept in history, not interleaved
                    self.lead += lines_in(&r);
                }
            }
            StreamEvent::Content(c) => {
                out.push_str(&self.close_reasoning());
                out.push_str(&c);
                self.content.push_str(&c);
            }
            StreamEvent::Finish(f) => self.finish = Some(f),
            StreamEvent::Usage(u) => self.usage = Some(u),
            StreamEvent::Done => self.done = true,
            StreamEvent::Citations(c) => self.citations.extend(c),
            StreamEvent::Answered { model, id } => {
                self.answered = self.answered.take().or(model);
                self.generation = self.generation.take().or(id);
            }
        }
    }

    fn close_reasoning(&mut self) -> String {
        if !self.in_reasoning {
            return String::new();
        }
        self.in_reasoning = false;
        let newline = if self.reasoning.ends_with('\n') {
            ""
        } else {
            "\n"
        };
        let close = format!("{newline}{REASONING_CLOSE}\n\n");
        self.lead += lines_in(&close);
        self.block_closed = true;
        close
    }

    /// Closing text: notes under the answer, then a fresh `## User` header.
    fn footer(&mut self, notes: &[String]) -> String {
        let mut out = self.close_reasoning();
        let tail_empty = self.content.is_empty() && out.is_empty();
        if !tail_empty {
            if !self.content.ends_with('\n') || !out.is_empty() {
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
}

fn lines_in(text: &str) -> usize {
    text.matches('\n').count()
}

/// Runs the turn to its end; never panics on bad input, always saves what arrived.
pub async fn run(turn: Turn) {
    let app = turn.app.clone();
    let Ok(ready) = app.ready() else { return };
    let ui = ready.ui.clone();
    let started = Instant::now();
    ui.emit(
        "ZenStreamStart",
        &json!({"session": turn.session, "name": turn.name, "model": turn.model}),
    )
    .await;

    let fill = Some(context::fill(&turn.messages));
    context::show(&app, turn.buf, &turn.session, &turn.model, fill).await;
    let renderer = Renderer::spawn(ui.clone(), turn.buf, turn.mark, turn.cancel.clone());
    let mut answer = Answer::default();
    let error = stream_answer(&turn, &mut answer, &renderer).await.err();
    if let Some(usage) = answer.usage.as_mut() {
        super::extras::price_extras(&app, &turn.model, usage).await;
    }
    let cited = std::mem::take(&mut answer.citations);
    answer.citations = super::extras::clean_citations(&app, &turn.cfg, cited).await;
    let stop_reason = turn.cancel.reason();

    // What ended the turn, as a note under the answer and as the history record's `end`.
    let end = match (&error, &stop_reason) {
        (_, Some(reason)) => Some(reason.as_str().to_string()),
        (Some(e), None) => Some(format!("error: {}", e.kind())),
        (None, None) if !answer.done && answer.finish.is_none() => Some("error: truncated".into()),
        _ => None,
    };
    let error = match (error, &end) {
        (None, Some(e)) if e == "error: truncated" => Some(ChatError::Truncated),
        (e, _) => e,
    };
    let error_text = error.as_ref().map(|e| e.to_string());

    let totals = app
        .registry
        .with(&turn.session, |entry| {
            if let Some(u) = &answer.usage {
                entry.meta.totals.add(u);
            }
            entry.meta.updated = crate::data::now();
            entry.meta.totals.clone()
        })
        .unwrap_or_default();

    // Saved before the buffer is touched: when Neovim quits it may no longer answer.
    let unsaved = save_answer(&turn, &answer, end.clone());
    if let Some(usage) = &answer.usage {
        if let Err(e) = crate::spend::record_with(
            &ready.config.state_dir,
            &turn.session,
            &turn.model,
            usage,
            answer.generation.as_deref(),
        ) {
            tracing::error!("saving usage: {e:#}");
        }
    }

    // What stopped the answer and its usage make one note (`stopped · 3 in · 9 out · ...`).
    let usage_line = (answer.usage.is_some() || error.is_none())
        .then(|| usage_note(answer.usage.as_ref(), &totals));
    let mut notes = turn.notes.clone();
    let footnotes = crate::data::transcript::footnotes(&answer.citations);
    if !footnotes.is_empty() {
        notes.push(footnotes.join("\n")); // zen's text: outside the answer's content
    }
    if let Some(reason) = &stop_reason {
        notes.push(match &usage_line {
            Some(u) => format!("{NOTE_PREFIX} {} · {}", reason.as_str(), note_text(u)),
            None => format!("{NOTE_PREFIX} {}", reason.as_str()),
        });
    }
    if let Some(text) = &error_text {
        notes.push(format!(
            "{NOTE_PREFIX} error: {}",
            text.trim_start_matches("zen: ")
        ));
    }
    if answer.finish.as_deref() == Some("length") {
        notes.push(format!(
            "{NOTE_PREFIX} the answer hit max_tokens (finish_reason: length)"
        ));
    }
    if let (None, Some(u)) = (&stop_reason, usage_line) {
        notes.push(u);
    }
    if let Some(e) = &unsaved {
        notes.push(format!("{NOTE_PREFIX} {}", unsaved_text(e)));
    }
    let footer = answer.footer(&notes);
    let mut stats = renderer.finish().await;
    // The answer's end is fixed in the buffer only now, so nothing the model wrote is the user's.
    if !stats.buffer_gone
        && !matches!(
            ui.end_answer(turn.buf, turn.mark, &footer, answer.lead)
                .await,
            Ok(true)
        )
    {
        stats.buffer_gone = true;
    }

    if let (Some(u), false) = (&answer.usage, stats.buffer_gone) {
        let fill = Some(context::Fill::of(u));
        context::show(&app, turn.buf, &turn.session, &turn.model, fill).await;
    }
    if let Some(e) = &unsaved {
        ui.notify(&format!("zen: {}", unsaved_text(e)), "error")
            .await;
    }
    app.registry.end_turn(&turn.session);
    app.save_index().await;

    tracing::info!(
        "turn {} done in {:?}: {} bytes, {} flushes, end {:?}",
        turn.session,
        started.elapsed(),
        answer.content.len(),
        stats.flushes,
        end
    );
    if let Some(text) = &error_text {
        ui.notify(text, "error").await;
    } else if (stats.buffer_gone && stop_reason.is_none()) || stop_reason == Some(End::BufferClosed)
    {
        ui.notify("zen: the chat buffer went away mid-answer; what arrived is saved. :ZenList reopens it.", "warn").await;
    }
    let usage = answer.usage.clone().unwrap_or_default();
    ui.emit(
        "ZenStreamDone",
        &json!({
            "session": turn.session, "name": turn.name, "model": turn.model,
            "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "cost": usage.cost, "error": error_text, "stopped": stop_reason.map(End::as_str),
            "session_cost": totals.cost, "flushes": stats.flushes,
        }),
    )
    .await;
}

/// Sends the request and feeds the answer to the renderer until it ends, fails or is cancelled.
async fn stream_answer(
    turn: &Turn,
    answer: &mut Answer,
    renderer: &Renderer,
) -> Result<(), ChatError> {
    let app = &turn.app;
    let ready = app.ready().map_err(|_| ChatError::Truncated)?;
    let request = ChatRequest {
        cfg: &turn.cfg,
        model: &turn.model,
        temperature: turn.temperature,
        messages: &turn.messages,
        session_id: &turn.session,
        plugins: &turn.plugins,
    };
    // The waiting line under the header says "retrying 1/2 in 1.0 s" while it waits.
    let (ui, buf, mark) = (ready.ui.clone(), turn.buf, turn.mark);
    let mut on_retry = move |r: Retry| {
        let ui = ui.clone();
        tokio::spawn(async move { ui.retrying(buf, mark, r.attempt, r.max, r.delay).await });
    };
    let token = &turn.cancel.token;
    let Some(mut answering) = answering::open(app, &request, token, &mut on_retry).await? else {
        return Ok(());
    };
    let mut last_save = Instant::now();
    while let Some(item) = answering.next().await {
        // One push per network read, however many tokens it carried.
        let mut text = String::new();
        let closed_before = answer.block_closed;
        let named_before = answer.answered.is_some();
        for event in item? {
            answer.apply(event, &mut text);
        }
        if !named_before {
            let named = answer.answered.as_deref();
            answer.other_model =
                super::extras::other_model(&turn.model, named, Some(&answering.key));
            if let Some(other) = answer.other_model.clone() {
                // The header says who answered; the stream does not wait for Neovim.
                let ui = ready.ui.clone();
                let (buf, mark) = (turn.buf, turn.mark);
                tokio::spawn(async move { ui.answered_by(buf, mark, &other).await });
            }
        }
        if !text.is_empty() {
            renderer.push(text);
        }
        if answer.block_closed && !closed_before {
            renderer.reasoning_closed(answer.lead); // it folds now, not when the answer ends
        }
        if answer.done {
            return Ok(());
        }
        if last_save.elapsed() >= SAVE_EVERY && answer.content.len() > answer.saved_upto {
            let text = answer.content[answer.saved_upto..].to_string();
            last_save = Instant::now();
            match ready
                .store
                .append(&turn.session, &Record::Partial { text }, false)
            {
                Ok(()) => answer.saved_upto = answer.content.len(),
                Err(e) if crate::store::is_gone(&e) => answer.saved_upto = answer.content.len(),
                // Kept in memory: the next save point writes the same text again.
                Err(e) if !answer.save_failed => {
                    answer.save_failed = true;
                    tracing::error!("saving partial answer: {e:#}");
                    let text = format!("zen: {}", unsaved_text(&format!("{e:#}")));
                    ready.ui.notify(&text, "error").await;
                }
                Err(_) => {}
            }
        }
    }
    Ok(())
}

/// The line shown (in the chat and as a notification) when the history cannot be written.
fn unsaved_text(error: &str) -> String {
    format!("this answer is not saved yet ({error}). It is kept in memory and saved at the next submit: free some disk space")
}

/// Saves the final answer; the error to show when it could not be (not for a killed session).
fn save_answer(turn: &Turn, answer: &Answer, end: Option<String>) -> Option<String> {
    let ready = turn.app.ready().ok()?;
    if answer.content.is_empty() && answer.reasoning.is_empty() {
        return None;
    }
    let mut message = Message::answer(
        answer.content.clone(),
        &answer.reasoning,
        &turn.model,
        answer.usage.clone(),
        end,
    );
    message.answered = answer.other_model.clone();
    message.generation = answer.generation.clone();
    message.citations = answer.citations.clone();
    match ready
        .store
        .append(&turn.session, &Record::Message { message }, true)
    {
        Err(e) if !crate::store::is_gone(&e) => {
            tracing::error!("saving answer: {e:#}");
            Some(format!("{e:#}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footer_after_text_leaves_an_empty_user_turn() {
        let mut a = Answer::default();
        a.apply(StreamEvent::Content("Hi".into()), &mut String::new());
        assert_eq!(
            a.footer(&["> [zen] n".into()]),
            "\n\n> [zen] n\n\n## User\n"
        );
    }

    #[test]
    fn footer_with_no_text() {
        let mut a = Answer::default();
        assert_eq!(
            a.footer(&["> [zen] error: x".into()]),
            "> [zen] error: x\n\n## User\n"
        );
    }

    #[test]
    fn reasoning_block_then_content() {
        let mut a = Answer::default();
        let mut out = String::new();
        for e in [
            StreamEvent::Reasoning("think".into()),
            StreamEvent::Content("ok".into()),
        ] {
            a.apply(e, &mut out);
        }
        assert_eq!(out, "::: reasoning {{{\nthink\n::: }}}\n\nok");
        assert_eq!(
            a.lead, 4,
            "the content starts 4 rows below the header's blank line"
        );
    }
}
