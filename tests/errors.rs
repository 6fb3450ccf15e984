//! Every error class gives one line (in the buffer and via vim.notify), keeps what arrived, and
//! never shows the API key. Retries happen only before the first token.

mod support;

use support::*;

/// Submits "q" in a fresh chat against `replies`, returns (done payload, buffer text, note).
async fn run_case(
    replies: Vec<Reply>,
    model: &str,
) -> (serde_json::Value, String, Vec<String>, FakeServer) {
    let (server, nv, home) = setup().await;
    for r in replies {
        server.push(r);
    }
    nv.exec(&format!("ZenNew openrouter model={model}")).await;
    nv.type_prompt("q").await;
    nv.exec("ZenSubmit").await;
    let done = nv.wait_done(1, 15).await;
    let text = nv.text(0).await;
    let notes = nv.notes().await;
    assert_no_secret(&home, &notes, &text);
    nv.quit().await;
    (done, text, notes, server)
}

fn assert_no_secret(home: &tempfile::TempDir, notes: &[String], text: &str) {
    assert!(!text.contains(TEST_KEY) && !notes.iter().any(|n| n.contains(TEST_KEY)));
    for entry in walk(home.path()) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        let hay = String::from_utf8_lossy(&bytes);
        assert!(
            !hay.contains(TEST_KEY),
            "the API key leaked into {}",
            entry.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p))
        } else {
            out.push(p)
        }
    }
    out
}

