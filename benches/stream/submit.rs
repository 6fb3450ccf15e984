//! Submitting in a big conversation: a chat holding a 5 MB answer, then `:ZenSubmit` of a short
//! prompt, timed until the fake server has received the request (the same process's clock).

use std::time::{Duration, Instant};

use crate::support::{answer_body, setup, sse};

/// Bytes of the conversation before each submit.
pub const CONVERSATION_BYTES: usize = 5_000_000;
/// Submits measured (each adds a short turn).
pub const SUBMIT_RUNS: usize = 5;

/// Milliseconds from `:ZenSubmit` to the request received, per run.
pub async fn big_submit() -> Vec<f64> {
    let (server, nv, _home) = setup().await;
    let piece = crate::streams::prose(64 * 1024, 7);
    let deltas: Vec<&str> = (0..CONVERSATION_BYTES / piece.len())
        .map(|_| piece.as_str())
        .collect();
    server.push(sse(answer_body(&deltas, 10, 10, 0.0)));
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("Write a lot").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 120).await;
    let mut out = Vec::new();
    for run in 0..SUBMIT_RUNS {
        server.push(sse(answer_body(&["ok"], 1, 1, 0.0)));
        nv.type_prompt(&format!("question {run}")).await;
        let before = server.requests().len();
        let t0 = Instant::now();
        nv.exec("ZenSubmit").await;
        let deadline = t0 + Duration::from_secs(30);
        let at = loop {
            if let Some(r) = server.requests().get(before) {
                break r.at;
            }
            assert!(Instant::now() < deadline, "the request never arrived");
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        out.push(at.duration_since(t0).as_secs_f64() * 1000.0);
        nv.wait_done(run + 2, 30).await;
    }
    nv.quit().await;
    out
}
