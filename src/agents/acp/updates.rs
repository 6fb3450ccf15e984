//! What an agent's answer shows: its text as it streams, thoughts in a folded block, each tool
//! call as a block whose first line is compact (`::: tool · edit · Edit a.rs · done`) and unfolds
//! to its input and output, the plan as a checklist, and permission lines. Blocks are keyed and
//! replaced in place when they change (`lua/zen/acp.lua`); `content()` is the answer's text as the
//! buffer ends up holding it, which is what the history saves.

use std::collections::HashMap;

use serde_json::{json, Value as Json};

use crate::acp::protocol::{content_text, PlanEntry, SessionUpdate, ToolCall};

/// What the renderer is given: text at the stream mark, or an op for `lua/zen/acp.lua`.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Text(String),
    Op(Json),
}

/// Lines of a tool call's output shown when it unfolds.
const OUTPUT_LINES: usize = 20;
/// Characters of a tool call's input shown.
const INPUT_CHARS: usize = 300;

enum Piece {
    Text(String),
    Block(String),
}

/// The answer of one turn as it builds up.
#[derive(Default)]
pub struct View {
    pieces: Vec<Piece>,
    blocks: HashMap<String, Vec<String>>,
    tools: HashMap<String, ToolCall>,
    in_thought: bool,
    /// The last text written ended a line (or nothing was written).
    mid_line: bool,
    /// The agent's own words (without zen's blocks), for events and checks.
    pub said: String,
}

impl View {
    /// Turns one update into what the buffer shows.
    pub fn apply(&mut self, update: SessionUpdate, out: &mut Vec<Out>) {
        match update {
            SessionUpdate::AgentMessageChunk { content } => {
                self.close_thought(out);
                let text = content_text(&content);
                self.said.push_str(&text);
                self.text(text, out);
            }
            SessionUpdate::AgentThoughtChunk { content } => {
                if !self.in_thought {
                    self.line_start(out);
                    self.text("::: thought\n".into(), out);
                    self.in_thought = true;
                }
                self.text(content_text(&content), out);
            }
            SessionUpdate::ToolCall(call) => {
                self.close_thought(out);
                let key = format!("tool:{}", call.tool_call_id);
                self.tools.insert(call.tool_call_id.clone(), call.clone());
                self.block(key, tool_lines(&call), "tool", out);
            }
            SessionUpdate::ToolCallUpdate(update) => {
                self.close_thought(out);
                let call = self.tools.entry(update.tool_call_id.clone()).or_default();
                merge_tool(call, update);
                let (key, lines) = (format!("tool:{}", call.tool_call_id), tool_lines(call));
                self.block(key, lines, "tool", out);
            }
            SessionUpdate::Plan { entries } => {
                self.close_thought(out);
                self.block("plan".into(), plan_lines(&entries), "plan", out);
            }
            _ => {}
        }
    }

    /// Shows (or updates) permission request `key`'s line.
    pub fn permission(&mut self, key: &str, line: String, out: &mut Vec<Out>) {
        self.close_thought(out);
        self.block(format!("permission:{key}"), vec![line], "permission", out);
    }

    /// Closes an open thought block (before the answer ends).
    pub fn finish(&mut self, out: &mut Vec<Out>) {
        self.close_thought(out);
    }

    /// The answer as the buffer holds it.
    pub fn content(&self) -> String {
        let mut text = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => text.push_str(t),
                Piece::Block(key) => {
                    text.push_str(&self.blocks[key].join("\n"));
                    text.push('\n');
                }
            }
        }
        text
    }

    /// Whether the answer shows anything.
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    fn text(&mut self, text: String, out: &mut Vec<Out>) {
        if text.is_empty() {
            return;
        }
        self.mid_line = !text.ends_with('\n');
        match self.pieces.last_mut() {
            Some(Piece::Text(t)) => t.push_str(&text),
            _ => self.pieces.push(Piece::Text(text.clone())),
        }
        out.push(Out::Text(text));
    }

    fn line_start(&mut self, out: &mut Vec<Out>) {
        if self.mid_line {
            self.text("\n".into(), out);
        }
    }

    fn close_thought(&mut self, out: &mut Vec<Out>) {
        if !self.in_thought {
            return;
        }
        self.in_thought = false;
        self.line_start(out);
        self.text(":::\n".into(), out);
        out.push(Out::Op(json!({"close": "thought"})));
    }

    /// Puts block `key` (new: at the end; known: replaced where it is).
    fn block(&mut self, key: String, lines: Vec<String>, kind: &str, out: &mut Vec<Out>) {
        if !self.blocks.contains_key(&key) {
            self.line_start(out);
            self.pieces.push(Piece::Block(key.clone()));
            self.mid_line = false;
        } else if self.blocks[&key] == lines {
            return;
        }
        let fold = kind == "tool";
        out.push(Out::Op(
            json!({"block": key, "lines": lines, "kind": kind, "fold": fold}),
        ));
        self.blocks.insert(key, lines);
    }
}

