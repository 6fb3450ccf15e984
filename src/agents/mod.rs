//! Terminal agents: Claude Code, Codex, Gemini CLI and a shell, run beside chats. This file builds
//! their command lines (argv lists, never a shell string) for a new session and for reviving one
//! with the CLI's own resume; `tmux.rs` runs them on a private tmux socket; `worktree.rs` gives
//! a session its own git worktree; `codex.rs` learns the id of the conversation codex made.
//!
//! Flags followed (checked against claude-code 2.1.197, gemini-cli 0.61.0, codex 0.171.0):
//! claude `--session-id <uuid>`, `--resume <uuid>`, prompt after `--`; gemini `--session-id
//! <uuid>`, `--resume <uuid>`, `--prompt-interactive=<prompt>` (`-p` would be one-shot; the `=`
//! form keeps a prompt starting with `-` a value); codex `--no-daemon` (so the conversation's
//! files are held by the pane's own process, see `codex.rs`), prompt after `--`, `resume <id>`.
//! A prompt is always a prompt, never a flag. Resume never guesses (`--last`, `latest`,
//! `--continue` pick the newest conversation of the directory, maybe another agent's): without a
//! known id, the CLI's own picker opens. Permission-skipping flags are never added.

pub mod acp;
pub mod codex;
pub mod handoff;
pub mod ids;
pub mod sessions;
pub mod tmux;
pub mod via;
pub mod worktree;

/// The agent kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Claude,
    Codex,
    Gemini,
    Opencode,
    Shell,
}

impl Kind {
    /// Parses `claude`, `codex`, `gemini`, `opencode` or `shell`.
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "claude" => Some(Kind::Claude),
            "codex" => Some(Kind::Codex),
            "gemini" => Some(Kind::Gemini),
            "opencode" => Some(Kind::Opencode),
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
            Kind::Opencode => "opencode",
            Kind::Shell => "shell",
        }
    }

    /// The npm package that installs the kind's ACP adapter (named when it is missing).
    pub fn acp_package(self) -> Option<&'static str> {
        match self {
            Kind::Claude => Some("@zed-industries/claude-code-acp"),
            Kind::Codex => Some("@zed-industries/codex-acp"),
            Kind::Gemini => Some("@google/gemini-cli"),
            Kind::Opencode => Some("opencode-ai"),
            Kind::Shell => None,
        }
    }
}

pub use crate::config::AgentSettings;

/// Reads `agents.<kind>` from the settings.
pub fn settings(agents: &crate::config::Agents, kind: Kind) -> AgentSettings {
    match kind {
        Kind::Claude => agents.claude.clone(),
        Kind::Codex => agents.codex.clone(),
        Kind::Gemini => agents.gemini.clone(),
        Kind::Opencode => agents.opencode.clone(),
        Kind::Shell => agents.shell.clone(),
    }
}

/// The base command of a kind: the setting, else the kind's own name (a shell: `$SHELL`, `sh`).
pub fn base_cmd(kind: Kind, settings: &AgentSettings) -> Vec<String> {
    match settings.cmd.as_ref().filter(|c| !c.is_empty()) {
        Some(cmd) => cmd.clone(),
        None if kind == Kind::Shell => vec![std::env::var("SHELL").unwrap_or_else(|_| "sh".into())],
        None => vec![kind.name().to_string()],
    }
}

/// An agent's program is not installed: the message names it and the option that sets it.
#[derive(Debug, thiserror::Error)]
#[error("zen: {program} not found (needed for {kind} sessions). Install it, or point agents.{kind}.cmd at it in setup().")]
pub struct MissingProgram {
    program: String,
    kind: &'static str,
}

// The agents' errors become refusals here: app/ sits below agents/ and cannot name them.
impl From<MissingProgram> for crate::app::Error {
    fn from(e: MissingProgram) -> Self {
        crate::app::Error::refused(e.to_string())
    }
}

impl From<worktree::WorktreeError> for crate::app::Error {
    fn from(e: worktree::WorktreeError) -> Self {
        crate::app::Error::refused(e.to_string())
    }
}

/// Checks that the program exists.
pub fn check_binary(kind: Kind, cmd: &[String]) -> Result<(), MissingProgram> {
    let program = &cmd[0];
    which::which(program).map(drop).map_err(|_| MissingProgram {
        program: program.clone(),
        kind: kind.name(),
    })
}

