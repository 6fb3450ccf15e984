//! Prompt caching (`openrouter.cache`): breakpoints only for the models that need them and
//! never more than four; the cache's tokens and savings in the note and in `:ZenUsage`.

mod support;

use serde_json::{json, Value};
use support::*;

const CLAUDE: &str = "anthropic/claude-sonnet-4";

/// A Neovim whose setup() also has `setup` (`{url}`: the fake server's base_url).
async fn start(setup: &str) -> (FakeServer, Nvim, tempfile::TempDir) {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let mut start = Start::new(home.path(), &server.base_url());
    start.setup = setup.replace("{url}", &format!("{:?}", server.base_url()));
    let nv = Nvim::start(start).await;
    nv.install_event_counter().await;
    (server, nv, home)
}

/// Every `cache_control` in a request body.
fn breakpoints(body: &Value) -> usize {
    body.to_string().matches("\"cache_control\"").count()
}

fn chat_requests(server: &FakeServer) -> Vec<Recorded> {
    server.requests_to("/api/v1/chat/completions")
}

/// Two turns in a new chat with `model`.
async fn two_turns(server: &FakeServer, nv: &Nvim, model: &str) {
    nv.exec(&format!("ZenNew openrouter model={model}")).await;
    answer_hi(server, nv, answer_body(&["first"], 1, 1, 0.0), 1).await;
    answer_hi(server, nv, answer_body(&["second"], 1, 1, 0.0), 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_gets_breakpoints_on_the_system_prompt_and_the_last_earlier_turn_only() {
    let (server, nv, _home) = start(r#"system_prompt = "be brief","#).await;
    two_turns(&server, &nv, CLAUDE).await;
    let reqs = chat_requests(&server);
    let eph = json!({"type": "ephemeral"});
    let first = &reqs[0].body["messages"];
    assert_eq!(first[0]["content"][0]["cache_control"], eph, "{first}");
    assert_eq!(
        first[1]["content"], "hi",
        "the new prompt is not a breakpoint"
    );
    let second = &reqs[1].body["messages"];
    assert_eq!(
        second[0]["content"],
        json!([{"type": "text", "text": "be brief", "cache_control": eph}])
    );
    assert_eq!(second[1]["content"], "hi");
    assert_eq!(
        second[2]["content"],
        json!([{"type": "text", "text": "first", "cache_control": eph}]),
        "the last turn before the prompt"
    );
    assert_eq!(second[3]["content"], "hi");
    assert_eq!(breakpoints(&reqs[1].body), 2);
    assert_eq!(reqs[1].body["session_id"], reqs[0].body["session_id"]);
    assert!(reqs[0].body["session_id"].as_str().unwrap().len() > 10);
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_models_and_cache_false_get_no_breakpoints() {
    let (server, nv, _home) = start(r#"system_prompt = "be brief","#).await;
    two_turns(&server, &nv, "openai/gpt-4o").await;
    let reqs = chat_requests(&server);
    assert_eq!(breakpoints(&reqs[1].body), 0, "{}", reqs[1].body);
    assert!(reqs[1].body["messages"][2]["content"].is_string());
    nv.quit().await;

    // A later `openrouter` key of setup()'s table wins over the one the tests start with.
    let (server, nv, _home) =
        start(r#"system_prompt = "be brief", openrouter = { base_url = {url}, cache = false },"#)
            .await;
    two_turns(&server, &nv, CLAUDE).await;
    let reqs = chat_requests(&server);
    assert_eq!(breakpoints(&reqs[1].body), 0, "{}", reqs[1].body);
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_large_attachments_never_give_more_than_four_breakpoints() {
    let (server, nv, home) = start(r#"system_prompt = "be brief","#).await;
    let mut prompt = String::from("read");
    for name in ["a", "b", "c", "d", "e"] {
        let path = home.path().join(format!("{name}.txt"));
        std::fs::write(&path, name.repeat(5000)).unwrap();
        prompt.push_str(&format!(" @{}", path.display()));
    }
    nv.exec(&format!("ZenNew openrouter model={CLAUDE}")).await;
    answer_hi(&server, &nv, answer_body(&["first"], 1, 1, 0.0), 1).await;
    server.push(sse(answer_body(&["ok"], 1, 1, 0.0)));
    nv.type_prompt(&prompt).await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(2, 10).await;
    let body = &chat_requests(&server)[1].body;
    assert_eq!(breakpoints(body), 4, "{body}");
    // The latest four (each covers all before it): the prompt's last four attachments.
    let parts = body["messages"][3]["content"].as_array().unwrap();
    let marked: Vec<bool> = parts
        .iter()
        .map(|p| p.get("cache_control").is_some())
        .collect();
    assert_eq!(marked, [false, false, true, true, true, true], "{parts:?}");
    assert!(
        body["messages"][0]["content"].is_string(),
        "the oldest left out"
    );
    assert!(
        body["messages"][2]["content"].is_string(),
        "the oldest left out"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_and_written_tokens_and_the_saving_show_in_the_note_and_zen_usage() {
    let (server, nv, home) = start("").await;
    server.route("GET", "/api/v1/models", catalogue_reply());
    nv.lua("vim.ui.select = function(items, opts, cb) _G.picked = true cb(nil) end")
        .await;
    nv.exec("ZenModel").await; // loads the catalogue (its cache prices)
    nv.wait_for("_G.picked", 10).await;
    nv.exec(&format!("ZenNew openrouter model={CLAUDE} name=cachey"))
        .await;
    let mut body = String::from(": OPENROUTER PROCESSING\n\n");
    body.push_str(&content_chunk("cached answer"));
    body.push_str(&ending_with(json!({
        "prompt_tokens": 1200, "completion_tokens": 5, "cost": 0.001,
        "prompt_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 100}
    })));
    answer_hi(&server, &nv, body, 1).await;
    // 1000 tokens at $0.30/M instead of $3/M, less 100 written at $3.75/M instead of $3/M.
    let note = "> [zen] 1200 in · 5 out · $0.001000 · cached 1000 · written 100 · saved $0.002625";
    let text = nv.text(0).await;
    assert!(text.contains(note), "{text}");
    nv.exec("ZenUsage").await;
    nv.wait_for("vim.fn.search('prompt cache', 'n') > 0", 10)
        .await;
    let usage = nv.text(0).await;
    assert!(
        usage.contains("prompt cache: 1000 tokens read · 100 written · saved $0.002625"),
        "{usage}"
    );
    assert!(!usage.contains(TEST_KEY) && !text.contains(TEST_KEY));
    nv.quit().await;
    // Reopened from history, the note says the same.
    let nv = Nvim::start(Start::new(home.path(), &server.base_url())).await;
    nv.lua("require('zen').open('cachey')").await;
    nv.wait_for("vim.fn.search('saved \\\\$0.002625', 'n') > 0", 10)
        .await;
    nv.quit().await;
}
