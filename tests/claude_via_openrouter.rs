//! `:ZenNew claude via=openrouter` with the real claude CLI (target/agent-clis, see
//! tests/agents_real.rs), offline: the fake Messages API stands under the fake OpenRouter
//! endpoint's `/api` root. The key comes from `api_key_cmd` (so it is in no environment to begin
//! with) and must end up in exactly one place: the environment of claude's process. Skipped
//! (with a note) when the CLIs are not installed.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::*;

/// The key `api_key_cmd` prints (`sk-or-via-` and the test's own tail: tests run in parallel);
/// the script builds it, so no file holds it whole.
fn key_of(tail: &str) -> String {
    format!("sk-or-via-{tail}")
}

fn real_claude() -> Option<PathBuf> {
    let dir = std::env::var_os("ZEN_AGENT_CLIS")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/agent-clis/node_modules/.bin"));
    if dir.join("claude").exists() {
        Some(dir)
    } else {
        eprintln!("skipped: the real claude CLI is not installed (bash scripts/agent-clis.sh)");
        None
    }
}

/// Every process's pid, parent, argv and environment (those we may read).
struct Proc {
    ppid: u32,
    cmdline: Vec<u8>,
    environ: Vec<u8>,
}

fn processes() -> HashMap<u32, Proc> {
    let mut out = HashMap::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // `pid (comm) state ppid ...`; comm may hold spaces: split after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0);
        out.insert(
            pid,
            Proc {
                ppid,
                cmdline: std::fs::read(entry.path().join("cmdline")).unwrap_or_default(),
                environ: std::fs::read(entry.path().join("environ")).unwrap_or_default(),
            },
        );
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn descends_from(procs: &HashMap<u32, Proc>, mut pid: u32, root: u32) -> bool {
    for _ in 0..64 {
        if pid == root {
            return true;
        }
        match procs.get(&pid) {
            Some(p) if p.ppid != 0 => pid = p.ppid,
            _ => return false,
        }
    }
    false
}

/// Regular files under `dir` whose bytes contain `needle` (fifos and sockets are not read).
fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            out.extend(files_containing(&entry.path(), needle));
        } else if kind.is_file() {
            let bytes = std::fs::read(entry.path()).unwrap_or_default();
            if contains(&bytes, needle) {
                out.push(entry.path());
            }
        }
    }
    out
}

fn pane_pid(tmux: &TmuxSocket, name: &str) -> Option<u32> {
    let target = format!("={name}:");
    let out = tmux.run(&[
        "display-message",
        "-p",
        "-t",
        &target,
        "#{pane_dead} #{pane_pid}",
    ])?;
    out.trim().strip_prefix("0 ")?.parse().ok()
}

/// Waits until the pane of `name` runs a process whose environment has the key; its pid.
async fn wait_keyed_pane(tmux: &TmuxSocket, key: &str, name: &str, secs: u64) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(pid) = pane_pid(tmux, name) {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            if contains(&environ, &format!("ANTHROPIC_AUTH_TOKEN={key}")) {
                return pid;
            }
        }
        assert!(Instant::now() < deadline, "{name}: no process with the key");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn screen(tmux: &TmuxSocket, name: &str) -> String {
    let target = format!("={name}:");
    tmux.run(&["capture-pane", "-p", "-J", "-S", "-200", "-t", &target])
        .unwrap_or_default()
}

/// A test home with claude onboarded, a key script, and the Neovim start options against the
/// fake API's `/api/v1` (as `openrouter.base_url`).
struct Rig {
    key: String,
    home: tempfile::TempDir,
    api: FakeAgentApi,
    tmux: TmuxSocket,
    start: Start,
}

