//! Stopping, closing buffers mid-stream, and several sessions streaming at once.

mod support;

use std::time::Duration;

use support::*;

fn slow_answer(words: usize, delay_ms: u64) -> Reply {
    let mut parts = vec![Part {
        delay_ms: 0,
        bytes: b": OPENROUTER PROCESSING\n\n".to_vec(),
    }];
    for i in 0..words {
        parts.push(Part {
            delay_ms,
            bytes: content_chunk(&format!("w{i} ")).into_bytes(),
        });
    }
    parts.push(Part {
        delay_ms,
        bytes: ending(1, words as u64, 0.01).into_bytes(),
    });
    Reply::Sse { parts, hang: false }
}

/// A chat whose answer streams slowly, `words` words long, once its first words are in.
async fn streaming_chat(server: &FakeServer, nv: &Nvim, words: usize) {
    server.push(slow_answer(words, 25));
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("long please").await;
    nv.exec("ZenSubmit").await;
    nv.wait_for("vim.fn.search('w3 ', 'n') > 0", 10).await;
}

/// The history file of the only session.
fn saved_history(home: &tempfile::TempDir) -> String {
    let dir = home.path().join("zen-state/history");
    let file = std::fs::read_dir(dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::read_to_string(file).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_drops_the_connection_and_keeps_the_partial_answer() {
    let (server, nv, home) = setup().await;
    streaming_chat(&server, &nv, 400).await;
    nv.exec("ZenStop").await;
    let done = nv.wait_done(1, 10).await;
    assert_eq!(done["stopped"], "stopped");
    let text = nv.text(0).await;
    assert!(text.contains("w0 w1 w2 w3 "), "{text}");
    assert!(!text.contains("w399"), "{text}");
    assert!(text.contains("\n> [zen] stopped · "), "{text}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        server.requests()[0].aborted,
        "the HTTP connection was dropped"
    );
    // The partial answer is in the history, marked.
    let saved = saved_history(&home);
    assert!(
        saved.contains("\"end\":\"stopped\"") && saved.contains("w0 w1 w2 w3 "),
        "{saved}"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wiping_the_buffer_mid_stream_cancels_and_saves() {
    let (server, nv, home) = setup().await;
    streaming_chat(&server, &nv, 400).await;
    nv.exec("bwipeout!").await;
    let done = nv.wait_done(1, 10).await;
    assert_eq!(done["stopped"], "buffer closed");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server.requests()[0].aborted, "the request was cancelled");
    let saved = saved_history(&home);
    assert!(
        saved.contains("w0 w1 w2 w3 ") && saved.contains("buffer closed"),
        "{saved}"
    );
    // No buffer was resurrected by a late write, and the editor still answers.
    let zen_bufs = nv.lua("local n = 0 for _, b in ipairs(vim.api.nvim_list_bufs()) do if vim.api.nvim_buf_get_name(b):find('zen://') then n = n + 1 end end return n").await;
    assert_eq!(zen_bufs, 0);
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sessions_stream_at_once_without_waiting_on_each_other() {
    let (server, nv, _home) = setup().await;
    server.push(slow_answer(60, 25)); // slow: ~1.5 s
    nv.exec("ZenNew openrouter model=test/model name=slow")
        .await;
    nv.type_prompt("slow one").await;
    nv.exec("ZenSubmit").await;
    nv.wait_for("vim.fn.search('w1 ', 'n') > 0", 10).await;
    server.push(sse(answer_body(&["fast answer"], 1, 1, 0.0)));
    nv.exec("ZenNew openrouter model=test/model name=fast")
        .await;
    nv.type_prompt("fast one").await;
    nv.exec("ZenSubmit").await;
    let first = nv.wait_done(1, 10).await;
    assert_eq!(
        first["name"], "fast",
        "the fast session finished while the slow one streamed"
    );
    let second = nv.wait_done(2, 10).await;
    assert_eq!(second["name"], "slow");
    let slow = nv.lua("return table.concat(vim.api.nvim_buf_get_lines(vim.fn.bufnr('zen://slow'), 0, -1, false), '\\n')").await;
    let words: Vec<String> = (0..60).map(|i| format!("w{i}")).collect();
    assert!(slow.as_str().unwrap().contains(&words.join(" ")), "{slow}");
    let fast = nv.lua("return table.concat(vim.api.nvim_buf_get_lines(vim.fn.bufnr('zen://fast'), 0, -1, false), '\\n')").await;
    assert!(fast.as_str().unwrap().contains("\nfast answer\n"), "{fast}");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submitting_while_streaming_is_refused() {
    let (server, nv, _home) = setup().await;
    server.push(slow_answer(40, 25));
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("q").await;
    nv.exec("ZenSubmit").await;
    nv.wait_for("vim.fn.search('w1 ', 'n') > 0", 10).await;
    nv.exec("ZenSubmit").await;
    nv.wait_note("is still answering", 5).await;
    nv.wait_done(1, 10).await;
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renaming_a_chat_while_it_answers_is_refused_and_the_answer_is_kept() {
    let (server, nv, _home) = setup().await;
    nv.exec("ZenNew openrouter model=test/model name=before")
        .await;
    server.push(slow_answer(40, 25));
    nv.type_prompt("long please").await;
    nv.exec("ZenSubmit").await;
    nv.wait_for("vim.fn.search('w3 ', 'n') > 0", 10).await;
    nv.exec("ZenRename after").await;
    let note = nv.wait_note("is still answering", 5).await;
    assert!(note.starts_with("zen: before is still answering"), "{note}");
    nv.wait_done(1, 10).await;
    let name = nv.lua("return vim.api.nvim_buf_get_name(0)").await;
    assert!(name.as_str().unwrap().ends_with("zen://before"), "{name}");
    let words: Vec<String> = (0..40).map(|i| format!("w{i}")).collect();
    assert!(nv.text(0).await.contains(&words.join(" ")));
    nv.exec("ZenRename after").await;
    nv.wait_for(
        "vim.api.nvim_buf_get_name(0):match('zen://after$') ~= nil",
        5,
    )
    .await;
    nv.quit().await;
}
