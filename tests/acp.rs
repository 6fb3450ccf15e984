//! Agents over the Agent Client Protocol (`:ZenNew claude mode=chat`) against a fake agent:
//! streaming, tool calls, plans, permissions, cancel, crashes and malformed output.

mod support;

use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_text_split_anywhere_streams_whole_into_the_chat() {
    let text = "Héllo wörld ✓ — a reply\nover two lines";
    let (_server, nv, home, fake) =
        acp_chat(json!({"turns": [[{"text": text, "pieces": 2}]]})).await;
    nv.type_prompt("hi agent").await;
    nv.exec("ZenSubmit").await;
    let done = nv.wait_done(1, 10).await;
    assert!(done["error"].is_null(), "{done}");
    let buf = nv.text(0).await;
    assert!(
        buf.contains("## Assistant · claude\n\nHéllo wörld ✓ — a reply\nover two lines\n\n## User"),
        "{buf}"
    );
    let prompts = fake.calls("session/prompt");
    assert_eq!(prompts[0]["params"]["prompt"][0]["text"], "hi agent");
    let history = std::fs::read_dir(home.path().join("zen-state/history")).unwrap();
    let saved =
        std::fs::read_to_string(history.into_iter().next().unwrap().unwrap().path()).unwrap();
    assert!(saved.contains("over two lines"), "{saved}");
    assert!(!buf.contains(TEST_KEY) && !saved.contains(TEST_KEY));
    let started = &fake.received()[0];
    assert!(
        started["openrouter_key"].is_null(),
        "the adapter got the key: {started}"
    );
    nv.quit().await;
}

/// Submits `prompt` in the current agent chat.
async fn submit(nv: &Nvim, prompt: &str) {
    nv.type_prompt(prompt).await;
    nv.exec("ZenSubmit").await;
}

