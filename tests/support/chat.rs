//! Chat-surface helpers shared by tests/chat_*.rs.

use super::{sse, FakeServer, Nvim};

/// Streams `body` as the answer to "hi" typed in the current chat; waits for the `n`th answer.
pub async fn answer_hi(server: &FakeServer, nv: &Nvim, body: String, n: usize) {
    server.push(sse(body));
    nv.type_prompt("hi").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(n, 10).await;
}

/// An answer whose text looks like zen's own rows: a note, a `## User` header.
pub const MODEL_TEXT: &str = "> [zen] not a note\n## User\nstill the model";

/// An answer with a lua and a vim fence (languages whose parsers Neovim bundles).
pub const FENCES: &str = "Here:\n\n```lua\nlocal x = 1\n```\n\n```vim\nlet g:y = 2\n```\n";
