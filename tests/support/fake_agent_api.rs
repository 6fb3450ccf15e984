//! A loopback fake of the APIs the real agent CLIs call, so they run offline: the Anthropic
//! Messages API (claude: streaming SSE `message_start` … `message_stop`, or one JSON message)
//! and the Gemini API (`generateContent`, `streamGenerateContent`, `countTokens`). Every other
//! request gets a 404. The Messages API also answers under `/api` (OpenRouter's root). Each request body is recorded (as text) so tests can see what was sent.
//! A test may script a tool call ([`FakeAgentApi::script_tool`]): a prompt containing a trigger is
//! answered with a `tool_use` of a tool the request offers, and the request carrying its
//! `tool_result` with a text.

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

/// A scripted tool call: a Messages request whose last user message contains `trigger` is
/// answered with a `tool_use` of `tool` (the offered tool named so, or `mcp__<server>__<tool>`)
/// with `input`; the request carrying its `tool_result` (allowed or refused) gets the text `after`.
#[derive(Clone, Debug)]
pub struct ToolScript {
    pub trigger: String,
    pub tool: String,
    pub input: serde_json::Value,
    pub after: String,
}

#[derive(Default)]
struct State {
    requests: Vec<ApiRequest>,
    scripts: Vec<ToolScript>,
    /// The text of a plain answer ("ok" when unset).
    text: Option<String>,
}

/// The running fake; stops with the test.
pub struct FakeAgentApi {
    pub port: u16,
    state: Arc<Mutex<State>>,
}

impl FakeAgentApi {
    pub async fn start() -> FakeAgentApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone()));
            }
        });
        FakeAgentApi { port, state }
    }

    /// Scripts a tool call (see [`ToolScript`]); the id of its `tool_use` is `toolu_zen<n>`.
    pub fn script_tool(&self, trigger: &str, tool: &str, input: serde_json::Value, after: &str) {
        self.state.lock().unwrap().scripts.push(ToolScript {
            trigger: trigger.into(),
            tool: tool.into(),
            input,
            after: after.into(),
        });
    }

    /// Sets the text of plain answers (the Messages API; "ok" by default).
    pub fn answer_text(&self, text: &str) {
        self.state.lock().unwrap().text = Some(text.into());
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<ApiRequest> {
        self.state.lock().unwrap().requests.clone()
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

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    loop {
        let Some(req) = read_request(&mut stream).await else {
            return;
        };
        let (status, kind, body) = {
            let mut state = state.lock().unwrap();
            state.requests.push(req.clone());
            answer(&req, &state)
        };
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

fn answer(req: &ApiRequest, state: &State) -> (&'static str, &'static str, String) {
    let path = req.line.split(' ').nth(1).unwrap_or("");
    // `/v1/messages`, or under OpenRouter's `/api` root (`/api/v1/messages`).
    let messages = path.starts_with("/v1/messages") || path.starts_with("/api/v1/messages");
    if messages && !path.contains("count_tokens") {
        let text = if path.starts_with("/api/") {
            OPENROUTER_ROOT_ANSWER
        } else {
            state.text.as_deref().unwrap_or("ok")
        };
        let content = scripted(&req.body, &state.scripts)
            .unwrap_or_else(|| json!([{"type": "text", "text": text}]));
        let streaming = req.body.contains("\"stream\":true");
        return if streaming {
            ("200 OK", "text/event-stream", anthropic_sse(&content))
        } else {
            (
                "200 OK",
                "application/json",
                anthropic_message(&content).to_string(),
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

/// The scripted answer to a Messages request body, if a script applies: the `after` text once
/// the last message carries the script's `tool_result`, else its `tool_use` when the last message
/// contains its trigger and the request offers its tool.
fn scripted(body: &str, scripts: &[ToolScript]) -> Option<serde_json::Value> {
    let req: serde_json::Value = serde_json::from_str(body).ok()?;
    let last = req["messages"].as_array()?.last()?;
    let last_text = last["content"].to_string();
    for (n, script) in scripts.iter().enumerate() {
        let id = format!("toolu_zen{n}");
        let answered = last["content"].as_array().is_some_and(|parts| {
            parts
                .iter()
                .any(|p| p["type"] == "tool_result" && p["tool_use_id"] == id.as_str())
        });
        if answered {
            return Some(json!([{"type": "text", "text": script.after}]));
        }
        if !last_text.contains(&script.trigger) {
            continue;
        }
        let offered = req["tools"].as_array().into_iter().flatten();
        let name = offered
            .filter_map(|t| t["name"].as_str())
            .find(|name| *name == script.tool || name.ends_with(&format!("__{}", script.tool)))?;
        return Some(json!([{"type": "tool_use", "id": id, "name": name, "input": script.input}]));
    }
    None
}

fn stop_reason(content: &serde_json::Value) -> &'static str {
    let tool = content
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "tool_use");
    if tool {
        "tool_use"
    } else {
        "end_turn"
    }
}

fn anthropic_message(content: &serde_json::Value) -> serde_json::Value {
    json!({
        "id": "msg_fake", "type": "message", "role": "assistant", "model": "claude-fake",
        "content": content,
        "stop_reason": stop_reason(content), "stop_sequence": null,
        "usage": {"input_tokens": 1, "output_tokens": 1}
    })
}

/// One content block as SSE events: its start, one delta with all of it, its stop.
fn block_events(index: usize, block: &serde_json::Value) -> Vec<(&'static str, serde_json::Value)> {
    let (start, delta) = if block["type"] == "tool_use" {
        (
            json!({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}),
            json!({"type": "input_json_delta", "partial_json": block["input"].to_string()}),
        )
    } else {
        (
            json!({"type": "text", "text": ""}),
            json!({"type": "text_delta", "text": block["text"]}),
        )
    };
    vec![
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": start}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index, "delta": delta}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ),
    ]
}

fn anthropic_sse(content: &serde_json::Value) -> String {
    let mut start = anthropic_message(&json!([]));
    start["stop_reason"] = json!(null);
    let mut events = vec![(
        "message_start",
        json!({"type": "message_start", "message": start}),
    )];
    for (index, block) in content.as_array().into_iter().flatten().enumerate() {
        events.extend(block_events(index, block));
    }
    events.push((
        "message_delta",
        json!({"type": "message_delta",
               "delta": {"stop_reason": stop_reason(content), "stop_sequence": null},
               "usage": {"output_tokens": 1}}),
    ));
    events.push(("message_stop", json!({"type": "message_stop"})));
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
