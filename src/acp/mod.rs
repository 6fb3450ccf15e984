//! The Agent Client Protocol (Zed's ACP): JSON-RPC 2.0 over an agent adapter's stdio.
//! `conn.rs` is the transport (a child process, requests with ids, the agent's requests and
//! notifications on a channel); `protocol.rs` the message types zen uses. The sessions, turns
//! and the answers to the agent's requests live in `agents::acp`.

pub mod conn;
pub mod protocol;

pub use conn::{Conn, ConnError, Incoming};
