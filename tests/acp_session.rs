//! Agent chats over ACP around the turns: restart and `session/load`, kill, models and modes,
//! slash commands, login, files, `:ZenSend`.

mod support;

use serde_json::json;
use support::*;

async fn submit(nv: &Nvim, prompt: &str) {
    nv.type_prompt(prompt).await;
    nv.exec("ZenSubmit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_the_agent_session_is_loaded_and_its_replay_not_shown() {
    let (_s, nv, _home, fake) = acp_chat(json!({
        "init": {"loadSession": true},
        "replay": [{"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": "REPLAYED"}}],
        "turns": [[say("first answer"), {"update": {"sessionUpdate": "tool_call", "toolCallId": "t1",
            "title": "Read a.rs", "kind": "read", "status": "completed", "rawInput": {"path": "a.rs"}}}],
            [say("second answer")]]
    }))
    .await;
    submit(&nv, "one").await;
    nv.wait_done(1, 10).await;
    nv.lua("require('zen').restart()").await;
    submit(&nv, "two").await;
    nv.wait_for("vim.fn.search('second answer', 'n') > 0", 10)
        .await;
    let loads = fake.calls("session/load");
    assert_eq!(loads.len(), 1);
    assert_eq!(loads[0]["params"]["sessionId"], "fake-session-1");
    assert!(!nv.text(0).await.contains("REPLAYED"));
    assert_eq!(fake.calls("session/new").len(), 1, "no new agent session");
    // Reopened from zen's own history: the answers, not the agent's replay.
    nv.exec("bwipeout!").await;
    nv.lua("require('zen').open('claude-1')").await;
    let text = nv.text(0).await;
    assert!(
        text.contains("first answer") && text.contains("second answer"),
        "{text}"
    );
    assert!(!text.contains("REPLAYED"), "{text}");
    // Still an agent chat (marked in the background).
    nv.wait_for("vim.b.zen_acp == 'claude'", 5).await;
    // Its tool call is a folded block again.
    nv.wait_for("vim.fn.foldclosed(vim.fn.search('^::: tool', 'n')) > 0", 5)
        .await;
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_ends_the_adapter_process() {
    let (_s, nv, _home, fake) = acp_chat(json!({"turns": [[say("hi")]]})).await;
    let pid = fake.received()[0]["started"].as_i64().unwrap();
    assert!(process_alive(pid));
    nv.exec("ZenKill!").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while process_alive(pid) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!process_alive(pid), "the adapter outlived :ZenKill");
    nv.quit().await;
}