async fn rig(bin: &Path, tail: &str) -> Rig {
    let home = tempfile::tempdir().unwrap();
    let proj = home.path().join("proj");
    std::fs::create_dir_all(&proj).unwrap();
    let proj = proj.canonicalize().unwrap();
    let api = FakeAgentApi::start().await;
    let tmux = TmuxSocket::new();
    let script = home.path().join("key.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf 'sk-or-via-%s\\n' {tail}\n"),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["+x", &script.display().to_string()])
        .status()
        .unwrap();
    let seeded = serde_json::json!({
        "hasCompletedOnboarding": true,
        "projects": {proj.display().to_string(): {"hasTrustDialogAccepted": true}},
    });
    std::fs::write(home.path().join(".claude.json"), seeded.to_string()).unwrap();

    let mut start = Start::new(home.path(), &format!("{}/api/v1", api.url()));
    start.key = None; // the key is in no environment to begin with
    start.openrouter = format!("api_key_cmd = {{ {:?} }}", script.display().to_string());
    start.cwd = Some(proj);
    start.setup = format!("tmux_socket = {:?}", tmux.name);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    start.env = vec![
        ("HOME".into(), home.path().display().to_string()),
        ("PATH".into(), path),
        (
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".into(),
            "1".into(),
        ),
        ("IS_SANDBOX".into(), "1".into()),
    ];
    Rig {
        key: key_of(tail),
        home,
        api,
        tmux,
        start,
    }
}

