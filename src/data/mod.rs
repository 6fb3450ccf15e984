//! The bottom layer: plain data. Sessions, messages, usage, the code buffer a prompt refers to,
//! model ids, and the chat buffer grammar (`transcript`). No I/O, no tokio; it imports nothing
//! else of this crate, and everything else may import it.

pub mod code;
pub mod message;
pub mod model_id;
pub mod session;
pub mod transcript;

pub use message::{Attachment, Message, Role, Usage};
pub use session::{AgentMeta, SessionMeta, Totals};

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
