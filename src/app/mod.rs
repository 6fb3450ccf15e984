//! The backend's shared state: settings, store, HTTP client, sessions, and the Neovim handle
//! background tasks use. Everything but the registry is set once, at the handshake.

pub mod error;
pub mod lifecycle;
pub mod registry;
pub mod render;
pub mod which;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio_util::task::TaskTracker;

use crate::app::registry::Registry;
use crate::config::Config;
use crate::nvim::Ui;
use crate::openrouter::catalogue::Catalogue;
use crate::openrouter::{key, ChatError, Client};
use crate::prefs::Prefs;
use crate::store::Store;
pub use error::{Error, Result};
pub use which::Which;

/// What exists once Neovim has said hello.
pub struct Ready {
    pub config: Config,
    pub store: Store,
    pub client: Client,
    pub ui: Ui,
}

/// Shared by every handler and task.
#[derive(Default)]
pub struct App {
    ready: OnceLock<Ready>,
    pub registry: Registry,
    pub tasks: TaskTracker,
    key: tokio::sync::Mutex<Option<key::ApiKey>>,
    /// The model catalogue once loaded (see `models.rs`).
    pub catalogue: tokio::sync::Mutex<Option<Arc<Catalogue>>>,
    pub prefs: std::sync::Mutex<Prefs>,
    /// Fired at exit: long-running tasks (watchers) end on it.
    pub stopping: tokio_util::sync::CancellationToken,
}

impl App {
    /// Stores the handshake's results; a second handshake keeps the first.
    pub fn set_ready(&self, ready: Ready) -> &Ready {
        let _ = self.ready.set(ready);
        self.ready.get().expect("just set")
    }

    /// The handshake's results, or the message to show when it has not happened.
    pub fn ready(&self) -> Result<&Ready> {
        self.ready.get().ok_or(Error::NotReady)
    }

    /// The API key, read on first use and then kept in memory.
    pub async fn api_key(&self, cfg: &crate::config::OpenRouter) -> Result<key::ApiKey, ChatError> {
        let mut slot = self.key.lock().await;
        if let Some(k) = slot.as_ref() {
            return Ok(k.clone());
        }
        let k = key::resolve(cfg).await?;
        *slot = Some(k.clone());
        Ok(k)
    }

    /// Changes the remembered choices and saves them.
    pub fn update_prefs(&self, change: impl FnOnce(&mut Prefs)) {
        let Ok(ready) = self.ready() else { return };
        let prefs = {
            let mut p = self.prefs.lock().unwrap_or_else(|e| e.into_inner());
            change(&mut p);
            p.clone()
        };
        if let Err(e) = prefs.save(&ready.config.state_dir) {
            tracing::error!("saving prefs.json: {e:#}");
        }
    }

    /// A copy of the remembered choices.
    pub fn prefs(&self) -> Prefs {
        self.prefs.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Adds a new session: its history file (starting with its metadata), the registry, the index.
    pub async fn add_session(&self, meta: crate::data::SessionMeta) -> Result<()> {
        let ready = self.ready()?;
        let id = meta.id.clone();
        let record = crate::store::Record::Meta { meta: meta.clone() };
        ready
            .store
            .append(&id, &record, true)
            .map_err(|e| Error::io("saving the new session", e))?;
        self.registry.insert(meta);
        self.registry.touch(&id);
        self.save_index().await;
        Ok(())
    }

    /// Writes this backend's changes to the session index (merged with other editors'
    /// changes, see `store/index.rs`), reporting (not failing) on error.
    pub async fn save_index(&self) {
        let Ok(ready) = self.ready() else { return };
        let synced = ready.store.sync_index(&self.registry.metas(), true);
        self.take_index(synced, "saving").await;
    }

    /// Picks up what other editors changed in the index (one `stat` when nothing did).
    pub async fn refresh_index(&self) {
        let Ok(ready) = self.ready() else { return };
        if ready.store.index_changed() {
            let synced = ready.store.sync_index(&self.registry.metas(), false);
            self.take_index(synced, "reading").await;
        }
    }

    /// Kills a session everywhere: its history and index entry, under the index lock.
    pub async fn kill_session(&self, id: &str) -> Result<()> {
        let ready = self.ready()?;
        let synced = ready.store.kill(id, &self.registry.metas());
        let synced = synced.map_err(|e| Error::io("deleting the session's history", e))?;
        self.take_index(Ok(synced), "saving").await;
        Ok(())
    }

    async fn take_index(&self, synced: anyhow::Result<crate::store::index::Merged>, doing: &str) {
        let Ok(ready) = self.ready() else { return };
        match synced {
            Ok((metas, warnings)) => {
                for name in self.registry.replace_metas(metas) {
                    tracing::info!("{name} was killed in another editor");
                }
                for w in warnings {
                    ready.ui.notify(&format!("zen: {w}."), "warn").await;
                }
            }
            Err(e) => {
                tracing::error!("{doing} sessions.json: {e:#}");
                let text = format!("zen: {doing} the session list failed: {e:#}.");
                ready.ui.notify(&text, "error").await;
            }
        }
    }

    /// Stops the session's running answer, if any, and waits (bounded) until it saved.
    pub async fn stop_turn(&self, id: &str, why: registry::End) {
        if let Some(turn) = self.registry.active(id) {
            turn.cancel(why);
            turn.finished(Duration::from_secs(2)).await;
        }
    }

    /// Stops every stream, waits (bounded: Neovim sends SIGKILL 2 s after SIGTERM) for each to
    /// save what arrived, and writes any records a full disk held back.
    pub async fn shutdown(self: &Arc<Self>) {
        self.registry.cancel_all(registry::End::Interrupted);
        self.stopping.cancel();
        self.tasks.close();
        let _ = tokio::time::timeout(Duration::from_millis(1500), self.tasks.wait()).await;
        if let Ok(ready) = self.ready() {
            ready.store.flush_pending();
        }
    }
}

/// Shorthand for the handle tasks hold.
pub type Shared = Arc<App>;
