//! Chats: starting a turn (`submit`), streaming one answer (`turn`) and batching its text into
//! buffer edits (`render`).

pub mod render;
pub mod submit;
pub mod turn;
