//! Calls from the backend into Neovim. Each goes through one function of `lua/zen/ui.lua`
//! (owned and versioned with this crate), so a flush or an event costs exactly one RPC call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use nvim_rs::compat::tokio::Compat;
use rmpv::Value;
use serde_json::Value as Json;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::data::code::CodeBuffer;
use crate::data::transcript::{AnswerSpan, Rendered};

#[allow(dead_code)] // called by the ACP service (src/agents/acp/fs.rs, permission.rs)
pub mod files;

/// The writer half of our RPC channel (stdout).
pub type Writer = Compat<tokio::fs::File>;
/// A handle to the Neovim that started us.
pub type Nvim = nvim_rs::Neovim<Writer>;

/// A chat buffer as read back from Neovim.
#[derive(serde::Deserialize)]
pub struct ChatBuffer {
    pub lines: Vec<String>,
    /// Where the model's answers are, and their text.
    #[serde(default)]
    pub answers: Vec<AnswerSpan>,
}

/// A slice of a chat buffer (`read_chat` in `lua/zen/ui.lua`).
#[derive(serde::Deserialize)]
struct Slice {
    tick: i64,
    total: usize,
    /// The row `lines` start at.
    from: usize,
    lines: Vec<String>,
    /// With the first slice only.
    #[serde(default)]
    answers: Option<Vec<Extent>>,
}

/// An answer's rows and where its content is: row, byte column, end row, end byte column.
#[derive(serde::Deserialize)]
struct Extent {
    first: usize,
    last: usize,
    #[serde(default)]
    content: Option<(usize, usize, usize, usize)>,
}

impl Extent {
    /// The answer with its content cut from `lines` (as `nvim_buf_get_text` would).
    fn span(&self, lines: &[String]) -> AnswerSpan {
        let content = match self.content {
            Some((row, col, end_row, end_col)) if row <= end_row && end_row < lines.len() => {
                let mut text = String::new();
                for (r, line) in lines.iter().enumerate().take(end_row + 1).skip(row) {
                    let from = if r == row { at_char(line, col) } else { 0 };
                    let to = if r == end_row {
                        at_char(line, end_col)
                    } else {
                        line.len()
                    };
                    text.push_str(line.get(from..to.max(from)).unwrap_or(""));
                    if r < end_row {
                        text.push('\n');
                    }
                }
                text
            }
            _ => String::new(),
        };
        AnswerSpan {
            first: self.first,
            last: self.last,
            content,
        }
    }
}

/// `col` moved back to a character boundary (lines with invalid UTF-8 were made valid).
fn at_char(line: &str, col: usize) -> usize {
    let mut col = col.min(line.len());
    while !line.is_char_boundary(col) {
        col -= 1;
    }
    col
}

/// Typed wrappers around `require('zen.ui')`.
#[derive(Clone)]
pub struct Ui {
    nvim: Nvim,
    /// Each chat buffer's lines as last read (`read_chat`).
    kept: Arc<Mutex<HashMap<i64, Vec<String>>>>,
}

impl Ui {
    /// Wraps a Neovim handle.
    pub fn new(nvim: Nvim) -> Ui {
        Ui {
            nvim,
            kept: Arc::default(),
        }
    }

    async fn call(&self, function: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        let code = format!("return require('zen.ui').{function}(...)");
        self.nvim
            .exec_lua(&code, args)
            .await
            .map_err(|e| anyhow::anyhow!("calling zen.ui.{function}: {e}"))
    }

    /// Creates (but does not show) the chat buffer of a session, marking its answers; returns
    /// its number.
    pub async fn create_chat_buffer(
        &self,
        id: &str,
        name: &str,
        chat: &Rendered,
    ) -> anyhow::Result<i64> {
        let lines = Value::Array(chat.lines.iter().map(|l| Value::from(l.as_str())).collect());
        let regions = encode(&chat.regions)?;
        let buf = self
            .call(
                "create_chat_buffer",
                vec![id.into(), name.into(), lines, regions],
            )
            .await?;
        buf.as_i64()
            .ok_or_else(|| anyhow::anyhow!("zen.ui.create_chat_buffer returned {buf}"))
    }

