//! The facts zen's ACP client builds on, checked against the real claude-code-acp 0.16.2
//! (`scripts/agent-clis.sh` installs it) driven directly over its stdio, offline against the fake
//! Messages API's scripted tool call: an edit arrives as a `tool_call` with `diff` content, then
//! `session/request_permission` (allow always / allow once / reject), then `fs/read_text_file`
//! and `fs/write_text_file`; a rejection ends the turn and reaches the model with the next
//! prompt. (tests/fixtures/acp/ holds the recorded traffic.) Skipped (with a note) only when
//! ZEN_AGENT_CLIS is unset and the adapter is not installed.

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value as Json};
use support::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

const FILE: &str = "alpha\nbeta\ngamma\n";

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
            eprintln!("skipped: claude-code-acp is not installed (bash scripts/agent-clis.sh)");
            None
        }
    }
}

/// The adapter on a pipe, and every message it sent.
struct Adapter {
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    seen: Vec<Json>,
    next_id: u64,
}

impl Adapter {
    fn start(bin: &Path, home: &Path, proj: &Path, api: &FakeAgentApi) -> Adapter {
        let mut child = tokio::process::Command::new(bin)
            .current_dir(proj)
            .env("HOME", home)
            .env("ANTHROPIC_BASE_URL", api.url())
            .env("ANTHROPIC_API_KEY", "x")
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .env("IS_SANDBOX", "1") // Claude Code run as root wants to know it is sandboxed
            .env_remove("OPENROUTER_API_KEY")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start claude-code-acp");
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Adapter {
            _child: child,
            stdin,
            lines,
            seen: Vec::new(),
            next_id: 1,
        }
    }

    async fn send(&mut self, msg: Json) {
        let line = format!("{msg}\n");
        self.stdin.write_all(line.as_bytes()).await.unwrap();
    }

    /// Sends a request and answers the agent's own requests (a permission with the option of
    /// kind `choose`, files from disk) until its reply comes; returns the reply.
    async fn call(&mut self, method: &str, params: Json, choose: &str) -> Json {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        loop {
            let line = tokio::time::timeout(Duration::from_secs(90), self.lines.next_line())
                .await
                .expect("the adapter answers within 90 s")
                .unwrap()
                .expect("the adapter is running");
            let msg: Json = serde_json::from_str(&line).expect("one JSON message a line");
            self.seen.push(msg.clone());
            if msg["id"] == json!(id) && msg.get("method").is_none() {
                return msg;
            }
            let Some(method) = msg["method"].as_str() else {
                continue;
            };
            if msg.get("id").is_none() {
                continue; // a notification
            }
            let params = &msg["params"];
            let result = match method {
                "session/request_permission" => {
                    let option = params["options"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|o| o["kind"] == choose)
                        .unwrap_or_else(|| panic!("no {choose} option: {params}"));
                    json!({"outcome": {"outcome": "selected", "optionId": option["optionId"]}})
                }
                "fs/read_text_file" => {
                    let text = std::fs::read_to_string(params["path"].as_str().unwrap()).unwrap();
                    json!({ "content": text })
                }
                "fs/write_text_file" => {
                    let path = params["path"].as_str().unwrap();
                    std::fs::write(path, params["content"].as_str().unwrap()).unwrap();
                    Json::Null
                }
                other => panic!("unexpected request {other}"),
            };
            self.send(json!({"jsonrpc": "2.0", "id": msg["id"], "result": result}))
                .await;
        }
    }

    /// Initializes with fs advertised and opens a session in `proj`; returns its id.
    async fn session(&mut self, proj: &Path) -> String {
        let caps = json!({"protocolVersion": 1, "clientCapabilities": {
            "fs": {"readTextFile": true, "writeTextFile": true}, "terminal": false}});
        let init = self.call("initialize", caps, "").await;
        assert_eq!(init["result"]["agentCapabilities"]["loadSession"], true);
        let new = self
            .call("session/new", json!({"cwd": proj, "mcpServers": []}), "")
            .await;
        new["result"]["sessionId"].as_str().unwrap().to_string()
    }

    async fn prompt(&mut self, session: &str, text: &str, choose: &str) -> Json {
        let params = json!({"sessionId": session, "prompt": [{"type": "text", "text": text}]});
        self.call("session/prompt", params, choose).await
    }

    /// What the agent sent, as short labels in order: requests by method, updates by kind.
    fn sequence(&self) -> Vec<String> {
        self.seen
            .iter()
            .filter_map(|m| match m["method"].as_str() {
                Some("session/update") => {
                    let kind = m["params"]["update"]["sessionUpdate"].as_str()?;
                    (kind != "available_commands_update").then(|| kind.to_string())
                }
                Some(method) => Some(method.to_string()),
                None => None,
            })
            .collect()
    }
}

