//! Agents' files through Neovim (`lua/zen/files.lua`): reads see a loaded buffer's unsaved text,
//! writes go through the loaded buffer, and an edit asked for permission becomes a pending change.

use rmpv::Value;
use serde::{Deserialize, Serialize};

use super::{decode, encode, Ui};

/// An agent's edit to show as a pending change (ACP `diff` content of a tool call).
#[derive(Serialize, Debug, Clone)]
pub struct AgentEdit {
    /// The session (its id) whose agent asks; `:ZenAccept` in its chat takes the change.
    pub session: String,
    pub tool_call_id: String,
    /// The tool call's title, shown in the change's header.
    pub title: String,
    pub path: String,
    /// The text replaced (a fragment of the file, or all of it); `None`: a new file.
    pub old_text: Option<String>,
    pub new_text: String,
    /// Where to show the file when no window shows it (the `layout` option).
    pub layout: String,
}

#[derive(Deserialize)]
struct Proposed {
    #[serde(default)]
    id: Option<i64>,
    #[serde(default)]
    error: Option<String>,
}

impl Ui {
    /// The text of `path`'s loaded buffer (unsaved text included), or `None` when it is not
    /// loaded (read the disk).
    pub async fn read_file(&self, path: &str) -> anyhow::Result<Option<String>> {
        match self.call("read_file", vec![path.into()]).await? {
            Value::Nil => Ok(None),
            v => Ok(Some(decode(v)?)),
        }
    }

    /// Writes `text` through `path`'s loaded buffer (one undo step) and to disk atomically;
    /// `false` when it is not loaded (write the disk). An error is the user's one line.
    pub async fn write_file(&self, path: &str, text: &str) -> anyhow::Result<bool> {
        let handled = self
            .call("write_file", vec![path.into(), text.into()])
            .await?;
        Ok(matches!(handled, Value::Boolean(true)))
    }

    /// Shows `edit` as a pending change in its file's buffer; the user's decision comes back as
    /// the notification `acp_permission`. `Err(line)` when it cannot be shown (the old text is
    /// not in the file).
    pub async fn propose_agent_edit(
        &self,
        edit: &AgentEdit,
    ) -> anyhow::Result<Result<i64, String>> {
        let proposed: Proposed =
            decode(self.call("propose_agent_edit", vec![encode(edit)?]).await?)?;
        Ok(match (proposed.id, proposed.error) {
            (Some(id), _) => Ok(id),
            (None, error) => {
                Err(error.unwrap_or_else(|| "zen: the agent's edit could not be shown.".into()))
            }
        })
    }

    /// Drops the pending change of `tool_call_id` (every one of the session when `None`) without
    /// a decision: the agent was answered otherwise (cancelled).
    pub async fn drop_agent_edit(
        &self,
        session: &str,
        tool_call_id: Option<&str>,
    ) -> anyhow::Result<()> {
        let id = tool_call_id.map_or(Value::Nil, Value::from);
        self.call("drop_agent_edit", vec![session.into(), id])
            .await
            .map(drop)
    }
}
