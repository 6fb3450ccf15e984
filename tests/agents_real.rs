//! The real agent CLIs (claude-code 2.1.197, gemini-cli 0.61.0, codex 0.171.0, installed by
//! `scripts/agent-clis.sh` under target/agent-clis) driven through zen in tmux, offline: claude
//! and gemini against a loopback fake of their APIs (`support::fake_agent_api`), codex against
//! nothing (its conversation is made and saved before it calls out). They check what only the
//! real parsers and session stores can tell: a prompt that looks like a flag stays a prompt,
//! each agent resumes its own conversation, and every `:ZenSend` is submitted.
//! Skipped (with a note) when the CLIs are not installed.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::*;

/// The real CLIs' bin directory, if installed.
fn real_clis() -> Option<PathBuf> {
    let dir = std::env::var_os("ZEN_AGENT_CLIS")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/agent-clis/node_modules/.bin"));
    if dir.join("claude").exists() && dir.join("gemini").exists() && dir.join("codex").exists() {
        Some(dir)
    } else {
        eprintln!("skipped: the real agent CLIs are not installed (bash scripts/agent-clis.sh)");
        None
    }
}

struct Real {
    home: tempfile::TempDir,
    proj: PathBuf,
    tmux: TmuxSocket,
    server: FakeServer,
    api: FakeAgentApi,
    env: Vec<(String, String)>,
}

impl Real {
    async fn new(bin: &Path) -> Real {
        let home = tempfile::tempdir().unwrap();
        let proj = home.path().join("proj");
        std::fs::create_dir_all(&proj).unwrap();
        let proj = proj.canonicalize().unwrap();
        let api = FakeAgentApi::start().await;
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let env = vec![
            ("HOME".into(), home.path().display().to_string()),
            ("PATH".into(), path),
        ];
        Real {
            home,
            proj,
            tmux: TmuxSocket::new(),
            server: FakeServer::start().await,
            api,
            env,
        }
    }

    fn set(&mut self, key: &str, value: &str) {
        self.env.push((key.into(), value.into()));
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.home.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    async fn nvim(&self) -> Nvim {
        let mut start = Start::new(self.home.path(), &self.server.base_url());
        start.env = self.env.clone();
        start.cwd = Some(self.proj.clone());
        start.setup = format!("tmux_socket = {:?}", self.tmux.name);
        Nvim::start(start).await
    }

    fn cli_session(&self, name: &str) -> Option<String> {
        let index = std::fs::read_to_string(self.home.path().join("zen-state/sessions.json"))
            .unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&index).ok()?;
        let row = v.as_array()?.iter().find(|r| r["name"] == name)?;
        row["agent"]["cli_session"].as_str().map(String::from)
    }

