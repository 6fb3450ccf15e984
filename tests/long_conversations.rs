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
