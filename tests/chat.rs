//! OpenRouter chat sessions end to end: what the user sees in the buffer, what the server receives.

mod support;

use support::*;

fn expected_chat(prompt: &str, answer: &str, note: &str) -> String {
    format!(
        "# zen · chat-1 · test/model\n\n## User\n\n{prompt}\n\n## Assistant · test/model\n\n{answer}\n\n{note}\n\n## User\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_an_answer_into_the_chat_buffer() {
    let (server, nv, _home) = setup().await;
    server.push(sse(answer_body(
        &["Hel", "lo ", "wörld ✓"],
        17,
        6,
        0.0001025,
    )));
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("Say hello").await;
    nv.exec("ZenSubmit").await;
    let done = nv.wait_done(1, 10).await;
    assert_eq!(done["prompt_tokens"], 17);
    assert_eq!(done["completion_tokens"], 6);
    assert_eq!(done["cost"], 0.0001025);
    assert!(done["error"].is_null(), "{done}");
    let note = "> [zen] 17 in · 6 out · $0.000102 · session 17 in · 6 out · $0.000102";
    assert_eq!(
        nv.text(0).await,
        expected_chat("Say hello", "Hello wörld ✓", note)
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_carries_conversation_headers_and_settings() {
    let (server, nv, _home) = setup().await;
    server.push(sse(answer_body(&["first answer"], 5, 2, 0.001)));
    server.push(sse(answer_body(&["second answer"], 9, 2, 0.002)));
    nv.exec("ZenNew openrouter model=test/model temperature=0.3")
        .await;
    nv.type_prompt("one").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;
    // The buffer is the conversation: an edit to an earlier turn is what gets sent.
    nv.lua("local l = vim.api.nvim_buf_get_lines(0, 0, -1, false) for i, s in ipairs(l) do if s == 'one' then vim.api.nvim_buf_set_lines(0, i - 1, i, false, {'one (edited)'}) end end").await;
    nv.type_prompt("two").await;
    nv.exec("ZenSubmit").await;
    let done = nv.wait_done(2, 10).await;
    assert_eq!(done["session_cost"], 0.003);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    let r = &reqs[1];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/api/v1/chat/completions");
    assert_eq!(r.headers["authorization"], format!("Bearer {TEST_KEY}"));
    assert_eq!(r.headers["x-title"], "zen-portal");
    assert!(r.headers.contains_key("http-referer"));
    assert_eq!(r.body["model"], "test/model");
    assert_eq!(r.body["stream"], true);
    assert_eq!(r.body["temperature"], 0.3);
    assert!(r.body["session_id"].as_str().is_some_and(|s| s.len() == 36));
    assert_eq!(
        r.body["messages"],
        serde_json::json!([
            {"role": "user", "content": "one (edited)"},
            {"role": "assistant", "content": "first answer"},
            {"role": "user", "content": "two"},
        ])
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multibyte_split_across_reads_crlf_and_keepalives() {
    let (server, nv, _home) = setup().await;
    let body = answer_body(&["日本語の", "テキスト ✓ ", "émigré"], 3, 4, 0.0)
        .replace("\n\n", "\r\n\r\n")
        .replace(
            "data: [DONE]",
            ": OPENROUTER PROCESSING\r\n\r\ndata: [DONE]",
        );
    server.push(sse_split(&body, 5, 1)); // 5-byte reads cut every multi-byte character somewhere
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("hi").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 15).await;
    let text = nv.text(0).await;
    assert!(text.contains("\n日本語のテキスト ✓ émigré\n"), "{text}");
    assert!(text.contains("> [zen] 3 in · 4 out · $0 ·"), "{text}");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_chunk_with_empty_choices_and_multiline_answer() {
    let (server, nv, _home) = setup().await;
    let mut body = String::from(": OPENROUTER PROCESSING\n\n");
    body.push_str(&content_chunk("line one\n\n```lua\nprint(1)\n```"));
    body.push_str(&data(
        &serde_json::json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
    ));
    body.push_str(&data(&serde_json::json!({"choices": [], "usage": {"prompt_tokens": 8, "completion_tokens": 9, "cost": 0.25}})));
    body.push_str("data: [DONE]\n\n");
    server.push(sse(body));
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("code please").await;
    nv.exec("ZenSubmit").await;
    let done = nv.wait_done(1, 10).await;
    assert_eq!(done["cost"], 0.25);
    let text = nv.text(0).await;
    assert!(
        text.contains("\nline one\n\n```lua\nprint(1)\n```\n\n> [zen] 8 in · 9 out · $0.2500 ·"),
        "{text}"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reasoning_goes_to_a_foldable_block_and_is_not_sent_back() {
    let (server, nv, _home) = setup().await;
    let mut body = reasoning_chunk("Let me ");
    body.push_str(&reasoning_chunk("think."));
    body.push_str(&content_chunk("Answer."));
    body.push_str(&ending(1, 2, 0.0));
    server.push(sse(body));
    server.push(sse(answer_body(&["ok"], 1, 1, 0.0)));
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("q").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;
    let text = nv.text(0).await;
    assert!(
        text.contains("\n::: reasoning {{{\nLet me think.\n::: }}}\n\nAnswer.\n"),
        "{text}"
    );
    let fold = nv
        .lua("local l = vim.fn.search('::: reasoning', 'n') return vim.fn.foldlevel(l)")
        .await;
    assert_eq!(fold, 1, "the reasoning block is a fold");
    nv.type_prompt("next").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(2, 10).await;
    let sent = &server.requests()[1].body["messages"];
    assert_eq!(sent[1]["content"], "Answer.");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_undo_step_per_answer_and_cursor_follows_the_tail() {
    let (server, nv, _home) = setup().await;
    let deltas: Vec<String> = (0..40).map(|i| format!("word{i} ")).collect();
    let refs: Vec<&str> = deltas.iter().map(String::as_str).collect();
    server.push(sse_split(&answer_body(&refs, 1, 40, 0.0), 200, 5));
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("go").await;
    nv.exec("normal! G").await;
    let before = nv.text(0).await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;
    let after = nv.text(0).await;
    assert!(after.contains("word39"), "{after}");
    let cursor = nv
        .lua("return vim.api.nvim_win_get_cursor(0)[1] == vim.api.nvim_buf_line_count(0)")
        .await;
    assert_eq!(cursor, true, "the cursor followed the answer");
    nv.exec("undo").await;
    assert_eq!(
        nv.text(0).await,
        before,
        "one undo removes the whole answer"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zen_new_with_prompt_sends_at_once() {
    let (server, nv, _home) = setup().await;
    server.push(sse(answer_body(&["42"], 1, 1, 0.0)));
    nv.exec("ZenNew openrouter model=test/model name=deep prompt=what is the answer")
        .await;
    nv.wait_done(1, 10).await;
    assert_eq!(
        server.requests()[0].body["messages"][0]["content"],
        "what is the answer"
    );
    let text = nv.text(0).await;
    assert!(text.starts_with("# zen · deep · test/model\n\n## User\n\nwhat is the answer\n\n## Assistant · test/model\n\n42\n"), "{text}");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_are_named() {
    let (_server, nv, _home) = setup().await;
    nv.exec("ZenNew openrouter colour=blue").await;
    nv.wait_note("unknown argument 'colour'", 5).await;
    nv.exec("ZenNew openrouter temperature=9").await;
    nv.wait_note("temperature=9 must be a number from 0 to 2", 5)
        .await;
    nv.exec("ZenNew openrouter name=bad/name").await;
    nv.wait_note("may hold only letters", 5).await;
    nv.exec("ZenNew claude-ish").await;
    nv.wait_note("unknown session kind 'claude-ish'", 5).await;
    nv.exec("ZenNew openrouter").await;
    nv.exec("ZenSubmit").await;
    nv.wait_note("nothing to send", 5).await;
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_longer_than_one_read_slice_is_sent_whole_with_its_edits() {
    let (server, nv, _home) = setup().await;
    // 12000 lines: the backend reads the buffer in slices of 5000.
    let answer: String = (0..12000).map(|i| format!("line {i} ✓\n")).collect();
    let answer = answer.trim_end().to_string();
    server.push(sse(answer_body(&[&answer], 1, 1, 0.0)));
    server.push(sse(answer_body(&["ok"], 1, 1, 0.0)));
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("first").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 30).await;
    nv.lua("local l = vim.api.nvim_buf_get_lines(0, 0, -1, false) for i, s in ipairs(l) do if s == 'first' then vim.api.nvim_buf_set_lines(0, i - 1, i, false, {'first (edited)'}) end end").await;
    nv.type_prompt("second").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(2, 30).await;
    let sent = &server.requests()[1].body["messages"];
    assert_eq!(sent[0]["content"], "first (edited)");
    assert_eq!(sent[1]["content"], answer.as_str());
    assert_eq!(sent[2]["content"], "second");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_turn_edited_after_two_partial_reads_is_sent() {
    // Submits after the first read only the changed rows; an edit far above them must still show.
    let (server, nv, _home) = setup().await;
    for a in ["a1", "a2", "a3"] {
        server.push(sse(answer_body(&[a], 1, 1, 0.0)));
    }
    nv.exec("ZenNew openrouter model=test/model").await;
    for (n, q) in ["q1", "q2"].iter().enumerate() {
        nv.type_prompt(q).await;
        nv.exec("ZenSubmit").await;
        nv.wait_done(n + 1, 10).await;
    }
    nv.lua("local l = vim.api.nvim_buf_get_lines(0, 0, -1, false) for i, s in ipairs(l) do if s == 'q1' then vim.api.nvim_buf_set_lines(0, i - 1, i, false, {'q1 (edited)'}) end end").await;
    nv.type_prompt("q3").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(3, 10).await;
    let sent = &server.requests()[2].body["messages"];
    let texts: Vec<&str> = (0..5)
        .map(|i| sent[i]["content"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["q1 (edited)", "a1", "q2", "a2", "q3"]);
    nv.quit().await;
}
