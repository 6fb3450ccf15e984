//! How long to wait before sending a failed request again. Every retry waits: a server that
//! fails at once (or says `Retry-After: 0`) must not turn one submit into a flood of requests.

use std::time::Duration;

use super::error::MAX_RETRY_AFTER_S;
use super::ChatError;

/// A retry about to be sent, told to the caller before its wait (the waiting line shows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// This retry's number, from 1.
    pub attempt: u32,
    /// How many retries one request may send.
    pub max: u32,
    /// The wait before it is sent.
    pub delay: Duration,
}

/// No retry is sent sooner than this after a failure, whatever the server or settings say.
pub const MIN_DELAY: Duration = Duration::from_millis(100);

/// The backoff doubles per attempt up to this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The wait before retry number `attempt + 1`: the server's `Retry-After` (up to
/// [`MAX_RETRY_AFTER_S`]), else `base_ms` doubled per attempt (up to [`MAX_BACKOFF`]); never less
/// than [`MIN_DELAY`].
pub fn delay(err: &ChatError, attempt: u32, base_ms: u64) -> Duration {
    let wait = match err {
        ChatError::Http {
            retry_after: Some(s),
            ..
        } => Duration::from_secs((*s).min(MAX_RETRY_AFTER_S)),
        _ => Duration::from_millis(base_ms.saturating_mul(1 << attempt.min(16))).min(MAX_BACKOFF),
    };
    wait.max(MIN_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(retry_after: Option<u64>) -> ChatError {
        ChatError::Http {
            status: 503,
            message: String::new(),
            retry_after,
            model: "a/b".into(),
        }
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        assert_eq!(delay(&http(None), 0, 1000), Duration::from_secs(1));
        assert_eq!(delay(&http(None), 2, 1000), Duration::from_secs(4));
        assert_eq!(delay(&http(None), 30, 10_000), MAX_BACKOFF);
        assert_eq!(delay(&http(None), 3, u64::MAX), MAX_BACKOFF);
    }

    #[test]
    fn every_retry_waits() {
        assert_eq!(delay(&http(None), 0, 0), MIN_DELAY);
        assert_eq!(delay(&http(Some(0)), 0, 1000), MIN_DELAY);
    }

    #[test]
    fn retry_after_is_honoured_up_to_its_cap() {
        assert_eq!(delay(&http(Some(3)), 0, 100), Duration::from_secs(3));
        assert_eq!(
            delay(&http(Some(3600)), 0, 100),
            Duration::from_secs(MAX_RETRY_AFTER_S)
        );
    }
}