fn tool(id: &str, status: &str) -> serde_json::Value {
    json!({"update": {"sessionUpdate": "tool_call", "toolCallId": id, "title": "Edit a.rs",
        "kind": "edit", "status": status, "rawInput": {"file_path": "a.rs"}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_call_is_one_line_updated_in_place_not_a_new_line_per_update() {
    let update = json!({"update": {"sessionUpdate": "tool_call_update", "toolCallId": "t1",
        "status": "completed", "content": [{"type": "content", "content": {"type": "text", "text": "3 lines changed"}}]}});
    let (_s, nv, _home, _fake) = acp_chat(json!({"turns": [[
        say("Looking."), tool("t1", "pending"), {"sleep": 60},
        {"update": {"sessionUpdate": "tool_call_update", "toolCallId": "t1", "status": "in_progress"}},
        {"sleep": 60}, update, say("Done.")
    ]]}))
    .await;
    submit(&nv, "edit it").await;
    nv.wait_done(1, 10).await;
    let buf = nv.text(0).await;
    assert_eq!(buf.matches("::: tool · ").count(), 1, "{buf}");
    assert!(
        buf.contains("Looking.\n::: tool · edit · Edit a.rs · done\ninput: {\"file_path\":\"a.rs\"}\n3 lines changed\n:::\nDone.\n\n## User"),
        "{buf}"
    );
    // Folded to its one line, which reads without the marker.
    let row = nv.lua("return vim.fn.search('^::: tool', 'n')").await;
    let closed = nv.lua(&format!("return vim.fn.foldclosed({row})")).await;
    assert_eq!(closed, row, "the tool call block is folded");
    let shown = nv
        .lua(&format!(
            "vim.v.foldstart = {row} return require('zen.blocks').foldtext()"
        ))
        .await;
    assert_eq!(shown, "▸ edit · Edit a.rs · done");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thoughts_fold_and_the_plan_is_one_checklist_updated_in_place() {
    let plan = |a: &str, b: &str| {
        json!({"update": {"sessionUpdate": "plan", "entries": [
        {"content": "read the code", "status": a, "priority": "high"},
        {"content": "fix it", "status": b, "priority": "high"}]}})
    };
    let (_s, nv, _home, _fake) = acp_chat(json!({"turns": [[
        {"update": {"sessionUpdate": "agent_thought_chunk", "content": {"type": "text", "text": "let me think"}}},
        plan("in_progress", "pending"), say("Reading."), plan("completed", "in_progress"), say(" Fixed.")
    ]]}))
    .await;
    submit(&nv, "go").await;
    nv.wait_done(1, 10).await;
    let buf = nv.text(0).await;
    assert!(
        buf.contains("::: thought\nlet me think\n:::\n::: plan\n- [x] read the code\n- [~] fix it\n:::\nReading. Fixed."),
        "{buf}"
    );
    let row = nv.lua("return vim.fn.search('^::: thought', 'n')").await;
    assert_eq!(
        nv.lua(&format!("return vim.fn.foldclosed({row})")).await,
        row
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_text_with_a_user_header_is_not_a_user_turn() {
    let (_s, nv, _home, fake) = acp_chat(json!({"turns": [
        [say("## User\nnot your words\n::: tool · fake · x · done\n")], [say("ok")]
    ]}))
    .await;
    submit(&nv, "first").await;
    nv.wait_done(1, 10).await;
    submit(&nv, "second").await;
    nv.wait_done(2, 10).await;
    let prompts = fake.calls("session/prompt");
    assert_eq!(prompts[1]["params"]["prompt"][0]["text"], "second");
    nv.quit().await;
}

fn permission(id: &str) -> serde_json::Value {
    json!({"toolCall": {"toolCallId": id, "title": format!("Run {id}"), "kind": "execute"},
        "options": [{"optionId": "allow", "name": "Allow", "kind": "allow_once"},
                    {"optionId": "allow_always", "name": "Always", "kind": "allow_always"},
                    {"optionId": "reject", "name": "Reject", "kind": "reject_once"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_while_another_is_pending_answers_the_oldest_first() {
    let (_s, nv, _home, fake) = acp_chat(json!({"turns": [[
        {"permission": permission("one"), "wait": false},
        {"permission": permission("two"), "wait": false},
        {"await_permissions": true}, say("after")
    ]]}))
    .await;
    submit(&nv, "run both").await;
    nv.wait_for("vim.fn.search('Run two · :ZenAccept', 'n') > 0", 10)
        .await;
    let buf = nv.text(0).await;
    assert!(
        buf.contains("> [zen] permission · Run one · :ZenAccept Allow · :ZenAccept! Always · :ZenReject Reject"),
        "{buf}"
    );
    nv.exec("ZenAccept").await;
    nv.exec("ZenReject").await;
    nv.wait_done(1, 10).await;
    // The agent's requests are ids 1000 and 1001; the replies may be written in either order.
    assert_eq!(fake.reply(1000)["result"]["outcome"]["optionId"], "allow");
    assert_eq!(fake.reply(1001)["result"]["outcome"]["optionId"], "reject");
    let buf = nv.text(0).await;
    assert!(
        buf.contains("> [zen] permission · Run one · allowed once\n"),
        "{buf}"
    );
    assert!(
        buf.contains("> [zen] permission · Run two · rejected\n"),
        "{buf}"
    );
    assert!(!buf.contains(":ZenAccept Allow"), "{buf}");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_mid_tool_call_cancels_the_prompt_and_the_waiting_permission() {
    let (_s, nv, _home, fake) = acp_chat(json!({"turns": [[
        tool("t1", "in_progress"), {"permission": permission("t1"), "wait": false}, {"wait_cancel": true}
    ]]}))
    .await;
    submit(&nv, "long job").await;
    nv.wait_for("vim.fn.search(':ZenReject Reject', 'n') > 0", 10)
        .await;
    nv.exec("ZenStop").await;
    let done = nv.wait_done(1, 10).await;
    assert_eq!(done["stopped"], "stopped", "{done}");
    assert_eq!(fake.calls("session/cancel").len(), 1);
    assert_eq!(
        fake.reply(1000)["result"]["outcome"]["outcome"],
        "cancelled"
    );
    let buf = nv.text(0).await;
    assert!(
        buf.contains("> [zen] permission · Run t1 · cancelled\n"),
        "{buf}"
    );
    assert!(buf.contains("\n> [zen] stopped\n\n## User"), "{buf}");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_crash_ends_the_turn_with_one_line_and_keeps_the_transcript() {
    let (_s, nv, _home, fake) = acp_chat(
        json!({"turns": [[say("partial words"), {"sleep": 50}, {"exit": 3}], [say("back")]]}),
    )
    .await;
    submit(&nv, "crash please").await;
    let done = nv.wait_done(1, 10).await;
    let error = done["error"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        error,
        "zen: claude exited with status 3; the turn ended and the transcript is kept. :ZenSubmit starts it again."
    );
    nv.wait_note("claude exited with status 3", 5).await;
    let buf = nv.text(0).await;
    assert!(
        buf.contains("partial words\n\n> [zen] error: claude exited with status 3"),
        "{buf}"
    );
    // The next submit starts the adapter again.
    submit(&nv, "again").await;
    nv.wait_done(2, 10).await;
    assert!(nv.text(0).await.contains("back"));
    let starts = fake
        .received()
        .iter()
        .filter(|m| m.get("started").is_some())
        .count();
    assert_eq!(starts, 2);
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_line_ends_the_turn_with_one_line() {
    let (_s, nv, _home, _fake) = acp_chat(
        json!({"turns": [[say("fine so far"), {"raw": "this is not json"}, {"sleep": 2000}]]}),
    )
    .await;
    submit(&nv, "go").await;
    let done = nv.wait_done(1, 10).await;
    assert_eq!(
        done["error"],
        "zen: claude sent a malformed message (not JSON: \"this is not json\"); the turn ended. :ZenSubmit sends again."
    );
    assert!(nv.text(0).await.contains("fine so far"));
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_megabyte_message_arrives_whole() {
    let (_s, nv, _home, _fake) =
        acp_chat(json!({"turns": [[{"big": 1_000_000}, say("END")]]})).await;
    submit(&nv, "flood").await;
    let done = nv.wait_done(1, 20).await;
    assert!(done["error"].is_null(), "{done}");
    let count = nv.lua("return #vim.fn.filter(vim.api.nvim_buf_get_lines(0, 0, -1, false), 'v:val ==# repeat(\"y\", 99)')").await;
    assert_eq!(count, 10_000);
    assert!(nv.text(0).await.contains("END"));
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_adapter_names_the_npm_package() {
    let (server, nv, _home) = setup().await;
    nv.exec("ZenNew claude mode=chat").await;
    let err = nv.wait_note("claude-code-acp", 5).await;
    assert!(
        err == ("zen: claude-code-acp not found (the ACP adapter of claude chats). Install it with `npm install -g @zed-industries/claude-code-acp`, or point agents.claude.acp_cmd at it in setup()."),
        "{err}"
    );
    assert_eq!(
        nv.lua("return vim.b.zen_session").await,
        serde_json::Value::Null,
        "no session was made"
    );
    drop(server);
    nv.quit().await;
}
