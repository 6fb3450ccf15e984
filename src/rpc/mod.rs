//! The msgpack-RPC edge: each request is decoded once into its typed argument struct, calls one
//! service function, and its result (or the error's one line, `zen: ...`) is encoded as the reply.
//! No logic lives here.
//!
//! Requests from Lua run as their own tasks (nvim-rs spawns them), so a service may call back
//! into Neovim. Notifications are handled inline by nvim-rs: they only spawn work and return.

use std::sync::Arc;

use async_trait::async_trait;
use rmpv::Value;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::agents::acp;
use crate::agents::sessions as agents;
use crate::app::{lifecycle, App, Error, Shared, Which};
use crate::chats::{compact, create, model, send, sessions, web};
use crate::edit;
use crate::nvim::{decode, encode, Nvim, Writer};

pub use crate::app::lifecycle::PROTOCOL;

/// Decodes a request's argument table (a Lua `{}` or nothing counts as an empty table).
fn args<T: DeserializeOwned>(arg: Option<Value>) -> Result<T, Error> {
    let arg = match arg {
        None | Some(Value::Nil) => Value::Map(vec![]),
        Some(Value::Array(a)) if a.is_empty() => Value::Map(vec![]),
        Some(v) => v,
    };
    decode(arg).map_err(|e| Error::refused(format!("bad request arguments ({e:#}).")))
}

/// The reply to Lua: the value, or the error's one line.
fn reply<T: Serialize>(name: &str, result: Result<T, Error>) -> Result<Value, Value> {
    let encoded = result.and_then(|v| encode(&v).map_err(|e| Error::refused(format!("{e:#}."))));
    encoded.map_err(|e| {
        tracing::info!("{name} refused: {e}");
        Value::from(e.to_string())
    })
}

/// A notification's argument: `buffer_closed {buf}`.
#[derive(Deserialize)]
struct Buf {
    buf: i64,
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
        args_in: Vec<Value>,
        nvim: Nvim,
    ) -> Result<Value, Value> {
        let arg = args_in.into_iter().next();
        let app = &self.app;
        if name != "hello" {
            // Another editor on the same state_dir may have added, killed or renamed sessions.
            app.refresh_index().await;
        }
        match name.as_str() {
            "hello" => match args(arg) {
                Ok(hello) => reply(&name, lifecycle::hello(app, nvim, hello).await),
                Err(e) => reply::<()>(&name, Err(e)),
            },
            "health" => reply(&name, lifecycle::health(app).await),
            "new_chat" => reply(&name, on(arg, |r| create::new_chat(app, r)).await),
            "new_agent" => reply(&name, on(arg, |r| agents::new_agent(app, r)).await),
            "submit" => reply(
                &name,
                on(arg, |r| async { Ok(json!({"id": create::submit(app, r).await?})) }).await,
            ),
            "stop" => reply(
                &name,
                args::<Which>(arg).and_then(|w| Ok(json!({"stopped": create::stop(app, &w)?}))),
            ),
            "set_model" => reply(&name, on(arg, |r| model::set_model(app, r)).await),
            "set_web" => reply(&name, on(arg, |r| web::set_web(app, r)).await),
            "model_ids" => reply(&name, Ok(model::model_ids(app).await)),
            "send" => reply(&name, on(arg, |r| send::send(app, r)).await),
            "list" => reply(&name, Ok(sessions::list(app).await)),
            "open" => reply(&name, on(arg, |w: Which| async move { sessions::open(app, &w).await }).await),
            "kill" => reply(&name, on(arg, |k| async move { sessions::kill(app, &k).await }).await),
            "rename" => reply(&name, on(arg, |r| async move { sessions::rename(app, &r).await }).await),
            "usage" => reply(&name, model::usage(app).await),
            "edit" => reply(&name, on(arg, |c| edit::start(app, c)).await),
            "acp_permission" => reply(&name, on(arg, |a| acp::permission::answer(app, a)).await),
            "agent_model" => reply(&name, on(arg, |m| acp::model::agent_model(app, m)).await),
            "compact" => reply(&name, on(arg, |w: Which| compact::compact(app, w)).await),
            _ => reply::<()>(&name, Err(Error::refused(format!(
                "the backend has no request '{name}'. Plugin and backend differ: rebuild with `cargo build --release`."
            )))),
        }
    }

    async fn handle_notify(&self, name: String, args_in: Vec<Value>, _nvim: Nvim) {
        let arg = args_in.into_iter().next();
        let app = &self.app;
        // Handled inline by nvim-rs: spawn anything slow.
        let decoded = match name.as_str() {
            "buffer_closed" => args(arg).map(|b: Buf| sessions::buffer_closed(app, b.buf)),
            "pick_model" => args(arg).map(|p| model::pick_model(app, p)),
            "credit" => {
                model::credit(app);
                Ok(())
            }
            "generations" => {
                model::generations(app);
                Ok(())
            }
            "agent_started" => args(arg).map(|s| agents::agent_started(app, s)),
            "agent_exited" => args(arg).map(|x| agents::agent_exited(app, x)),
            "acp_permission" => args(arg).map(acp::review::decided),
            _ => Err(Error::refused(format!("unknown notification {name}"))),
        };
        if let Err(e) = decoded {
            tracing::warn!("{name}: {e}");
        }
    }
}

/// Decodes `arg` as the request `T` and runs `service` on it.
async fn on<T, R, F, Fut>(arg: Option<Value>, service: F) -> Result<R, Error>
where
    T: DeserializeOwned,
    F: FnOnce(T) -> Fut,
    Fut: std::future::Future<Output = Result<R, Error>>,
{
    service(args(arg)?).await
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
