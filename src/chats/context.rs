//! The context meter: how much of the model's context the conversation takes (the last answer's
//! prompt + completion tokens, or an estimate before any answer), shown by Lua as virtual text on
//! the chat's title line and in `status()` (`ctx 12.3k/200k 6%`). Updated after each answer, on
//! model change and when a chat buffer is made.

use serde_json::json;

use crate::app::Shared;
use crate::data::{Message, Role};

/// How full a conversation is: tokens, and whether they are an estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    pub tokens: u64,
    pub estimate: bool,
}

impl Fill {
    /// What an answer's usage says the conversation takes now.
    pub fn of(usage: &crate::data::Usage) -> Fill {
        Fill {
            tokens: usage.prompt_tokens + usage.completion_tokens,
            estimate: false,
        }
    }
}

/// The last answer's prompt + completion tokens, else an estimate of the whole conversation.
pub fn fill(messages: &[Message]) -> Fill {
    let last = messages
        .iter()
        .rev()
        .filter(|m| m.role == Role::Assistant)
        .find_map(|m| m.usage.as_ref());
    match last {
        Some(u) => Fill::of(u),
        None => Fill {
            tokens: crate::models::estimate_tokens(messages),
            estimate: true,
        },
    }
}

/// The model's context length, from the cached catalogue (in memory or on disk; never fetched
/// for the meter alone: `None` until something else loads it).
pub async fn limit(app: &Shared, model: &str) -> Option<u64> {
    let catalogue = crate::models::cached(app).await?;
    catalogue.find(model).and_then(|m| m.context_length)
}

/// Shows the meter of `session` in `buf`; `fill = None` keeps the tokens Lua has (a model
/// change: only the limit moves). An estimate never replaces a count the server gave.
pub async fn show(app: &Shared, buf: i64, session: &str, model: &str, fill: Option<Fill>) {
    let Ok(ready) = app.ready() else { return };
    let limit = limit(app, model).await;
    let mut meter = json!({"limit": limit});
    if let Some(f) = fill {
        meter["used"] = json!(f.tokens);
        meter["estimate"] = json!(f.estimate);
    }
    if let Err(e) = ready.ui.meter(buf, session, &meter).await {
        tracing::warn!("context meter: {e:#}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Usage;

    #[test]
    fn the_last_answers_usage_counts_and_an_estimate_before_any() {
        let mut msgs = vec![Message::new(Role::User, "x".repeat(400))];
        assert_eq!(
            fill(&msgs),
            Fill {
                tokens: 104,
                estimate: true
            }
        );
        let mut a = Message::new(Role::Assistant, "y".into());
        a.usage = Some(Usage {
            prompt_tokens: 1000,
            completion_tokens: 234,
            ..Usage::default()
        });
        msgs.push(a);
        msgs.push(Message::new(Role::User, "more".into()));
        assert_eq!(
            fill(&msgs),
            Fill {
                tokens: 1234,
                estimate: false
            }
        );
    }
}
