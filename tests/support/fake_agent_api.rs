//! A loopback fake of the APIs the real agent CLIs call, so they run offline: the Anthropic
//! Messages API (claude: streaming SSE `message_start` … `message_stop`, or one JSON message)
//! and the Gemini API (`generateContent`, `streamGenerateContent`, `countTokens`). Every other
//! request gets a 404. The Messages API also answers under `/api` (OpenRouter's root). Each request body is recorded (as text) so tests can see what was sent.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the Messages API under `/api` answers (so a test can tell which root claude called).
pub const OPENROUTER_ROOT_ANSWER: &str = "answered under the api root";

/// One request: its request line (`POST /v1/messages?beta=true`), its headers and its body.
#[derive(Clone, Debug)]
pub struct ApiRequest {
    pub line: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl ApiRequest {
    /// A header's value (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The running fake; stops with the test.
pub struct FakeAgentApi {
    pub port: u16,
    requests: Arc<Mutex<Vec<ApiRequest>>>,
}

impl FakeAgentApi {
    pub async fn start() -> FakeAgentApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, log.clone()));
            }
        });
        FakeAgentApi { port, requests }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<ApiRequest> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits (up to `secs`) for a request whose body contains `needle`.
    pub async fn wait_body(&self, needle: &str, secs: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if self.requests().iter().any(|r| r.body.contains(needle)) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }
}

async fn serve(mut stream: TcpStream, log: Arc<Mutex<Vec<ApiRequest>>>) {
    loop {
        let Some(req) = read_request(&mut stream).await else {
            return;
        };
        log.lock().unwrap().push(req.clone());
        let (status, kind, body) = answer(&req);
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        if stream.write_all(head.as_bytes()).await.is_err()
            || stream.write_all(body.as_bytes()).await.is_err()
        {
            return;
        }
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<ApiRequest> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Some(ApiRequest {
        line: head.lines().next().unwrap_or("").to_string(),
        headers,
        body: String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned(),
    })
}

fn answer(req: &ApiRequest) -> (&'static str, &'static str, String) {
    let path = req.line.split(' ').nth(1).unwrap_or("");
    // `/v1/messages`, or under OpenRouter's `/api` root (`/api/v1/messages`).
    let messages = path.starts_with("/v1/messages") || path.starts_with("/api/v1/messages");
    if messages && !path.contains("count_tokens") {
        let streaming = req.body.contains("\"stream\":true");
        let text = if path.starts_with("/api/") {
            OPENROUTER_ROOT_ANSWER
        } else {
            "ok"
        };
        return if streaming {
            ("200 OK", "text/event-stream", anthropic_sse(text))
        } else {
            (
                "200 OK",
                "application/json",
                anthropic_message(text).to_string(),
            )
        };
    }
    if path.contains("count_tokens") {
        return (
            "200 OK",
            "application/json",
            json!({"input_tokens": 1}).to_string(),
        );
    }
    if path.contains(":countTokens") {
        return (
            "200 OK",
            "application/json",
            json!({"totalTokens": 1}).to_string(),
        );
    }
    if path.contains(":streamGenerateContent") {
        let chunk = gemini_answer("ok");
        return (
            "200 OK",
            "text/event-stream",
            format!("data: {chunk}\r\n\r\n"),
        );
    }
    if path.contains(":generateContent") {
        return (
            "200 OK",
            "application/json",
            gemini_answer("ok").to_string(),
        );
    }
    ("404 Not Found", "application/json", "{}".into())
}

fn anthropic_message(text: &str) -> serde_json::Value {
    json!({
        "id": "msg_fake", "type": "message", "role": "assistant", "model": "claude-fake",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 1, "output_tokens": 1}
    })
}

fn anthropic_sse(text: &str) -> String {
    let mut start = anthropic_message("");
    start["content"] = json!([]);
    start["stop_reason"] = json!(null);
    let events = [
        (
            "message_start",
            json!({"type": "message_start", "message": start}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
                   "content_block": {"type": "text", "text": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "text_delta", "text": text}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta",
                   "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                   "usage": {"output_tokens": 1}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}

fn gemini_answer(text: &str) -> serde_json::Value {
    json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                        "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2}
    })
}
