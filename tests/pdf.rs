//! PDFs: `@paper.pdf` attaches a `file` part; `openrouter.pdf_engine` adds the `file-parser`
//! plugin; a model that takes no files (without an engine), a PDF over the limit or a file that
//! is not a PDF is refused before anything is spent.

mod support;

use base64::Engine;
use serde_json::json;
use support::*;

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

/// A Neovim in `home` whose setup() also has `setup`, with paper.pdf in its directory.
async fn start(setup: &str) -> (FakeServer, Nvim, tempfile::TempDir) {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("paper.pdf"), PDF).unwrap();
    let mut start = Start::new(home.path(), &server.base_url());
    start.setup = setup.replace("{url}", &format!("{:?}", server.base_url()));
    let nv = Nvim::start(start).await;
    nv.install_event_counter().await;
    (server, nv, home)
}

fn chat_requests(server: &FakeServer) -> Vec<Recorded> {
    server.requests_to("/api/v1/chat/completions")
}

/// Loads the catalogue (its `file` inputs) through the picker.
async fn load_catalogue(server: &FakeServer, nv: &Nvim) {
    server.route("GET", "/api/v1/models", catalogue_reply());
    nv.lua("vim.ui.select = function(items, opts, cb) _G.picked = true cb(nil) end")
        .await;
    nv.exec("ZenModel").await;
    nv.wait_for("_G.picked", 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pdf_is_sent_as_a_file_part_with_the_file_parser_plugin() {
    let (server, nv, _home) =
        start(r#"openrouter = { base_url = {url}, pdf_engine = "pdf-text" },"#).await;
    nv.exec("ZenNew openrouter model=test/model").await;
    server.push(sse(answer_body(&["read it"], 1, 1, 0.0)));
    nv.type_prompt("summarise @paper.pdf").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;
    let body = &chat_requests(&server)[0].body;
    let data = base64::engine::general_purpose::STANDARD.encode(PDF);
    assert_eq!(
        body["messages"][0]["content"],
        json!([
            {"type": "text", "text": "summarise @paper.pdf"},
            {"type": "file", "file": {"filename": "paper.pdf", "file_data": format!("data:application/pdf;base64,{data}")}}
        ])
    );
    assert_eq!(
        body["plugins"],
        json!([{"id": "file-parser", "pdf": {"engine": "pdf-text"}}])
    );
    assert!(
        !nv.text(0).await.contains(&data),
        "the buffer keeps what was typed"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pdf_for_a_model_without_file_input_is_refused_before_spending() {
    let (server, nv, _home) = start("").await;
    load_catalogue(&server, &nv).await;
    nv.exec("ZenNew openrouter model=openai/gpt-4o").await;
    nv.type_prompt("summarise @paper.pdf").await;
    nv.exec("ZenSubmit").await;
    let note = nv.wait_note("does not take files", 5).await;
    assert_eq!(
        note,
        "zen: openai/gpt-4o does not take files, so @paper.pdf cannot be sent. Set openrouter.pdf_engine (\"pdf-text\" or \"mistral-ocr\") to have OpenRouter read it, pick a model that takes files with :ZenModel, or remove the reference."
    );
    assert!(chat_requests(&server).is_empty(), "nothing was spent");

    // A model that takes files gets it, without a plugin (no engine set).
    nv.exec("ZenNew openrouter model=anthropic/claude-sonnet-4")
        .await;
    server.push(sse(answer_body(&["ok"], 1, 1, 0.0)));
    nv.type_prompt("summarise @paper.pdf").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;
    let body = &chat_requests(&server)[0].body;
    assert_eq!(body["messages"][0]["content"][1]["type"], "file");
    assert!(body.get("plugins").is_none(), "{body}");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pdf_over_the_limit_or_not_a_pdf_is_refused_before_spending() {
    let (server, nv, home) = start("references = { max_pdf_bytes = 20 },").await;
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("summarise @paper.pdf").await;
    nv.exec("ZenSubmit").await;
    let note = nv.wait_note("max_pdf_bytes", 5).await;
    assert!(
        note.starts_with("zen: @paper.pdf is 50 bytes, over the 20 bytes limit (references.max_pdf_bytes). Send fewer pages, or raise the limit."),
        "{note}"
    );
    std::fs::write(home.path().join("fake.pdf"), "hello").unwrap();
    nv.lua("vim.api.nvim_buf_set_lines(0, -2, -1, false, { 'what is @fake.pdf' })")
        .await;
    nv.exec("ZenSubmit").await;
    nv.wait_note("zen: @fake.pdf is not a PDF", 5).await;
    assert!(chat_requests(&server).is_empty(), "nothing was spent");
    nv.quit().await;
}
