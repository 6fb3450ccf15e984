//! Sending a chat request: body and headers, retries before the first token, and turning the
//! response into a stream of [`StreamEvent`]s or a [`ChatError`].

use std::time::Duration;

use super::sse::Framer;
use futures::{Stream, StreamExt};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::key::ApiKey;
use super::stream::{read_events, StreamEvent};
use super::ChatError;
use crate::config::OpenRouter;
use crate::data::Message;

/// What one turn asks for.
pub struct ChatRequest<'a> {
    pub cfg: &'a OpenRouter,
    pub model: &'a str,
    pub temperature: Option<f64>,
    pub messages: &'a [Message],
    pub session_id: &'a str,
    /// OpenRouter plugins (`web`, `file-parser`); none: no `plugins` field.
    pub plugins: &'a [serde_json::Value],
}

impl ChatRequest<'_> {
    /// The JSON body OpenRouter expects.
    pub fn body(&self) -> serde_json::Value {
        let messages = super::wire::messages(self.messages, self.model, self.cfg.cache);
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "stream": true,
            "session_id": self.session_id,
            "usage": {"include": true},
        });
        let obj = body.as_object_mut().expect("object");
        if let Some(t) = self.temperature {
            obj.insert("temperature".into(), json!(t));
        }
        if let Some(n) = self.cfg.max_tokens {
            obj.insert("max_tokens".into(), json!(n));
        }
        if !self.cfg.fallback_models.is_empty() {
            let mut models = vec![self.model.to_string()];
            models.extend(self.cfg.fallback_models.iter().cloned());
            obj.insert("models".into(), json!(models));
        }
        if let Some(p) = &self.cfg.provider {
            obj.insert("provider".into(), p.clone());
        }
        if let Some(r) = &self.cfg.reasoning {
            obj.insert("reasoning".into(), r.clone());
        }
        if !self.plugins.is_empty() {
            obj.insert("plugins".into(), json!(self.plugins));
        }
        body
    }
}

/// An HTTP client configured for OpenRouter (one per backend, connections reused).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    stall: Duration,
}

/// The events of one answer, in order; ends after `Done` or an error.
pub type EventStream =
    std::pin::Pin<Box<dyn Stream<Item = Result<Vec<StreamEvent>, ChatError>> + Send>>;