fn offers() -> serde_json::Value {
    json!({
        "new": {
            "models": {"currentModelId": "sonnet", "availableModels": [
                {"modelId": "sonnet", "name": "Sonnet"}, {"modelId": "opus", "name": "Opus"}]},
            "modes": {"currentModeId": "default", "availableModes": [
                {"id": "default", "name": "Ask"}, {"id": "plan", "name": "Plan"}]}
        },
        "commands": [{"name": "review", "description": "Review the code"}, {"name": "init", "description": "Init"}],
        "turns": [[say("ok")]]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zen_model_in_an_agent_chat_picks_among_the_agent_models_and_modes() {
    let (_s, nv, _home, fake) = acp_chat(offers()).await;
    assert!(nv.text(0).await.starts_with("# zen · claude-1 · sonnet"));
    nv.exec("ZenModel opus").await;
    nv.wait_for(
        "vim.api.nvim_buf_get_lines(0, 0, 1, false)[1] == '# zen · claude-1 · opus'",
        5,
    )
    .await;
    let set = fake.wait_calls("session/set_model", 5).await;
    assert_eq!(set[0]["params"]["modelId"], "opus");
    // The picker offers both models and modes; pick the mode "plan".
    nv.lua(
        "vim.ui.select = function(items, opts, on_choice)
           _G.offered = vim.tbl_map(function(i) return opts.format_item(i) end, items)
           on_choice(items[4])
         end
         require('zen').model()",
    )
    .await;
    nv.wait_for("#vim.tbl_filter(function(n) return n.msg:find('now uses mode plan') end, _G.zen_notes) > 0", 5)
        .await;
    assert_eq!(
        fake.wait_calls("session/set_mode", 5).await[0]["params"]["modeId"],
        "plan"
    );
    let offered = nv.lua("return _G.offered").await;
    assert_eq!(offered[1], "● model · Opus (opus)", "{offered}");
    nv.exec("ZenModel gpt-9").await;
    let note = nv.wait_note("offers no model", 5).await;
    assert_eq!(
        note,
        "zen: claude offers no model or mode 'gpt-9'. It offers: sonnet, opus, default, plan."
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_slash_commands_complete_after_a_slash() {
    let (_s, nv, _home, _fake) = acp_chat(offers()).await;
    nv.wait_for("#(vim.b.zen_acp_commands or {}) == 2", 10)
        .await;
    nv.lua("vim.api.nvim_buf_set_lines(0, -1, -1, false, {'/re'}) vim.api.nvim_win_set_cursor(0, {vim.api.nvim_buf_line_count(0), 3})")
        .await;
    let start = nv.lua("return require('zen.complete').omni(1, '')").await;
    assert_eq!(start, 0);
    let items = nv
        .lua("return require('zen.complete').omni(0, '/re')")
        .await;
    assert_eq!(
        items,
        json!([{"word": "/review", "menu": "Review the code"}])
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_needing_a_login_says_what_to_run_in_one_line() {
    let (_s, nv, _home, _fake) = acp_chat(json!({
        "init": {"authMethods": [{"id": "claude-login", "name": "Log in with Claude",
            "description": "run `claude /login`"}]},
        "new": {"error": {"code": -32000, "message": "Authentication required"}}
    }))
    .await;
    let note = nv.wait_note("log in", 5).await;
    assert_eq!(
        note,
        "zen: claude needs you to log in first: Log in with Claude (run `claude /login`). Do that in a terminal, then run :ZenNew claude mode=chat again."
    );
    assert!(nv.lua("return vim.b.zen_session").await.is_null());
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_files_stay_inside_the_session_directory() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().canonicalize().unwrap();
    std::fs::write(dir.join("a.txt"), "one\ntwo\nthree\n").unwrap();
    let p = |rel: &str| dir.join(rel).display().to_string();
    let fake = FakeAcp::new(
        home.path(),
        json!({"turns": [[
            {"read": {"path": p("a.txt"), "line": 2, "limit": 1}},
            {"write": {"path": p("new/b.txt"), "content": "written"}},
            {"read": {"path": "/etc/hostname"}},
            {"write": {"path": p("../escape.txt"), "content": "x"}},
            say("done")
        ]]}),
    );
    let nv = Nvim::start(fake.start(home.path(), &server.base_url())).await;
    nv.install_event_counter().await;
    nv.exec("ZenNew claude mode=chat").await;
    submit(&nv, "files").await;
    // A path outside is asked in the chat first; refused here.
    nv.wait_for(
        "table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\\n'):find('/etc/hostname', 1, true)",
        10,
    )
    .await;
    nv.exec("ZenReject").await;
    nv.wait_done(1, 10).await;
    assert_eq!(fake.reply(1000)["result"]["content"], "two\n");
    assert!(fake.reply(1001)["result"].is_null());
    assert_eq!(
        std::fs::read_to_string(dir.join("new/b.txt")).unwrap(),
        "written"
    );
    let refused = fake.reply(1002)["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        refused.contains("outside the session's directory"),
        "{refused}"
    );
    assert!(fake.reply(1003)["error"].is_object());
    assert!(!dir.parent().unwrap().join("escape.txt").exists());
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zen_send_to_an_agent_chat_sends_the_selection_as_a_prompt() {
    let (_s, nv, home, fake) = acp_chat(json!({"turns": [[say("seen")]]})).await;
    std::fs::write(home.path().join("lib.rs"), "fn a() {}\nfn b() {}\n").unwrap();
    nv.exec("edit lib.rs").await;
    nv.exec("1,2ZenSend explain these").await;
    nv.wait_done(1, 10).await;
    let text = fake.calls("session/prompt")[0]["params"]["prompt"][0]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("fn a() {}\nfn b() {}") && text.contains("explain these"),
        "{text}"
    );
    assert!(text.contains("lib.rs"), "{text}");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_chat_is_listed_renamed_and_in_the_status_like_a_chat() {
    let (_s, nv, _home, _fake) = acp_chat(offers()).await;
    submit(&nv, "x").await;
    nv.wait_done(1, 10).await;
    let rows = nv
        .lua("return require('zen.backend').request('list')")
        .await;
    assert_eq!(rows[0]["kind"], "claude", "{rows}");
    assert_eq!(rows[0]["state"], "idle", "{rows}");
    assert_eq!(rows[0]["turns"], 1, "{rows}");
    assert_eq!(
        nv.lua("return require('zen').status()").await,
        "zen claude-1 · sonnet · idle"
    );
    nv.exec("ZenRename helper").await;
    nv.wait_for(
        "vim.api.nvim_buf_get_lines(0, 0, 1, false)[1] == '# zen · helper · sonnet'",
        5,
    )
    .await;
    assert_eq!(
        nv.lua("return vim.api.nvim_buf_get_name(0)").await,
        "zen://helper"
    );
    nv.quit().await;
}