/// The request that carried `prompt`, once claude sent it.
async fn asked(
    api: &FakeAgentApi,
    key: &str,
    prompt: &str,
    why: impl Fn() -> String,
) -> ApiRequest {
    assert!(
        api.wait_body(prompt, 90).await,
        "claude called the /api root; requests: {:?}\n{}",
        api.requests().iter().map(|q| &q.line).collect::<Vec<_>>(),
        why()
    );
    let asked = api
        .requests()
        .into_iter()
        .find(|q| q.body.contains(prompt))
        .unwrap();
    assert!(asked.line.contains(" /api/v1/messages"), "{}", asked.line);
    assert_eq!(
        asked.header("authorization"),
        Some(format!("Bearer {key}").as_str())
    );
    asked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_via_openrouter_gets_the_key_as_a_bearer_token_in_its_own_environment_only() {
    let Some(bin) = real_claude() else { return };
    let r = rig(&bin, "claude-7781").await;
    let (home, api, tmux, key) = (&r.home, &r.api, &r.tmux, r.key.as_str());
    let nv = Nvim::start(r.start).await;
    // Another session first: the tmux server is already running when claude's starts.
    nv.exec("ZenNew shell name=other").await;
    nv.exec("ZenNew claude name=c1 via=openrouter model=anthropic/claude-sonnet-4 prompt=hello via openrouter")
        .await;
    let asked = asked(api, key, "hello via openrouter", || screen(tmux, "c1")).await;
    assert!(
        asked.body.contains("anthropic/claude-sonnet-4"),
        "the model was sent"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while !screen(tmux, "c1").contains(OPENROUTER_ROOT_ANSWER) {
        assert!(
            Instant::now() < deadline,
            "claude showed the answer:\n{}",
            screen(tmux, "c1")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let pane = wait_keyed_pane(tmux, key, "c1", 10).await;
    let procs = processes();
    let environ = String::from_utf8_lossy(&procs[&pane].environ).into_owned();
    let vars: Vec<&str> = environ.split('\0').collect();
    assert!(vars.contains(&"ANTHROPIC_API_KEY="), "the API key is empty");
    let root = format!("ANTHROPIC_BASE_URL={}/api", api.url());
    assert!(vars.contains(&root.as_str()), "{root}");
    assert!(
        String::from_utf8_lossy(&procs[&pane].cmdline).contains("claude"),
        "the pane's process is claude itself (the wrapper exec'd it)"
    );
    for (pid, p) in &procs {
        assert!(
            !contains(&p.cmdline, key),
            "the key is in the argv of {pid}"
        );
        if contains(&p.environ, key) {
            assert!(
                descends_from(&procs, *pid, pane),
                "the key is in the environment of {pid} ({}), not claude's",
                String::from_utf8_lossy(&p.cmdline).replace('\0', " ")
            );
        }
    }
    for args in [
        vec!["show-environment", "-g"],
        vec!["show-environment", "-t", "=other"],
        vec!["show-environment", "-t", "=c1"],
    ] {
        let env = tmux.run(&args).unwrap_or_default();
        assert!(!env.contains(key), "tmux {args:?} holds the key");
    }
    let leaked = files_containing(home.path(), key);
    assert!(leaked.is_empty(), "files hold the key: {leaked:?}");
    let run_dir = nv.state_dir.join("run");
    let left: Vec<_> = std::fs::read_dir(&run_dir)
        .into_iter()
        .flatten()
        .flatten()
        .collect();
    assert!(left.is_empty(), "the fifo was removed: {left:?}");

    // :ZenUsage cannot count its turns: it says where its spend is.
    nv.exec("ZenUsage").await;
    let usage = nv
        .wait_for(
            "(function() for _, b in ipairs(vim.api.nvim_list_bufs()) do \
               local t = table.concat(vim.api.nvim_buf_get_lines(b, 0, -1, false), '\\n') \
               if t:find('agents on the OpenRouter key', 1, true) then return t end end end)()",
            10,
        )
        .await;
    let usage = usage.as_str().unwrap();
    assert!(usage.contains("not per turn"), "{usage}");
    assert!(
        usage
            .lines()
            .any(|l| l.contains("c1") && l.contains("anthropic/claude-sonnet-4")),
        "{usage}"
    );

    // Revived, it runs on the key again: fetched anew, never stored.
    let index = std::fs::read_to_string(nv.state_dir.join("sessions.json")).unwrap();
    let index: serde_json::Value = serde_json::from_str(&index).unwrap();
    let row = index.as_array().unwrap().iter().find(|r| r["name"] == "c1");
    assert_eq!(row.unwrap()["agent"]["via"], "openrouter", "{index}");
    std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pane}")])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !tmux.panes().contains("c1 1") {
        assert!(Instant::now() < deadline, "c1 died: {}", tmux.panes());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    nv.lua("require('zen').open('c1')").await;
    let revived = wait_keyed_pane(tmux, key, "c1", 30).await;
    assert_ne!(revived, pane);
    let procs = processes();
    assert!(!procs.values().any(|p| contains(&p.cmdline, key)));
    assert!(files_containing(home.path(), key).is_empty());
    for pid in [revived, pane] {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .status();
    }
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_via_openrouter_in_a_plain_terminal_keeps_the_key_out_of_neovim() {
    let Some(bin) = real_claude() else { return };
    let mut r = rig(&bin, "plain-5512").await;
    let key = r.key.clone();
    let key = key.as_str();
    r.start.setup = "tmux = false".into();
    let nv = Nvim::start(r.start).await;
    nv.exec("ZenNew claude name=plain via=openrouter prompt=hello from a plain terminal")
        .await;
    let terminal = || "(a Neovim terminal)".to_string();
    asked(&r.api, key, "hello from a plain terminal", terminal).await;
    let nvim_pid: u32 = nv.lua("return vim.fn.getpid()").await.as_u64().unwrap() as u32;
    let procs = processes();
    let keyed: Vec<u32> = procs
        .iter()
        .filter(|(_, p)| contains(&p.environ, &format!("ANTHROPIC_AUTH_TOKEN={key}")))
        .map(|(pid, _)| *pid)
        .collect();
    assert!(!keyed.is_empty(), "claude runs with the key");
    for (pid, p) in &procs {
        assert!(
            !contains(&p.cmdline, key),
            "the key is in the argv of {pid}"
        );
        if contains(&p.environ, key) {
            // claude (or what it started), a child of Neovim's terminal, never Neovim itself.
            let claude = keyed
                .iter()
                .any(|k| *k != nvim_pid && descends_from(&procs, *pid, *k));
            assert!(
                claude && *pid != nvim_pid,
                "the key is in the environment of {pid}"
            );
        }
    }
    assert!(!contains(&procs[&nvim_pid].environ, key));
    assert!(files_containing(r.home.path(), key).is_empty());
    for pid in keyed {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    nv.quit().await;
}