    async fn wait_cli_session(&self, name: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(id) = self.cli_session(name) {
                return id;
            }
            assert!(Instant::now() < deadline, "{name}: no conversation id");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn screen(&self, name: &str) -> String {
        let target = format!("={name}:");
        self.tmux
            .run(&["capture-pane", "-p", "-J", "-S", "-200", "-t", &target])
            .unwrap_or_default()
    }

    async fn wait_screen(&self, name: &str, needle: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        // Neovim's window may be a few lines high: give the CLI room to show its history.
        let target = format!("={name}:");
        self.tmux
            .run(&["resize-window", "-t", &target, "-x", "120", "-y", "40"]);
        loop {
            let screen = self.screen(name);
            if screen.contains(needle) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{name} never showed {needle:?}:\n{screen}\n{:?}",
                self.tmux.run(&[
                    "list-panes",
                    "-a",
                    "-F",
                    "#{session_name} #{pane_width}x#{pane_height} #{pane_start_command}"
                ])
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Kills the program of tmux session `name` (its whole process group) and waits until tmux
    /// sees the pane dead.
    async fn crash(&self, name: &str) {
        let target = format!("={name}:");
        let pid = self
            .tmux
            .run(&["display-message", "-p", "-t", &target, "#{pane_pid}"])
            .unwrap();
        kill_group(pid.trim());
        for _ in 0..200 {
            if self.tmux.panes().contains(&format!("{name} 1")) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{name} did not die: {}", self.tmux.panes());
    }
}

impl Drop for Real {
    /// The CLIs start helpers that outlive a hung-up pane: end every pane's process group.
    fn drop(&mut self) {
        let pids = self.tmux.run(&["list-panes", "-a", "-F", "#{pane_pid}"]);
        for pid in pids.unwrap_or_default().lines() {
            kill_group(pid);
        }
    }
}

fn kill_group(pid: &str) {
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .status();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_claude_gets_a_flag_like_prompt_as_a_prompt_and_every_send_submitted() {
    let Some(bin) = real_clis() else { return };
    let mut r = Real::new(&bin).await;
    let key = "sk-ant-api03-fake-key-for-zen-tests-0123456789";
    r.set("ANTHROPIC_BASE_URL", &r.api.url());
    r.set("ANTHROPIC_API_KEY", key);
    r.set("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
    r.set("IS_SANDBOX", "1");
    let seeded = serde_json::json!({
        "hasCompletedOnboarding": true,
        "customApiKeyResponses": {"approved": [&key[key.len() - 20..]], "rejected": []},
        "projects": {r.proj.display().to_string(): {"hasTrustDialogAccepted": true}},
    });
    r.write(".claude.json", &seeded.to_string());
    std::fs::write(
        r.proj.join("five.txt"),
        "line one\nline two\nline three\nline four\nline five\n",
    )
    .unwrap();
    let nv = r.nvim().await;
    nv.exec("ZenNew claude prompt=--dangerously-skip-permissions")
        .await;
    assert!(
        r.api.wait_body("--dangerously-skip-permissions", 60).await,
        "the prompt reached the model as text; requests: {:?}",
        r.api.requests().iter().map(|q| &q.line).collect::<Vec<_>>()
    );
    let screen = r.screen("claude-1");
    assert!(
        !screen.to_lowercase().contains("bypass permissions on"),
        "{screen}"
    );
    nv.exec("edit five.txt").await;
    for n in 1..=10 {
        // Let claude finish the previous answer and settle, as a user would.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        nv.exec(&format!("%ZenSend session=claude-1 send number {n}"))
            .await;
        assert!(
            r.api.wait_body(&format!("send number {n}"), 30).await,
            "send {n} was not submitted:\n{}",
            r.screen("claude-1")
        );
        nv.exec("buffer five.txt").await;
    }
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_gemini_agents_in_one_directory_each_resume_their_own_conversation() {
    let Some(bin) = real_clis() else { return };
    let mut r = Real::new(&bin).await;
    r.set("GEMINI_API_KEY", "fake-gemini-key");
    r.set("GOOGLE_GEMINI_BASE_URL", &r.api.url());
    r.write(
        ".gemini/settings.json",
        r#"{"security":{"auth":{"selectedType":"gemini-api-key"}}}"#,
    );
    let trusted = serde_json::json!({r.proj.display().to_string(): "TRUST_FOLDER"});
    r.write(".gemini/trustedFolders.json", &trusted.to_string());
    let nv = r.nvim().await;
    nv.exec("ZenNew gemini name=g1 model=gemini-2.5-flash prompt=--yolo")
        .await;
    nv.exec("ZenNew gemini name=g2 model=gemini-2.5-flash prompt=marker two")
        .await;
    assert!(
        r.api.wait_body("--yolo", 60).await,
        "g1's prompt was sent as text"
    );
    assert!(r.api.wait_body("marker two", 60).await);
    let screen = r.screen("g1");
    assert!(
        !screen.contains("YOLO"),
        "the prompt did not turn on yolo:\n{screen}"
    );
    let (g1, g2) = (r.cli_session("g1").unwrap(), r.cli_session("g2").unwrap());
    assert_ne!(g1, g2);
    // gemini saves each conversation, with its prompt, under the id zen chose.
    let chats = r.home.path().join(".gemini/tmp/proj/chats");
    let chat = |id: &str| -> String {
        let files = std::fs::read_dir(&chats).into_iter().flatten().flatten();
        files
            .map(|f| std::fs::read_to_string(f.path()).unwrap_or_default())
            .filter(|text| text.contains(id))
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(chat(&g1).contains("--yolo") && chat(&g2).contains("marker two")) {
        assert!(
            Instant::now() < deadline,
            "{}\n{}",
            chat(&g1),
            r.screen("g1")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    r.crash("g1").await;
    r.crash("g2").await;
    nv.lua("require('zen').open('g2')").await;
    nv.lua("require('zen').open('g1')").await;
    let two = r.wait_screen("g2", "marker two", 60).await;
    let one = r.wait_screen("g1", "--yolo", 60).await;
    assert!(
        !two.contains("--yolo"),
        "g2 resumed g1's conversation:\n{two}"
    );
    assert!(
        !one.contains("marker two"),
        "g1 resumed g2's conversation:\n{one}"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_codex_agents_in_one_directory_each_resume_their_own_conversation() {
    let Some(bin) = real_clis() else { return };
    let mut r = Real::new(&bin).await;
    let codex_home = r.home.path().join("codex-home");
    r.set("CODEX_HOME", &codex_home.display().to_string());
    r.set("OPENAI_BASE_URL", &format!("{}/v1", r.api.url()));
    r.write(
        "codex-home/config.toml",
        &format!(
            "[projects.{:?}]\ntrust_level = \"trusted\"\n",
            r.proj.display().to_string()
        ),
    );
    let mut login = std::process::Command::new(bin.join("codex"));
    login
        .args(["login", "--with-api-key"])
        .envs(r.env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = login.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"sk-fake\n").unwrap();
    assert!(child.wait().unwrap().success(), "codex login");

    let nv = r.nvim().await;
    let flag = "--dangerously-bypass-approvals-and-sandbox";
    nv.exec(&format!("ZenNew codex name=c1 prompt={flag}"))
        .await;
    let c1 = r.wait_cli_session("c1", 90).await;
    nv.exec("ZenNew codex name=c2 prompt=marker two").await;
    let c2 = r.wait_cli_session("c2", 90).await;
    assert_ne!(c1, c2);
    // The ids zen learned are the conversations codex saved with each prompt.
    let rollout = |id: &str| -> String {
        let mut text = String::new();
        for day in walk(&codex_home.join("sessions")) {
            if day.to_string_lossy().contains(id) {
                text = std::fs::read_to_string(day).unwrap();
            }
        }
        text
    };
    // codex holds its conversation's lock (how zen learns the id) before it writes the prompt
    // into it: on a loaded machine the text can come a little later.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(rollout(&c1).contains(flag) && rollout(&c2).contains("marker two")) {
        assert!(
            Instant::now() < deadline,
            "each prompt is in its own conversation:\nc1: {}\nc2: {}",
            rollout(&c1),
            rollout(&c2)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        !rollout(&c1).contains("danger-full-access"),
        "the prompt was not a flag"
    );
    r.crash("c1").await;
    r.crash("c2").await;
    nv.lua("require('zen').open('c2')").await;
    nv.lua("require('zen').open('c1')").await;
    let two = r.wait_screen("c2", "marker two", 90).await;
    let one = r.wait_screen("c1", flag, 90).await;
    assert!(!two.contains(flag), "c2 resumed c1's conversation:\n{two}");
    assert!(
        !one.contains("marker two"),
        "c1 resumed c2's conversation:\n{one}"
    );
    nv.quit().await;
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
