//! The API key: from an environment variable, or from a command the user names (run on first use,
//! not at startup). The key lives only in memory, wrapped so it cannot be printed by accident.

use std::time::Duration;

use super::ChatError;
use crate::config::OpenRouter;

/// An API key. `Debug` does not show it.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// The `Authorization` header value.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }

    /// The key's value, to take it out of server text ([`super::redact`]).
    pub(crate) fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Where the key comes from, as `:checkhealth` shows it (never the value).
pub fn source(cfg: &OpenRouter) -> String {
    match &cfg.api_key_cmd {
        Some(cmd) if !cmd.is_empty() => format!("command `{}`", cmd[0]),
        _ => format!("${}", cfg.api_key_env),
    }
}

/// Reads the key. The command, if any, runs with a 10 s limit; its output is never logged.
pub async fn resolve(cfg: &OpenRouter) -> Result<ApiKey, ChatError> {
    if let Some(cmd) = cfg.api_key_cmd.as_ref().filter(|c| !c.is_empty()) {
        return run_key_command(cmd).await;
    }
    match std::env::var(&cfg.api_key_env) {
        Ok(key) if !key.trim().is_empty() => Ok(ApiKey(key.trim().to_string())),
        _ => Err(ChatError::MissingKey {
            env: cfg.api_key_env.clone(),
        }),
    }
}

async fn run_key_command(cmd: &[String]) -> Result<ApiKey, ChatError> {
    let program = cmd[0].clone();
    let fail = |reason: String| ChatError::KeyCommand {
        program: program.clone(),
        reason,
    };
    let output = tokio::process::Command::new(&cmd[0])
        .args(&cmd[1..])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(Duration::from_secs(10), output).await {
        Err(_) => return Err(fail("it ran for more than 10 s".into())),
        Ok(Err(e)) => return Err(fail(e.to_string())),
        Ok(Ok(o)) => o,
    };
    if !output.status.success() {
        return Err(fail(format!("it exited with {}", output.status)));
    }
    let key = String::from_utf8_lossy(&output.stdout);
    let key = key.lines().next().unwrap_or("").trim();
    if key.is_empty() {
        return Err(fail("it printed nothing".into()));
    }
    Ok(ApiKey(key.to_string()))
}
