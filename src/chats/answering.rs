//! The request of a chat turn or an edit, and its answer as it arrives. Both read it the same
//! way: the key, the request (retried before the first token), then one item per network read,
//! until the stream ends or the turn is cancelled.

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::app::Shared;
use crate::openrouter::client::{ChatRequest, EventStream};
use crate::openrouter::key::ApiKey;
use crate::openrouter::retry::Retry;
use crate::openrouter::stream::StreamEvent;
use crate::openrouter::ChatError;

/// An answer being received.
pub struct Answering {
    /// The key the request went with (server text shown from this answer is redacted with it).
    pub key: ApiKey,
    events: EventStream,
    token: CancellationToken,
}

/// Sends `request`; `on_retry` is told before each wait to retry. `None` when `token` was
/// cancelled first.
pub async fn open(
    app: &Shared,
    request: &ChatRequest<'_>,
    token: &CancellationToken,
    on_retry: &mut (dyn FnMut(Retry) + Send),
) -> Result<Option<Answering>, ChatError> {
    let ready = app.ready().map_err(|_| ChatError::Truncated)?;
    let key = tokio::select! {
        _ = token.cancelled() => return Ok(None),
        k = app.api_key(request.cfg) => k?,
    };
    let events = tokio::select! {
        _ = token.cancelled() => return Ok(None),
        s = ready.client.open(request, &key, token, on_retry) => s?,
    };
    Ok(Some(Answering {
        key,
        events,
        token: token.clone(),
    }))
}

impl Answering {
    /// The events of the next network read (together: one push per read); `None` at the end
    /// of the stream or once the turn is cancelled.
    pub async fn next(&mut self) -> Option<Result<Vec<StreamEvent>, ChatError>> {
        tokio::select! {
            biased;
            _ = self.token.cancelled() => None,
            item = self.events.next() => item,
        }
    }
}
