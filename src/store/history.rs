//! `history/<id>.jsonl`: one JSON record per line, append-only.
//!
//! An append never loses what came before or after it:
//! - a torn last line (a crash or a full disk mid-write) is fenced off with a `\n` first, so it
//!   stays one reported corrupt line and the new record starts on its own line;
//! - a write that fails is rolled back (the file is cut to its old length) and, unless it was a
//!   `partial` (the next save carries that text again), the record waits in memory and is written
//!   before the session's next record, or at exit; readers see it meanwhile;
//! - only the first record (`meta`) creates the file: a killed session's history (deleted under
//!   the index lock) is never brought back by a turn that was still running.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;

use super::{Loaded, Record};
use crate::data::{Message, Role};

/// The session's history file is gone: it was killed (here or in another editor).
#[derive(Debug, thiserror::Error)]
#[error("the session was deleted")]
pub struct Gone;

/// Whether a save failed only because the session was killed (nothing to report).
pub fn is_gone(e: &anyhow::Error) -> bool {
    e.downcast_ref::<Gone>().is_some()
}

/// The history files and the records that could not be written yet.
pub struct Histories {
    dir: PathBuf,
    pending: Mutex<HashMap<String, Vec<Record>>>,
}

impl Histories {
    pub fn new(dir: PathBuf) -> Histories {
        Histories {
            dir,
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// Path of a session's history file.
    pub fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.jsonl"))
    }

    /// Appends `record` after any records still waiting; `sync` forces it to disk.
    pub fn append(&self, id: &str, record: &Record, sync: bool) -> anyhow::Result<()> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let queue = pending.entry(id.to_string()).or_default();
        let mut bytes = Vec::new();
        for r in queue.iter().chain(std::iter::once(record)) {
            bytes.extend(serde_json::to_vec(r)?);
            bytes.push(b'\n');
        }
        let create = matches!(record, Record::Meta { .. });
        match write_lines(&self.path(id), &bytes, create, sync) {
            Ok(()) => {
                pending.remove(id);
                Ok(())
            }
            Err(e) if is_gone(&e) => {
                pending.remove(id);
                Err(e)
            }
            Err(e) => {
                if !matches!(record, Record::Partial { .. }) {
                    queue.push(record.clone());
                }
                Err(e)
            }
        }
    }

    /// Tries again to write every waiting record (at exit).
    pub fn flush_pending(&self) {
        let ids: Vec<String> = {
            let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.keys().cloned().collect()
        };
        for id in ids {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            let Some(queue) = pending.get(&id) else {
                continue;
            };
            let mut bytes = Vec::new();
            for r in queue {
                bytes.extend(serde_json::to_vec(r).unwrap_or_default());
                bytes.push(b'\n');
            }
            match write_lines(&self.path(&id), &bytes, false, true) {
                Ok(()) => {
                    pending.remove(&id);
                }
                Err(e) => tracing::error!("{id}: {} records still unsaved: {e:#}", queue.len()),
            }
        }
    }

    /// Reads a session's conversation back, records not yet written included.
    pub fn load(&self, id: &str) -> Loaded {
        let waiting = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
            .unwrap_or_default();
        read_history(&self.path(id), waiting)
    }

    /// Forgets the records waiting for a killed session.
    pub fn forget(&self, id: &str) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }
}

/// Appends whole lines to `path`: fences a torn tail first, rolls back a failed write.
fn write_lines(path: &Path, bytes: &[u8], create: bool, sync: bool) -> anyhow::Result<()> {
    let mut file = match OpenOptions::new()
        .create(create)
        .read(true)
        .append(true)
        .mode(0o600)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Gone.into()),
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    };
    let meta = file.metadata()?;
    let len = meta.len();
    let mut out = Vec::with_capacity(bytes.len() + 1);
    if meta.is_file() && len > 0 {
        let mut last = [0u8];
        file.read_exact_at(&mut last, len - 1)?;
        if last[0] != b'\n' {
            out.push(b'\n');
        }
    }
    out.extend_from_slice(bytes);
    let written = file.write_all(&out).and_then(|()| match sync {
        true => file.sync_data(),
        false => Ok(()),
    });
    if let Err(e) = written {
        if meta.is_file() {
            let _ = file.set_len(len); // all or nothing: no half record left behind
        }
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    Ok(())
}

/// Reads a history file, then applies `waiting` (records not written yet).
pub fn read_history(path: &Path, waiting: Vec<Record>) -> Loaded {
    let mut loaded = Loaded {
        messages: vec![],
        meta: None,
        warnings: vec![],
    };
    let text = match File::open(path).and_then(|mut f| {
        if !f.metadata()?.is_file() {
            // A device or pipe would never end (or block): not a history file.
            return Err(std::io::Error::other("not a regular file"));
        }
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut s).map(|_| s)
    }) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            loaded
                .warnings
                .push(format!("reading {}: {e}", path.display()));
            String::new()
        }
    };
    let mut records = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line) {
            Ok(r) => records.push(r),
            Err(e) => loaded.warnings.push(format!(
                "{} line {} is not a valid record ({e}); skipped it",
                path.display(),
                n + 1
            )),
        }
    }
    let mut partial: Option<String> = None;
    for record in records.into_iter().chain(waiting) {
        match record {
            Record::Meta { meta } => loaded.meta = Some(meta),
            Record::Message { message } => {
                if message.role != Role::Assistant {
                    flush_partial(&mut loaded.messages, &mut partial);
                }
                partial = None;
                loaded.messages.push(message);
            }
            Record::Rewrite { messages } | Record::Compact { messages } => {
                partial = None;
                loaded.messages = messages;
            }
            Record::Partial { text } => partial.get_or_insert_with(String::new).push_str(&text),
        }
    }
    flush_partial(&mut loaded.messages, &mut partial);
    loaded
}

/// An answer whose stream never finished (the backend died): keep what arrived.
fn flush_partial(messages: &mut Vec<Message>, partial: &mut Option<String>) {
    if let Some(text) = partial.take() {
        let mut m = Message::new(Role::Assistant, text);
        m.end = Some("interrupted".into());
        messages.push(m);
    }
}
