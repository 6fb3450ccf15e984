//! Long conversations (issue 14): the context meter on the title line and in status(),
//! `:ZenCompact` (a `## Summary` sent instead of the earlier turns, which stay folded and unsent),
//! automatic compaction and OpenRouter's `context-compression` plugin. Through the fake
//! OpenRouter, on a real Neovim and backend.

mod support;

use support::*;

/// A fake server with the catalogue, a Neovim set up against it (with `openrouter` fields of
/// setup(), Lua source), and the catalogue loaded (so context lengths are known).
async fn with_catalogue(openrouter: &str) -> (FakeServer, Nvim, tempfile::TempDir) {
    let server = FakeServer::start().await;
    server.route("GET", "/api/v1/models", catalogue_reply());
    let home = tempfile::tempdir().unwrap();
    let mut start = Start::new(home.path(), &server.base_url());
    start.openrouter = openrouter.into();
    let nv = Nvim::start(start).await;
    nv.install_event_counter().await;
    nv.exec("ZenModel! anthropic/claude-sonnet-4").await;
    (server, nv, home)
}

/// The meter's virtual text on the current chat's title line.
async fn meter(nv: &Nvim) -> serde_json::Value {
    nv.lua("return require('zen.meter').get(0)").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_context_meter_shows_the_last_answers_tokens_against_the_models_context() {
    let (server, nv, _home) = with_catalogue("").await;
    nv.exec("ZenNew openrouter name=long model=anthropic/claude-sonnet-4")
        .await;
    // Before any answer: an estimate.
    assert_eq!(meter(&nv).await, "ctx ~0/200k 0%");
    answer_hi(&server, &nv, answer_body(&["ok"], 12_000, 300, 0.01), 1).await;
    assert_eq!(meter(&nv).await, "ctx 12.3k/200k 6%");
    let first = nv.text(0).await.lines().next().unwrap().to_string();
    assert!(first.starts_with("# "), "on the title line: {first}");
    let status = nv.lua("return require('zen').status()").await;
    assert_eq!(
        status,
        "zen long · anthropic/claude-sonnet-4 · $0.0100 · ctx 12.3k/200k 6% · idle"
    );
    // A model with a smaller context: the same tokens fill more of it.
    nv.exec("ZenModel openai/gpt-4o").await;
    assert_eq!(meter(&nv).await, "ctx 12.3k/128k 9%");
    let status = nv.lua("return require('zen').status()").await;
    assert!(
        status.as_str().unwrap().contains("ctx 12.3k/128k 9%"),
        "{status}"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_chat_shows_its_meter_from_the_history() {
    let (server, nv, home) = with_catalogue("").await;
    nv.exec("ZenNew openrouter name=again model=openai/gpt-4o")
        .await;
    answer_hi(&server, &nv, answer_body(&["ok"], 64_000, 0, 0.0), 1).await;
    nv.quit().await;
    let mut start = Start::new(home.path(), &server.base_url());
    start.openrouter = String::new();
    let nv = Nvim::start(start).await;
    nv.exec("ZenModel! openai/gpt-4o").await;
    nv.lua("require('zen').open('again')").await;
    nv.wait_for("require('zen.meter').get(0) == 'ctx 64k/128k 50%'", 10)
        .await;
    nv.quit().await;
}

const CHAT: &str = "/api/v1/chat/completions";

/// Two answered turns in a new chat `name` (model openai/gpt-4o), then `:ZenCompact` answered
/// with `summary`; waits for the summary to be in.
async fn compacted_chat(server: &FakeServer, nv: &Nvim, name: &str, summary: &str) {
    nv.exec(&format!(
        "ZenNew openrouter name={name} model=openai/gpt-4o"
    ))
    .await;
    answer_hi(server, nv, answer_body(&["first answer"], 10, 5, 0.001), 1).await;
    server.push(sse(answer_body(&["second answer"], 20, 5, 0.001)));
    nv.type_prompt("second question").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(2, 10).await;
    server.push(sse(answer_body(&[summary], 40, 8, 0.002)));
    nv.exec("ZenCompact").await;
    nv.wait_note("compacted 4 messages", 10).await;
}

/// The messages of the `n`th chat request (0-based).
fn sent(server: &FakeServer, n: usize) -> serde_json::Value {
    server.requests_to(CHAT)[n].body["messages"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compacted_turns_are_folded_and_not_sent_and_the_summary_is_sent_instead() {
    let (server, nv, _home) = with_catalogue("").await;
    compacted_chat(&server, &nv, "squash", "SUMMARY of hi and two answers").await;
    // The summary was asked of the model with the whole conversation, and costs like an answer.
    let asked = sent(&server, 2);
    let asked = asked.as_array().unwrap();
    assert_eq!(asked[0]["content"], "hi");
    assert!(asked.last().unwrap()["content"]
        .as_str()
        .unwrap()
        .starts_with("Summarise our conversation"));
    let text = nv.text(0).await;
    for row in [
        "::: compacted · not sent {{{",
        "## Summary",
        "SUMMARY of hi and two answers",
        "> [zen] compacted · 40 in · 8 out · $0.002000",
    ] {
        assert!(text.contains(row), "{row}:\n{text}");
    }
    assert!(
        text.contains("first answer"),
        "the turns stay in the buffer"
    );
    // Folded, as a zen block.
    let open_row = text
        .lines()
        .position(|l| l.starts_with("::: compacted"))
        .unwrap();
    let folded = nv
        .lua(&format!("return vim.fn.foldclosed({})", open_row + 1))
        .await;
    assert_eq!(
        folded,
        (open_row + 1) as i64,
        "the compacted turns are folded"
    );
    // The next request: the summary, then the new prompt; none of the compacted turns.
    server.push(sse(answer_body(&["third answer"], 30, 5, 0.001)));
    nv.type_prompt("third question").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(3, 10).await;
    assert_eq!(
        sent(&server, 3),
        serde_json::json!([
            {"role": "system", "content": "SUMMARY of hi and two answers"},
            {"role": "user", "content": "third question"},
        ])
    );
    assert!(server.requests_to(CHAT)[3].body.get("plugins").is_none());
    // History keeps everything; the spend has the summary's cost.
    let history = std::fs::read_dir(nv.state_dir.join("history"))
        .unwrap()
        .flatten()
        .map(|f| std::fs::read_to_string(f.path()).unwrap())
        .collect::<String>();
    assert!(history.contains(r#""type":"compact""#), "{history}");
    assert!(history.contains("first answer"));
    let usage = std::fs::read_to_string(nv.state_dir.join("usage.jsonl")).unwrap();
    assert_eq!(usage.lines().count(), 4, "{usage}");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_compacted_chat_shows_and_sends_the_same() {
    let (server, nv, home) = with_catalogue("").await;
    compacted_chat(&server, &nv, "again", "SUMMARY kept").await;
    // Reopened notes carry no session totals (as for every chat).
    let before: Vec<String> = nv
        .text(0)
        .await
        .lines()
        .map(|l| l.split(" · session ").next().unwrap().to_string())
        .collect();
    let before = before.join("\n");
    nv.quit().await;
    let nv = Nvim::start(Start::new(home.path(), &server.base_url())).await;
    nv.install_event_counter().await;
    nv.lua("require('zen').open('again')").await;
    let after = nv.text(0).await;
    assert_eq!(after.trim_end(), before.trim_end());
    let open_row = after
        .lines()
        .position(|l| l.starts_with("::: compacted"))
        .unwrap();
    let folded = nv
        .lua(&format!("return vim.fn.foldclosed({})", open_row + 1))
        .await;
    assert_eq!(folded, (open_row + 1) as i64, "folded again");
    server.push(sse(answer_body(&["ok"], 30, 5, 0.001)));
    nv.exec("normal! G").await;
    nv.type_prompt("after reopening").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;
    assert_eq!(
        sent(&server, 3),
        serde_json::json!([
            {"role": "system", "content": "SUMMARY kept"},
            {"role": "user", "content": "after reopening"},
        ])
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zen_compact_before_any_answer_says_there_is_nothing_to_compact() {
    let (server, nv, _home) = with_catalogue("").await;
    nv.exec("ZenNew openrouter model=openai/gpt-4o").await;
    nv.exec("ZenCompact").await;
    let note = nv.wait_note("nothing to compact", 5).await;
    assert_eq!(
        note,
        "zen: nothing to compact yet: a chat needs an answer first."
    );
    assert!(server.requests_to(CHAT).is_empty());
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_compaction_summarises_before_a_submit_that_would_fill_the_context() {
    let (server, nv, _home) = with_catalogue(r#"compact = "auto""#).await;
    // tiny/small-context has 1000 tokens: a 3,600-character answer fills 90% of it.
    nv.exec("ZenNew openrouter model=tiny/small-context").await;
    let long = "x".repeat(3600);
    answer_hi(&server, &nv, answer_body(&[&long], 900, 900, 0.0), 1).await;
    server.push(sse(answer_body(&["SUMMARY auto"], 900, 5, 0.0)));
    server.push(sse(answer_body(&["answer after"], 20, 5, 0.0)));
    nv.type_prompt("go on").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(2, 10).await;
    let asked = sent(&server, 1);
    assert!(asked.as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .starts_with("Summarise our conversation"));
    assert_eq!(
        sent(&server, 2),
        serde_json::json!([
            {"role": "system", "content": "SUMMARY auto"},
            {"role": "user", "content": "go on"},
        ])
    );
    let text = nv.text(0).await;
    assert!(text.contains("::: compacted · not sent {{{"), "{text}");
    assert!(text.contains("answer after"), "{text}");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compact_plugin_sends_openrouters_context_compression_plugin() {
    let (server, nv, _home) = with_catalogue(r#"compact = "plugin""#).await;
    nv.exec("ZenNew openrouter model=openai/gpt-4o").await;
    answer_hi(&server, &nv, answer_body(&["ok"], 1, 1, 0.0), 1).await;
    assert_eq!(
        server.requests_to(CHAT)[0].body["plugins"],
        serde_json::json!([{"id": "context-compression"}])
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_edited_while_compacting_is_left_as_it_is() {
    let (server, nv, _home) = with_catalogue("").await;
    nv.exec("ZenNew openrouter name=busy model=openai/gpt-4o")
        .await;
    answer_hi(
        &server,
        &nv,
        answer_body(&["first answer"], 10, 5, 0.001),
        1,
    )
    .await;
    // The summary arrives slowly; meanwhile the user adds a line above the turns.
    let slow = answer_body(&["a summary that comes slowly"], 40, 8, 0.002);
    server.push(sse_split(&slow, 16, 100));
    nv.exec("ZenCompact").await;
    nv.lua("vim.api.nvim_buf_set_lines(0, 2, 2, false, { 'typed while compacting' })")
        .await;
    let note = nv.wait_note("changed while compacting", 20).await;
    assert_eq!(
        note,
        "zen: the chat changed while compacting; nothing was folded (the summary's cost is counted). Run :ZenCompact again."
    );
    let text = nv.text(0).await;
    assert!(!text.contains("::: compacted"), "{text}");
    assert!(!text.contains("## Summary"), "{text}");
    let history = std::fs::read_dir(nv.state_dir.join("history"))
        .unwrap()
        .flatten()
        .map(|f| std::fs::read_to_string(f.path()).unwrap())
        .collect::<String>();
    assert!(!history.contains(r#""type":"compact""#), "{history}");
    let usage = std::fs::read_to_string(nv.state_dir.join("usage.jsonl")).unwrap();
    assert_eq!(
        usage.lines().count(),
        2,
        "the summary was paid for: {usage}"
    );
    nv.quit().await;
}
