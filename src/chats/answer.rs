//! An answer as it streams in: the model's text and reasoning, what the stream said about it
//! (finish, usage, citations, who answered), the buffer text each event adds (reasoning in its
//! foldable block) and the closing footer.

use crate::data::transcript::{REASONING_CLOSE, REASONING_OPEN};
use crate::data::Usage;
use crate::openrouter::stream::StreamEvent;

/// The answer as it builds up, and where the buffer stands.
#[derive(Default)]
pub(super) struct Answer {
    pub(super) content: String,
    pub(super) reasoning: String,
    pub(super) in_reasoning: bool,
    pub(super) finish: Option<String>,
    pub(super) usage: Option<Usage>,
    /// Web pages the answer cites, as the server sent them (made safe at the end).
    pub(super) citations: Vec<crate::data::Citation>,
    /// The model the stream named first, and the generation id.
    pub(super) answered: Option<String>,
    pub(super) generation: Option<String>,
    /// The answering model as the header shows it, when not the one asked for.
    pub(super) other_model: Option<String>,
    pub(super) done: bool,
    pub(super) saved_upto: usize,
    /// A partial save failed (full or read-only disk): the user was told once.
    pub(super) save_failed: bool,
    /// Lines of zen's reasoning block above the content (where the model's text starts).
    pub(super) lead: usize,
    /// The reasoning block was opened and closed (it can fold).
    pub(super) block_closed: bool,
}

impl Answer {
    /// Appends to `out` the buffer text for one event (reasoning goes in its own foldable block).
    pub(super) fn apply(&mut self, event: StreamEvent, out: &mut String) {
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
    pub(super) fn footer(&mut self, notes: &[String]) -> String {
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
