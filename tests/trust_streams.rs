//! Streams a server may legally (or carelessly) send: every SSE line ending, a bad byte or
//! escape in one event, a JSON error with status 200, a gzip body, and codes without advice.
//! None of them may cost the answer or hide the server's message.

mod support;

use support::*;

/// Submits "q" in a fresh chat answered by `reply`; returns (done payload, buffer text, server).
async fn answer_with(reply: Reply) -> (serde_json::Value, String, FakeServer) {
    let (server, nv, _home) = setup().await;
    server.push(reply);
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("q").await;
    nv.exec("ZenSubmit").await;
    let done = nv.wait_done(1, 15).await;
    let text = nv.text(0).await;
    nv.quit().await;
    (done, text, server)
}

fn assert_answer(done: &serde_json::Value, text: &str, answer: &str) {
    assert!(done["error"].is_null(), "{done}");
    assert!(text.contains(answer), "{answer:?} missing in:\n{text}");
}

/// A raw event carrying `content` as given (not escaped again).
fn raw_content_event(content: &[u8]) -> Vec<u8> {
    let mut event = br#"data: {"choices":[{"index":0,"delta":{"content":""#.to_vec();
    event.extend_from_slice(content);
    event.extend_from_slice(b"\"},\"finish_reason\":null}]}\n\n");
    event
}

/// An answer "A", then the raw event, then "D".
fn body_around(raw_event: Vec<u8>) -> Vec<u8> {
    let mut body = content_chunk("A").into_bytes();
    body.extend(raw_event);
    body.extend(content_chunk("D").into_bytes());
    body.extend(ending(1, 3, 0.0).into_bytes());
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_cr_line_endings_are_not_an_empty_answer() {
    let body = answer_body(&["Hello", " over CR"], 1, 2, 0.0).replace('\n', "\r");
    // Split so that events and line endings straddle reads.
    let (done, text, _) = answer_with(sse_split(&body, 7, 0)).await;
    assert_answer(&done, &text, "Hello over CR");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_invalid_utf8_byte_does_not_abort_the_answer() {
    let (done, text, _) = answer_with(sse_bytes(&body_around(raw_content_event(b"b\xffc")))).await;
    assert_answer(&done, &text, "Ab\u{fffd}cD");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_surrogate_escape_does_not_abort_the_answer() {
    let (done, text, _) =
        answer_with(sse_bytes(&body_around(raw_content_event(br"b\ud800c")))).await;
    assert_answer(&done, &text, "Ab\u{fffd}cD");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_json_error_body_shows_the_servers_message_not_not_an_event_stream() {
    let reply = Reply::Status {
        code: 200,
        headers: vec![],
        body: r#"{"error":{"code":402,"message":"Insufficient credits"}}"#.into(),
    };
    let (done, text, _) = answer_with(reply).await;
    let err = done["error"].as_str().unwrap_or_default();
    assert!(
        err.contains("out of credits (402: Insufficient credits)"),
        "{done}"
    );
    assert!(!text.contains("not an event stream"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzipped_stream_is_not_an_empty_answer() {
    let body = answer_body(&["Squeezed", " and back"], 1, 2, 0.0);
    let (done, text, server) = answer_with(sse_gzip(&body)).await;
    assert_answer(&done, &text, "Squeezed and back");
    let post = &server.requests_to("/api/v1/chat/completions")[0];
    assert_eq!(
        post.headers.get("accept-encoding").map(String::as_str),
        Some("identity"),
        "an uncompressed stream is asked for"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_413_and_unmapped_codes_get_advice() {
    let (done, _, _) = answer_with(error_reply(413, "Request Entity Too Large", &[])).await;
    let err = done["error"].as_str().unwrap_or_default();
    assert!(
        err.contains("too large") && err.contains("Remove attachments"),
        "{done}"
    );
    let (done, _, _) = answer_with(error_reply(418, "teapot", &[])).await;
    let err = done["error"].as_str().unwrap_or_default();
    assert!(
        err.contains("HTTP 418: teapot. Submit again; if it persists"),
        "{done}"
    );
}