impl Client {
    /// Builds the client; `stall_timeout_ms` bounds the wait for each read of the body.
    pub fn new(cfg: &OpenRouter) -> anyhow::Result<Client> {
        let stall = Duration::from_millis(cfg.stall_timeout_ms.max(100));
        let http = reqwest::Client::builder()
            .user_agent(concat!("zen-portal/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_millis(cfg.connect_timeout_ms.max(100)))
            .read_timeout(stall)
            .tcp_nodelay(true)
            .build()?;
        Ok(Client { http, stall })
    }

    /// Sends the request, retrying (429, 408, 5xx, connection errors) with backoff while no token
    /// has arrived, and returns the answer's event stream. Cancelling gives up at once.
    /// `on_retry` hears of each retry before its wait.
    pub async fn open(
        &self,
        req: &ChatRequest<'_>,
        key: &ApiKey,
        cancel: &CancellationToken,
        on_retry: &mut (dyn FnMut(super::retry::Retry) + Send),
    ) -> Result<EventStream, ChatError> {
        let mut attempt = 0;
        // Capped again here: whatever the settings say, one submit sends a bounded number.
        let max_retries = req.cfg.max_retries.min(crate::config::MAX_RETRIES);
        loop {
            let err = match self.open_once(req, key).await {
                Ok(stream) => return Ok(stream),
                Err(e) => e.redacted(Some(key.secret())),
            };
            if !err.retryable() || attempt >= max_retries {
                return Err(err);
            }
            let wait = super::retry::delay(&err, attempt, req.cfg.retry_base_ms);
            tracing::info!(
                "request failed ({}); retry {} in {wait:?}",
                err.kind(),
                attempt + 1
            );
            attempt += 1;
            on_retry(super::retry::Retry {
                attempt,
                max: max_retries,
                delay: wait,
            });
            tokio::select! {
                _ = cancel.cancelled() => return Err(err),
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn open_once(
        &self,
        req: &ChatRequest<'_>,
        key: &ApiKey,
    ) -> Result<EventStream, ChatError> {
        let url = format!(
            "{}/chat/completions",
            req.cfg.base_url.trim_end_matches('/')
        );
        let response = self
            .http
            .post(&url)
            .header(reqwest::header::AUTHORIZATION, key.bearer())
            .header(reqwest::header::ACCEPT, "text/event-stream")
            // A compressed stream arrives in bursts; ask for none (a gzip one is still decoded).
            .header(reqwest::header::ACCEPT_ENCODING, "identity")
            .header("HTTP-Referer", &req.cfg.app_url)
            .header("X-Title", &req.cfg.app_title)
            .header("X-OpenRouter-Title", &req.cfg.app_title)
            .json(&req.body())
            .send()
            .await
            .map_err(|e| ChatError::Connect {
                url: url.clone(),
                reason: reason_of(&e),
            })?;
        let status = response.status().as_u16();
        if status != 200 {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let message = match self.error_body(response).await {
                Some(text) => super::error::body_message(&text),
                None => String::new(),
            };
            return Err(ChatError::Http {
                status,
                message,
                retry_after,
                model: req.model.to_string(),
            });
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        if !content_type.starts_with("text/event-stream") {
            // A 200 can still carry OpenRouter's JSON error body: show its message.
            let body = self.error_body(response).await;
            if let Some((code, message)) = body.and_then(|text| super::error::body_error(&text)) {
                return Err(ChatError::Http {
                    status: code.unwrap_or(status),
                    message,
                    retry_after: None,
                    model: req.model.to_string(),
                });
            }
            let shown = if content_type.is_empty() {
                "no content type".into()
            } else {
                content_type
            };
            return Err(ChatError::NotEventStream {
                url,
                content_type: shown,
            });
        }
        let stall_secs = self.stall.as_secs().max(1);
        // One item per network read: all the events it completed (then the error, if one was bad).
        let mut framer = Framer::default();
        let key = key.clone();
        let events = response.bytes_stream().flat_map(move |read| {
            let items = match read {
                Ok(bytes) => {
                    let (events, error) = read_events(&mut framer, &bytes);
                    let mut items = vec![Ok(events)];
                    items.extend(error.map(|e| Err(e.redacted(Some(key.secret())))));
                    items
                }
                Err(e) if e.is_timeout() => vec![Err(ChatError::Stalled { secs: stall_secs })],
                Err(e) => vec![Err(ChatError::Read {
                    reason: reason_of(&e),
                })],
            };
            futures::stream::iter(items)
        });
        Ok(Box::pin(events))
    }
}

impl Client {
    /// The start (64 KB at most) of an error answer's body, within the stall time; `None` if
    /// nothing could be read. A hostile server may send an endless body.
    async fn error_body(&self, mut response: reqwest::Response) -> Option<String> {
        const LIMIT: usize = 64 * 1024;
        let mut body = Vec::new();
        let read = async {
            while let Ok(Some(chunk)) = response.chunk().await {
                body.extend_from_slice(&chunk);
                if body.len() >= LIMIT {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(self.stall, read).await;
        (!body.is_empty()).then(|| String::from_utf8_lossy(&body).into_owned())
    }

    /// `GET {url}` (catalogue, key info): the body, or a short reason it could not be had (the
    /// key and any `Bearer` token taken out).
    pub async fn get(
        &self,
        url: &str,
        key: Option<&ApiKey>,
        timeout: Duration,
    ) -> Result<String, GetError> {
        let mut request = self.http.get(url).timeout(timeout);
        if let Some(key) = key {
            request = request.header(reqwest::header::AUTHORIZATION, key.bearer());
        }
        let redact = |text: String| super::redact::server_text(&text, key.map(ApiKey::secret));
        let network = |e: reqwest::Error| GetError::Network(redact(reason_of(&e)));
        let response = request.send().await.map_err(network)?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(network)?;
        if status != 200 {
            let message = super::error::body_message(&body);
            let text = redact(format!("HTTP {status}: {message}"));
            return Err(GetError::Status { status, text });
        }
        Ok(body)
    }
}

/// Why a `GET` failed; the text is made safe to show (key and `Bearer` tokens out, one line).
#[derive(Debug, thiserror::Error)]
pub enum GetError {
    /// No answer, or no whole body: the innermost cause.
    #[error("{0}")]
    Network(String),
    /// The server answered another status than 200: `HTTP 401: <its message>`.
    #[error("{text}")]
    Status { status: u16, text: String },
}

/// The innermost cause of a reqwest error: "connection refused" reads better than the chain.
fn reason_of(err: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = err;
    while let Some(next) = source.source() {
        source = next;
    }
    let text = source.to_string();
    if err.is_timeout() {
        return format!("timed out: {text}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Role;

    #[test]
    fn body_has_model_messages_stream_and_fallbacks() {
        let cfg = OpenRouter {
            fallback_models: vec!["openai/gpt-4o".into()],
            reasoning: Some(json!({"effort": "high"})),
            ..OpenRouter::default()
        };
        let msgs = vec![Message::new(Role::User, "hi".into())];
        let req = ChatRequest {
            cfg: &cfg,
            model: "a/b",
            temperature: Some(0.2),
            messages: &msgs,
            session_id: "s1",
            plugins: &[],
        };
        let body = req.body();
        assert_eq!(body["model"], "a/b");
        assert_eq!(body["stream"], true);
        assert_eq!(
            body["messages"][0],
            json!({"role": "user", "content": "hi"})
        );
        assert_eq!(body["models"], json!(["a/b", "openai/gpt-4o"]));
        assert_eq!(body["temperature"], 0.2);
        assert_eq!(body["reasoning"]["effort"], "high");
        assert_eq!(body["session_id"], "s1");
    }
}
