//! Every session the backend knows, with its buffer and running turn. The lock is a plain
//! mutex, never held across an await. A running turn also holds `locks/<id>.lock` (a `flock`),
//! so a second editor on the same state_dir cannot start a turn on the same history.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Error;
use crate::data::SessionMeta;

/// Why a running answer was stopped before the model finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// `:ZenStop`.
    Stopped,
    /// The chat buffer was unloaded or wiped.
    BufferClosed,
    /// `:ZenKill` here.
    Killed,
    /// The session was killed in another editor.
    KilledElsewhere,
    /// The backend is exiting.
    Interrupted,
}

impl End {
    /// As the chat's note and the history's `end` say it.
    pub fn as_str(self) -> &'static str {
        match self {
            End::Stopped => "stopped",
            End::BufferClosed => "buffer closed",
            End::Killed => "killed",
            End::KilledElsewhere => "killed in another Neovim",
            End::Interrupted => "interrupted",
        }
    }
}

/// A running turn's cancel switch, the reason it was pulled, and its task (to wait for it).
pub struct Cancel {
    pub token: CancellationToken,
    reason: Mutex<Option<End>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Cancel {
    fn new() -> Cancel {
        Cancel {
            token: CancellationToken::new(),
            reason: Mutex::new(None),
            task: Mutex::new(None),
        }
    }

    /// Stops the turn; the first reason given wins.
    pub fn cancel(&self, reason: End) {
        let mut slot = self.reason.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert(reason);
        self.token.cancel();
    }

    /// Why the turn was stopped, if it was.
    pub fn reason(&self) -> Option<End> {
        *self.reason.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps the turn's task, to wait for it.
    pub fn set_task(&self, task: JoinHandle<()>) {
        *self.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
    }

    /// Waits (at most `bound`) for the turn's task to end: it has saved what arrived.
    pub async fn finished(&self, bound: std::time::Duration) {
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            let _ = tokio::time::timeout(bound, task).await;
        }
    }
}

/// One session and what goes with it while the backend runs.
pub struct Entry {
    pub meta: SessionMeta,
    /// The chat buffer showing it, if any.
    pub buf: Option<i64>,
    /// The turn streaming now.
    pub active: Option<Arc<Cancel>>,
    /// Agents run in a plain Neovim terminal: the exit code once the program ended
    /// (`None` while it runs or when unknown).
    pub exit_code: Option<i64>,
    /// Such an agent's program is running.
    pub running: bool,
    /// The version of the project file whose untrusted `system_prompt` the chat was told of.
    pub noted_prompt: Option<u64>,
    /// The running turn's lock file (released when dropped).
    turn_lock: Option<File>,
}

impl Entry {
    fn new(meta: SessionMeta) -> Entry {
        Entry {
            meta,
            buf: None,
            active: None,
            exit_code: None,
            running: false,
            noted_prompt: None,
            turn_lock: None,
        }
    }
}

/// A row of `list()`.
pub struct Listed {
    pub meta: SessionMeta,
    pub buf: Option<i64>,
    pub streaming: bool,
}

/// All sessions, by id.
#[derive(Default)]
pub struct Registry {
    entries: Mutex<HashMap<String, Entry>>,
    /// The session used last in this editor (`:ZenSend`'s fallback target).
    last_used: Mutex<Option<String>>,
    /// Where turn locks live (set at the handshake).
    locks: OnceLock<PathBuf>,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the directory of the per-session turn locks.
    pub fn set_locks_dir(&self, dir: PathBuf) {
        let _ = self.locks.set(dir);
    }

    /// Notes that the user just used a session.
    pub fn touch(&self, id: &str) {
        *self.last_used.lock().unwrap_or_else(|e| e.into_inner()) = Some(id.to_string());
    }

    /// The session used last in this editor, if it still exists.
    pub fn last_used(&self) -> Option<String> {
        let id = self
            .last_used
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        self.lock().contains_key(&id).then_some(id)
    }

    /// Adds (or replaces) a session.
    pub fn insert(&self, meta: SessionMeta) {
        self.lock().insert(meta.id.clone(), Entry::new(meta));
    }

    /// Runs `f` on a session, if it exists.
    pub fn with<R>(&self, id: &str, f: impl FnOnce(&mut Entry) -> R) -> Option<R> {
        self.lock().get_mut(id).map(f)
    }

