//! Feedback around an answer: the waiting line, :ZenRetry, one note when stopped, costs read the
//! same everywhere.

mod support;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_waiting_line_shows_until_the_first_text() {
    let (server, nv, _home) = setup().await;
    nv.exec("ZenNew openrouter model=test/model").await;
    let body = answer_body(&["late answer"], 1, 1, 0.0);
    server.push(sse_split(&body, body.len(), 700)); // under the 1.5 s stall timeout
    nv.type_prompt("hi").await;
    nv.exec("ZenSubmit").await;
    let waiting = r#"(function()
        local ns = vim.api.nvim_create_namespace('zen_waiting')
        local m = vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })[1]
        if not m then return false end
        local line = vim.api.nvim_buf_get_lines(0, m[2], m[2] + 1, false)[1]
        return line .. ' |' .. m[4].virt_text[1][1]
      end)()"#;
    let shown = nv.wait_for(waiting, 5).await;
    let shown = shown.as_str().unwrap();
    assert!(
        shown.starts_with("## Assistant · test/model |  waiting… "),
        "{shown}"
    );
    nv.wait_done(1, 10).await;
    assert_eq!(nv.lua(&format!("return {waiting}")).await, false);
    assert!(nv.text(0).await.contains("late answer"));
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_waiting_line_says_retrying_while_the_backend_waits_to_retry() {
    let (server, nv, _home) = setup().await;
    nv.exec("ZenNew openrouter model=test/model").await;
    // Retry-After: 1 makes each wait a full second: long enough to be seen under load.
    server.push(error_reply(500, "boom", &[("Retry-After", "1")]));
    server.push(error_reply(500, "boom", &[("Retry-After", "1")]));
    server.push(sse(answer_body(&["third time lucky"], 1, 1, 0.0)));
    nv.type_prompt("hi").await;
    nv.exec("ZenSubmit").await;
    for n in ["1/2", "2/2"] {
        let probe = format!(
            r#"(function()
            local ns = vim.api.nvim_create_namespace('zen_waiting')
            local m = vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, {{ details = true }})[1]
            local text = m and m[4].virt_text[1][1] or ''
            return text:find('retrying {n}', 1, true) and text or false
          end)()"#
        );
        let shown = nv.wait_for(&probe, 10).await;
        assert!(shown
            .as_str()
            .unwrap()
            .starts_with(&format!("  retrying {n}")));
    }
    nv.wait_done(1, 10).await;
    let text = nv.text(0).await;
    assert!(text.contains("third time lucky"), "{text}");
    assert!(!text.contains("retrying"), "{text}");
    assert_eq!(server.requests_to("/api/v1/chat/completions").len(), 3);
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zen_retry_replaces_the_last_answer_and_refuses_after_a_new_prompt() {
    let (server, nv, _home) = setup().await;
    nv.exec("ZenNew openrouter model=test/model").await;
    answer_hi(&server, &nv, answer_body(&["first try"], 1, 1, 0.0), 1).await;
    server.push(sse(answer_body(&["second try"], 1, 1, 0.0)));
    nv.exec("stopinsert").await;
    nv.exec("normal gR").await;
    nv.wait_done(2, 10).await;
    let text = nv.text(0).await;
    assert!(!text.contains("first try"), "{text}");
    assert_eq!(text.matches("## Assistant").count(), 1, "{text}");
    assert!(text.contains("second try"), "{text}");
    let reqs = server.requests_to("/api/v1/chat/completions");
    assert_eq!(
        reqs[1].body["messages"],
        serde_json::json!([{"role": "user", "content": "hi"}])
    );
    nv.type_prompt("a new question").await;
    nv.exec("ZenRetry").await;
    nv.wait_note("you wrote after the last answer", 5).await;
    assert_eq!(server.requests_to("/api/v1/chat/completions").len(), 2);
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn costs_read_the_same_in_the_note_the_statusline_and_the_session_list() {
    let (server, nv, _home) = setup().await;
    nv.exec("ZenNew openrouter model=test/model name=cost")
        .await;
    answer_hi(&server, &nv, answer_body(&["ok"], 17, 6, 0.0001025), 1).await;
    assert!(nv
        .text(0)
        .await
        .contains("· session 17 in · 6 out · $0.000102\n"));
    let status = nv.lua("return require('zen').status()").await;
    assert_eq!(
        status,
        "zen cost · test/model · $0.000102 · ctx 23/? · idle"
    );
    let row = nv
        .lua(
            "local rows = require('zen.backend').request('list')
             return require('zen.picker').format_row(rows[1])",
        )
        .await;
    assert!(row.as_str().unwrap().contains(" $0.000102 "), "{row}");
    nv.quit().await;
}

/// The `> [zen]` note lines of the current buffer.
async fn notes_in_buffer(nv: &Nvim) -> Vec<String> {
    nv.text(0)
        .await
        .lines()
        .filter(|l| l.starts_with("> [zen]"))
        .map(String::from)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_adds_one_note_not_two() {
    let (server, nv, _home) = setup().await;
    let words: Vec<String> = (0..400).map(|i| format!("w{i} ")).collect();
    let body = answer_body(
        &words.iter().map(String::as_str).collect::<Vec<_>>(),
        1,
        1,
        0.0,
    );
    server.push(sse_split(&body, 200, 25));
    nv.exec("ZenNew openrouter model=test/model name=stop")
        .await;
    nv.type_prompt("long please").await;
    nv.exec("ZenSubmit").await;
    nv.wait_for("vim.fn.search('w3 ', 'n') > 0", 10).await;
    nv.exec("ZenStop").await;
    nv.wait_done(1, 10).await;
    let live = notes_in_buffer(&nv).await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert!(live[0].starts_with("> [zen] stopped · "), "{live:?}");
    nv.exec("bwipeout!").await;
    nv.lua("require('zen').open('stop')").await;
    let reopened = notes_in_buffer(&nv).await;
    assert_eq!(reopened.len(), 1, "{reopened:?}");
    assert!(reopened[0].starts_with("> [zen] stopped"), "{reopened:?}");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_usage_note_shows_the_speed_and_the_time_to_the_first_text() {
    let (server, nv, _home) = setup().await;
    nv.exec("ZenNew openrouter model=test/model").await;
    let body = answer_body(&["one ", "two ", "three"], 3, 40, 0.0001);
    server.push(sse_split(&body, 60, 100));
    nv.type_prompt("hi").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;
    let shown = nv
        .lua(
            r#"
            local ns = vim.api.nvim_create_namespace('zen_speed')
            local out = {}
            for _, m in ipairs(vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })) do
              local line = vim.api.nvim_buf_get_lines(0, m[2], m[2] + 1, false)[1]
              table.insert(out, line .. ' |' .. m[4].virt_text[1][1])
            end
            return out
            "#,
        )
        .await;
    let shown = shown.as_array().unwrap();
    assert_eq!(shown.len(), 1, "{shown:?}");
    let text = shown[0].as_str().unwrap();
    assert!(text.starts_with("> [zen] 3 in · 40 out · "), "{text}");
    let tail = text.split(" |").nth(1).unwrap();
    let re_ok = tail.starts_with("  · ")
        && tail.contains(" tokens/s · first text after ")
        && tail.ends_with(" s");
    assert!(re_ok, "{tail}");
    nv.quit().await;
}