/// The error is one `> [zen] error:` line in the buffer and one notification saying `needle`.
fn assert_error(done: &serde_json::Value, text: &str, notes: &[String], needle: &str) {
    let err = done["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {done}"));
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    assert!(!err.contains('\n'), "one line: {err:?}");
    assert!(
        text.contains(&format!(
            "> [zen] error: {}",
            err.trim_start_matches("zen: ")
        )),
        "{text}"
    );
    assert!(notes.iter().any(|n| n == err), "{notes:?}");
    assert!(
        text.ends_with("## User\n"),
        "ready for the next prompt: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_401_bad_key() {
    let (done, text, notes, server) = run_case(
        vec![error_reply(401, "No auth credentials found", &[])],
        "test/model",
    )
    .await;
    assert_error(
        &done,
        &text,
        &notes,
        "rejected the API key (401: No auth credentials found)",
    );
    assert_eq!(server.requests().len(), 1, "401 is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_402_out_of_credits() {
    let (done, text, notes, _) = run_case(
        vec![error_reply(402, "Insufficient credits", &[])],
        "test/model",
    )
    .await;
    assert_error(&done, &text, &notes, "out of credits (402");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_403_moderation() {
    let (done, text, notes, _) =
        run_case(vec![error_reply(403, "flagged", &[])], "test/model").await;
    assert_error(&done, &text, &notes, "refused by moderation (403: flagged)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_404_unknown_model() {
    let (done, text, notes, _) = run_case(
        vec![error_reply(404, "No endpoints found", &[])],
        "nope/model",
    )
    .await;
    assert_error(
        &done,
        &text,
        &notes,
        "model 'nope/model' is not available (404",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_408_is_retried_then_reported() {
    let replies = vec![
        error_reply(408, "timeout", &[]),
        error_reply(408, "timeout", &[]),
        error_reply(408, "timeout", &[]),
    ];
    let (done, text, notes, server) = run_case(replies, "test/model").await;
    assert_error(&done, &text, &notes, "timed out waiting for the model (408");
    assert_eq!(server.requests().len(), 3, "first try + max_retries (2)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_429_free_model_with_retry_after() {
    let replies = vec![error_reply(
        429,
        "Rate limit exceeded: free-models-per-min",
        &[("Retry-After", "30")],
    )];
    let (done, text, notes, server) =
        run_case(replies, "meta-llama/llama-3.3-70b-instruct:free").await;
    assert_error(&done, &text, &notes, "Retry after 30 s.");
    assert!(done["error"]
        .as_str()
        .unwrap()
        .contains("Free models allow 20 requests a minute"));
    assert_eq!(
        server.requests().len(),
        1,
        "a long Retry-After is reported, not slept through"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_429_short_retry_after_and_503_are_retried_before_the_first_token() {
    let replies = vec![
        error_reply(429, "slow down", &[("Retry-After", "0")]),
        error_reply(503, "overloaded", &[]),
        sse(answer_body(&["finally"], 1, 1, 0.0)),
    ];
    let (done, text, _, server) = run_case(replies, "test/model").await;
    assert!(done["error"].is_null(), "{done}");
    assert!(text.contains("\nfinally\n"), "{text}");
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_502_with_html_body() {
    let page = Reply::Status {
        code: 502,
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: "<html><body><h1>502 Bad Gateway</h1></body></html>".into(),
    };
    let (done, text, notes, server) =
        run_case(vec![page.clone(), page.clone(), page], "test/model").await;
    assert_error(
        &done,
        &text,
        &notes,
        "failed (502: the body was an HTML page, not JSON)",
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_chunk_mid_stream_keeps_the_partial_answer_and_is_not_retried() {
    let mut body = content_chunk("Partial ans");
    body.push_str(&data(&serde_json::json!({"error": {"code": 502, "message": "Provider disconnected"}, "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]})));
    let (done, text, notes, server) = run_case(vec![sse(body)], "test/model").await;
    assert_error(
        &done,
        &text,
        &notes,
        "failed mid-answer (502: Provider disconnected)",
    );
    assert!(text.contains("\nPartial ans\n\n> [zen] error:"), "{text}");
    assert_eq!(
        server.requests().len(),
        1,
        "never re-sent once tokens arrived"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_chunk() {
    let mut body = content_chunk("ok so far");
    body.push_str("data: {\"choices\": [{\"delta\": \n\n");
    let (done, text, notes, _) = run_case(vec![sse(body)], "test/model").await;
    assert_error(&done, &text, &notes, "malformed stream event");
    assert!(text.contains("\nok so far\n"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_stream_without_done() {
    let body = content_chunk("cut he");
    let (done, text, notes, _) = run_case(vec![sse(body)], "test/model").await;
    assert_error(&done, &text, &notes, "ended before the answer was complete");
    assert!(text.contains("\ncut he\n"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_stream_times_out() {
    let stalled = Reply::Sse {
        parts: vec![Part {
            delay_ms: 0,
            bytes: content_chunk("then silence").into_bytes(),
        }],
        hang: true,
    };
    let (done, text, notes, _) = run_case(vec![stalled], "test/model").await;
    assert_error(&done, &text, &notes, "no data from the server for 1 s");
    assert!(text.contains("\nthen silence\n"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_page_instead_of_an_event_stream() {
    let page = Reply::Status {
        code: 200,
        headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
        body: "<html>captive portal</html>".into(),
    };
    let (done, text, notes, _) = run_case(vec![page], "test/model").await;
    assert_error(
        &done,
        &text,
        &notes,
        "answered text/html; charset=utf-8, not an event stream",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/v1", closed.local_addr().unwrap());
    drop(closed);
    let nv = Nvim::start(Start::new(home.path(), &url)).await;
    nv.install_event_counter().await;
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("q").await;
    nv.exec("ZenSubmit").await;
    let done = nv.wait_done(1, 15).await;
    let text = nv.text(0).await;
    let notes = nv.notes().await;
    assert_error(&done, &text, &notes, "cannot connect to");
    assert!(
        done["error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("refused"),
        "{done}"
    );
    assert!(server.requests().is_empty());
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_key_names_the_variable_and_sends_nothing() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let mut start = Start::new(home.path(), &server.base_url());
    start.key = None;
    let nv = Nvim::start(start).await;
    nv.install_event_counter().await;
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("q").await;
    nv.exec("ZenSubmit").await;
    let done = nv.wait_done(1, 10).await;
    let text = nv.text(0).await;
    assert_error(
        &done,
        &text,
        &nv.notes().await,
        "$OPENROUTER_API_KEY is not set",
    );
    assert!(server.requests().is_empty());
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_from_a_command_runs_on_first_use_only() {
    let server = FakeServer::start().await;
    server.push(sse(answer_body(&["a"], 1, 1, 0.0)));
    server.push(sse(answer_body(&["b"], 1, 1, 0.0)));
    let home = tempfile::tempdir().unwrap();
    let counter = home.path().join("runs");
    let mut start = Start::new(home.path(), &server.base_url());
    start.key = None;
    start.setup = format!(
        "openrouter = {{ base_url = {:?}, api_key_cmd = {{ 'sh', '-c', 'echo run >> {}; echo sk-from-cmd' }} }}",
        server.base_url(),
        counter.display()
    );
    let nv = Nvim::start(start).await;
    nv.install_event_counter().await;
    assert!(!counter.exists(), "not run at startup");
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("q").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;
    nv.type_prompt("again").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(2, 10).await;
    assert_eq!(
        server.requests()[1].headers["authorization"],
        "Bearer sk-from-cmd"
    );
    assert_eq!(
        std::fs::read_to_string(&counter).unwrap(),
        "run\n",
        "run once, then kept in memory"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_again_after_an_error_resends_the_prompt() {
    let (server, nv, _home) = setup().await;
    server.push(error_reply(402, "Insufficient credits", &[]));
    server.push(sse(answer_body(&["paid now"], 1, 1, 0.0)));
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("question").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(2, 10).await;
    let reqs = server.requests();
    assert_eq!(
        reqs[1].body["messages"],
        serde_json::json!([{"role": "user", "content": "question"}])
    );
    assert!(nv.text(0).await.contains("\npaid now\n"));
    nv.quit().await;
}
