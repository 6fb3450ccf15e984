//! The msgpack-RPC surface: one place maps method names to handlers (one file per group).
//!
//! Requests from Lua run as their own tasks (nvim-rs spawns them), so a handler may call back
//! into Neovim. Notifications are handled inline by nvim-rs: they only spawn work and return.

pub mod agent_ids;
pub mod agents;
pub mod chat;
pub mod convert;
pub mod edit;
pub mod lifecycle;
pub mod models;
pub mod send;
pub mod sessions;

use std::sync::Arc;

use async_trait::async_trait;
use rmpv::Value;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::app::{App, Shared};
use crate::nvim::{Nvim, Writer};
use convert::{json_to_value, value_to_json};

/// Bumped whenever a request, its arguments or `lua/zen/ui.lua` change incompatibly.
pub const PROTOCOL: u64 = 3;

/// What a handler returns: a JSON result, or one line for the user (`zen: ...`).
pub type Reply = Result<Json, String>;

/// Decodes a request's argument table.
pub fn args<T: DeserializeOwned>(json: Json) -> Result<T, String> {
    let json = if json.is_null() || json.as_array().is_some_and(|a| a.is_empty()) {
        Json::Object(Default::default())
    } else {
        json
    };
    serde_json::from_value(json).map_err(|e| format!("zen: bad request arguments ({e})."))
}

/// Reads a map that Lua may have sent as `{}`, which crosses as an empty array.
pub fn map_or_empty_list<'de, D, V>(de: D) -> Result<std::collections::HashMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: DeserializeOwned,
{
    use serde::Deserialize;
    match Json::deserialize(de)? {
        Json::Array(a) if a.is_empty() => Ok(Default::default()),
        other => serde_json::from_value(other).map_err(serde::de::Error::custom),
    }
}

#[derive(Clone)]
struct Handler {
    app: Shared,
}

#[async_trait]
impl nvim_rs::Handler for Handler {
    type Writer = Writer;

    async fn handle_request(
        &self,
        name: String,
        args: Vec<Value>,
        nvim: Nvim,
    ) -> Result<Value, Value> {
        let arg = args
            .into_iter()
            .next()
            .map(value_to_json)
            .unwrap_or(Json::Null);
        let app = &self.app;
        if name != "hello" {
            // Another editor on the same state_dir may have added, killed or renamed sessions.
            app.refresh_index().await;
        }
        let reply = match name.as_str() {
            "hello" => lifecycle::hello(app, nvim, arg).await,
            "health" => lifecycle::health(app).await,
            "new_chat" => chat::new_chat(app, arg).await,
            "new_agent" => agents::new_agent(app, arg).await,
            "submit" => chat::submit(app, arg).await,
            "stop" => chat::stop(app, arg).await,
            "set_model" => models::set_model(app, arg).await,
            "model_ids" => models::model_ids(app).await,
            "send" => send::send(app, arg).await,
            "list" => sessions::list(app).await,
            "open" => sessions::open(app, arg).await,
            "kill" => sessions::kill(app, arg).await,
            "rename" => sessions::rename(app, arg).await,
            "usage" => models::usage(app).await,
            "edit" => edit::edit(app, arg).await,
            _ => Err(format!(
                "zen: the backend has no request '{name}'. Plugin and backend differ: rebuild with `cargo build --release`."
            )),
        };
        if let Err(message) = &reply {
            tracing::info!("{name} refused: {message}");
        }
        reply.map(json_to_value).map_err(Value::from)
    }

    async fn handle_notify(&self, name: String, args: Vec<Value>, _nvim: Nvim) {
        let arg = args
            .into_iter()
            .next()
            .map(value_to_json)
            .unwrap_or(Json::Null);
        // Handled inline by nvim-rs: spawn anything slow.
        match name.as_str() {
            "buffer_closed" => sessions::buffer_closed(&self.app, arg),
            "pick_model" => models::pick_model(&self.app, arg),
            "credit" => models::credit(&self.app),
            "agent_started" => agents::agent_started(&self.app, arg),
            "agent_exited" => agents::agent_exited(&self.app, arg),
            _ => tracing::warn!("unknown notification {name}"),
        }
    }
}

/// Serves the Neovim that started us over stdio until it goes away, then stops cleanly.
///
/// Neovim quitting (`:qa!`) sends SIGTERM (SIGHUP for a closed terminal) and SIGKILL 2 s
/// later: both signals end the backend like a closed stdin, so running turns save what arrived.
pub async fn serve() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let app: Shared = Arc::new(App::default());
    let handler = Handler { app: app.clone() };
    let (_nvim, io) = nvim_rs::create::tokio::new_parent(handler).await?;
    tokio::select! {
        ended = io => match ended {
            Ok(Ok(())) => tracing::info!("Neovim closed the channel"),
            Ok(Err(e)) if e.is_channel_closed() => tracing::info!("Neovim went away"),
            Ok(Err(e)) => tracing::error!("RPC loop failed: {e}"),
            Err(e) => tracing::error!("RPC loop panicked: {e}"),
        },
        _ = term.recv() => tracing::info!("SIGTERM: saving and exiting"),
        _ = hup.recv() => tracing::info!("SIGHUP: saving and exiting"),
    }
    app.shutdown().await;
    Ok(())
}
