//! `:ZenSend`, the `<Plug>(zen-send)` operator and visual mapping, target rules, and references
//! (`@file`, `#buffer`, `#diagnostics`, `@image`) inside chat prompts.

mod support;

use support::*;

/// A project (git root) with a source file, and Neovim started in it editing that file.
async fn project() -> (FakeServer, Nvim, tempfile::TempDir) {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let proj = home.path().join("proj");
    std::fs::create_dir_all(proj.join(".git")).unwrap();
    std::fs::create_dir_all(proj.join("src")).unwrap();
    std::fs::write(
        proj.join("src/lib.rs"),
        "fn one() {}\nfn two() {}\nlet s = \"héllo wörld ✓\";\nfn four() {}\nfn five() {}\n",
    )
    .unwrap();
    let mut start = Start::new(home.path(), &server.base_url());
    start.cwd = Some(proj.clone());
    let nv = Nvim::start(start).await;
    nv.install_event_counter().await;
    (server, nv, home)
}

/// A chat (so there is a last-used session), then back to the source file in the same window.
async fn chat_then_file(nv: &Nvim) {
    nv.exec("ZenNew openrouter model=test/model name=target")
        .await;
    nv.exec("edit src/lib.rs").await;
}

fn last_user(server: &FakeServer, n: usize) -> serde_json::Value {
    let reqs = server.requests_to("/api/v1/chat/completions");
    let msgs = reqs[n].body["messages"].as_array().unwrap().clone();
    msgs.last().unwrap()["content"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_is_sent_fenced_with_language_and_label() {
    let (server, nv, _home) = project().await;
    server.push(sse(answer_body(&["ok"], 1, 1, 0.0)));
    chat_then_file(&nv).await;
    nv.exec("2,4ZenSend Explain this").await;
    nv.wait_done(1, 10).await;
    assert_eq!(
        last_user(&server, 0),
        "Explain this\n\nsrc/lib.rs:2-4\n```rust\nfn two() {}\nlet s = \"héllo wörld ✓\";\nfn four() {}\n```"
    );
    assert_eq!(
        nv.lua("return vim.api.nvim_buf_get_name(0)").await,
        "zen://target",
        "the target is shown"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn characterwise_selection_with_multibyte_text() {
    let (server, nv, _home) = project().await;
    server.push(sse(answer_body(&["ok"], 1, 1, 0.0)));
    chat_then_file(&nv).await;
    // From the "é" of héllo (line 3) to the "f" of "fn four" (line 4).
    nv.exec("call cursor(3, 1) | call search('é') | exe \"normal! v4G0\\<Esc>\"")
        .await;
    nv.exec("'<,'>ZenSend").await;
    nv.wait_done(1, 10).await;
    assert_eq!(
        last_user(&server, 0),
        "src/lib.rs:3-4\n```rust\néllo wörld ✓\";\nf\n```"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blockwise_selection() {
    let (server, nv, _home) = project().await;
    server.push(sse(answer_body(&["ok"], 1, 1, 0.0)));
    chat_then_file(&nv).await;
    nv.exec("exe \"normal! 1G4|\\<C-v>2G6|\\<Esc>\"").await;
    nv.exec("'<,'>ZenSend what are these").await;
    nv.wait_done(1, 10).await;
    assert_eq!(
        last_user(&server, 0),
        "what are these\n\nsrc/lib.rs:1-2\n```rust\none\ntwo\n```"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_asks_for_an_instruction_first() {
    let (server, nv, _home) = project().await;
    server.push(sse(answer_body(&["ok"], 1, 1, 0.0)));
    server.push(sse(answer_body(&["ok"], 1, 1, 0.0)));
    chat_then_file(&nv).await;
    nv.lua("vim.keymap.set('n', 'gz', '<Plug>(zen-send)') vim.keymap.set('x', 'gz', '<Plug>(zen-send)')").await;
    // Answers "explain these", then nothing (the code alone), then Esc (nothing is sent).
    nv.lua(
        "local answers = { 'explain these', '', nil }
         _G.asked = 0
         vim.ui.input = function(opts, cb) _G.asked = _G.asked + 1 cb(answers[_G.asked]) end",
    )
    .await;
    nv.exec("normal 4Ggzj").await;
    nv.wait_done(1, 10).await;
    assert_eq!(
        last_user(&server, 0),
        "explain these\n\nsrc/lib.rs:4-5\n```rust\nfn four() {}\nfn five() {}\n```"
    );
    nv.exec("edit src/lib.rs").await;
    nv.exec("normal 1GVgz").await;
    nv.wait_done(2, 10).await;
    assert_eq!(
        last_user(&server, 1),
        "src/lib.rs:1\n```rust\nfn one() {}\n```"
    );
    nv.exec("edit src/lib.rs").await;
    nv.exec("normal 2Ggzj").await;
    assert_eq!(nv.lua("return _G.asked").await, 3);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        server.requests_to("/api/v1/chat/completions").len(),
        2,
        "Esc sends nothing"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_with_send_ask_off_sends_at_once() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let proj = home.path().join("proj");
    std::fs::create_dir_all(proj.join(".git")).unwrap();
    std::fs::create_dir_all(proj.join("src")).unwrap();
    std::fs::write(proj.join("src/lib.rs"), "fn one() {}\nfn two() {}\n").unwrap();
    let mut start = Start::new(home.path(), &server.base_url());
    start.cwd = Some(proj.clone());
    start.setup = "send = { ask = false },".into();
    let nv = Nvim::start(start).await;
    nv.install_event_counter().await;
    server.push(sse(answer_body(&["ok"], 1, 1, 0.0)));
    chat_then_file(&nv).await;
    nv.lua("vim.ui.input = function() error('asked') end vim.keymap.set('n', 'gz', '<Plug>(zen-send)')").await;
    nv.exec("normal 1Ggzj").await;
    nv.wait_done(1, 10).await;
    assert_eq!(
        last_user(&server, 0),
        "src/lib.rs:1-2\n```rust\nfn one() {}\nfn two() {}\n```"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_megabyte_selection_arrives_whole() {
    let (server, nv, home) = project().await;
    server.push(sse(answer_body(&["ok"], 1, 1, 0.0)));
    let line = "let value = \"ünïcödé text that repeats\"; // padding padding\n";
    let big: String = line.repeat(1_048_576 / line.len() + 1);
    std::fs::write(home.path().join("proj/big.rs"), &big).unwrap();
    nv.exec("ZenNew openrouter model=test/model name=target")
        .await;
    nv.exec("edit big.rs").await;
    nv.exec("%ZenSend").await;
    nv.wait_done(1, 20).await;
    let n = big.lines().count();
    let expected = format!("big.rs:1-{n}\n```rust\n{big}```");
    let got = last_user(&server, 0);
    assert_eq!(got.as_str().unwrap().len(), expected.len());
    assert!(
        got == expected.as_str(),
        "the 1 MB selection arrived changed"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_rules_current_window_then_last_used_then_name_then_picker() {
    let (server, nv, _home) = project().await;
    for _ in 0..4 {
        server.push(sse(answer_body(&["ok"], 1, 1, 0.0)));
    }
    // No session at all: a picker offering a new chat.
    nv.lua("_G.seen = nil vim.ui.select = function(items, opts, cb) _G.seen = vim.tbl_map(opts.format_item, items) cb(items[#items]) end").await;
    nv.exec("edit src/lib.rs").await;
    nv.exec("1ZenSend first").await;
    nv.wait_done(1, 10).await;
    assert_eq!(
        nv.lua("return _G.seen").await,
        serde_json::json!(["new openrouter chat"])
    );
    assert_eq!(
        nv.lua("return vim.api.nvim_buf_get_name(0)").await,
        "zen://chat-1"
    );
    // A second chat becomes the last used; sending from the file goes there.
    nv.exec("ZenNew openrouter name=second").await;
    nv.exec("edit src/lib.rs").await;
    nv.exec("2ZenSend second").await;
    nv.wait_done(2, 10).await;
    assert_eq!(
        nv.lua("return vim.api.nvim_buf_get_name(0)").await,
        "zen://second"
    );
    // session= picks by name.
    nv.exec("edit src/lib.rs").await;
    nv.exec("3ZenSend session=chat-1 third").await;
    nv.wait_done(3, 10).await;
    assert_eq!(
        nv.lua("return vim.api.nvim_buf_get_name(0)").await,
        "zen://chat-1"
    );
    // In a chat window, that chat is the target, whatever was used last.
    nv.exec("buffer zen://second").await;
    nv.exec("ZenSend plain text from the chat").await;
    let done = nv.wait_done(4, 10).await;
    assert_eq!(done["name"], "second");
    assert_eq!(last_user(&server, 3), "plain text from the chat");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn references_inline_files_the_code_buffer_and_its_diagnostics() {
    let (server, nv, home) = project().await;
    server.push(sse(answer_body(&["ok"], 1, 1, 0.0)));
    std::fs::write(home.path().join("outside.txt"), "outside text\n").unwrap();
    nv.exec("ZenNew openrouter model=test/model name=target")
        .await;
    nv.exec("edit src/lib.rs").await;
    nv.lua("local ns = vim.api.nvim_create_namespace('t') vim.diagnostic.set(ns, 0, {{ lnum = 1, col = 3, severity = 1, message = 'unused fn', source = 'rustc' }})").await;
    nv.exec("buffer zen://target").await;
    nv.type_prompt("Review @src/lib.rs, #buffer and #diagnostics. Also @../outside.txt.\n```python\n@app.route('/x')\n```").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;
    let file = std::fs::read_to_string(home.path().join("proj/src/lib.rs")).unwrap();
    let outside = home.path().join("outside.txt").canonicalize().unwrap();
    let expected = format!(
        "Review @src/lib.rs, #buffer and #diagnostics. Also @../outside.txt.\n```python\n@app.route('/x')\n```\n\n\
         src/lib.rs\n```rust\n{file}```\n\n\
         src/lib.rs\n```rust\n{file}```\n\n\
         diagnostics of src/lib.rs\n```\nsrc/lib.rs:2:4: error: unused fn [rustc]\n```\n\n\
         {}\n```\noutside text\n```",
        outside.display()
    );
    assert_eq!(last_user(&server, 0), expected.as_str());
    // The chat buffer keeps the prompt as typed; the history keeps what was sent.
    assert!(!nv.text(0).await.contains("unused fn"));
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_binary_files_are_refused_before_sending() {
    let (server, nv, home) = project().await;
    std::fs::write(home.path().join("proj/blob.bin"), [0u8, 1, 2, 255, 254]).unwrap();
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("look at @src/nope.rs").await;
    nv.exec("ZenSubmit").await;
    let note = nv.wait_note("@src/nope.rs: no such file", 5).await;
    assert!(note.contains("proj/src/nope.rs"), "{note}");
    nv.lua("vim.api.nvim_buf_set_lines(0, -2, -1, false, {'look at @blob.bin'})")
        .await;
    nv.exec("ZenSubmit").await;
    nv.wait_note("@blob.bin is a binary file", 5).await;
    assert!(server.requests_to("/api/v1/chat/completions").is_empty());
    assert!(
        nv.text(0).await.ends_with("look at @blob.bin"),
        "the prompt stays in the buffer"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_go_to_vision_models_only() {
    use base64::Engine;
    let (server, nv, home) = project().await;
    server.route("GET", "/api/v1/models", catalogue_reply());
    server.push(sse(answer_body(&["a cat"], 1, 1, 0.0)));
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR fake image bytes".to_vec();
    std::fs::write(home.path().join("proj/shot.png"), &png).unwrap();
    nv.lua("vim.ui.select = function(items, opts, cb) _G.loaded = true cb(nil) end")
        .await;
    nv.exec("ZenModel").await; // loads the catalogue
    nv.wait_for("_G.loaded", 10).await;
    nv.exec("ZenNew openrouter model=tiny/small-context").await;
    nv.type_prompt("what is in @shot.png?").await;
    nv.exec("ZenSubmit").await;
    nv.wait_note("tiny/small-context does not accept images", 5)
        .await;
    assert!(server.requests_to("/api/v1/chat/completions").is_empty());
    nv.exec("ZenModel openai/gpt-4o").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;
    let url = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&png)
    );
    assert_eq!(
        last_user(&server, 0),
        serde_json::json!([
            {"type": "text", "text": "what is in @shot.png?"},
            {"type": "image_url", "image_url": {"url": url}},
        ])
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_buffers_complete_at_paths_and_hash_words() {
    let (_server, nv, _home) = project().await;
    nv.exec("ZenNew openrouter").await;
    let omni = nv.lua("return vim.bo.omnifunc").await;
    assert_eq!(omni, "v:lua.require'zen.complete'.omni");
    let words = nv.lua("return vim.tbl_map(function(i) return i.word end, require('zen.complete').omni(0, '@src/l'))").await;
    assert_eq!(words, serde_json::json!(["@src/lib.rs"]));
    let hash = nv.lua("return require('zen.complete').omni(0, '#d')").await;
    assert_eq!(hash, serde_json::json!(["#diagnostics"]));
    nv.lua("vim.api.nvim_buf_set_lines(0, -1, -1, false, {'see @sr'}) vim.api.nvim_win_set_cursor(0, {vim.api.nvim_buf_line_count(0), 7})").await;
    assert_eq!(
        nv.lua("return require('zen.complete').omni(1, '')").await,
        4
    );
    nv.quit().await;
}
