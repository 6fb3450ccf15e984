//! `:ZenNew claude via=openrouter`: Claude Code on the OpenRouter key. OpenRouter speaks the
//! Anthropic Messages API under its `/api` root; claude finds it through `ANTHROPIC_BASE_URL`,
//! sends `ANTHROPIC_AUTH_TOKEN` as `Authorization: Bearer`, and `ANTHROPIC_API_KEY` must be empty
//! (else it would be preferred). The key reaches only the agent's process (`handoff.rs`).

use super::{handoff, Kind};
use crate::app::{Error, Result, Shared};

/// The one `via` there is.
pub const OPENROUTER: &str = "openrouter";

/// Checks a `via=` argument: only `openrouter`, only for claude.
pub fn check(kind: Kind, via: Option<&str>) -> Result<Option<String>> {
    match via {
        None | Some("") => Ok(None),
        Some(OPENROUTER) if kind == Kind::Claude => Ok(Some(OPENROUTER.into())),
        Some(OPENROUTER) => Err(Error::refused(format!(
            "via=openrouter runs claude only, not {}. Use :ZenNew claude via=openrouter.",
            kind.name()
        ))),
        Some(other) => Err(Error::refused(format!(
            "via={other} is not known. Use via=openrouter (claude only)."
        ))),
    }
}

/// The Anthropic-style root of an OpenRouter endpoint: `https://openrouter.ai/api/v1` →
/// `https://openrouter.ai/api` (claude adds `/v1/messages` itself).
pub fn anthropic_root(base_url: &str) -> String {
    let url = base_url.trim_end_matches('/');
    url.strip_suffix("/v1").unwrap_or(url).to_string()
}

/// The OpenRouter key (read now, or kept in memory since its first use).
pub async fn key(app: &Shared) -> Result<crate::openrouter::key::ApiKey> {
    let ready = app.ready()?;
    app.api_key(&ready.config.openrouter)
        .await
        .map_err(|e| Error::refused(e.to_string()))
}

/// Wraps `argv` so it runs with the OpenRouter key in its environment (see `handoff.rs`);
/// `via = None` leaves it as it is.
pub async fn wrap(app: &Shared, via: Option<&str>, argv: Vec<String>) -> Result<Vec<String>> {
    if via != Some(OPENROUTER) {
        return Ok(argv);
    }
    let ready = app.ready()?;
    let key = key(app).await?;
    let root = anthropic_root(&ready.config.openrouter.base_url);
    let vars = [
        ("ANTHROPIC_BASE_URL", root.as_str()),
        ("ANTHROPIC_AUTH_TOKEN", key.secret()),
        ("ANTHROPIC_API_KEY", ""),
    ];
    let run_dir = ready.config.state_dir.join("run");
    handoff::prepare(&run_dir, &vars, &argv)
        .await
        .map_err(|e| Error::refused(format!("handing the key to claude failed: {e}.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anthropic_root_is_the_api_root_of_the_endpoint() {
        assert_eq!(
            anthropic_root("https://openrouter.ai/api/v1"),
            "https://openrouter.ai/api"
        );
        assert_eq!(
            anthropic_root("https://openrouter.ai/api/v1/"),
            "https://openrouter.ai/api"
        );
        assert_eq!(
            anthropic_root("http://127.0.0.1:9/api"),
            "http://127.0.0.1:9/api"
        );
    }

    #[test]
    fn via_is_openrouter_for_claude_only() {
        assert_eq!(
            check(Kind::Claude, Some("openrouter")).unwrap().as_deref(),
            Some("openrouter")
        );
        assert!(check(Kind::Codex, Some("openrouter")).is_err());
        assert!(check(Kind::Claude, Some("anthropic")).is_err());
        assert_eq!(check(Kind::Gemini, None).unwrap(), None);
    }
}
