//! The request of a chat turn or an edit, and its answer as it arrives. Both read it the same
//! way: the key, the request (retried before the first token), then one item per network read,
//! until the stream ends or the turn is cancelled.

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::app::Shared;
use crate::openrouter::client::{ChatRequest, EventStream};
use crate::openrouter::retry::Retry;
use crate::openrouter::ChatError;

/// Sends `request`; `on_retry` is told before each wait to retry. The answer's items end with
/// the stream or as soon as `token` is cancelled; `None` when it was cancelled first.
pub async fn open(
    app: &Shared,
    request: &ChatRequest<'_>,
    token: &CancellationToken,
    on_retry: &mut (dyn FnMut(Retry) + Send),
) -> Result<Option<EventStream>, ChatError> {
    let ready = app.ready().map_err(|_| ChatError::Truncated)?;
    let key = tokio::select! {
        _ = token.cancelled() => return Ok(None),
        k = app.api_key(request.cfg) => k?,
    };
    let events = tokio::select! {
        _ = token.cancelled() => return Ok(None),
        s = ready.client.open(request, &key, token, on_retry) => s?,
    };
    // take_until polls the token first: a cancel wins over data already waiting.
    Ok(Some(Box::pin(
        events.take_until(token.clone().cancelled_owned()),
    )))
}
