//! Agents in a zen chat buffer over the Agent Client Protocol (`:ZenNew claude mode=chat`).
//! `session.rs` starts the adapter (initialize, `session/new` or `session/load`) and dispatches
//! what the agent sends; `turn.rs` runs one `session/prompt`; `updates.rs` turns updates into
//! buffer text; `fs.rs` and `permission.rs` answer the agent's requests; `model.rs` picks the
//! agent's models and modes.

pub mod edits;
pub mod fs;
pub mod model;
pub mod permission;
pub mod review;
pub mod session;
pub mod turn;
pub mod updates;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use tokio::sync::mpsc;

use super::Kind;
use crate::acp::protocol::{Command, ModeState, ModelState, SessionUpdate, ToolCall};
use crate::acp::Conn;

/// What the dispatcher hands the running turn.
#[derive(Debug)]
pub enum Event {
    Update(SessionUpdate),
    /// A permission request to show (its key and line).
    Permission {
        key: String,
        line: String,
    },
    /// The agent sent something that is not JSON-RPC.
    Malformed(String),
    /// The agent exited.
    Closed(String),
}

/// A running agent adapter and what it told us.
pub struct Agent {
    pub conn: Arc<Conn>,
    pub kind: Kind,
    /// The zen session it belongs to.
    pub id: String,
    /// The session's directory: the agent's files stay inside it.
    pub cwd: PathBuf,
    pub(super) state: Mutex<State>,
}

/// What changes while the agent runs.
#[derive(Default)]
pub struct State {
    /// The agent's own session id.
    pub session_id: String,
    /// The agent can `session/load`.
    pub load_session: bool,
    pub models: Option<ModelState>,
    pub modes: Option<ModeState>,
    pub commands: Vec<Command>,
    /// Every tool call of the session as last updated, by id (a permission request or a review
    /// finds its diff here).
    pub tool_calls: HashMap<String, ToolCall>,
    /// The running turn's event channel; none between turns (a `session/load` replay is dropped).
    pub sink: Option<mpsc::UnboundedSender<Event>>,
    /// Permission requests waiting for `:ZenAccept` / `:ZenReject`, oldest first.
    pub permissions: VecDeque<permission::Pending>,
    /// The tool calls' kinds and diffs, to tell an edit's permission (`edits.rs`).
    pub edits: edits::Edits,
}

impl Agent {
    /// The agent's changing state (never held across an await).
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The agent's own session id.
    pub fn session_id(&self) -> String {
        self.state().session_id.clone()
    }

    /// Sends `event` to the running turn; false when none runs.
    pub fn to_turn(&self, event: Event) -> bool {
        match &self.state().sink {
            Some(tx) => tx.send(event).is_ok(),
            None => false,
        }
    }
}

/// An answer refused to the agent's request: a JSON-RPC error code and message.
#[derive(Debug)]
pub struct Refusal {
    pub code: i64,
    pub message: String,
}

impl Refusal {
    /// A refusal with `code` and `message`.
    pub fn new(code: i64, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
        }
    }

    /// The request's parameters did not parse.
    pub fn invalid(e: impl std::fmt::Display) -> Refusal {
        Refusal::new(-32602, format!("invalid params: {e}"))
    }
}

/// The running agents, by zen session id. One backend serves one Neovim, so this map is the
/// App's; it lives here because `app` (a lower layer) cannot name an `Agent`.
static LIVE: LazyLock<Mutex<HashMap<String, Arc<Agent>>>> = LazyLock::new(Mutex::default);

fn live_map() -> MutexGuard<'static, HashMap<String, Arc<Agent>>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The running agent of session `id`.
pub fn live(id: &str) -> Option<Arc<Agent>> {
    live_map().get(id).cloned()
}

/// Ends session `id`'s agent process, if it runs.
pub fn kill(id: &str) {
    if let Some(agent) = live_map().remove(id) {
        agent.conn.kill();
    }
}
