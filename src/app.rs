//! The backend's shared state: settings, store, HTTP client, sessions, and the Neovim handle
//! background tasks use. Everything but the registry is set once, at the handshake.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::nvim::{Nvim, Ui};
use crate::openrouter::catalogue::Catalogue;
use crate::openrouter::{key, ChatError, Client};
use crate::prefs::Prefs;
use crate::session::registry::Registry;
use crate::store::Store;

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
}

impl App {
    /// Stores the handshake's results; a second handshake keeps the first.
    pub fn set_ready(&self, ready: Ready) -> &Ready {
        let _ = self.ready.set(ready);
        self.ready.get().expect("just set")
    }

    /// The handshake's results, or the message to show when it has not happened.
    pub fn ready(&self) -> Result<&Ready, String> {
        self.ready.get().ok_or_else(|| {
            "zen: the backend was not initialised (no hello). Restart Neovim.".to_string()
        })
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
    pub async fn add_session(&self, meta: crate::session::SessionMeta) -> Result<(), String> {
        let ready = self.ready()?;
        let id = meta.id.clone();
        let record = crate::store::Record::Meta { meta: meta.clone() };
        ready
            .store
            .append(&id, &record, true)
            .map_err(|e| format!("zen: saving the new session: {e:#}."))?;
        self.registry.insert(meta);
        self.registry.touch(&id);
        self.save_index().await;
        Ok(())
    }

    /// Saves the session index, reporting (not failing) on error.
    pub async fn save_index(&self) {
        let Ok(ready) = self.ready() else { return };
        if let Err(e) = ready.store.save_index(&self.registry.metas()) {
            tracing::error!("saving sessions.json: {e:#}");
            ready
                .ui
                .notify(
                    &format!("zen: saving the session list failed: {e:#}."),
                    "error",
                )
                .await;
        }
    }

    /// Stops every stream and waits (briefly) for their partial answers to be saved.
    pub async fn shutdown(self: &Arc<Self>) {
        self.registry.cancel_all("backend exiting");
        self.tasks.close();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.tasks.wait()).await;
    }
}

/// Shorthand for the handle tasks hold.
pub type Shared = Arc<App>;

/// A Neovim handle never used before the handshake.
pub fn ui_for(nvim: Nvim) -> Ui {
    Ui::new(nvim)
}
