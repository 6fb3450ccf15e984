//! Sessions: what they are (metadata, messages), the registry that holds them, how a chat's
//! buffer text maps to a conversation, and one streamed turn of a chat.

pub mod registry;
pub mod submit;
pub mod transcript;
pub mod turn;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Why an answer ended early: `stopped`, `error: ...`, `interrupted`, `buffer closed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// What the prompt's references (`@file`, `#buffer`, ...) pulled in, as sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    #[serde(default)]
    pub ts: u64,
}

impl Message {
    /// A message stamped now.
    pub fn new(role: Role, content: String) -> Message {
        Message {
            role,
            content,
            reasoning: None,
            model: None,
            usage: None,
            end: None,
            attachments: Vec::new(),
            ts: now(),
        }
    }

    /// The `content` to send: the text plus its attachments (text inlined as fenced blocks,
    /// images as `image_url` parts).
    pub fn wire_content(&self) -> serde_json::Value {
        if self.attachments.is_empty() {
            return serde_json::Value::String(self.content.clone());
        }
        let mut text = self.content.clone();
        for a in self.attachments.iter().filter(|a| a.text.is_some()) {
            text.push_str("\n\n");
            text.push_str(&crate::send::fenced(
                &a.label,
                a.lang.as_deref().unwrap_or(""),
                a.text.as_deref().unwrap_or(""),
            ));
        }
        let images: Vec<_> = self
            .attachments
            .iter()
            .filter_map(|a| a.image_url.as_deref())
            .collect();
        if images.is_empty() {
            return serde_json::Value::String(text);
        }
        let mut parts = vec![serde_json::json!({"type": "text", "text": text})];
        parts.extend(
            images
                .iter()
                .map(|url| serde_json::json!({"type": "image_url", "image_url": {"url": url}})),
        );
        serde_json::Value::Array(parts)
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
}

/// Running totals of a session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost: f64,
    pub turns: u64,
}

impl Totals {
    /// Adds one answer's usage.
    pub fn add(&mut self, usage: &Usage) {
        self.prompt_tokens += usage.prompt_tokens;
        self.completion_tokens += usage.completion_tokens;
        self.cost += usage.cost.unwrap_or(0.0);
        self.turns += 1;
    }
}

/// What the index keeps about a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionMeta {
    pub id: String,
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub temperature: Option<f64>,
    pub dir: PathBuf,
    pub created: u64,
    pub updated: u64,
    #[serde(default)]
    pub totals: Totals,
    /// Terminal agents (claude, codex, gemini, shell): how to find and revive them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentMeta>,
}

/// What the index keeps about a terminal agent session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentMeta {
    /// The CLI's own session id, when we chose it (`claude --session-id`).
    #[serde(default)]
    pub cli_session: Option<String>,
    /// Runs in a tmux session (named like the session) on the private socket.
    pub tmux: bool,
    /// The command line it was started with.
    pub argv: Vec<String>,
    /// The git worktree made for it (`worktree=true`), and its branch.
    #[serde(default)]
    pub worktree: Option<PathBuf>,
    #[serde(default)]
    pub branch: Option<String>,
}

impl SessionMeta {
    /// Metadata of a new chat session.
    pub fn new_chat(id: String, name: String, model: String, dir: PathBuf) -> SessionMeta {
        let t = now();
        SessionMeta {
            id,
            kind: "openrouter".into(),
            name,
            model: Some(model),
            temperature: None,
            dir,
            created: t,
            updated: t,
            totals: Totals::default(),
            agent: None,
        }
    }
}

/// Checks a session name: it shows in buffer names and commands, so keep it plain.
pub fn validate_name(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.chars().count() > 64 {
        return Err(format!(
            "zen: session name '{name}' must be 1 to 64 characters long."
        ));
    }
    if !name.chars().all(ok_char) || name.starts_with('.') || name.starts_with('-') {
        return Err(format!(
            "zen: session name '{name}' may hold only letters, digits, '-', '_' and '.', and may not start with '.' or '-'."
        ));
    }
    Ok(())
}

/// Agents' names also name their tmux session, where `.` separates window and pane: refused
/// for agents only (chats may be called `v1.2`).
pub fn validate_agent_name(name: &str) -> Result<(), String> {
    if name.contains('.') {
        return Err(format!(
            "zen: agent session names may not contain '.' ('{name}'). Use '-' or '_'."
        ));
    }
    Ok(())
}
