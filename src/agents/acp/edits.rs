//! Which permission requests are edits, and their diff. ACP sends a tool call's `diff` content
//! (`{type: "diff", path, oldText, newText}`, on `tool_call` or a later `tool_call_update`) and
//! its `session/request_permission` separately, in either order: they are joined here by
//! `toolCallId`.

use std::collections::HashMap;

use serde_json::Value as Json;

use crate::acp::protocol::ToolCall;

/// An edit's diff.
#[derive(Clone, Debug, PartialEq)]
pub struct Diff {
    pub path: String,
    /// The text replaced (a fragment of the file, or all of it); `None`: a new file.
    pub old_text: Option<String>,
    pub new_text: String,
}

/// What is known of a session's tool calls: their kind and diff, until they end.
#[derive(Default)]
pub struct Edits {
    kinds: HashMap<String, String>,
    diffs: HashMap<String, Diff>,
}

/// The first `diff` block of a tool call's content.
pub fn diff_of(content: &[Json]) -> Option<Diff> {
    content.iter().find_map(|c| {
        let path = c["path"].as_str().filter(|p| !p.is_empty());
        (c["type"] == "diff").then_some(())?;
        Some(Diff {
            path: path?.to_string(),
            old_text: c["oldText"].as_str().map(String::from),
            new_text: c["newText"].as_str().unwrap_or_default().to_string(),
        })
    })
}

impl Edits {
    /// Takes in a `tool_call` or `tool_call_update` (or a permission request's tool call); a
    /// finished tool call is forgotten (its last diff is the whole file: no need to keep it).
    pub fn update(&mut self, call: &ToolCall) {
        let id = &call.tool_call_id;
        if matches!(call.status.as_deref(), Some("completed" | "failed")) {
            self.forget(id);
            return;
        }
        if let Some(kind) = &call.kind {
            self.kinds.insert(id.clone(), kind.clone());
        }
        if let Some(diff) = call.content.as_deref().and_then(diff_of) {
            self.diffs.insert(id.clone(), diff);
        }
    }

    /// The diff of tool call `id`, once it arrived.
    pub fn diff(&self, id: &str) -> Option<Diff> {
        self.diffs.get(id).cloned()
    }

    /// Whether tool call `id` is an edit (its diff may still be on its way).
    pub fn is_edit(&self, id: &str) -> bool {
        self.diffs.contains_key(id) || self.kinds.get(id).is_some_and(|k| k == "edit")
    }

    /// Forgets tool call `id`.
    pub fn forget(&mut self, id: &str) {
        self.kinds.remove(id);
        self.diffs.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(v: Json) -> ToolCall {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_diff_on_a_later_update_is_joined_by_tool_call_id() {
        let mut edits = Edits::default();
        edits.update(&call(
            json!({"toolCallId": "t1", "kind": "edit", "content": []}),
        ));
        assert!(edits.is_edit("t1"));
        assert_eq!(edits.diff("t1"), None);
        edits.update(&call(json!({"toolCallId": "t1", "content": [
            {"type": "diff", "path": "/p/a.rs", "oldText": "a", "newText": "b"}]})));
        let want = Diff {
            path: "/p/a.rs".into(),
            old_text: Some("a".into()),
            new_text: "b".into(),
        };
        assert_eq!(edits.diff("t1"), Some(want));
        assert!(!edits.is_edit("t2"));
    }

    #[test]
    fn a_new_file_has_no_old_text_and_a_finished_call_is_forgotten() {
        let mut edits = Edits::default();
        edits.update(&call(json!({"toolCallId": "t1", "content": [
            {"type": "diff", "path": "/p/new.rs", "oldText": null, "newText": "x"}]})));
        assert_eq!(edits.diff("t1").unwrap().old_text, None);
        edits.update(&call(json!({"toolCallId": "t1", "status": "completed"})));
        assert_eq!(edits.diff("t1"), None);
    }

    #[test]
    fn a_command_is_not_an_edit() {
        let mut edits = Edits::default();
        edits.update(&call(json!({"toolCallId": "t1", "kind": "execute",
            "content": [{"type": "content", "content": {"type": "text", "text": "ls"}}]})));
        assert!(!edits.is_edit("t1"));
    }
}