    /// The session shown in buffer `buf`.
    pub fn by_buf(&self, buf: i64) -> Option<String> {
        self.lock()
            .values()
            .find(|e| e.buf == Some(buf))
            .map(|e| e.meta.id.clone())
    }

    /// The session called `name` (or whose id is `name`).
    pub fn by_name(&self, name: &str) -> Option<String> {
        self.lock()
            .values()
            .find(|e| e.meta.name == name || e.meta.id == name)
            .map(|e| e.meta.id.clone())
    }

    /// Whether a session is called `name` already.
    pub fn name_taken(&self, name: &str) -> bool {
        self.lock().values().any(|e| e.meta.name == name)
    }

    /// Marks a turn as running; refuses when one already is.
    pub fn start_turn(&self, id: &str) -> Result<Arc<Cancel>, Error> {
        let mut entries = self.lock();
        let entry = entries.get_mut(id).ok_or(Error::Gone)?;
        if entry.active.is_some() {
            return Err(Error::Busy(entry.meta.name.clone()));
        }
        if let Some(dir) = self.locks.get() {
            let path = dir.join(format!("{id}.lock"));
            match crate::store::lock::try_exclusive(&path) {
                Ok(Some(file)) => entry.turn_lock = Some(file),
                Ok(None) => {
                    return Err(Error::refused(format!(
                        "{} is answering in another Neovim. Wait for it, or stop it there.",
                        entry.meta.name
                    )))
                }
                Err(e) => return Err(Error::io(format!("locking {}", path.display()), e)),
            }
        }
        let cancel = Arc::new(Cancel::new());
        entry.active = Some(cancel.clone());
        Ok(cancel)
    }

    /// Clears the running turn (and releases its lock).
    pub fn end_turn(&self, id: &str) {
        if let Some(e) = self.lock().get_mut(id) {
            e.active = None;
            e.turn_lock = None;
        }
    }

    /// Cancels the running turn of a session; false when none runs.
    pub fn cancel(&self, id: &str, reason: End) -> bool {
        let active = self.lock().get(id).and_then(|e| e.active.clone());
        match active {
            Some(c) => {
                c.cancel(reason);
                true
            }
            None => false,
        }
    }

    /// Cancels every running turn (shutdown).
    pub fn cancel_all(&self, reason: End) {
        let active: Vec<_> = self
            .lock()
            .values()
            .filter_map(|e| e.active.clone())
            .collect();
        for c in active {
            c.cancel(reason);
        }
    }

    /// The running turn of a session, if any.
    pub fn active(&self, id: &str) -> Option<Arc<Cancel>> {
        self.lock().get(id).and_then(|e| e.active.clone())
    }

    /// Removes a session; returns its buffer.
    pub fn remove(&self, id: &str) -> Option<Entry> {
        self.lock().remove(id)
    }

    /// Every session, most recently active first.
    pub fn list(&self) -> Vec<Listed> {
        let mut rows: Vec<Listed> = self
            .lock()
            .values()
            .map(|e| Listed {
                meta: e.meta.clone(),
                buf: e.buf,
                streaming: e.active.is_some(),
            })
            .collect();
        rows.sort_by(|a, b| {
            b.meta
                .updated
                .cmp(&a.meta.updated)
                .then(a.meta.name.cmp(&b.meta.name))
        });
        rows
    }

    /// Takes the index's merged list as the truth: updates and adds sessions, and removes (and
    /// stops) those it no longer has, i.e. killed in another editor. Returns the removed names.
    pub fn replace_metas(&self, metas: Vec<SessionMeta>) -> Vec<String> {
        let mut entries = self.lock();
        let keep: HashSet<String> = metas.iter().map(|m| m.id.clone()).collect();
        let gone: Vec<String> = entries
            .keys()
            .filter(|id| !keep.contains(*id))
            .cloned()
            .collect();
        let mut names = Vec::new();
        for id in gone {
            if let Some(e) = entries.remove(&id) {
                if let Some(c) = &e.active {
                    c.cancel(End::KilledElsewhere);
                }
                names.push(e.meta.name);
            }
        }
        for meta in metas {
            match entries.get_mut(&meta.id) {
                Some(e) => e.meta = meta,
                None => {
                    entries.insert(meta.id.clone(), Entry::new(meta));
                }
            }
        }
        names
    }

    /// The metadata of all sessions, for the index file.
    pub fn metas(&self) -> Vec<SessionMeta> {
        let mut metas: Vec<_> = self.lock().values().map(|e| e.meta.clone()).collect();
        metas.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        metas
    }
}
