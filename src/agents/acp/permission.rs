//! The agent's `session/request_permission`, first version: asked in the chat, one line naming
//! the tool call and the keys (`:ZenAccept` allow once, `:ZenAccept!` allow always,
//! `:ZenReject` reject). Requests wait in order; the oldest is answered first. `:ZenStop`, a
//! killed session or the agent exiting answers them `cancelled`. (Edits move to the review
//! surface next.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value as Json};
use tokio::sync::oneshot;

use super::{Agent, Event, Refusal};
use crate::acp::protocol::{PermissionOption, PermissionRequest, ToolCall};
use crate::app::{Error, Result, Shared, Which};
use crate::data::transcript::NOTE_PREFIX;

/// A permission request waiting for the user.
pub struct Pending {
    key: String,
    /// The tool call it is about (a review of its edit answers by this id).
    tool_call_id: String,
    title: String,
    options: Vec<PermissionOption>,
    /// The chosen option's id; `None` = cancelled.
    tx: oneshot::Sender<Option<String>>,
}

/// What the user answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// `:ZenAccept`: allow once.
    Allow,
    /// `:ZenAccept!`: allow always (for this session).
    Always,
    /// `:ZenReject`.
    Reject,
}

impl Decision {
    /// `allow` (or `once`), `always` or `reject`.
    pub fn parse(text: &str) -> Result<Decision> {
        match text {
            "allow" | "once" => Ok(Decision::Allow),
            "always" => Ok(Decision::Always),
            "reject" => Ok(Decision::Reject),
            other => Err(Error::refused(format!(
                "unknown decision '{other}': allow, always or reject."
            ))),
        }
    }

    /// The option kinds that carry this decision, preferred first.
    fn kinds(self) -> &'static [&'static str] {
        match self {
            Decision::Allow => &["allow_once"],
            Decision::Always => &["allow_always"],
            Decision::Reject => &["reject_once", "reject_always"],
        }
    }
}

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A permission request taken in: queued and shown, waiting for the user.
pub struct Asked {
    pub(super) title: String,
    options: Vec<PermissionOption>,
    rx: oneshot::Receiver<Option<String>>,
    pub(super) key: String,
    /// The tool call asked about (an edit's may carry its diff).
    pub(super) tool_call: ToolCall,
}

/// Queues a permission request and shows its line. Called in the order requests arrive, so
/// `:ZenAccept` answers the oldest; `None` when no turn runs to show it (answered cancelled).
pub fn ask(agent: &Agent, params: Json) -> Result<Option<Asked>, Refusal> {
    let req: PermissionRequest = serde_json::from_value(params).map_err(Refusal::invalid)?;
    let title = req
        .tool_call
        .title
        .clone()
        .unwrap_or_else(|| req.tool_call.tool_call_id.clone());
    let key = NEXT.fetch_add(1, Ordering::Relaxed).to_string();
    let (tx, rx) = oneshot::channel();
    let line = ask_line(&title, &req.options);
    agent.state().permissions.push_back(Pending {
        key: key.clone(),
        tool_call_id: req.tool_call.tool_call_id.clone(),
        title: title.clone(),
        options: req.options.clone(),
        tx,
    });
    if !agent.to_turn(Event::Permission {
        key: key.clone(),
        line,
    }) {
        agent.state().permissions.retain(|p| p.key != key);
        return Ok(None);
    }
    Ok(Some(Asked {
        title,
        options: req.options,
        rx,
        key,
        tool_call: req.tool_call,
    }))
}

/// Waits for the user's answer to `asked` and says it to the agent (and in the chat).
pub async fn answered(agent: &Arc<Agent>, asked: Option<Asked>) -> Result<Json, Refusal> {
    let Some(asked) = asked else {
        return Ok(cancelled());
    };
    let chosen = asked.rx.await.ok().flatten();
    let option = chosen
        .as_ref()
        .and_then(|id| asked.options.iter().find(|o| &o.option_id == id));
    let word = match option.map(|o| o.kind.as_str()) {
        Some("allow_once") => "allowed once",
        Some("allow_always") => "allowed always",
        Some(k) if k.starts_with("reject") => "rejected",
        Some(_) => "answered",
        None => "cancelled",
    };
    agent.to_turn(Event::Permission {
        line: done_line(&asked.title, word),
        key: asked.key,
    });
    Ok(match chosen {
        Some(id) => json!({"outcome": {"outcome": "selected", "optionId": id}}),
        None => cancelled(),
    })
}

fn done_line(title: &str, word: &str) -> String {
    format!("{NOTE_PREFIX} permission · {} · {word}", one_line(title))
}

fn cancelled() -> Json {
    json!({"outcome": {"outcome": "cancelled"}})
}

pub(super) fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(160)
        .collect()
}

