//! The bottom layer: plain data. Sessions, messages, usage, the code buffer a prompt refers to,
//! model ids, and the chat buffer grammar (`transcript`). No I/O, no tokio; it imports nothing
//! else of this crate, and everything else may import it.

pub mod code;
pub mod message;
pub mod model_id;
pub mod session;
pub mod transcript;

pub use message::{Attachment, Citation, Message, Role, Usage};
pub use session::{AcpMeta, AgentMeta, SessionMeta, Totals};

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Reads a map that Lua may have sent as `{}`, which crosses msgpack as an empty array.
pub fn map_or_empty_list<'de, D, V>(de: D) -> Result<std::collections::HashMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: serde::de::DeserializeOwned,
{
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum MapOrList<V> {
        Map(std::collections::HashMap<String, V>),
        List(Vec<V>),
    }
    match serde::Deserialize::deserialize(de)? {
        MapOrList::Map(m) => Ok(m),
        MapOrList::List(l) if l.is_empty() => Ok(Default::default()),
        MapOrList::List(_) => Err(serde::de::Error::custom("expected a table of key=value")),
    }
}
