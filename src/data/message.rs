//! Messages of a conversation: who said what, what it cost, and what its references pulled in.

use serde::{Deserialize, Serialize};

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// Tokens and cost of one answer, as the usage chunk reported them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    #[serde(default)]
    pub cached_tokens: u64,
    #[serde(default)]
    pub reasoning_tokens: u64,
    /// USD; `None` when the server did not say.
    #[serde(default)]
    pub cost: Option<f64>,
    /// Prompt tokens written to the provider's cache (`prompt_tokens_details.cache_write_tokens`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_write_tokens: u64,
    /// USD the cache saved on this answer (negative: writing it cost more), from the model's
    /// prices; `None` when nothing was cached or the prices are unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved: Option<f64>,
    /// Web searches made for the answer (`server_tool_use.web_search_requests`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub web_searches: u64,
    /// What those searches cost (USD, part of `cost`), from the model's `web_search` price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_cost: Option<f64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The model that answered, when not the one asked for (`openrouter/auto`, a preset, a
    /// fallback), made safe to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered: Option<String>,
    /// OpenRouter's generation id of an answer (`GET /generation?id=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Why an answer ended early: `stopped`, `error: ...`, `interrupted`, `buffer closed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// What the prompt's references (`@file`, `#buffer`, ...) pulled in, as sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// The web pages an answer cites (web search), shown as numbered footnotes under it; zen's
    /// text, never sent back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub citations: Vec<Citation>,
    #[serde(default)]
    pub ts: u64,
}

impl Message {
    /// A model's answer as the history keeps it (`end`: why it stopped early, if it did).
    pub fn answer(
        content: String,
        reasoning: &str,
        model: &str,
        usage: Option<Usage>,
        end: Option<String>,
    ) -> Message {
        Message {
            reasoning: (!reasoning.is_empty()).then(|| reasoning.to_string()),
            model: Some(model.to_string()),
            usage,
            end,
            ..Message::new(Role::Assistant, content)
        }
    }

    /// A message stamped now.
    pub fn new(role: Role, content: String) -> Message {
        Message {
            role,
            content,
            reasoning: None,
            model: None,
            answered: None,
            generation: None,
            usage: None,
            end: None,
            attachments: Vec::new(),
            citations: Vec::new(),
            ts: super::now(),
        }
    }
}

/// Context a prompt pulled in by reference: a file, the code buffer, its diagnostics, an image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    /// The reference as typed (`@src/main.rs`, `#buffer`).
    pub reference: String,
    /// What it resolved to, shown above the fenced block (`src/main.rs`, `/etc/hosts`).
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// An image as a `data:` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// A PDF as a `data:application/pdf;base64,` URL (sent as a `file` part named `label`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_data: Option<String>,
}

/// A web page an answer cites (`url_citation` annotations), made safe to show: one line, no
/// control characters, no secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Citation {
    pub url: String,
    #[serde(default)]
    pub title: String,
}
