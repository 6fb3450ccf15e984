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
    server.push(sse(answer_body(&["Hel", "lo ", "wörld ✓"], 17, 6, 0.0001025)));
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("Say hello").await;
    nv.exec("ZenSubmit").await;
    let done = nv.wait_done(1, 10).await;
    assert_eq!(done["prompt_tokens"], 17);
    assert_eq!(done["completion_tokens"], 6);
    assert_eq!(done["cost"], 0.0001025);
    assert!(done["error"].is_null(), "{done}");
    let note = "> [zen] 17 in · 6 out · $0.000102 · session 17 in · 6 out · $0.000102";
    assert_eq!(nv.text(0).await, expected_chat("Say hello", "Hello wörld ✓", note));
    nv.quit().await;
}
