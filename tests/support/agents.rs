//! Fake `claude`, `codex` and `gemini` executables (put first on PATH) that record their argv and,
//! byte for byte, everything they read; and a private tmux socket per test, killed at the end.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const FAKE_CLI: &str = r#"#!/usr/bin/env python3
import json, os, sys, termios, time, tty, uuid
name = os.path.basename(sys.argv[0])
log = os.environ["ZEN_FAKE_LOG"]
n = len([f for f in os.listdir(log) if f.startswith(name + "-argv-")])
with open(os.path.join(log, "%s-argv-%d.json" % (name, n)), "w") as f:
    json.dump({"argv": sys.argv[1:], "cwd": os.getcwd()}, f)
# Like codex: the conversation is made at the first message (or the resumed one is reopened),
# and its id shows only as a lock file held open while it runs.
held = []
def hold_thread(tid):
    locks = os.path.join(os.environ["CODEX_HOME"], "thread-writer-locks")
    os.makedirs(locks, exist_ok=True)
    held.append(open(os.path.join(locks, tid + ".lock"), "w"))
if name == "codex" and sys.argv[1:2] == ["resume"]:
    ids = [a for a in sys.argv[2:] if not a.startswith("-")]
    if ids:
        hold_thread(ids[0])
os.write(1, b"\x1b[?2004h" + ("fake %s ready\r\n" % name).encode())
if os.isatty(0):
    tty.setraw(0)
path = os.path.join(log, "%s-input-%d" % (name, n))
# ZEN_FAKE_PASTE_DELAY_MS: like claude, busy with a paste for that long after it ends; input
# arriving meanwhile is lost. The screen shows the paste only once it is taken.
delay = int(os.environ.get("ZEN_FAKE_PASTE_DELAY_MS", "0")) / 1000.0
while True:
    data = os.read(0, 65536)
    if not data:
        break
    end = data.find(b"\x1b[201~")
    if delay and end >= 0:
        data = data[: end + 6]
    with open(path, "ab") as f:
        f.write(data)
    if name == "codex" and not held:
        hold_thread(str(uuid.uuid4()))
    if delay and end >= 0:
        time.sleep(delay)
        termios.tcflush(0, termios.TCIFLUSH)
    os.write(1, ("read %d bytes\r\n" % len(data)).encode())
    if b"/fail" in data:
        sys.exit(3)
    if b"/exit" in data:
        sys.exit(0)
"#;

/// Where the fakes live and what they recorded.
pub struct FakeClis {
    pub bin: PathBuf,
    pub log: PathBuf,
}

impl FakeClis {
    /// Writes the fakes under `home`.
    pub fn install(home: &Path) -> FakeClis {
        let bin = home.join("fakebin");
        let log = home.join("fakelog");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&log).unwrap();
        for name in ["claude", "codex", "gemini"] {
            let path = bin.join(name);
            std::fs::write(&path, FAKE_CLI).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        FakeClis { bin, log }
    }

    /// PATH with the fakes first, and where they log.
    pub fn env(&self) -> Vec<(String, String)> {
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        vec![
            ("PATH".into(), path),
            ("ZEN_FAKE_LOG".into(), self.log.display().to_string()),
            ("CODEX_HOME".into(), self.codex_home().display().to_string()),
        ]
    }

    /// Where the fake codex keeps its conversation locks.
    pub fn codex_home(&self) -> PathBuf {
        self.log.join("codex-home")
    }

    /// The argv of the `n`th start of `name`, waiting for it to appear.
    pub async fn argv(&self, name: &str, n: usize) -> Vec<String> {
        let path = self.log.join(format!("{name}-argv-{n}.json"));
        let text = wait_file(&path, |t| !t.is_empty()).await;
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["argv"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    }

    /// The working directory of the `n`th start of `name`.
    pub async fn cwd(&self, name: &str, n: usize) -> String {
        let text = wait_file(&self.log.join(format!("{name}-argv-{n}.json")), |t| {
            !t.is_empty()
        })
        .await;
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["cwd"].as_str().unwrap().to_string()
    }

    /// Waits until the `n`th run of `name` has read `len` bytes, and returns them.
    pub async fn input(&self, name: &str, n: usize, len: usize) -> Vec<u8> {
        let path = self.log.join(format!("{name}-input-{n}"));
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let bytes = std::fs::read(&path).unwrap_or_default();
            if bytes.len() >= len || Instant::now() > deadline {
                return bytes;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn wait_file(path: &Path, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if ok(&text) {
                return text;
            }
        }
        if Instant::now() > deadline {
            panic!("{} never appeared", path.display());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A private tmux server for one test; killed (with everything in it) when dropped.
pub struct TmuxSocket {
    pub name: String,
}

impl TmuxSocket {
    pub fn new() -> TmuxSocket {
        TmuxSocket {
            name: format!("zen-test-{}", uuid_like()),
        }
    }

    /// Runs `tmux -L <socket> args...`; stdout, or None on failure.
    pub fn run(&self, args: &[&str]) -> Option<String> {
        let out = std::process::Command::new("tmux")
            .arg("-L")
            .arg(&self.name)
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `name dead status` of every pane.
    pub fn panes(&self) -> String {
        self.run(&[
            "list-panes",
            "-a",
            "-F",
            "#{session_name} #{pane_dead} #{pane_dead_status}",
        ])
        .unwrap_or_default()
    }
}

impl Drop for TmuxSocket {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
        // tmux leaves the socket file of a killed server: leave nothing behind.
        let uid = std::process::Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        let dir = std::env::var("TMUX_TMPDIR").unwrap_or_else(|_| "/tmp".into());
        if let Ok(uid) = uid {
            let _ = std::fs::remove_file(format!("{dir}/tmux-{uid}/{}", self.name));
        }
    }
}

fn uuid_like() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}-{:x}", std::process::id(), t)
}
