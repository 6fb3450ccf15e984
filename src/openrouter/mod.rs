//! OpenRouter's OpenAI-compatible API: the request, its errors, the API key (and keeping it out
//! of server text) and the SSE stream.

pub mod cache;
pub mod catalogue;
pub mod client;
pub mod error;
pub mod key;
pub mod redact;
pub mod retry;
pub mod sse;
pub mod stream;
pub mod wire;

pub use client::Client;
pub use error::ChatError;