    /// The lines and answers of a chat buffer; `None` when it is gone or unloaded. Read in
    /// slices of `SLICE` lines (nvim-rs decodes one reply in time that grows with its square),
    /// again if the buffer changed in between; the answers' text is cut from the lines. Lines
    /// above the first row changed since the last read come from memory.
    pub async fn read_chat(&self, buf: i64) -> anyhow::Result<Option<ChatBuffer>> {
        const SLICE: usize = 5000;
        // Taken out, so a failed read leaves nothing stale behind.
        let mut kept = self.kept(|k| k.remove(&buf)).unwrap_or_default();
        for _ in 0..3 {
            let (mut tick, mut extents) = (None, Vec::new());
            let mut args = vec![buf.into(), 0.into(), SLICE.into(), kept.len().into()];
            let mut lines = std::mem::take(&mut kept);
            loop {
                let value = self.call("read_chat", args).await?;
                if value.is_nil() {
                    return Ok(None);
                }
                let slice: Slice = decode(value)?;
                if tick.is_some_and(|t| t != slice.tick) {
                    break;
                }
                if tick.is_none() {
                    anyhow::ensure!(
                        slice.from <= lines.len(),
                        "read_chat: bad row {}",
                        slice.from
                    );
                    lines.truncate(slice.from);
                }
                tick = Some(slice.tick);
                extents.extend(slice.answers.unwrap_or_default());
                let got = slice.lines.len();
                lines.extend(slice.lines);
                if got == 0 || lines.len() >= slice.total {
                    let answers = extents.iter().map(|e| e.span(&lines)).collect();
                    self.kept(|k| k.insert(buf, lines.clone()));
                    return Ok(Some(ChatBuffer { lines, answers }));
                }
                args = vec![buf.into(), lines.len().into(), SLICE.into()];
            }
        }
        anyhow::bail!("the chat buffer {buf} kept changing while it was read")
    }

    /// Drops what is kept of a closed chat buffer.
    pub fn forget(&self, buf: i64) {
        self.kept(|k| k.remove(&buf));
    }

