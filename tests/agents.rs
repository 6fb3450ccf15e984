//! Terminal agent sessions against fake `claude`, `codex` and `gemini` CLIs and real tmux on a
//! private socket: command lines of new and revived sessions, text pasted byte for byte, a
//! missing binary, worktrees, and reattach/revive after Neovim is killed.

mod support;

use support::*;

struct Agents {
    server: FakeServer,
    home: tempfile::TempDir,
    clis: FakeClis,
    tmux: TmuxSocket,
}

impl Agents {
    async fn new() -> Agents {
        let server = FakeServer::start().await;
        let home = tempfile::tempdir().unwrap();
        let clis = FakeClis::install(home.path());
        Agents {
            server,
            home,
            clis,
            tmux: TmuxSocket::new(),
        }
    }

    async fn nvim(&self, extra: &str) -> Nvim {
        let mut start = Start::new(self.home.path(), &self.server.base_url());
        start.env = self.clis.env();
        start.setup = format!("tmux_socket = {:?}, {extra}", self.tmux.name);
        let nv = Nvim::start(start).await;
        nv.lua(
            r#"
          _G.picked = {}
          vim.ui.select = function(items, opts, cb)
            table.insert(_G.picked, vim.tbl_map(opts.format_item or tostring, items))
            cb(items[1])
          end
          vim.fn.confirm = function() return 1 end
        "#,
        )
        .await;
        nv
    }

