//! Edit permissions on the review surface: a `session/request_permission` whose tool call is an
//! edit opens its diff as a pending change in the file's buffer (`lua/zen/files.lua`), and the
//! user's decision there (`:ZenAccept` allow once, `:ZenAccept!` allow always, `:ZenReject`
//! reject; the notification `acp_permission`) answers it. The diff and the permission arrive
//! separately, in either order (`edits.rs` joins them); anything else is asked in the chat.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::permission::{self, Asked, Decision};
use super::{Agent, Event};
use crate::data::transcript::NOTE_PREFIX;
use crate::nvim::files::AgentEdit;
use crate::nvim::Ui;

/// How long a permission for an edit waits for its diff before it is asked in the chat.
const DIFF_WAIT: Duration = Duration::from_secs(2);

/// If `asked` is for an edit, shows its diff as a pending change in the file's buffer (shown per
/// `layout`) and says so on its chat line; else (or when it cannot be shown) it stays a question
/// in the chat.
pub async fn propose(agent: &Arc<Agent>, ui: &Ui, asked: &Asked, layout: &str) {
    let id = asked.tool_call.tool_call_id.clone();
    agent.state().edits.update(&asked.tool_call);
    let deadline = Instant::now() + DIFF_WAIT;
    let diff = loop {
        let (diff, is_edit) = {
            let state = agent.state();
            (state.edits.diff(&id), state.edits.is_edit(&id))
        };
        match diff {
            Some(diff) => break diff,
            None if !is_edit || Instant::now() >= deadline => return,
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    let edit = AgentEdit {
        session: agent.id.clone(),
        tool_call_id: id,
        title: format!("{} · {}", agent.kind.name(), asked.title),
        path: diff.path.clone(),
        old_text: diff.old_text,
        new_text: diff.new_text,
        layout: layout.to_string(),
    };
    let line = match ui.propose_agent_edit(&edit).await {
        Ok(Ok(_)) => format!(
            "{NOTE_PREFIX} permission · {} · pending change in {} · :ZenAccept once · :ZenAccept! always · :ZenReject",
            permission::one_line(&asked.title),
            file_name(&diff.path)
        ),
        Ok(Err(why)) => {
            ui.notify(&why.to_string(), "warn").await;
            return;
        }
        Err(e) => {
            tracing::warn!("showing an agent's edit: {e:#}");
            return;
        }
    };
    agent.to_turn(Event::Permission {
        key: asked.key.clone(),
        line,
    });
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The user's decision on an agent's pending change (the notification `acp_permission`).
#[derive(Deserialize)]
pub struct Decided {
    /// The zen session.
    pub session: String,
    pub tool_call_id: String,
    /// `once`, `always` or `reject`.
    pub decision: String,
}

/// Answers the permission request of the decided edit with the option the agent offered for it.
pub fn decided(d: Decided) {
    let Some(agent) = super::live(&d.session) else {
        return; // the agent is gone: nothing waits for the answer
    };
    let decision = match d.decision.as_str() {
        "once" => Decision::Allow,
        "always" => Decision::Always,
        _ => Decision::Reject,
    };
    permission::decide_tool_call(&agent, &d.tool_call_id, decision);
}
