//! The Agent Client Protocol messages zen uses (protocol version 1), as serde types. Written by
//! hand rather than taken from `agent-client-protocol-schema`: that crate turns on serde_json's
//! `preserve_order` for the whole build, pulls serde_with, strum, derive_more and indexmap, and
//! keeps model selection (`session/set_model`) behind unstable features. Every field we do not
//! need is ignored, and unknown update kinds parse as `Other`, so newer agents still work.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// The protocol version we speak.
pub const VERSION: u32 = 1;

/// The `initialize` result.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InitializeResult {
    pub protocol_version: Json,
    pub agent_capabilities: AgentCapabilities,
    pub auth_methods: Vec<AuthMethod>,
}

/// What the agent can do that we use.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AgentCapabilities {
    pub load_session: bool,
}

/// A way to log in that the agent offers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AuthMethod {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
}

/// The `session/new` (and `session/load`) result.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SessionResult {
    pub session_id: String,
    pub models: Option<ModelState>,
    pub modes: Option<ModeState>,
}

/// The models an agent offers and the current one.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ModelState {
    pub current_model_id: String,
    pub available_models: Vec<ModelInfo>,
}

/// One model an agent offers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ModelInfo {
    pub model_id: String,
    pub name: String,
    pub description: Option<String>,
}

/// The modes an agent offers (ask, code, ...) and the current one.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ModeState {
    pub current_mode_id: String,
    pub available_modes: Vec<ModeInfo>,
}

/// One mode an agent offers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ModeInfo {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
}

/// The `session/prompt` result.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PromptResult {
    /// `end_turn`, `max_tokens`, `max_turn_requests`, `refusal`, `cancelled`.
    pub stop_reason: String,
}

/// A `session/update` notification.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionNotification {
    pub update: SessionUpdate,
}

/// What a `session/update` says.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "sessionUpdate", rename_all = "snake_case")]
pub enum SessionUpdate {
    AgentMessageChunk {
        content: Json,
    },
    AgentThoughtChunk {
        content: Json,
    },
    ToolCall(ToolCall),
    ToolCallUpdate(ToolCall),
    Plan {
        #[serde(default)]
        entries: Vec<PlanEntry>,
    },
    AvailableCommandsUpdate {
        #[serde(default, rename = "availableCommands")]
        available_commands: Vec<Command>,
    },
    CurrentModeUpdate {
        #[serde(default, rename = "currentModeId")]
        current_mode_id: String,
    },
    /// Anything newer than we know.
    #[serde(other)]
    Other,
}

/// A tool call, or an update of one (then only the fields that changed are present).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ToolCall {
    pub tool_call_id: String,
    pub title: Option<String>,
    /// `read`, `edit`, `delete`, `move`, `search`, `execute`, `think`, `fetch`, `other`.
    pub kind: Option<String>,
    /// `pending`, `in_progress`, `completed`, `failed`.
    pub status: Option<String>,
    pub content: Option<Vec<Json>>,
    pub raw_input: Option<Json>,
    pub raw_output: Option<Json>,
}

/// One entry of a plan.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PlanEntry {
    pub content: String,
    /// `pending`, `in_progress`, `completed`.
    pub status: String,
}

/// A slash command the agent offers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Command {
    pub name: String,
    pub description: String,
}

/// `session/request_permission` parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionRequest {
    #[serde(default)]
    pub tool_call: ToolCall,
    #[serde(default)]
    pub options: Vec<PermissionOption>,
}

/// One answer a permission request offers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PermissionOption {
    pub option_id: String,
    pub name: String,
    /// `allow_once`, `allow_always`, `reject_once`, `reject_always`.
    pub kind: String,
}

/// `fs/read_text_file` parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadTextFile {
    pub path: String,
    /// 1-based first line.
    #[serde(default)]
    pub line: Option<usize>,
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `fs/write_text_file` parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteTextFile {
    pub path: String,
    pub content: String,
}

/// The text of a content block: `text`, a resource's text, or a link's name.
pub fn content_text(block: &Json) -> String {
    match block.get("type").and_then(Json::as_str) {
        Some("text") => block
            .get("text")
            .and_then(Json::as_str)
            .unwrap_or("")
            .into(),
        Some("resource_link") => {
            let name = block.get("name").or(block.get("uri"));
            format!("[{}]", name.and_then(Json::as_str).unwrap_or("link"))
        }
        Some("resource") => block
            .pointer("/resource/text")
            .and_then(Json::as_str)
            .unwrap_or("")
            .into(),
        Some("image") => "[image]".into(),
        _ => String::new(),
    }
}

/// The JSON-RPC error code of "authentication required".
pub const AUTH_REQUIRED: i64 = -32000;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn updates_parse_and_unknown_kinds_are_other() {
        let n: SessionNotification = serde_json::from_value(json!({
            "sessionId": "s", "update": {"sessionUpdate": "agent_message_chunk",
            "content": {"type": "text", "text": "hi"}}
        }))
        .unwrap();
        assert!(matches!(n.update, SessionUpdate::AgentMessageChunk { .. }));
        let n: SessionNotification = serde_json::from_value(json!({
            "sessionId": "s", "update": {"sessionUpdate": "something_new", "x": 1}
        }))
        .unwrap();
        assert!(matches!(n.update, SessionUpdate::Other));
        let n: SessionNotification = serde_json::from_value(json!({
            "sessionId": "s", "update": {"sessionUpdate": "tool_call_update",
            "toolCallId": "t1", "status": "completed"}
        }))
        .unwrap();
        let SessionUpdate::ToolCallUpdate(t) = n.update else {
            panic!()
        };
        assert_eq!(t.status.as_deref(), Some("completed"));
    }
}
