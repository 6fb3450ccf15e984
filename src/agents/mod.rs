//! Terminal agents: Claude Code, Codex, Gemini CLI and a shell, run beside chats. This file builds
//! their command lines (argv lists, never a shell string) for a new session and for reviving one
//! with the CLI's own resume; `tmux.rs` runs them on a private tmux socket; `worktree.rs` gives
//! a session its own git worktree.
//!
//! Flags followed (as documented by each CLI): claude `--session-id <uuid>`, `--resume <uuid>`,
//! `--model`; codex `[prompt]`, `resume --last`, `--model`; gemini `-i <prompt>` (interactive;
//! `-p` would be one-shot), `--resume latest`, `--model`. Permission-skipping flags are never added.

pub mod tmux;
pub mod worktree;

use serde::Deserialize;
use serde_json::Value as Json;

/// The agent kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Claude,
    Codex,
    Gemini,
    Shell,
}

impl Kind {
    /// Parses `claude`, `codex`, `gemini` or `shell`.
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "claude" => Some(Kind::Claude),
            "codex" => Some(Kind::Codex),
            "gemini" => Some(Kind::Gemini),
            "shell" => Some(Kind::Shell),
            _ => None,
        }
    }

    /// The kind's name, as in `:ZenNew {kind}` and `agents.{kind}`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Claude => "claude",
            Kind::Codex => "codex",
            Kind::Gemini => "gemini",
            Kind::Shell => "shell",
        }
    }
}

/// `agents.<kind>` settings.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AgentSettings {
    /// The program and fixed arguments (default: the kind's name; for shell, 'shell').
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    /// Press Enter after pasting a `:ZenSend` (default true).
    #[serde(default)]
    pub send_enter: Option<bool>,
}

/// Reads `agents.<kind>` from the settings.
pub fn settings(agents: &Json, kind: Kind) -> AgentSettings {
    agents
        .get(kind.name())
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// The base command of a kind: the setting, else the kind's own name (a shell: `$SHELL`, `sh`).
pub fn base_cmd(kind: Kind, settings: &AgentSettings) -> Vec<String> {
    match settings.cmd.as_ref().filter(|c| !c.is_empty()) {
        Some(cmd) => cmd.clone(),
        None if kind == Kind::Shell => vec![std::env::var("SHELL").unwrap_or_else(|_| "sh".into())],
        None => vec![kind.name().to_string()],
    }
}

/// Checks that the program exists; the message names it and the option that sets it.
pub fn check_binary(kind: Kind, cmd: &[String]) -> Result<(), String> {
    let program = &cmd[0];
    which::which(program).map(drop).map_err(|_| {
        format!(
            "zen: {program} not found (needed for {} sessions). Install it, or point agents.{}.cmd at it in setup().",
            kind.name(),
            kind.name()
        )
    })
}

/// The argv of a new session. `cli_session` is claude's `--session-id`.
pub fn start_argv(
    kind: Kind,
    cmd: &[String],
    model: Option<&str>,
    prompt: Option<&str>,
    cli_session: Option<&str>,
) -> Vec<String> {
    let mut argv = cmd.to_vec();
    if let (Kind::Claude, Some(id)) = (kind, cli_session) {
        argv.extend(["--session-id".into(), id.into()]);
    }
    if let (Some(m), false) = (model, kind == Kind::Shell) {
        argv.extend(["--model".into(), m.into()]);
    }
    match (kind, prompt) {
        (Kind::Shell, _) | (_, None) => {}
        (Kind::Gemini, Some(p)) => argv.extend(["-i".into(), p.into()]),
        (_, Some(p)) => argv.push(p.into()),
    }
    argv
}

/// The argv that revives an exited session with the CLI's own resume (a shell starts afresh).
pub fn resume_argv(
    kind: Kind,
    cmd: &[String],
    model: Option<&str>,
    cli_session: Option<&str>,
) -> Vec<String> {
    let mut argv = cmd.to_vec();
    match (kind, cli_session) {
        (Kind::Claude, Some(id)) => argv.extend(["--resume".into(), id.into()]),
        (Kind::Claude, None) => argv.push("--continue".into()),
        (Kind::Codex, _) => argv.extend(["resume".into(), "--last".into()]),
        (Kind::Gemini, _) => argv.extend(["--resume".into(), "latest".into()]),
        (Kind::Shell, _) => return argv,
    }
    if let Some(m) = model {
        argv.extend(["--model".into(), m.into()]);
    }
    argv
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(k: Kind) -> Vec<String> {
        vec![k.name().to_string()]
    }

    #[test]
    fn new_session_command_lines() {
        let c = start_argv(
            Kind::Claude,
            &cmd(Kind::Claude),
            Some("opus"),
            Some("hi there"),
            Some("u-1"),
        );
        assert_eq!(
            c,
            [
                "claude",
                "--session-id",
                "u-1",
                "--model",
                "opus",
                "hi there"
            ]
        );
        let g = start_argv(Kind::Gemini, &cmd(Kind::Gemini), None, Some("hi"), None);
        assert_eq!(g, ["gemini", "-i", "hi"]);
        let x = start_argv(Kind::Codex, &cmd(Kind::Codex), None, Some("fix it"), None);
        assert_eq!(x, ["codex", "fix it"]);
        let s = start_argv(
            Kind::Shell,
            &["bash".into()],
            Some("ignored"),
            Some("ignored"),
            None,
        );
        assert_eq!(s, ["bash"]);
    }

    #[test]
    fn resume_command_lines() {
        assert_eq!(
            resume_argv(Kind::Claude, &cmd(Kind::Claude), None, Some("u-1")),
            ["claude", "--resume", "u-1"]
        );
        assert_eq!(
            resume_argv(Kind::Codex, &cmd(Kind::Codex), None, None),
            ["codex", "resume", "--last"]
        );
        assert_eq!(
            resume_argv(Kind::Gemini, &cmd(Kind::Gemini), None, None),
            ["gemini", "--resume", "latest"]
        );
        assert_eq!(
            resume_argv(Kind::Shell, &["zsh".into()], None, None),
            ["zsh"]
        );
    }

    #[test]
    fn no_permission_skipping_by_default() {
        let all = [Kind::Claude, Kind::Codex, Kind::Gemini]
            .map(|k| start_argv(k, &cmd(k), None, Some("p"), Some("u")).join(" "));
        for line in all {
            assert!(
                !line.contains("dangerously") && !line.contains("yolo") && !line.contains("bypass"),
                "{line}"
            );
        }
    }
}