    fn cli_session(&self) -> String {
        let index =
            std::fs::read_to_string(self.home.path().join("zen-state/sessions.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&index).unwrap();
        v[0]["agent"]["cli_session"].as_str().unwrap().to_string()
    }
}

fn bracketed(text: &str) -> Vec<u8> {
    format!("\x1b[200~{text}\x1b[201~\r").into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_in_tmux_survives_neovim_and_is_revived_with_its_session_id() {
    let a = Agents::new().await;
    let nv = a.nvim("").await;
    nv.exec("ZenNew claude model=opus prompt=hello there").await;
    let id = {
        let argv = a.clis.argv("claude", 0).await;
        let id = a.cli_session();
        assert_eq!(
            argv,
            [
                "--session-id",
                id.as_str(),
                "--model",
                "opus",
                "--",
                "hello there"
            ]
        );
        id
    };
    assert_eq!(nv.lua("return vim.bo.buftype").await, "terminal");
    assert_eq!(
        nv.lua("return vim.api.nvim_buf_get_name(0)").await,
        "zen://claude-1"
    );
    assert!(
        nv.lua("return require('zen.ui').job_running(0)").await == true,
        "attached"
    );
    nv.kill().await; // a crash: the tmux session must outlive it

    assert!(
        a.tmux.panes().starts_with("claude-1 0"),
        "still running: {}",
        a.tmux.panes()
    );
    let nv = a.nvim("").await;
    nv.exec("ZenList").await;
    let rows = nv.wait_for("_G.picked[2]", 5).await; // the session row, then the actions
    let row = nv.lua("return _G.picked[1][1]").await;
    assert!(
        row.as_str().unwrap().starts_with("▶ claude-1") && row.as_str().unwrap().contains("claude"),
        "{row}"
    );
    assert_eq!(rows[0], "open");
    nv.wait_for("vim.bo.buftype == 'terminal'", 5).await;
    assert!(
        !a.clis.log.join("claude-argv-1.json").exists(),
        "reattached, not restarted"
    );

    // The CLI exits; the list says so, and opening revives it with its own resume.
    a.tmux
        .run(&["send-keys", "-t", "=claude-1:", "/exit", "Enter"]);
    for _ in 0..100 {
        if a.tmux.panes().starts_with("claude-1 1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    assert!(
        a.tmux.panes().starts_with("claude-1 1"),
        "the CLI exited: {}",
        a.tmux.panes()
    );
    nv.exec("ZenList").await;
    let actions = nv.wait_for("_G.picked[4]", 5).await;
    let row = nv.lua("return _G.picked[3][1]").await;
    assert!(
        row.as_str().unwrap().starts_with("■ claude-1"),
        "{row} {}",
        a.tmux.panes()
    );
    assert_eq!(actions[0], "revive");
    assert_eq!(
        a.clis.argv("claude", 1).await,
        ["--resume", id.as_str(), "--model", "opus"]
    );
    nv.wait_note("revived claude-1", 5).await;
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zen_send_pastes_100_kb_whole_into_codex_and_gemini_gets_its_prompt_flag() {
    let a = Agents::new().await;
    let nv = a.nvim("").await;
    nv.exec("ZenNew gemini prompt=hi").await;
    let gemini = a.clis.argv("gemini", 0).await;
    assert_eq!(gemini[0], "--session-id");
    assert_eq!(gemini[2..], ["--prompt-interactive=hi"]);
    nv.exec("ZenNew codex prompt=fix the bug").await;
    assert_eq!(
        a.clis.argv("codex", 0).await,
        ["--no-daemon", "--", "fix the bug"]
    );
    a.clis.input("codex", 0, 0).await;
    let line = "naïve café ✓ — 日本語 line of text\n";
    let big = line.repeat(100 * 1024 / line.len() + 1);
    std::fs::write(a.home.path().join("notes.txt"), &big).unwrap();
    nv.exec("edit notes.txt").await;
    nv.exec("%ZenSend session=codex-1 review this").await;
    let n = big.lines().count();
    let expected = bracketed(&format!("review this\n\nnotes.txt:1-{n}\n```\n{big}```"));
    let got = a.clis.input("codex", 0, expected.len()).await;
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "the paste arrived changed");
    assert_eq!(
        nv.lua("return vim.api.nvim_buf_get_name(0)").await,
        "zen://codex-1",
        "the target is shown"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_tmux_the_terminal_channel_gets_the_paste() {
    let a = Agents::new().await;
    let nv = a.nvim("tmux = false").await;
    nv.exec("ZenNew claude name=plain").await;
    a.clis.argv("claude", 0).await;
    assert_eq!(
        a.tmux.run(&["list-sessions"]),
        None,
        "no tmux server was started"
    );
    nv.exec("ZenNew openrouter name=other").await; // last used is now the chat
    nv.exec("ZenSend session=plain héllo ✓ wörld").await;
    let expected = bracketed("héllo ✓ wörld");
    assert_eq!(a.clis.input("claude", 0, expected.len()).await, expected);
    nv.exec("ZenList").await;
    let row = nv.wait_for("_G.picked[1]", 5).await;
    assert!(
        row.as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().starts_with("▶ plain")),
        "{row}"
    );
    // After a backend restart, opening it finds the live terminal instead of starting a copy.
    nv.exec("ZenRestart").await;
    nv.exec("ZenNew openrouter name=third").await;
    nv.lua("require('zen').open('plain')").await;
    assert_eq!(
        nv.lua("return vim.api.nvim_buf_get_name(0)").await,
        "zen://plain"
    );
    assert_eq!(
        nv.lua("return require('zen.ui').job_running(0)").await,
        true
    );
    assert!(
        !a.clis.log.join("claude-argv-1.json").exists(),
        "no second copy was started"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_cli_names_the_binary_and_the_option() {
    let a = Agents::new().await;
    let mut start = Start::new(a.home.path(), &a.server.base_url());
    start.env = vec![("PATH".into(), "/usr/bin:/bin".into())];
    let nv = Nvim::start(start).await;
    nv.exec("ZenNew codex").await;
    let note = nv.wait_note("codex not found", 5).await;
    assert!(note.contains("agents.codex.cmd"), "{note}");
    nv.quit().await;
}

fn git(dir: &std::path::Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worktrees_are_kept_when_dirty_unless_bang() {
    let a = Agents::new().await;
    let repo = a.home.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README"), "hi\n").unwrap();
    git(&repo, &["add", "."]);
    git(
        &repo,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "init",
        ],
    );
    let mut start = Start::new(a.home.path(), &a.server.base_url());
    start.env = a.clis.env();
    start.cwd = Some(repo.clone());
    start.setup = format!("tmux_socket = {:?}, agents = {{ shell = {{ cmd = {{ 'bash', '--norc', '--noprofile' }} }} }}", a.tmux.name);
    let nv = Nvim::start(start).await;
    nv.lua("vim.fn.confirm = function() return 1 end").await;
    for name in ["wt1", "wt2", "wt3"] {
        nv.exec(&format!("ZenNew claude worktree=true name={name}"))
            .await;
    }
    let wt = |n: &str| a.home.path().join(format!("zen-state/worktrees/repo-{n}"));
    let mut cwds = vec![
        a.clis.cwd("claude", 0).await,
        a.clis.cwd("claude", 1).await,
        a.clis.cwd("claude", 2).await,
    ];
    cwds.sort();
    let expected: Vec<String> = ["wt1", "wt2", "wt3"]
        .iter()
        .map(|n| wt(n).canonicalize().unwrap().display().to_string())
        .collect();
    assert_eq!(cwds, expected, "each agent runs in its own worktree");
    let branches = String::from_utf8(
        std::process::Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args(["branch", "--list", "zen/*"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        branches.contains("zen/wt1") && branches.contains("zen/wt3"),
        "{branches}"
    );
    std::fs::write(wt("wt1").join("new.txt"), "dirty").unwrap();
    std::fs::write(wt("wt2").join("new.txt"), "dirty").unwrap();
    nv.exec("ZenKill wt1").await;
    let note = nv.wait_note("killed wt1", 5).await;
    assert!(
        note.contains("kept its worktree") && note.contains("(1 file with uncommitted changes)"),
        "{note}"
    );
    assert!(note.contains("git worktree remove --force"), "{note}");
    assert!(wt("wt1").exists());
    nv.exec("ZenKill! wt2").await;
    nv.wait_note(
        "killed wt2; removed its worktree; branch zen/wt2 is kept",
        5,
    )
    .await;
    assert!(!wt("wt2").exists());
    nv.exec("ZenKill wt3").await;
    nv.wait_note("killed wt3; removed its worktree", 5).await;
    assert!(
        !wt("wt3").exists(),
        "a clean worktree goes with its session"
    );
    assert_eq!(a.tmux.panes().trim(), "", "their tmux sessions are gone");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_characterwise_selection_reaches_an_agent_exactly_as_a_chat_would_get_it() {
    let a = Agents::new().await;
    let nv = a.nvim("").await;
    nv.exec("ZenNew claude name=coder").await;
    a.clis.argv("claude", 0).await;
    std::fs::write(
        a.home.path().join("main.rs"),
        "fn main() {\n    println!(\"héllo ✓\");\n}\n",
    )
    .unwrap();
    nv.exec("edit main.rs").await;
    nv.exec("call cursor(2, 1) | call search('p') | exe \"normal! v$\\<Esc>\"")
        .await;
    nv.exec("'<,'>ZenSend session=coder why").await;
    // `v$` takes the line break too, as Vim's own yank does.
    let expected = bracketed("why\n\nmain.rs:2\n```rust\nprintln!(\"héllo ✓\");\n```");
    assert_eq!(
        String::from_utf8_lossy(&a.clis.input("claude", 0, expected.len()).await),
        String::from_utf8_lossy(&expected)
    );
    nv.quit().await;
}
