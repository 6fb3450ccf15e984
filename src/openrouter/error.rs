//! Every way a chat request can fail, each with one line for the user: what happened, what to do.
//! No message ever includes the API key or request headers: server text is redacted
//! ([`ChatError::redacted`]) before an error leaves the client.

use thiserror::Error;

/// A failed (or cut short) chat request.
#[derive(Debug, Error)]
pub enum ChatError {
    #[error("zen: no API key: ${env} is not set. Export it before starting Neovim, or set openrouter.api_key_cmd.")]
    MissingKey { env: String },
    #[error(
        "zen: openrouter.api_key_cmd ({program}) failed: {reason}. Run it in a shell to see why."
    )]
    KeyCommand { program: String, reason: String },
    #[error(
        "zen: cannot connect to {url} ({reason}). Check your network and openrouter.base_url."
    )]
    Connect { url: String, reason: String },
    #[error("{}", http_message(*.status, .message, *.retry_after, .model))]
    Http {
        status: u16,
        message: String,
        retry_after: Option<u64>,
        model: String,
    },
    #[error("zen: {url} answered {content_type}, not an event stream. Check openrouter.base_url.")]
    NotEventStream { url: String, content_type: String },
    #[error("zen: the provider failed mid-answer ({code}: {message}). The partial answer is kept: ask to continue, or delete it and submit to retry.")]
    MidStream { code: String, message: String },
    #[error("zen: the server sent a malformed stream event ({detail}). The partial answer is kept: ask to continue, or delete it and submit to retry.")]
    Malformed { detail: String },
    #[error("zen: the stream ended before the answer was complete (no [DONE]). The partial answer is kept: ask to continue, or delete it and submit to retry.")]
    Truncated,
    #[error("zen: no data from the server for {secs} s; gave up. The partial answer is kept: ask to continue, or delete it and submit to retry.")]
    Stalled { secs: u64 },
    #[error("zen: reading the answer failed ({reason}). The partial answer is kept: ask to continue, or delete it and submit to retry.")]
    Read { reason: String },
}

/// The longest `Retry-After` waited out before retrying; a longer one is reported instead.
pub const MAX_RETRY_AFTER_S: u64 = 10;

impl ChatError {
    /// Whether a request that failed this way (before any token) may be sent again.
    pub fn retryable(&self) -> bool {
        match self {
            ChatError::Connect { .. } => true,
            ChatError::Http {
                status,
                retry_after,
                ..
            } => {
                matches!(status, 408 | 429 | 500 | 502 | 503 | 504 | 529)
                    && retry_after.is_none_or(|s| s <= MAX_RETRY_AFTER_S)
            }
            _ => false,
        }
    }

    /// The same error with the API key and any `Bearer` token taken out of every text in it, and
    /// that text made one line of at most 300 characters (it may come from a hostile server).
    pub fn redacted(self, key: Option<&str>) -> ChatError {
        let r = |s: String| super::redact::server_text(&s, key);
        match self {
            ChatError::KeyCommand { program, reason } => ChatError::KeyCommand {
                program,
                reason: r(reason),
            },
            ChatError::Connect { url, reason } => ChatError::Connect {
                url,
                reason: r(reason),
            },
            ChatError::Http {
                status,
                message,
                retry_after,
                model,
            } => ChatError::Http {
                status,
                message: r(message),
                retry_after,
                model,
            },
            ChatError::NotEventStream { url, content_type } => ChatError::NotEventStream {
                url,
                content_type: r(content_type),
            },
            ChatError::MidStream { code, message } => ChatError::MidStream {
                code: r(code),
                message: r(message),
            },
            ChatError::Malformed { detail } => ChatError::Malformed { detail: r(detail) },
            ChatError::Read { reason } => ChatError::Read { reason: r(reason) },
            other => other,
        }
    }

    /// Short form for events and history: `http 429`, `stalled`, ...
    pub fn kind(&self) -> String {
        match self {
            ChatError::MissingKey { .. } => "missing key".into(),
            ChatError::KeyCommand { .. } => "key command".into(),
            ChatError::Connect { .. } => "connect".into(),
            ChatError::Http { status, .. } => format!("http {status}"),
            ChatError::NotEventStream { .. } => "not an event stream".into(),
            ChatError::MidStream { .. } => "provider error".into(),
            ChatError::Malformed { .. } => "malformed".into(),
            ChatError::Truncated => "truncated".into(),
            ChatError::Stalled { .. } => "stalled".into(),
            ChatError::Read { .. } => "read".into(),
        }
    }
}