async fn project() -> (tempfile::TempDir, PathBuf, FakeAgentApi) {
    let home = tempfile::tempdir().unwrap();
    let proj = home.path().join("proj");
    std::fs::create_dir_all(&proj).unwrap();
    let proj = proj.canonicalize().unwrap();
    std::fs::write(proj.join("hello.txt"), FILE).unwrap();
    let api = FakeAgentApi::start().await;
    (home, proj, api)
}

fn script_edit(api: &FakeAgentApi, proj: &Path, old: &str, new: &str, after: &str) {
    let path = proj.join("hello.txt").display().to_string();
    api.script_tool(
        "EDIT_HELLO",
        "Edit",
        json!({"file_path": path, "old_string": old, "new_string": new}),
        after,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_adapter_edit_arrives_as_diff_then_permission_then_fs_read_and_write() {
    let Some(bin) = adapter() else { return };
    let (home, proj, api) = project().await;
    script_edit(&api, &proj, "beta", "BETA", "Edited hello.txt.");
    let mut agent = Adapter::start(&bin, home.path(), &proj, &api);
    let session = agent.session(&proj).await;
    let reply = agent
        .prompt(&session, "EDIT_HELLO please", "allow_once")
        .await;
    assert_eq!(reply["result"]["stopReason"], "end_turn");
    assert_eq!(
        std::fs::read_to_string(proj.join("hello.txt")).unwrap(),
        "alpha\nBETA\ngamma\n"
    );
    let seq = agent.sequence();
    let at = |label: &str| {
        seq.iter()
            .position(|s| s == label)
            .unwrap_or_else(|| panic!("no {label} in {seq:?}"))
    };
    assert!(
        at("tool_call") < at("session/request_permission"),
        "{seq:?}"
    );
    assert!(at("session/request_permission") < at("fs/read_text_file"));
    assert!(at("fs/read_text_file") < at("fs/write_text_file"));
    assert!(at("fs/write_text_file") < at("tool_call_update"));
    // The diff (fragments of the file) on the tool call, joined to the permission by its id.
    let diff = agent
        .seen
        .iter()
        .find_map(|m| {
            let u = &m["params"]["update"];
            (u["sessionUpdate"] == "tool_call" && u["kind"] == "edit")
                .then(|| u["content"].as_array()?.first().cloned())
                .flatten()
        })
        .expect("a tool call with a diff");
    let path = proj.join("hello.txt").display().to_string();
    assert_eq!(
        diff,
        json!({"type": "diff", "path": path, "oldText": "beta", "newText": "BETA"})
    );
    let permission = agent
        .seen
        .iter()
        .find(|m| m["method"] == "session/request_permission")
        .unwrap();
    let kinds: Vec<&str> = permission["params"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["allow_always", "allow_once", "reject_once"]);
    assert_eq!(
        permission["params"]["toolCall"]["toolCallId"], "toolu_zen0",
        "joined by toolCallId"
    );
    let text: String = agent
        .seen
        .iter()
        .filter(|m| m["params"]["update"]["sessionUpdate"] == "agent_message_chunk")
        .filter_map(|m| m["params"]["update"]["content"]["text"].as_str())
        .collect();
    assert_eq!(text, "Edited hello.txt.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_adapter_rejected_edit_reaches_the_model_with_the_next_prompt() {
    let Some(bin) = adapter() else { return };
    let (home, proj, api) = project().await;
    script_edit(&api, &proj, "gamma", "GAMMA", "Understood.");
    let mut agent = Adapter::start(&bin, home.path(), &proj, &api);
    let session = agent.session(&proj).await;
    let reply = agent
        .prompt(&session, "EDIT_HELLO please", "reject_once")
        .await;
    // Claude Code ends the turn on a refusal, before asking the model again.
    assert_eq!(reply["result"]["stopReason"], "end_turn");
    assert_eq!(
        std::fs::read_to_string(proj.join("hello.txt")).unwrap(),
        FILE
    );
    let seq = agent.sequence();
    assert!(!seq.iter().any(|s| s.starts_with("fs/")), "{seq:?}");
    assert!(!api.wait_body("User refused permission", 1).await);
    agent.prompt(&session, "why not?", "reject_once").await;
    assert!(
        api.wait_body("User refused permission to run tool", 30)
            .await,
        "the model was not told of the rejection"
    );
    assert_eq!(
        std::fs::read_to_string(proj.join("hello.txt")).unwrap(),
        FILE
    );
}
