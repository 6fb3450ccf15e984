//! Sessions as the index keeps them: metadata, running totals, agent details, and name rules.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::message::Usage;

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
    /// Chats: OpenRouter's web search on each prompt (`web=true`, `:ZenWeb`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub web: bool,
    /// Terminal agents (claude, codex, gemini, shell): how to find and revive them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentMeta>,
    /// Agents in a zen chat over the Agent Client Protocol (`mode=chat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acp: Option<AcpMeta>,
}

/// What the index keeps about an agent spoken to over ACP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcpMeta {
    /// The agent's own session id (`session/new`), for `session/load` after a restart.
    #[serde(default)]
    pub session_id: Option<String>,
    /// The adapter's command line.
    pub argv: Vec<String>,
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
    /// `via=openrouter`: claude runs on the OpenRouter key (fetched again on revive, never stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

impl SessionMeta {
    /// Metadata of a new chat session.
    pub fn new_chat(id: String, name: String, model: String, dir: PathBuf) -> SessionMeta {
        let t = super::now();
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
            web: false,
            agent: None,
            acp: None,
        }
    }
}

/// Why a session name is refused; its text is the user's one line.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum NameError {
    #[error("zen: session name '{0}' must be 1 to 64 characters long.")]
    Length(String),
    #[error("zen: session name '{0}' may hold only letters, digits, '-', '_' and '.', and may not start with '.' or '-'.")]
    Characters(String),
    #[error("zen: agent session names may not contain '.' ('{0}'). Use '-' or '_'.")]
    AgentDot(String),
}

/// Checks a session name: it shows in buffer names and commands, so keep it plain.
pub fn validate_name(name: &str) -> Result<(), NameError> {
    let ok_char = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.chars().count() > 64 {
        return Err(NameError::Length(name.into()));
    }
    if !name.chars().all(ok_char) || name.starts_with('.') || name.starts_with('-') {
        return Err(NameError::Characters(name.into()));
    }
    Ok(())
}

/// Agents' names also name their tmux session, where `.` separates window and pane: refused
/// for agents only (chats may be called `v1.2`).
pub fn validate_agent_name(name: &str) -> Result<(), NameError> {
    if name.contains('.') {
        return Err(NameError::AgentDot(name.into()));
    }
    Ok(())
}