fn http_message(status: u16, message: &str, retry_after: Option<u64>, model: &str) -> String {
    let detail = if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    };
    match status {
        400 => format!("zen: OpenRouter rejected the request (400{detail}). Check the model's parameters (temperature, reasoning, max_tokens)."),
        401 => format!("zen: OpenRouter rejected the API key (401{detail}). Check the key in $OPENROUTER_API_KEY or openrouter.api_key_cmd."),
        402 => format!("zen: the OpenRouter account is out of credits (402{detail}). Add credits, or pick a free model with :ZenModel."),
        403 => format!("zen: the prompt was refused by moderation (403{detail}). Rephrase it or pick another model."),
        404 => format!("zen: model '{model}' is not available (404{detail}). Pick another with :ZenModel."),
        408 => format!("zen: OpenRouter timed out waiting for the model (408{detail}). Submit again."),
        413 => format!("zen: the request is too large for OpenRouter (413{detail}). Remove attachments (@file, images) or trim earlier turns, then submit again."),
        429 => {
            let wait = retry_after.map(|s| format!(" Retry after {s} s.")).unwrap_or_default();
            let free = if model.ends_with(":free") {
                " Free models allow 20 requests a minute and 50 (or 1000 with credits) a day."
            } else {
                ""
            };
            format!("zen: rate limited by OpenRouter for '{model}' (429{detail}).{wait}{free} Wait, or pick another model with :ZenModel.")
        }
        500..=599 => format!("zen: OpenRouter or the provider failed ({status}{detail}). Submit again, or pick another model with :ZenModel."),
        _ => format!("zen: OpenRouter answered HTTP {status}{detail}. Submit again; if it persists, check openrouter.base_url and https://status.openrouter.ai."),
    }
}

/// The code (when it is an HTTP status) and message of an OpenRouter error body
/// `{"error": {"code", "message"}}`; `None` when the body is not one.
pub fn body_error(body: &str) -> Option<(Option<u16>, String)> {
    #[derive(serde::Deserialize)]
    struct Body {
        error: Inner,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        #[serde(default)]
        code: serde_json::Value,
        #[serde(default)]
        message: String,
    }
    let b = serde_json::from_str::<Body>(body).ok()?;
    let code = b
        .error
        .code
        .as_u64()
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (400..600).contains(c));
    Some((code, b.error.message))
}

/// The message of an OpenRouter error body `{"error": {"code", "message"}}`, or a short
/// excerpt of whatever else came back (an HTML error page, say).
pub fn body_message(body: &str) -> String {
    if let Some((_, message)) = body_error(body) {
        return message;
    }
    let text: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.starts_with('<') {
        return "the body was an HTML page, not JSON".into();
    }
    text.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_model_429_says_why() {
        let e = ChatError::Http {
            status: 429,
            message: "Rate limit exceeded".into(),
            retry_after: Some(30),
            model: "meta-llama/llama-3.3-70b-instruct:free".into(),
        };
        let text = e.to_string();
        assert!(text.contains("Retry after 30 s"), "{text}");
        assert!(text.contains("Free models"), "{text}");
        assert!(
            !e.retryable(),
            "a long Retry-After is reported, not waited out"
        );
    }

    #[test]
    fn http_413_and_unmapped_codes_give_advice() {
        let e = |status| ChatError::Http {
            status,
            message: "x".into(),
            retry_after: None,
            model: "a/b".into(),
        };
        let text = e(413).to_string();
        assert!(
            text.contains("too large") && text.contains("Remove attachments"),
            "{text}"
        );
        let text = e(418).to_string();
        assert!(text.contains("HTTP 418: x. Submit again"), "{text}");
    }

    #[test]
    fn a_long_retry_after_is_never_waited_out() {
        let e = |status, retry_after| ChatError::Http {
            status,
            message: String::new(),
            retry_after,
            model: "a/b".into(),
        };
        assert!(e(503, Some(MAX_RETRY_AFTER_S)).retryable());
        assert!(!e(503, Some(3600)).retryable());
        assert!(e(429, None).retryable());
    }

    #[test]
    fn errors_are_redacted() {
        let e = ChatError::Http {
            status: 401,
            message: "Invalid header Authorization: Bearer sk-live-123456789".into(),
            retry_after: None,
            model: "a/b".into(),
        }
        .redacted(Some("sk-live-123456789"));
        assert!(!e.to_string().contains("sk-live"), "{e}");
        let e = ChatError::MidStream {
            code: "400".into(),
            message: "echo sk-live-123456789".into(),
        }
        .redacted(Some("sk-live-123456789"));
        assert!(e.to_string().contains("echo [redacted]"), "{e}");
    }

    #[test]
    fn error_body_message_is_extracted() {
        let body = r#"{"error":{"code":401,"message":"No auth credentials found"}}"#;
        assert_eq!(body_message(body), "No auth credentials found");
        assert_eq!(
            body_message("<html><body>Bad gateway</body></html>"),
            "the body was an HTML page, not JSON"
        );
    }
}
