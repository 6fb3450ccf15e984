//! tmux on a private socket (`tmux -L <socket>`, default `zen-portal`) so the user's own tmux is
//! untouched. Sessions are addressed exactly (`=name`), keep their pane when the program exits
//! (`remain-on-exit`, so we can tell exited from failed), and outlive the editor. The server
//! ends with the last session (`kill`), so nothing stays running once every agent is gone.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// How often, how long and how steadily `paste` watches the pane before pressing Enter.
const SETTLE_POLL: Duration = Duration::from_millis(50);
const SETTLE_MAX: Duration = Duration::from_secs(3);
const SETTLE_STABLE_POLLS: u32 = 3;

/// Why a tmux command failed.
#[derive(Debug, thiserror::Error)]
pub enum TmuxError {
    /// tmux could not be run (or written to): what we were doing, and why.
    #[error("{doing}: {source}")]
    Run {
        doing: &'static str,
        source: std::io::Error,
    },
    /// tmux ran and refused: what it said.
    #[error("{0}")]
    Refused(String),
}

/// The state of one tmux session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneState {
    Running,
    /// The program exited, with this status when tmux knows it (0: exited, else failed).
    Dead(Option<i32>),
}

/// A handle on our tmux server.
#[derive(Debug, Clone)]
pub struct Tmux {
    pub socket: String,
}

impl Tmux {
    /// Whether tmux is installed.
    pub fn installed() -> bool {
        which::which("tmux").is_ok()
    }

    async fn run(&self, args: &[&str], input: Option<&[u8]>) -> Result<String, TmuxError> {
        let failed = |doing| move |source| TmuxError::Run { doing, source };
        let mut cmd = Command::new("tmux");
        cmd.arg("-L").arg(&self.socket).args(args);
        cmd.stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(failed("running tmux"))?;
        if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
            stdin
                .write_all(bytes)
                .await
                .map_err(failed("writing to tmux"))?;
        }
        let out = child
            .wait_with_output()
            .await
            .map_err(failed("running tmux"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
            Err(TmuxError::Refused(said))
        }
    }

    /// Starts `argv` (run directly, no shell) detached in a new session `name`, in `dir`.
    pub async fn new_session(
        &self,
        name: &str,
        dir: &str,
        argv: &[String],
    ) -> Result<(), TmuxError> {
        // exit-empty off: killing the last session must not stop the server just as the next
        // command connects to it.
        let mut args: Vec<&str> = vec!["set-option", "-g", "remain-on-exit", "on", ";"];
        args.extend(["set-option", "-s", "exit-empty", "off", ";"]);
        args.extend([
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "200",
            "-y",
            "50",
            "-c",
            dir,
        ]);
        args.extend(argv.iter().map(String::as_str));
        if self.run(&args, None).await.is_ok() {
            return Ok(());
        }
        // The server may have been exiting (the last session just ended): once more, on a new one.
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.run(&args, None).await.map(drop)
    }

    /// Runs `argv` again in the (dead) pane of session `name`.
    pub async fn respawn(&self, name: &str, dir: &str, argv: &[String]) -> Result<(), TmuxError> {
        let target = format!("={name}:");
        let mut args: Vec<&str> = vec!["respawn-pane", "-k", "-t", &target, "-c", dir];
        args.extend(argv.iter().map(String::as_str));
        self.run(&args, None).await.map(drop)
    }

    /// Every session's state, by name.
    pub async fn states(&self) -> HashMap<String, PaneState> {
        let format = "#{session_name}\t#{pane_dead}\t#{pane_dead_status}";
        let Ok(out) = self.run(&["list-panes", "-a", "-F", format], None).await else {
            return HashMap::new(); // no server: nothing runs
        };
        out.lines()
            .filter_map(|l| {
                let mut f = l.split('\t');
                let (name, dead, status) = (f.next()?, f.next()?, f.next().unwrap_or(""));
                let state = if dead == "1" {
                    PaneState::Dead(status.parse().ok())
                } else {
                    PaneState::Running
                };
                Some((name.to_string(), state))
            })
            .collect()
    }

    /// Pastes `text` into the session whole (bracketed paste when the program asked for it,
    /// newlines kept), then presses Enter if asked, once the program has taken the paste: an
    /// Enter that arrives while it is still reading the paste is lost (claude leaves the text
    /// in its input box, unsent).
    pub async fn paste(&self, name: &str, text: &str, enter: bool) -> Result<(), TmuxError> {
        let buffer = format!("zen-send-{name}");
        let target = format!("={name}:");
        self.run(&["load-buffer", "-b", &buffer, "-"], Some(text.as_bytes()))
            .await?;
        let before = self.capture(&target).await;
        self.run(
            &[
                "paste-buffer",
                "-p",
                "-r",
                "-d",
                "-b",
                &buffer,
                "-t",
                &target,
            ],
            None,
        )
        .await?;
        if enter {
            self.settle(&target, before).await;
            self.run(&["send-keys", "-t", &target, "Enter"], None)
                .await?;
        }
        Ok(())
    }

    /// The visible text of a pane ("" if tmux cannot tell).
    async fn capture(&self, target: &str) -> String {
        self.run(&["capture-pane", "-p", "-t", target], None)
            .await
            .unwrap_or_default()
    }

    /// Waits until the pane has changed from `before` and then stayed the same for a moment
    /// (the program has shown the paste), at most `SETTLE_MAX`.
    async fn settle(&self, target: &str, before: String) {
        let deadline = Instant::now() + SETTLE_MAX;
        let (mut last, mut same) = (before.clone(), 0);
        while Instant::now() < deadline {
            tokio::time::sleep(SETTLE_POLL).await;
            let now = self.capture(target).await;
            same = if now == last { same + 1 } else { 0 };
            if now != before && same >= SETTLE_STABLE_POLLS {
                return;
            }
            last = now;
        }
    }

    /// The pid of the program in session `name`'s pane, while it runs.
    pub async fn pane_pid(&self, name: &str) -> Option<u32> {
        let target = format!("={name}:");
        let out = self
            .run(
                &[
                    "display-message",
                    "-p",
                    "-t",
                    &target,
                    "#{pane_dead} #{pane_pid}",
                ],
                None,
            )
            .await
            .ok()?;
        out.trim().strip_prefix("0 ")?.parse().ok()
    }

    /// Ends a session (no error if it is already gone), and the server with the last one.
    pub async fn kill(&self, name: &str) {
        let _ = self
            .run(&["kill-session", "-t", &format!("={name}")], None)
            .await;
        let sessions = self.run(&["list-sessions", "-F", "x"], None).await;
        if sessions.is_ok_and(|s| s.trim().is_empty()) {
            let _ = self.run(&["kill-server"], None).await;
            // Wait until it is gone, so the next command starts a new one instead of reaching
            // one that is exiting.
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline && self.run(&["list-sessions"], None).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    /// Renames a session.
    pub async fn rename(&self, old: &str, new: &str) -> Result<(), TmuxError> {
        self.run(&["rename-session", "-t", &format!("={old}"), new], None)
            .await
            .map(drop)
    }

    /// The argv of a client attached to the session (run in a Neovim terminal).
    pub fn attach_argv(&self, name: &str) -> Vec<String> {
        [
            "tmux",
            "-L",
            &self.socket,
            "attach-session",
            "-t",
            &format!("={name}"),
        ]
        .map(String::from)
        .to_vec()
    }
}
