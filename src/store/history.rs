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
//!
//! What this backend last read or wrote of a history stays in memory with the file's stamp, so
//! a submit in a long conversation does not re-read it: the file is read again only when its
//! stamp moved without us (another editor wrote it), or on first use.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;

use super::stamp::{stamp, Stamp};
use super::{Loaded, Record};
use crate::data::{Message, Role, SessionMeta};

/// How many conversations stay in memory (the ones used last).
const KEPT: usize = 8;

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
    known: Mutex<HashMap<String, Known>>,
}

/// A history as this backend last read or wrote it, valid while the file's stamp is `stamp`.
struct Known {
    stamp: Stamp,
    replay: Replay,
    /// When it was last used, to forget the oldest beyond `KEPT`.
    used: std::time::Instant,
}

impl Histories {
    pub fn new(dir: PathBuf) -> Histories {
        Histories {
            dir,
            pending: Mutex::new(HashMap::new()),
            known: Mutex::new(HashMap::new()),
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
            Ok(stamps) => {
                let written = pending.remove(id).unwrap_or_default();
                self.wrote(id, stamps, written.into_iter().chain([record.clone()]));
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
                Ok(stamps) => {
                    let written = pending.remove(&id).unwrap_or_default();
                    self.wrote(&id, stamps, written.into_iter());
                }
                Err(e) => tracing::error!("{id}: {} records still unsaved: {e:#}", queue.len()),
            }
        }
    }

    /// Reads a session's conversation back, records not yet written included: from memory
    /// while the file is as this backend left it, else from the file.
    pub fn load(&self, id: &str) -> Loaded {
        let waiting = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
            .unwrap_or_default();
        let path = self.path(id);
        // Stamped before reading: a change while we read only costs one more read later.
        let now = stamp(&path);
        let kept = self.known_lock().get_mut(id).and_then(|k| {
            k.used = std::time::Instant::now();
            (Some(k.stamp) == now).then(|| k.replay.clone())
        });
        let mut replay = match kept {
            Some(replay) => replay,
            None => {
                let replay = Replay::read(&path);
                match now {
                    Some(stamp) => self.keep(id, stamp, replay.clone()),
                    None => drop(self.known_lock().remove(id)),
                }
                replay
            }
        };
        waiting.into_iter().for_each(|r| replay.apply(r));
        replay.into_loaded()
    }

    /// Forgets the records waiting for a killed session, and its conversation.
    pub fn forget(&self, id: &str) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        self.known_lock().remove(id);
    }

    fn known_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Known>> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps a conversation read from the file, forgetting the one used longest ago.
    fn keep(&self, id: &str, stamp: Stamp, replay: Replay) {
        let mut known = self.known_lock();
        known.insert(
            id.to_string(),
            Known {
                stamp,
                replay,
                used: std::time::Instant::now(),
            },
        );
        if known.len() > KEPT {
            let oldest = known
                .iter()
                .min_by_key(|(_, k)| k.used)
                .map(|(id, _)| id.clone());
            oldest.map(|id| known.remove(&id));
        }
    }

    /// Brings the kept conversation up to date after our write, or forgets it when the file
    /// was not as we left it (another editor wrote it, or it was not kept).
    fn wrote(&self, id: &str, stamps: Option<Written>, records: impl Iterator<Item = Record>) {
        let mut known = self.known_lock();
        match (known.get_mut(id), stamps) {
            (Some(k), Some(w)) if k.stamp == w.before => {
                records.for_each(|r| k.replay.apply(r));
                k.stamp = w.after;
            }
            _ => drop(known.remove(id)),
        }
    }
}

/// The file's stamps around one of our writes that nothing else interleaved with.
struct Written {
    before: Stamp,
    after: Stamp,
}

/// Appends whole lines to `path`: fences a torn tail first, rolls back a failed write. Returns
/// the file's stamps before and after, unless another writer appended meanwhile.
fn write_lines(
    path: &Path,
    bytes: &[u8],
    create: bool,
    sync: bool,
) -> anyhow::Result<Option<Written>> {
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
    let after = file.metadata()?;
    let alone = meta.is_file() && after.len() == len + out.len() as u64;
    let before = Stamp::of(&meta);
    Ok(alone.then(|| Written {
        before,
        after: Stamp::of(&after),
    }))
}

/// Reads a history file, then applies `waiting` (records not written yet).
pub fn read_history(path: &Path, waiting: Vec<Record>) -> Loaded {
    let mut replay = Replay::read(path);
    waiting.into_iter().for_each(|r| replay.apply(r));
    replay.into_loaded()
}

/// A history's records applied in order: the conversation, and an answer still streaming.
#[derive(Clone, Default)]
struct Replay {
    messages: Vec<Message>,
    meta: Option<SessionMeta>,
    partial: Option<String>,
    warnings: Vec<String>,
}

impl Replay {
    /// Reads a history file (a missing one is empty; a bad line is a warning).
    fn read(path: &Path) -> Replay {
        let mut replay = Replay::default();
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
                replay
                    .warnings
                    .push(format!("reading {}: {e}", path.display()));
                String::new()
            }
        };
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Record>(line) {
                Ok(r) => replay.apply(r),
                Err(e) => replay.warnings.push(format!(
                    "{} line {} is not a valid record ({e}); skipped it",
                    path.display(),
                    n + 1
                )),
            }
        }
        replay
    }

    fn apply(&mut self, record: Record) {
        match record {
            Record::Meta { meta } => self.meta = Some(meta),
            Record::Message { message } => {
                if message.role != Role::Assistant {
                    self.flush_partial();
                }
                self.partial = None;
                self.messages.push(message);
            }
            Record::Rewrite { messages } => {
                self.partial = None;
                self.messages = messages;
            }
            Record::Partial { text } => {
                self.partial.get_or_insert_with(String::new).push_str(&text)
            }
        }
    }

    /// An answer whose stream never finished (the backend died): keep what arrived.
    fn flush_partial(&mut self) {
        if let Some(text) = self.partial.take() {
            let mut m = Message::new(Role::Assistant, text);
            m.end = Some("interrupted".into());
            self.messages.push(m);
        }
    }

    fn into_loaded(mut self) -> Loaded {
        self.flush_partial();
        Loaded {
            messages: self.messages,
            meta: self.meta,
            warnings: self.warnings,
        }
    }
}
