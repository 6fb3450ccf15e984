//! Issue 9 (Trust), agent cases, against the fake CLIs and real tmux on a private socket: a
//! prompt never becomes a flag, two agents of one kind in one directory never resume each
//! other's conversation, a `:ZenSend` is submitted even when the agent is slow to take the
//! paste, kill prompts name the session, and the private tmux server ends with the last agent.

mod support;

use std::time::Duration;

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

    async fn nvim_with(&self, extra: &str, env: &[(&str, &str)]) -> Nvim {
        let mut start = Start::new(self.home.path(), &self.server.base_url());
        start.env = self.clis.env();
        start
            .env
            .extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        start.setup = format!("tmux_socket = {:?}, {extra}", self.tmux.name);
        let nv = Nvim::start(start).await;
        nv.lua(
            r#"
          _G.confirms = {}
          vim.fn.confirm = function(msg) table.insert(_G.confirms, msg) return 1 end
        "#,
        )
        .await;
        nv
    }

    async fn nvim(&self, extra: &str) -> Nvim {
        self.nvim_with(extra, &[]).await
    }

    /// The `cli_session` of the session called `name` in the index.
    fn cli_session(&self, name: &str) -> Option<String> {
        let index =
            std::fs::read_to_string(self.home.path().join("zen-state/sessions.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&index).unwrap();
        let row = v.as_array().unwrap().iter().find(|r| r["name"] == name)?;
        row["agent"]["cli_session"].as_str().map(String::from)
    }

    /// Ends the program in tmux session `name` (as a crash or `/exit` would) and waits.
    async fn end(&self, name: &str) {
        self.tmux
            .run(&["send-keys", "-t", &format!("={name}:"), "/exit", "Enter"]);
        for _ in 0..200 {
            if self.tmux.panes().contains(&format!("{name} 1")) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{name} did not exit: {}", self.tmux.panes());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_that_looks_like_a_flag_never_reaches_the_cli_as_a_flag() {
    let a = Agents::new().await;
    let nv = a.nvim("").await;
    nv.exec("ZenNew claude prompt=--dangerously-skip-permissions")
        .await;
    nv.exec("ZenNew codex prompt=--dangerously-bypass-approvals-and-sandbox")
        .await;
    nv.exec("ZenNew gemini prompt=--yolo").await;
    let claude = a.clis.argv("claude", 0).await;
    assert_eq!(
        claude[claude.len() - 2..],
        ["--", "--dangerously-skip-permissions"],
        "{claude:?}"
    );
    let codex = a.clis.argv("codex", 0).await;
    assert_eq!(
        codex,
        [
            "--no-daemon",
            "--",
            "--dangerously-bypass-approvals-and-sandbox"
        ]
    );
    let gemini = a.clis.argv("gemini", 0).await;
    assert_eq!(
        gemini.last().unwrap(),
        "--prompt-interactive=--yolo",
        "{gemini:?}"
    );
    assert!(!gemini.contains(&"--yolo".to_string()), "{gemini:?}");
    nv.quit().await;
}

/// Starts two agents of `kind` in one directory, gives each a message, ends both, revives
/// each: each must resume its own conversation, never the newest of the directory.
async fn two_in_one_directory(kind: &str) {
    let a = Agents::new().await;
    let nv = a.nvim("").await;
    nv.exec(&format!("ZenNew {kind} name=one")).await;
    a.clis.argv(kind, 0).await;
    nv.exec(&format!("ZenNew {kind} name=two")).await;
    a.clis.argv(kind, 1).await;
    for name in ["one", "two"] {
        a.tmux.run(&[
            "send-keys",
            "-t",
            &format!("={name}:"),
            &format!("hello {name}"),
            "Enter",
        ]);
    }
    // codex makes its conversation at the first message; zen learns its id while it runs.
    let mut ids = [None, None];
    for _ in 0..100 {
        ids = [a.cli_session("one"), a.cli_session("two")];
        if ids.iter().all(Option::is_some) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let [Some(one), Some(two)] = ids else {
        panic!("conversation ids not known: {ids:?}");
    };
    assert_ne!(one, two);
    a.end("one").await;
    a.end("two").await;
    // Revive the older one last: a guess (`--last`, `latest`) would give both the newest.
    nv.lua("require('zen').open('two')").await;
    let two_argv = a.clis.argv(kind, 2).await; // (the fakes number their starts: one at a time)
    nv.lua("require('zen').open('one')").await;
    let one_argv = a.clis.argv(kind, 3).await;
    for (argv, id) in [(&two_argv, &two), (&one_argv, &one)] {
        assert!(argv.contains(id), "{argv:?} should resume {id}");
        let line = argv.join(" ");
        assert!(
            !line.contains("--last") && !line.contains("latest") && !line.contains("--continue"),
            "{line}"
        );
    }
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_codex_agents_in_one_directory_never_resume_each_others_conversation() {
    two_in_one_directory("codex").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gemini_agents_in_one_directory_never_resume_each_others_conversation() {
    two_in_one_directory("gemini").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_claude_agents_in_one_directory_never_resume_each_others_conversation() {
    two_in_one_directory("claude").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_codex_agent_whose_conversation_is_unknown_opens_the_picker_not_the_newest() {
    let a = Agents::new().await;
    let nv = a.nvim("").await;
    nv.exec("ZenNew codex name=quiet").await;
    a.clis.argv("codex", 0).await;
    a.end("quiet").await; // no message: no conversation, no id
    assert_eq!(a.cli_session("quiet"), None);
    nv.lua("require('zen').open('quiet')").await;
    assert_eq!(
        a.clis.argv("codex", 1).await,
        ["resume", "--no-daemon"],
        "codex's own picker"
    );
    nv.wait_note("revived quiet; its conversation id is unknown", 5)
        .await;
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_codex_in_a_plain_terminal_resumes_its_own_conversation_not_the_newest() {
    let a = Agents::new().await;
    let nv = a.nvim("tmux = false").await;
    nv.exec("ZenNew codex name=plain").await;
    a.clis.argv("codex", 0).await;
    nv.exec("ZenNew openrouter name=chat").await;
    nv.exec("ZenSend session=plain hello").await; // codex makes its conversation
    let mut id = None;
    for _ in 0..100 {
        id = a.cli_session("plain");
        if id.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let id = id.expect("the conversation id was learned from the terminal's process");
    nv.exec("ZenSend session=plain /exit").await;
    nv.wait_for(
        "not require('zen.ui').job_running(vim.fn.bufnr('zen://plain'))",
        5,
    )
    .await;
    nv.lua("require('zen').open('plain')").await;
    assert_eq!(
        a.clis.argv("codex", 1).await,
        ["resume", "--no-daemon", id.as_str()]
    );
    nv.quit().await;
}

const SLOW_PASTE: (&str, &str) = ("ZEN_FAKE_PASTE_DELAY_MS", "400");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_is_submitted_even_when_the_agent_is_slow_to_take_the_paste() {
    let a = Agents::new().await;
    let nv = a.nvim_with("", &[SLOW_PASTE]).await;
    nv.exec("ZenNew claude name=slow").await;
    a.clis.input("claude", 0, 0).await;
    a.clis.argv("claude", 0).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // the fake is ready
    nv.exec("ZenSend session=slow review\nthis").await;
    let expected = "\x1b[200~review\nthis\x1b[201~\r".as_bytes();
    let got = a.clis.input("claude", 0, expected.len()).await;
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected),
        "pasted, then Enter once the paste was taken"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_is_submitted_in_a_plain_terminal_even_when_the_agent_is_slow() {
    let a = Agents::new().await;
    let nv = a.nvim_with("tmux = false", &[SLOW_PASTE]).await;
    nv.exec("ZenNew claude name=plain").await;
    a.clis.argv("claude", 0).await;
    nv.wait_for(
        "(table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false)):find('ready') ~= nil)",
        5,
    )
    .await;
    nv.exec("ZenNew openrouter name=other").await;
    nv.exec("ZenSend session=plain héllo").await;
    let expected = "\x1b[200~héllo\x1b[201~\r".as_bytes();
    let got = a.clis.input("claude", 0, expected.len()).await;
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected)
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_prompts_name_the_session_and_kind_not_its_id() {
    let a = Agents::new().await;
    let nv = a.nvim("").await;
    nv.exec("ZenNew claude name=helper").await;
    a.clis.argv("claude", 0).await;
    nv.exec("ZenKill").await; // from its own terminal: the buffer knows only the id
    nv.exec("ZenNew gemini name=second").await;
    nv.lua(
        r#"vim.ui.select = function(items, _, cb)
          for _, item in ipairs(items) do
            if item == "kill" or (type(item) == "table" and item.name == "second") then
              return cb(item)
            end
          end
        end"#,
    )
    .await;
    nv.exec("ZenList").await;
    nv.wait_for("_G.confirms[2]", 5).await;
    let confirms = nv.lua("return _G.confirms").await;
    assert_eq!(
        confirms,
        serde_json::json!([
            "Delete zen session helper (claude) and its history?",
            "Delete zen session second (gemini) and its history?"
        ])
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_private_tmux_server_ends_with_the_last_agent_and_new_ones_still_start() {
    let a = Agents::new().await;
    let nv = a.nvim("").await;
    nv.exec("ZenNew claude name=first").await;
    nv.exec("ZenNew codex name=second").await;
    a.clis.argv("codex", 0).await;
    nv.exec("ZenKill! first").await;
    assert!(a.tmux.run(&["list-sessions"]).is_some(), "one agent left");
    nv.exec("ZenKill! second").await;
    assert_eq!(
        a.tmux.run(&["list-sessions"]),
        None,
        "no server once no agent is left"
    );
    // Right away, a new agent starts a new server.
    nv.exec("ZenNew gemini name=third").await;
    a.clis.argv("gemini", 0).await;
    assert!(a.tmux.panes().starts_with("third 0"), "{}", a.tmux.panes());
    nv.quit().await;
}
