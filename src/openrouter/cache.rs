//! Prompt caching for the models that need explicit breakpoints (Anthropic, Gemini): which text
//! parts of a request carry `cache_control: {type: "ephemeral"}`, and what the cache saved on an
//! answer. Other models cache by themselves: nothing is added for them.

use super::catalogue::Model;
use crate::data::{Message, Role, Usage};

/// The most breakpoints one request may carry (Anthropic's limit).
pub const MAX_BREAKPOINTS: usize = 4;

/// A text attachment at least this long (bytes; about a thousand tokens, the smallest prefix
/// Anthropic caches) gets a breakpoint of its own.
pub const LARGE_ATTACHMENT: usize = 4096;

/// Whether `model` caches only where the request says so.
pub fn needs_breakpoints(model: &str) -> bool {
    model.starts_with("anthropic/") || model.starts_with("google/gemini")
}

/// Where one breakpoint goes: a message, and which of its text parts (0: its own text, `n`: its
/// `n`th text attachment; see `content` in wire.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Breakpoint {
    pub message: usize,
    pub part: usize,
}

/// The breakpoints of a conversation whose last message is the new prompt: the system prompt,
/// each large text attachment, and the last turn before the prompt. When there are more than
/// [`MAX_BREAKPOINTS`], the last ones are kept: a breakpoint caches everything before it, so the
/// later ones cover the longest prefix.
pub fn breakpoints(messages: &[Message]) -> Vec<Breakpoint> {
    let text_parts = |m: &Message| m.attachments.iter().filter(|a| a.text.is_some()).count();
    // The whole message: its last text part.
    let whole = |i: usize| Breakpoint {
        message: i,
        part: text_parts(&messages[i]),
    };
    let mut marks = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        if m.role == Role::System {
            marks.push(whole(i));
        }
        let texts = m.attachments.iter().filter_map(|a| a.text.as_deref());
        for (n, text) in texts.enumerate() {
            if text.len() >= LARGE_ATTACHMENT {
                marks.push(Breakpoint {
                    message: i,
                    part: n + 1,
                });
            }
        }
    }
    let n = messages.len();
    if n >= 2 && messages[n - 1].role == Role::User {
        marks.push(whole(n - 2));
    }
    marks.sort();
    marks.dedup();
    let extra = marks.len().saturating_sub(MAX_BREAKPOINTS);
    marks.split_off(extra)
}

/// What the cache saved on an answer (USD; negative when writing it cost more than it saved):
/// cached tokens at the cache-read price instead of the prompt price, minus what writes cost
/// over the prompt price. `None` when nothing was cached or written, or a price is unknown.
pub fn saving(model: &Model, usage: &Usage) -> Option<f64> {
    if usage.cached_tokens == 0 && usage.cache_write_tokens == 0 {
        return None;
    }
    let prompt = model.prompt_price?;
    let mut saved = 0.0;
    if usage.cached_tokens > 0 {
        saved += usage.cached_tokens as f64 * (prompt - model.cache_read_price?);
    }
    if usage.cache_write_tokens > 0 {
        saved -= usage.cache_write_tokens as f64 * (model.cache_write_price? - prompt);
    }
    Some(saved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Attachment;

    fn msg(role: Role, text: &str) -> Message {
        Message::new(role, text.into())
    }

    fn attached(text_len: usize) -> Attachment {
        Attachment {
            reference: "@f".into(),
            label: "f".into(),
            lang: None,
            text: Some("x".repeat(text_len)),
            image_url: None,
            file_data: None,
        }
    }

    #[test]
    fn system_prompt_and_last_earlier_turn_are_marked() {
        let msgs = vec![
            msg(Role::System, "be brief"),
            msg(Role::User, "q1"),
            msg(Role::Assistant, "a1"),
            msg(Role::User, "q2"),
        ];
        let at = |message, part| Breakpoint { message, part };
        assert_eq!(breakpoints(&msgs), vec![at(0, 0), at(2, 0)]);
        assert_eq!(breakpoints(&msgs[1..2]), vec![], "a first prompt alone");
    }

    #[test]
    fn never_more_than_four_and_the_latest_are_kept() {
        let mut msgs = vec![msg(Role::System, "s")];
        for _ in 0..5 {
            let mut q = msg(Role::User, "q");
            q.attachments = vec![attached(LARGE_ATTACHMENT), attached(10)];
            msgs.push(q);
            msgs.push(msg(Role::Assistant, "a"));
        }
        msgs.push(msg(Role::User, "new"));
        let marks = breakpoints(&msgs);
        assert_eq!(marks.len(), MAX_BREAKPOINTS);
        assert_eq!(
            marks.last(),
            Some(&Breakpoint {
                message: 10,
                part: 0
            })
        );
        assert_eq!(
            marks[0],
            Breakpoint {
                message: 5,
                part: 1
            }
        );
    }

    #[test]
    fn saving_from_the_catalogue_prices() {
        let model = Model {
            prompt_price: Some(0.000003),
            cache_read_price: Some(0.0000003),
            cache_write_price: Some(0.00000375),
            ..Model::default()
        };
        let usage = Usage {
            cached_tokens: 1000,
            cache_write_tokens: 100,
            ..Usage::default()
        };
        let saved = saving(&model, &usage).unwrap();
        assert!((saved - (0.0027 - 0.000075)).abs() < 1e-12, "{saved}");
        let unpriced = Model {
            prompt_price: Some(0.000003),
            ..Model::default()
        };
        assert_eq!(saving(&unpriced, &usage), None);
        assert_eq!(saving(&model, &Usage::default()), None);
    }

    #[test]
    fn only_anthropic_and_gemini_need_breakpoints() {
        assert!(needs_breakpoints("anthropic/claude-sonnet-4"));
        assert!(needs_breakpoints("google/gemini-2.5-pro"));
        assert!(!needs_breakpoints("openai/gpt-4o"));
        assert!(!needs_breakpoints("google/gemma-3-27b-it"));
    }
}