    fn kept<T>(&self, f: impl FnOnce(&mut HashMap<i64, Vec<String>>) -> T) -> T {
        f(&mut self.kept.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Appends `header` as a new turn and returns the extmark where the answer streams in.
    pub async fn begin_answer(&self, buf: i64, header: &str) -> anyhow::Result<i64> {
        let mark = self
            .call("begin_answer", vec![buf.into(), header.into()])
            .await?;
        mark.as_i64()
            .ok_or_else(|| anyhow::anyhow!("the chat buffer {buf} is gone"))
    }

    /// Ends the answer at `mark`: appends `footer` (notes, new `## User` header) and fixes where
    /// the model's content is (`lead` rows of reasoning block above it); false when gone.
    pub async fn end_answer(
        &self,
        buf: i64,
        mark: i64,
        footer: &str,
        lead: usize,
    ) -> anyhow::Result<bool> {
        let info = encode(&serde_json::json!({"footer": footer, "lead": lead}))?;
        let ok = self
            .call("end_answer", vec![buf.into(), mark.into(), info])
            .await?;
        Ok(ok.as_bool().unwrap_or(false))
    }

    /// Appends text at the answer's mark (one undo step per answer); `lead`: this text closed
    /// zen's reasoning block, that many lines long (it folds). False when the buffer is gone.
    pub async fn append(
        &self,
        buf: i64,
        mark: i64,
        text: &str,
        lead: Option<usize>,
    ) -> anyhow::Result<bool> {
        let lead = lead.map_or(Value::Nil, |n| Value::from(n as u64));
        let ok = self
            .call("append", vec![buf.into(), mark.into(), text.into(), lead])
            .await?;
        Ok(ok.as_bool().unwrap_or(false))
    }

    /// Writes one frame of an ACP agent's answer at `mark`: text and block ops, in order
    /// (`lua/zen/acp.lua`). False when the buffer is gone.
    pub async fn acp_frame(&self, buf: i64, mark: i64, ops: &[Json]) -> anyhow::Result<bool> {
        let ok = self
            .call("acp_frame", vec![buf.into(), mark.into(), encode(ops)?])
            .await?;
        Ok(ok.as_bool().unwrap_or(false))
    }

    /// Marks an agent chat buffer (`{kind, commands}`: the agent's slash commands, completed
    /// after `/`).
    pub async fn acp_chat(&self, buf: i64, info: &Json) -> anyhow::Result<()> {
        self.call("acp_chat", vec![buf.into(), encode(info)?])
            .await
            .map(drop)
    }

    /// Shows retry `attempt` of `max` (sent after `delay`) in the answer's waiting line (best
    /// effort: it is only feedback).
    pub async fn retrying(&self, buf: i64, mark: i64, attempt: u32, max: u32, delay: Duration) {
        let delay_ms = delay.as_millis() as u64;
        let args = vec![
            buf.into(),
            mark.into(),
            attempt.into(),
            max.into(),
            delay_ms.into(),
        ];
        if let Err(e) = self.call("retrying", args).await {
            tracing::debug!("showing a retry: {e:#}");
        }
    }

    /// Adds ` → {model}` to the header of the answer streaming at `mark`: another model answered.
    pub async fn answered_by(&self, buf: i64, mark: i64, model: &str) {
        let suffix = crate::data::transcript::answered_suffix(model);
        if let Err(e) = self
            .call("answered_by", vec![buf.into(), mark.into(), suffix.into()])
            .await
        {
            tracing::debug!("showing the answering model: {e:#}");
        }
    }

    /// Replaces the title line (after a rename or model change).
    pub async fn set_title(&self, buf: i64, title: &str) -> anyhow::Result<()> {
        self.call("set_title", vec![buf.into(), title.into()])
            .await
            .map(drop)
    }

    /// Sets the context meter of a chat (`{used, estimate, limit}`, see `chats::context`).
    pub async fn meter(&self, buf: i64, session: &str, meter: &Json) -> anyhow::Result<()> {
        self.call("meter", vec![buf.into(), session.into(), encode(meter)?])
            .await
            .map(drop)
    }

    /// Renames a chat buffer to `zen://<name>`.
    pub async fn rename_buffer(&self, buf: i64, name: &str) -> anyhow::Result<()> {
        self.call("rename_buffer", vec![buf.into(), name.into()])
            .await
            .map(drop)
    }

    /// Opens `vim.ui.select` over the model catalogue (scheduled; returns at once).
    pub async fn show_model_picker(&self, payload: &Json) -> anyhow::Result<()> {
        self.call("show_model_picker", vec![encode(payload)?])
            .await
            .map(drop)
    }

    /// Replaces the credit line of the usage window.
    pub async fn set_credit(&self, line: &str) -> anyhow::Result<()> {
        self.call("set_credit", vec![line.into()]).await.map(drop)
    }

    /// Appends lines to the usage window (the `GET /generation` answers).
    pub async fn append_usage(&self, lines: &[String]) -> anyhow::Result<()> {
        let lines: Vec<rmpv::Value> = lines.iter().map(|l| l.as_str().into()).collect();
        self.call("append_usage", vec![lines.into()])
            .await
            .map(drop)
    }

    /// The code buffer the user came from (`#buffer`, `#diagnostics`): name, lines, diagnostics.
    pub async fn code_buffer(&self, buf: i64) -> anyhow::Result<Option<CodeBuffer>> {
        let value = self.call("code_buffer", vec![buf.into()]).await?;
        if value.is_nil() {
            return Ok(None);
        }
        Ok(Some(decode(value)?))
    }

    /// Whether the user trusts the project file at `file` whose text is `text` (Lua asks once
    /// per version of the file, `lua/zen/trust.lua`).
    pub async fn trust_project(&self, file: &std::path::Path, text: &str) -> anyhow::Result<bool> {
        let path = file.to_string_lossy().into_owned();
        let value = self
            .call("trust_project", vec![path.into(), text.into()])
            .await?;
        Ok(matches!(value, Value::Boolean(true)))
    }

    /// Types `text` as the prompt under the chat's last `## User` header.
    pub async fn append_prompt(&self, buf: i64, text: &str) -> anyhow::Result<()> {
        self.call("append_prompt", vec![buf.into(), text.into()])
            .await
            .map(drop)
    }

    /// Whether the buffer still exists and is loaded.
    pub async fn buffer_alive(&self, buf: i64) -> bool {
        matches!(
            self.call("buffer_alive", vec![buf.into()]).await,
            Ok(Value::Boolean(true))
        )
    }

    /// Shows a one-line message (`vim.notify`); level is "info", "warn" or "error".
    pub async fn notify(&self, message: &str, level: &str) {
        if let Err(e) = self
            .call("notify", vec![message.into(), level.into()])
            .await
        {
            tracing::warn!("notify failed: {e:#}");
        }
    }

    /// Calls `require('zen.review').<function>(...)`: the pending changes of edits.
    pub async fn review(&self, function: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        let code = format!("return require('zen.review').{function}(...)");
        self.nvim
            .exec_lua(&code, args)
            .await
            .map_err(|e| anyhow::anyhow!("calling zen.review.{function}: {e}"))
    }

    /// Fires `User <name>` with `payload` (autocmd data on 0.8+, `require('zen').last_event()` everywhere).
    pub async fn emit(&self, name: &str, payload: &Json) {
        let sent = match encode(payload) {
            Ok(p) => self.call("emit", vec![name.into(), p]).await,
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            tracing::warn!("emit {name} failed: {e:#}");
        }
    }
}

/// A value as msgpack, with maps as maps (Lua wants tables with keys, not arrays).
pub fn encode<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<Value> {
    let bytes = rmp_serde::to_vec_named(value)?;
    Ok(rmpv::decode::read_value(&mut &bytes[..])?)
}

/// A msgpack value from Neovim as `T`. Neovim strings may hold any bytes (a latin1 buffer):
/// invalid UTF-8 becomes U+FFFD rather than refusing the whole value.
pub fn decode<T: DeserializeOwned>(value: Value) -> anyhow::Result<T> {
    Ok(rmpv::ext::from_value(valid_utf8(value))?)
}

fn valid_utf8(value: Value) -> Value {
    match value {
        Value::String(s) if s.as_str().is_none() => {
            Value::from(String::from_utf8_lossy(s.as_bytes()).into_owned())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(valid_utf8).collect()),
        Value::Map(m) => Value::Map(
            m.into_iter()
                .map(|(k, v)| (valid_utf8(k), valid_utf8(v)))
                .collect(),
        ),
        other => other,
    }
}
