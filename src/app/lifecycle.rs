//! `hello` (handshake: protocol check, settings, store) and `health` (for `:checkhealth zen`).

use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::registry::Registry;
use super::{Error, Ready, Result, Shared};
use crate::config::Config;
use crate::nvim::{Nvim, Ui};
use crate::openrouter::{key, Client};
use crate::store::Store;

/// Bumped whenever a request, its arguments or `lua/zen/ui.lua` change incompatibly.
pub const PROTOCOL: u64 = 6;

/// The handshake's arguments.
#[derive(Deserialize)]
pub struct Hello {
    protocol: u64,
    config: Json,
}

/// Checks the protocol, takes the settings, opens the store and loads the session list.
pub async fn hello(app: &Shared, nvim: Nvim, hello: Hello) -> Result<Json> {
    let ours = json!({"protocol": PROTOCOL, "version": env!("CARGO_PKG_VERSION"), "pid": std::process::id()});
    if hello.protocol != PROTOCOL {
        return Ok(ours); // Lua compares and tells the user to rebuild
    }
    if app.ready().is_ok() {
        return Ok(ours);
    }
    let config = Config::from_json(hello.config).map_err(|e| Error::refused(format!("{e:#}.")))?;
    let store = Store::open(&config.state_dir).map_err(|e| Error::refused(format!("{e:#}.")))?;
    let client =
        Client::new(&config.openrouter).map_err(|e| Error::io("building the HTTP client", e))?;
    let (sessions, mut warnings) = store.load_index();
    let (prefs, prefs_warning) = crate::prefs::Prefs::load(&config.state_dir);
    warnings.extend(prefs_warning);
    *app.prefs.lock().unwrap_or_else(|e| e.into_inner()) = prefs;
    load_sessions(&app.registry, sessions);
    app.registry.set_locks_dir(store.locks_dir());
    let ui = Ui::new(nvim.clone());
    let _ = nvim
        .set_client_info(
            "zen-portal",
            vec![("major".into(), 0.into()), ("minor".into(), 1.into())],
            "remote",
            vec![],
            vec![],
        )
        .await;
    app.set_ready(Ready {
        config,
        store,
        client,
        ui: ui.clone(),
    });
    for w in warnings {
        ui.notify(&format!("zen: {w}."), "warn").await;
    }
    tracing::info!(
        "ready: protocol {PROTOCOL}, {} sessions",
        app.registry.metas().len()
    );
    Ok(ours)
}

fn load_sessions(registry: &Registry, sessions: Vec<crate::data::SessionMeta>) {
    for meta in sessions {
        registry.insert(meta);
    }
}

/// Facts for `:checkhealth zen`; never the key itself.
pub async fn health(app: &Shared) -> Result<Json> {
    let ready = app.ready()?;
    let or = &ready.config.openrouter;
    let key_present = match &or.api_key_cmd {
        Some(cmd) if !cmd.is_empty() => Json::String("command (runs on first use)".into()),
        _ => Json::Bool(std::env::var(&or.api_key_env).is_ok_and(|k| !k.trim().is_empty())),
    };
    Ok(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "protocol": PROTOCOL,
        "base_url": or.base_url,
        "default_model": app.prefs().default_model.unwrap_or(or.default_model.clone()),
        "key_source": key::source(or),
        "key_present": key_present,
        "state_dir": ready.config.state_dir,
        "sessions": app.registry.metas().len(),
    }))
}