/// A tool call's status as the line shows it.
fn status_word(status: Option<&str>) -> &str {
    match status {
        None | Some("pending") => "pending",
        Some("in_progress") => "running",
        Some("completed") => "done",
        Some("failed") => "failed",
        Some(other) => other,
    }
}

fn merge_tool(call: &mut ToolCall, update: ToolCall) {
    call.tool_call_id = update.tool_call_id;
    macro_rules! take {
        ($($f:ident),*) => { $( if update.$f.is_some() { call.$f = update.$f; } )* };
    }
    take!(title, kind, status, content, raw_input, raw_output);
}

/// One line of text without control characters (a title must stay one row).
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

/// A tool call's block: the compact line, its input, and its output (shortened).
pub fn tool_lines(call: &ToolCall) -> Vec<String> {
    let kind = call.kind.as_deref().unwrap_or("tool");
    let title = one_line(call.title.as_deref().unwrap_or(&call.tool_call_id), 120);
    let status = status_word(call.status.as_deref());
    let mut lines = vec![format!("::: tool · {kind} · {title} · {status}")];
    if let Some(input) = &call.raw_input {
        lines.push(format!(
            "input: {}",
            one_line(&input.to_string(), INPUT_CHARS)
        ));
    }
    let mut output = Vec::new();
    for block in call.content.iter().flatten() {
        match block.get("type").and_then(Json::as_str) {
            Some("diff") => {
                let path = block.get("path").and_then(Json::as_str).unwrap_or("?");
                output.push(format!("diff: {path}"));
            }
            Some("content") => {
                let text = block.get("content").map(content_text).unwrap_or_default();
                output.extend(text.lines().map(|l| one_line(l, 200)));
            }
            Some("terminal") => output.push("terminal output".into()),
            _ => {}
        }
    }
    if output.len() > OUTPUT_LINES {
        let more = output.len() - OUTPUT_LINES;
        output.truncate(OUTPUT_LINES);
        output.push(format!("… {more} more lines"));
    }
    lines.extend(output);
    lines.push(":::".into());
    lines
}

/// The plan as a checklist: `[x]` done, `[~]` in progress, `[ ]` pending.
pub fn plan_lines(entries: &[PlanEntry]) -> Vec<String> {
    let mut lines = vec!["::: plan".to_string()];
    for e in entries {
        let mark = match e.status.as_str() {
            "completed" => "x",
            "in_progress" => "~",
            _ => " ",
        };
        lines.push(format!("- [{mark}] {}", one_line(&e.content, 200)));
    }
    lines.push(":::".into());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(text: &str) -> SessionUpdate {
        SessionUpdate::AgentMessageChunk {
            content: json!({"type": "text", "text": text}),
        }
    }

    #[test]
    fn content_matches_what_was_written_with_blocks_replaced() {
        let mut v = View::default();
        let mut out = Vec::new();
        v.apply(chunk("Let me look"), &mut out);
        v.apply(
            SessionUpdate::ToolCall(ToolCall {
                tool_call_id: "t1".into(),
                title: Some("Read a.rs".into()),
                kind: Some("read".into()),
                ..Default::default()
            }),
            &mut out,
        );
        v.apply(
            SessionUpdate::ToolCallUpdate(ToolCall {
                tool_call_id: "t1".into(),
                status: Some("completed".into()),
                ..Default::default()
            }),
            &mut out,
        );
        v.apply(chunk("Done."), &mut out);
        assert_eq!(
            v.content(),
            "Let me look\n::: tool · read · Read a.rs · done\n:::\nDone."
        );
        assert_eq!(out[0], Out::Text("Let me look".into()));
        assert_eq!(out[1], Out::Text("\n".into()));
        assert!(matches!(&out[2], Out::Op(op) if op["block"] == "tool:t1"));
    }

    #[test]
    fn a_thought_is_a_closed_block_before_the_text() {
        let mut v = View::default();
        let mut out = Vec::new();
        v.apply(
            SessionUpdate::AgentThoughtChunk {
                content: json!({"type": "text", "text": "hmm"}),
            },
            &mut out,
        );
        v.apply(chunk("Yes"), &mut out);
        assert_eq!(v.content(), "::: thought\nhmm\n:::\nYes");
        assert!(out.contains(&Out::Op(json!({"close": "thought"}))));
    }
}
