//! Test support: a fake OpenRouter server and a real headless Neovim running the plugin.
#![allow(dead_code, unused_imports)]

pub mod acp;
pub mod agents;
pub mod catalogue;
pub mod chat;
pub mod fake_agent_api;
pub mod fake_server;
pub mod nvim;

pub use acp::*;
pub use agents::*;
pub use catalogue::*;
pub use chat::*;
pub use fake_agent_api::*;
pub use fake_server::*;
pub use nvim::*;

/// A fake server and a Neovim set up against it, in a fresh temporary home.
pub async fn setup() -> (FakeServer, Nvim, tempfile::TempDir) {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let nv = Nvim::start(Start::new(home.path(), &server.base_url())).await;
    nv.install_event_counter().await;
    (server, nv, home)
}
