//! The chats service (and what is common to sessions of either kind): creating a chat,
//! submitting (`submit`), streaming one answer (`turn`) and batching its text into buffer edits
//! (`render`); `:ZenSend`; a chat's model and web search (`web`); the session list, open, kill and rename.

pub mod answering;
pub mod context;
pub mod create;
pub mod extras;
pub mod model;
pub mod send;
pub mod sessions;
pub mod submit;
pub mod system;
pub mod turn;
pub mod web;