/// The line that asks: the tool call and the keys of the options it offers.
fn ask_line(title: &str, options: &[PermissionOption]) -> String {
    let mut keys = Vec::new();
    for (decision, key) in [
        (Decision::Allow, ":ZenAccept"),
        (Decision::Always, ":ZenAccept!"),
        (Decision::Reject, ":ZenReject"),
    ] {
        if let Some(o) = options
            .iter()
            .find(|o| decision.kinds().contains(&o.kind.as_str()))
        {
            keys.push(format!("{key} {}", one_line(&o.name)));
        }
    }
    format!(
        "{NOTE_PREFIX} permission · {} · {}",
        one_line(title),
        keys.join(" · ")
    )
}

/// `:ZenAccept[!]` / `:ZenReject` in an agent chat: the request.
#[derive(Deserialize)]
pub struct Answer {
    #[serde(flatten)]
    pub which: Which,
    /// `allow` (or `once`), `always` or `reject`.
    pub decision: String,
    /// The tool call whose request to answer (a reviewed edit); default: the oldest waiting.
    #[serde(default)]
    pub tool_call_id: Option<String>,
}

/// Answers the oldest waiting permission request of the chat; says what was answered.
pub async fn answer(app: &Shared, mut req: Answer) -> Result<Json> {
    if req.which.buf.is_none() && req.which.id.is_none() {
        // A review names the session by id only (lua/zen/files.lua).
        req.which.id = req.which.session.take();
    }
    let id = app
        .resolve(&req.which)?
        .ok_or(Error::refused("no agent chat here."))?;
    let agent = super::live(&id).ok_or(Error::refused(
        "no permission is waiting in this chat (its agent is not running).",
    ))?;
    let decision = Decision::parse(&req.decision)?;
    decide(&agent, decision, req.tool_call_id.as_deref())
}

/// Picks the option carrying `decision` for the request about `tool_call_id`, else the oldest.
pub fn decide(agent: &Agent, decision: Decision, tool_call_id: Option<&str>) -> Result<Json> {
    let mut state = agent.state();
    let at = match tool_call_id {
        Some(id) => state.permissions.iter().position(|p| p.tool_call_id == id),
        None => (!state.permissions.is_empty()).then_some(0),
    };
    let pending = at
        .and_then(|i| state.permissions.remove(i))
        .ok_or(Error::refused("no permission is waiting in this chat."))?;
    let option = pending
        .options
        .iter()
        .find(|o| decision.kinds().contains(&o.kind.as_str()))
        .map(|o| o.option_id.clone());
    match (option, decision) {
        (Some(id), _) => {
            let _ = pending.tx.send(Some(id));
        }
        // No reject option: cancelling is the refusal ACP always has.
        (None, Decision::Reject) => {
            let _ = pending.tx.send(None);
        }
        (None, _) => {
            let what = if decision == Decision::Always {
                "allow always"
            } else {
                "allow once"
            };
            let title = pending.title.clone();
            let back = at.unwrap_or(0).min(state.permissions.len());
            state.permissions.insert(back, pending);
            return Err(Error::refused(format!(
                "the agent offers no '{what}' for {title}. Use the keys its line shows."
            )));
        }
    }
    Ok(json!({"answered": pending.title, "waiting": state.permissions.len()}))
}

/// Answers every waiting request `cancelled` (`:ZenStop`, the agent or session ending);
/// returns their keys and "cancelled" lines, for the turn to show at once.
pub fn cancel_all(agent: &Agent) -> Vec<(String, String)> {
    let drained: Vec<Pending> = agent.state().permissions.drain(..).collect();
    drained
        .into_iter()
        .map(|p| {
            let _ = p.tx.send(None);
            (p.key, done_line(&p.title, "cancelled"))
        })
        .collect()
}

/// Answers the waiting request of tool call `tool_call_id` (an edit decided on the review
/// surface) with the option carrying `decision`; an "always" the agent does not offer is taken
/// as "once", a missing reject as cancelled.
pub fn decide_tool_call(agent: &Agent, tool_call_id: &str, decision: Decision) {
    let mut state = agent.state();
    let Some(at) = state
        .permissions
        .iter()
        .position(|p| p.tool_call_id == tool_call_id)
    else {
        return; // answered already (:ZenStop, or from the chat)
    };
    let Some(pending) = state.permissions.remove(at) else {
        return;
    };
    state.edits.forget(tool_call_id);
    let pick = |d: Decision| {
        pending
            .options
            .iter()
            .find(|o| d.kinds().contains(&o.kind.as_str()))
            .map(|o| o.option_id.clone())
    };
    let option = match decision {
        Decision::Always => pick(Decision::Always).or_else(|| pick(Decision::Allow)),
        other => pick(other),
    };
    let _ = pending.tx.send(option);
}
