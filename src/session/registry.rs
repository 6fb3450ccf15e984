//! Every session the backend knows, with its buffer and running turn. The lock is a plain
//! mutex, never held across an await.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio_util::sync::CancellationToken;

use super::SessionMeta;

/// A running turn's cancel switch and the reason it was pulled.
pub struct Cancel {
    pub token: CancellationToken,
    reason: Mutex<Option<String>>,
}

impl Cancel {
    fn new() -> Cancel {
        Cancel {
            token: CancellationToken::new(),
            reason: Mutex::new(None),
        }
    }

    /// Stops the turn; the first reason given wins.
    pub fn cancel(&self, reason: &str) {
        let mut slot = self.reason.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert_with(|| reason.to_string());
        self.token.cancel();
    }

    /// Why the turn was stopped, if it was.
    pub fn reason(&self) -> Option<String> {
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
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
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
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
        let id = meta.id.clone();
        self.lock().insert(
            id,
            Entry {
                meta,
                buf: None,
                active: None,
                exit_code: None,
                running: false,
            },
        );
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
    pub fn start_turn(&self, id: &str) -> Result<Arc<Cancel>, String> {
        let mut entries = self.lock();
        let entry = entries
            .get_mut(id)
            .ok_or_else(|| format!("zen: no session {id}."))?;
        if entry.active.is_some() {
            return Err(format!(
                "zen: {} is still answering. Stop it first with :ZenStop.",
                entry.meta.name
            ));
        }
        let cancel = Arc::new(Cancel::new());
        entry.active = Some(cancel.clone());
        Ok(cancel)
    }

    /// Clears the running turn.
    pub fn end_turn(&self, id: &str) {
        if let Some(e) = self.lock().get_mut(id) {
            e.active = None;
        }
    }

    /// Cancels the running turn of a session; false when none runs.
    pub fn cancel(&self, id: &str, reason: &str) -> bool {
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
    pub fn cancel_all(&self, reason: &str) {
        let active: Vec<_> = self
            .lock()
            .values()
            .filter_map(|e| e.active.clone())
            .collect();
        for c in active {
            c.cancel(reason);
        }
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

    /// The metadata of all sessions, for the index file.
    pub fn metas(&self) -> Vec<SessionMeta> {
        let mut metas: Vec<_> = self.lock().values().map(|e| e.meta.clone()).collect();
        metas.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        metas
    }
}
