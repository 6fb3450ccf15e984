//! Turns a stream of small text deltas into few, batched buffer edits.
//!
//! The stream task sends text here and never waits on Neovim. This task appends whatever has
//! gathered in one RPC call, then rests for the rest of a frame (16 ms) while more gathers: at
//! most one flush per frame and one in flight, never one call per token, and the editor stays free.
//! Agents over ACP also queue ops (a tool call's block put or updated in place): a frame holding
//! any goes out as one `acp_frame` call, text and ops in order.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::app::registry::{Cancel, End};
use crate::nvim::Ui;

/// How long a flush waits for more text before the next one.
pub const FRAME: Duration = Duration::from_millis(16);

/// The most text an agent chat's flush writes (`Renderer::spawn_paced`): a bigger one costs the
/// editor more than a frame to draw with syntax on (1 MB in 64 KB flushes: probe p99 27 ms).
pub const AGENT_FLUSH_BYTES: usize = 16 * 1024;

/// What a finished renderer reports.
#[derive(Debug, Default, Clone, Copy)]
pub struct RenderStats {
    /// RPC calls made (one per flush).
    pub flushes: u64,
    /// The buffer was closed or wiped while we wrote to it.
    pub buffer_gone: bool,
}

/// What the stream task hands over.
enum Piece {
    Text(String),
    /// zen's reasoning block was closed by the text before: its line count, for the fold.
    ReasoningClosed(usize),
    /// An ACP op for `lua/zen/acp.lua` (`{block = ...}`, `{close = ...}`).
    Op(serde_json::Value),
}

/// The sending side: text goes in, the task writes it out.
pub struct Renderer {
    tx: Option<mpsc::UnboundedSender<Piece>>,
    task: JoinHandle<RenderStats>,
}

impl Renderer {
    /// Starts rendering into `buf` at extmark `mark`. When the buffer disappears, the turn is
    /// cancelled (reason `buffer closed`) so the request stops too.
    pub fn spawn(ui: Ui, buf: i64, mark: i64, on_gone: Arc<Cancel>) -> Renderer {
        Renderer::spawn_paced(ui, buf, mark, on_gone, usize::MAX)
    }

    /// Like `spawn`, but a frame of plain text writes at most `max_bytes` of it; the rest waits
    /// for the next frame. For agents, whose floods are rare and whose chats must stay fluid.
    pub fn spawn_paced(
        ui: Ui,
        buf: i64,
        mark: i64,
        on_gone: Arc<Cancel>,
        max_bytes: usize,
    ) -> Renderer {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(render_loop(ui, buf, mark, rx, on_gone, max_bytes));
        Renderer { tx: Some(tx), task }
    }

    /// Queues text; returns at once.
    pub fn push(&self, text: impl Into<String>) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Piece::Text(text.into()));
        }
    }

    /// Notes that the text pushed so far closed zen's reasoning block, `lead` lines long (with the
    /// blank line after it): it is folded with the flush that writes it.
    pub fn reasoning_closed(&self, lead: usize) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Piece::ReasoningClosed(lead));
        }
    }

    /// Queues an op for `lua/zen/acp.lua`, written in order with the text around it.
    pub fn op(&self, op: serde_json::Value) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Piece::Op(op));
        }
    }

    /// Writes out what is queued and waits for it.
    pub async fn finish(mut self) -> RenderStats {
        self.tx = None;
        (&mut self.task).await.unwrap_or_default()
    }
}

async fn render_loop(
    ui: Ui,
    buf: i64,
    mark: i64,
    mut rx: mpsc::UnboundedReceiver<Piece>,
    on_gone: Arc<Cancel>,
    max_bytes: usize,
) -> RenderStats {
    let mut stats = RenderStats::default();
    // Text held back by `max_bytes`, written first in the next frame.
    let mut carry = String::new();
    loop {
        let first = if carry.is_empty() {
            match rx.recv().await {
                Some(p) => Some(p),
                None => break,
            }
        } else {
            rx.try_recv().ok()
        };
        if stats.buffer_gone {
            carry.clear();
            continue; // drain: nothing to write into any more
        }
        let started = tokio::time::Instant::now();
        let (mut text, mut lead, mut ops) = (std::mem::take(&mut carry), None, Vec::new());
        let mut next = first;
        while let Some(piece) = next {
            match piece {
                Piece::Text(t) => text.push_str(&t),
                Piece::ReasoningClosed(n) => lead = Some(n),
                Piece::Op(op) => {
                    if !text.is_empty() {
                        ops.push(serde_json::json!({ "text": std::mem::take(&mut text) }));
                    }
                    ops.push(op);
                }
            }
            next = rx.try_recv().ok();
        }
        if ops.is_empty() && lead.is_none() && text.len() > max_bytes {
            carry = text.split_off(cut_at(&text, max_bytes));
        }
        stats.flushes += 1;
        let written = if ops.is_empty() {
            ui.append(buf, mark, &text, lead).await
        } else {
            if !text.is_empty() {
                ops.push(serde_json::json!({ "text": text }));
            }
            ui.acp_frame(buf, mark, &ops).await
        };
        match written {
            Ok(true) => {}
            Ok(false) => {
                stats.buffer_gone = true;
                on_gone.cancel(End::BufferClosed);
            }
            Err(e) => {
                tracing::warn!("append to buffer {buf} failed: {e:#}");
                stats.buffer_gone = true;
                on_gone.cancel(End::BufferClosed);
            }
        }
        tokio::time::sleep_until(started + FRAME).await;
    }
    stats
}

/// Where to cut `text` so the first part is at most `max` bytes: after its last newline there,
/// else at a character boundary.
fn cut_at(text: &str, max: usize) -> usize {
    let mut at = max.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    match text[..at].rfind('\n') {
        Some(nl) if nl > 0 => nl + 1,
        _ => at.max(text.chars().next().map_or(0, char::len_utf8)),
    }
}

#[cfg(test)]
mod tests {
    use super::cut_at;

    #[test]
    fn cuts_after_a_newline_or_on_a_char_boundary() {
        assert_eq!(cut_at("ab\ncd\nef", 7), 6);
        assert_eq!(cut_at("abcdef", 4), 4);
        assert_eq!(cut_at("aéé", 2), 1); // never inside é
        assert_eq!(cut_at("éé", 1), 2); // at least one character
        assert_eq!(cut_at("ab", 10), 2);
    }
}