/// The argv of a new session. `cli_session` is the id chosen for the CLI's conversation
/// (claude and gemini `--session-id`).
pub fn start_argv(
    kind: Kind,
    cmd: &[String],
    model: Option<&str>,
    prompt: Option<&str>,
    cli_session: Option<&str>,
) -> Vec<String> {
    let mut argv = cmd.to_vec();
    if kind == Kind::Shell {
        return argv;
    }
    if kind == Kind::Codex {
        argv.push("--no-daemon".into());
    }
    if let (Kind::Claude | Kind::Gemini, Some(id)) = (kind, cli_session) {
        argv.extend(["--session-id".into(), id.into()]);
    }
    if let Some(m) = model {
        argv.extend(["--model".into(), m.into()]);
    }
    match (kind, prompt) {
        (_, None) => {}
        // yargs would read `-i --yolo` as two flags; `=` keeps the value whole.
        (Kind::Gemini, Some(p)) => argv.push(format!("--prompt-interactive={p}")),
        (Kind::Opencode, Some(p)) => argv.push(format!("--prompt={p}")),
        (_, Some(p)) => argv.extend(["--".into(), p.into()]),
    }
    argv
}

/// The argv that revives an exited session with the CLI's own resume (a shell starts afresh).
/// Without a known conversation id: claude and codex open their picker; gemini starts afresh
/// (its `/resume` browses the saved conversations), since `--resume` alone means the newest.
pub fn resume_argv(
    kind: Kind,
    cmd: &[String],
    model: Option<&str>,
    cli_session: Option<&str>,
) -> Vec<String> {
    let mut argv = cmd.to_vec();
    let id = cli_session.map(String::from);
    match kind {
        Kind::Shell => return argv,
        Kind::Claude => argv.extend(["--resume".into()].into_iter().chain(id)),
        Kind::Codex => argv.extend(
            ["resume".into(), "--no-daemon".into()]
                .into_iter()
                .chain(id),
        ),
        Kind::Gemini => argv.extend(id.map(|id| ["--resume".into(), id]).into_iter().flatten()),
        // opencode's own picker lists its sessions (`/sessions`): start afresh.
        Kind::Opencode => {}
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
                "--",
                "hi there"
            ]
        );
        let g = start_argv(
            Kind::Gemini,
            &cmd(Kind::Gemini),
            None,
            Some("hi"),
            Some("u-2"),
        );
        assert_eq!(
            g,
            ["gemini", "--session-id", "u-2", "--prompt-interactive=hi"]
        );
        let x = start_argv(Kind::Codex, &cmd(Kind::Codex), None, Some("fix it"), None);
        assert_eq!(x, ["codex", "--no-daemon", "--", "fix it"]);
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
    fn a_prompt_that_looks_like_a_flag_stays_a_prompt() {
        let p = "--dangerously-skip-permissions";
        let c = start_argv(Kind::Claude, &cmd(Kind::Claude), None, Some(p), Some("u"));
        assert_eq!(c[c.len() - 2..], ["--", p]);
        let g = start_argv(
            Kind::Gemini,
            &cmd(Kind::Gemini),
            None,
            Some("-y"),
            Some("u"),
        );
        assert_eq!(g.last().unwrap(), "--prompt-interactive=-y");
        let x = start_argv(Kind::Codex, &cmd(Kind::Codex), None, Some(p), None);
        assert_eq!(x[x.len() - 2..], ["--", p]);
    }

    #[test]
    fn resume_command_lines_never_guess() {
        assert_eq!(
            resume_argv(Kind::Claude, &cmd(Kind::Claude), Some("opus"), Some("u-1")),
            ["claude", "--resume", "u-1", "--model", "opus"]
        );
        assert_eq!(
            resume_argv(Kind::Gemini, &cmd(Kind::Gemini), None, Some("u-2")),
            ["gemini", "--resume", "u-2"]
        );
        assert_eq!(
            resume_argv(Kind::Codex, &cmd(Kind::Codex), None, Some("u-3")),
            ["codex", "resume", "--no-daemon", "u-3"]
        );
        // No id known (sessions saved before ids were kept): the CLI's picker, or afresh.
        assert_eq!(
            resume_argv(Kind::Claude, &cmd(Kind::Claude), None, None),
            ["claude", "--resume"]
        );
        assert_eq!(
            resume_argv(Kind::Codex, &cmd(Kind::Codex), None, None),
            ["codex", "resume", "--no-daemon"]
        );
        assert_eq!(
            resume_argv(Kind::Gemini, &cmd(Kind::Gemini), None, None),
            ["gemini"]
        );
        assert_eq!(
            resume_argv(Kind::Shell, &["zsh".into()], None, None),
            ["zsh"]
        );
        for k in [Kind::Claude, Kind::Codex, Kind::Gemini] {
            for id in [None, Some("u")] {
                let line = resume_argv(k, &cmd(k), None, id).join(" ");
                assert!(
                    !line.contains("--last")
                        && !line.contains("latest")
                        && !line.contains("--continue"),
                    "{line}"
                );
            }
        }
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
