//! The real claude-code-acp (0.16.2, with Claude Code underneath; `scripts/agent-clis.sh`
//! installs it under target/agent-clis) as a zen agent chat (`:ZenNew claude mode=chat`),
//! offline against the loopback fake Messages API (`support::fake_agent_api`): a prompt answered,
//! a scripted edit (a `tool_use` of the edit tool the request offers) shown as a pending change
//! in the file's buffer and accepted, and rejected (the file unchanged, the agent told).
//! Skipped (with a note) only when ZEN_AGENT_CLIS is unset and the adapter is not installed.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use support::*;

const FILE: &str = "alpha\nbeta\ngamma\n";

/// The adapter's path: a set ZEN_AGENT_CLIS must hold it; else target/agent-clis, if installed.
fn adapter() -> Option<PathBuf> {
    match std::env::var_os("ZEN_AGENT_CLIS").filter(|d| !d.is_empty()) {
        Some(dir) => {
            let bin = PathBuf::from(dir).join("claude-code-acp");
            assert!(
                bin.exists(),
                "ZEN_AGENT_CLIS has no claude-code-acp: run bash scripts/agent-clis.sh"
            );
            Some(bin)
        }
        None => {
            let bin = repo_root().join("target/agent-clis/node_modules/.bin/claude-code-acp");
            if bin.exists() {
                return Some(bin);
            }
            eprintln!("skipped: claude-code-acp is not installed (bash scripts/agent-clis.sh, then set ZEN_AGENT_CLIS)");
            None
        }
    }
}

struct Real {
    home: tempfile::TempDir,
    proj: PathBuf,
    api: FakeAgentApi,
    nv: Nvim,
    _server: FakeServer,
}

impl Real {
    async fn start(bin: PathBuf) -> Real {
        let home = tempfile::tempdir().unwrap();
        let proj = home.path().join("proj");
        std::fs::create_dir_all(&proj).unwrap();
        let proj = proj.canonicalize().unwrap();
        std::fs::write(proj.join("hello.txt"), FILE).unwrap();
        let api = FakeAgentApi::start().await;
        let server = FakeServer::start().await;
        let mut start = Start::new(home.path(), &server.base_url());
        start.cwd = Some(proj.clone());
        start.env = vec![
            ("HOME".into(), home.path().display().to_string()),
            ("ANTHROPIC_BASE_URL".into(), api.url()),
            ("ANTHROPIC_API_KEY".into(), "x".into()),
            (
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".into(),
                "1".into(),
            ),
            // Claude Code refuses to skip permission prompts as root unless told it is sandboxed.
            ("IS_SANDBOX".into(), "1".into()),
        ];
        start.setup = format!(
            "agents = {{ claude = {{ acp_cmd = {{ {:?} }} }} }},",
            bin.display().to_string()
        );
        let nv = Nvim::start(start).await;
        Real {
            home,
            proj,
            api,
            nv,
            _server: server,
        }
    }

    fn disk(&self) -> String {
        std::fs::read_to_string(self.proj.join("hello.txt")).unwrap()
    }

    /// Opens the agent chat and submits `prompt`; returns the chat's buffer number.
    async fn ask(&self, chat: Option<i64>, prompt: &str) -> i64 {
        let chat = match chat {
            Some(buf) => {
                self.nv.exec(&format!("buffer {buf}")).await;
                buf
            }
            None => {
                self.nv.exec("ZenNew claude mode=chat name=c").await;
                self.nv
                    .wait_for("vim.b.zen_session ~= nil and vim.fn.bufnr()", 60)
                    .await
                    .as_i64()
                    .unwrap()
            }
        };
        self.nv.type_prompt(prompt).await;
        self.nv.exec("ZenSubmit").await;
        chat
    }

    /// Waits until buffer `buf` contains `needle`.
    async fn wait_text(&self, buf: i64, needle: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let text = self.nv.text(buf).await;
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "never showed {needle:?}:\n{text}\nnotes: {:?}",
                self.nv.notes().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn pending(&self) -> i64 {
        self.nv
            .lua("return #require('zen.review').list()")
            .await
            .as_i64()
            .unwrap()
    }

    /// Scripts the fake API: a prompt with `EDIT_HELLO` is answered with the edit tool replacing
    /// `old` by `new` in hello.txt; after its result, with `after`.
    fn script_edit(&self, old: &str, new: &str, after: &str) {
        let path = self.proj.join("hello.txt").display().to_string();
        self.api.script_tool(
            "EDIT_HELLO",
            "Edit",
            json!({"file_path": path, "old_string": old, "new_string": new}),
            after,
        );
    }

    async fn hello_buffer(&self) -> String {
        self.nv
            .lua("return table.concat(vim.api.nvim_buf_get_lines(vim.fn.bufnr('hello.txt'), 0, -1, false), '\\n')")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn key_never_shown(&self) {
        let _ = &self.home;
        // The agent's environment holds no OpenRouter key, and zen never hands it over.
        for r in self.api.requests() {
            assert!(
                !r.body.contains(TEST_KEY),
                "the OpenRouter key reached the agent"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_claude_code_acp_answers_a_prompt_in_the_chat() {
    let Some(bin) = adapter() else { return };
    let r = Real::start(bin).await;
    r.api.answer_text("Hello from the fake Messages API.");
    let chat = r.ask(None, "say hello").await;
    r.wait_text(chat, "Hello from the fake Messages API.", 90)
        .await;
    r.key_never_shown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_claude_code_acp_edit_is_pending_until_accepted_then_in_buffer_and_file() {
    let Some(bin) = adapter() else { return };
    let r = Real::start(bin).await;
    r.nv.exec("edit hello.txt").await;
    r.script_edit("beta", "BETA", "Edited hello.txt.");
    let chat = r.ask(None, "EDIT_HELLO please").await;
    r.nv.wait_for("#require('zen.review').list() == 1", 90)
        .await;
    assert_eq!(
        r.hello_buffer().await,
        FILE.trim_end(),
        "pending, not applied"
    );
    assert_eq!(r.disk(), FILE);
    r.nv.exec("ZenAccept").await;
    r.wait_text(chat, "Edited hello.txt.", 90).await;
    assert_eq!(r.disk(), "alpha\nBETA\ngamma\n");
    assert_eq!(r.hello_buffer().await, "alpha\nBETA\ngamma");
    assert_eq!(r.pending().await, 0);
    r.key_never_shown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_claude_code_acp_rejected_edit_leaves_the_file_and_tells_the_agent() {
    let Some(bin) = adapter() else { return };
    let r = Real::start(bin).await;
    r.nv.exec("edit hello.txt").await;
    r.script_edit("gamma", "GAMMA", "Understood.");
    let chat = r.ask(None, "EDIT_HELLO please").await;
    r.nv.wait_for("#require('zen.review').list() == 1", 90)
        .await;
    r.nv.exec("ZenReject").await;
    // Claude Code ends the turn on a refusal; the refusal reaches the model with the next prompt.
    assert_eq!(r.disk(), FILE);
    assert_eq!(r.hello_buffer().await, FILE.trim_end());
    r.api.answer_text("Next.");
    tokio::time::sleep(Duration::from_secs(2)).await;
    r.ask(Some(chat), "why not?").await;
    assert!(
        r.api
            .wait_body("User refused permission to run tool", 90)
            .await,
        "the agent was not told of the rejection"
    );
    assert_eq!(r.disk(), FILE);
    r.key_never_shown();
}
