//! A fake OpenRouter on 127.0.0.1: speaks its dialect (SSE chunks shaped like the recorded ones
//! in shared/fixtures, keep-alive comments, a usage chunk, error bodies) and records every request.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Bytes to write, after a pause.
#[derive(Clone, Debug)]
pub struct Part {
    pub delay_ms: u64,
    pub bytes: Vec<u8>,
}

/// How the server answers one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 `text/event-stream`, body written part by part; `hang` keeps the socket open after.
    Sse { parts: Vec<Part>, hang: bool },
    /// Any status, headers and body (error bodies, HTML pages).
    Status {
        code: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Any status, headers and body bytes (a gzipped stream, say); no header is added.
    Raw {
        code: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Value,
    /// The client closed the connection before the reply was fully written.
    pub aborted: bool,
    /// When the request arrived.
    pub at: std::time::Instant,
}

#[derive(Default)]
struct Shared {
    replies: VecDeque<Reply>,
    /// Fixed replies by "METHOD /path" (catalogue, key), used before the queue.
    routes: HashMap<String, Reply>,
    requests: Vec<Recorded>,
    sent: Vec<SentPart>,
}

/// When one part of an SSE reply left the server (for the benchmark's latency figures).
#[derive(Clone, Copy, Debug)]
pub struct SentPart {
    /// The request this reply answered (its index in [`FakeServer::requests`]).
    pub request: usize,
    /// The part's index in its reply.
    pub part: usize,
    /// Wall-clock time the write of the part began.
    pub started: SystemTime,
    /// Wall-clock time the part was wholly handed to the socket.
    pub written: SystemTime,
}

/// The server; replies are queued in order, one per request.
#[derive(Clone)]
pub struct FakeServer {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
}

impl FakeServer {
    pub async fn start() -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let server = FakeServer {
            addr,
            shared: shared.clone(),
        };
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move { serve(socket, shared).await });
            }
        });
        server
    }

    /// The `base_url` to give the plugin.
    pub fn base_url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }

    /// Queues the reply to the next request.
    pub fn push(&self, reply: Reply) {
        self.shared.lock().unwrap().replies.push_back(reply);
    }

    /// Answers every `method path` request with `reply` (until changed).
    pub fn route(&self, method: &str, path: &str, reply: Reply) {
        self.shared
            .lock()
            .unwrap()
            .routes
            .insert(format!("{method} {path}"), reply);
    }

    /// Requests seen so far to `path`.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// Requests seen so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().unwrap().requests.clone()
    }

    /// Every part of every SSE reply written so far, in the order written.
    pub fn sent(&self) -> Vec<SentPart> {
        self.shared.lock().unwrap().sent.clone()
    }
}

async fn serve(mut socket: TcpStream, shared: Arc<Mutex<Shared>>) {
    socket.set_nodelay(true).ok();
    let Some((method, path, headers, body)) = read_request(&mut socket).await else {
        return;
    };
    let routed = shared
        .lock()
        .unwrap()
        .routes
        .get(&format!("{method} {path}"))
        .cloned();
    let queued = || shared.lock().unwrap().replies.pop_front();
    let reply = routed.or_else(queued).unwrap_or(Reply::Status {
        code: 500,
        headers: vec![],
        body: r#"{"error":{"code":500,"message":"fake server: no reply queued"}}"#.into(),
    });
    let index = {
        let mut s = shared.lock().unwrap();
        s.requests.push(Recorded {
            method,
            path,
            headers,
            body,
            aborted: false,
            at: std::time::Instant::now(),
        });
        s.requests.len() - 1
    };
    let complete = write_reply(&mut socket, reply, &shared, index).await;
    if !complete {
        shared.lock().unwrap().requests[index].aborted = true;
    }
}

async fn read_request(
    socket: &mut TcpStream,
) -> Option<(String, String, HashMap<String, String>, Value)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Some((method, path, headers, body))
}

/// Writes the reply (noting when each SSE part left); false when the client went away first.
async fn write_reply(
    socket: &mut TcpStream,
    reply: Reply,
    shared: &Mutex<Shared>,
    request: usize,
) -> bool {
    match reply {
        Reply::Status {
            code,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                head.push_str("Content-Type: application/json\r\n");
            }
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            socket.write_all(head.as_bytes()).await.is_ok()
                && socket.write_all(body.as_bytes()).await.is_ok()
        }
        Reply::Raw {
            code,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            socket.write_all(head.as_bytes()).await.is_ok() && socket.write_all(&body).await.is_ok()
        }
        Reply::Sse { parts, hang } => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n";
            if socket.write_all(head.as_bytes()).await.is_err() {
                return false;
            }
            for (index, part) in parts.into_iter().enumerate() {
                if part.delay_ms > 0 {
                    tokio::time::sleep(Duration::from_millis(part.delay_ms)).await;
                }
                let started = SystemTime::now();
                if socket.write_all(&part.bytes).await.is_err() || socket.flush().await.is_err() {
                    return false;
                }
                shared.lock().unwrap().sent.push(SentPart {
                    request,
                    part: index,
                    started,
                    written: SystemTime::now(),
                });
            }
            if hang {
                // Wait for the client to give up (read returns 0 or an error).
                let mut b = [0u8; 64];
                let _ = tokio::time::timeout(Duration::from_secs(60), socket.read(&mut b)).await;
                return false;
            }
            true
        }
    }
}

/// One `data:` event.
pub fn data(v: &Value) -> String {
    format!("data: {v}\n\n")
}

/// A content chunk as OpenRouter sends it.
pub fn content_chunk(text: &str) -> String {
    data(&json!({
        "id": "gen-1", "provider": "Fake", "model": "test/model", "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": null}]
    }))
}

/// A reasoning chunk.
pub fn reasoning_chunk(text: &str) -> String {
    data(
        &json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": "", "reasoning": text}, "finish_reason": null}]}),
    )
}

/// The finish chunk, then the usage chunk (with an empty delta, as recorded), then [DONE].
pub fn ending(prompt: u64, completion: u64, cost: f64) -> String {
    let finish = data(
        &json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": "stop"}]}),
    );
    let usage = data(&json!({
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                  "cost": cost, "is_byok": false, "prompt_tokens_details": {"cached_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": 0}}
    }));
    format!("{finish}{usage}data: [DONE]\n\n")
}

/// The finish chunk, then a usage chunk carrying `usage` as given (cache tokens, web
/// searches...), then [DONE].
pub fn ending_with(usage: Value) -> String {
    let finish = data(
        &json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": "stop"}]}),
    );
    let usage = data(&json!({"choices": [], "usage": usage}));
    format!("{finish}{usage}data: [DONE]\n\n")
}

/// A whole answer: keep-alive comment, empty first delta, the deltas, finish, usage, [DONE].
pub fn answer_body(deltas: &[&str], prompt: u64, completion: u64, cost: f64) -> String {
    let mut body = String::from(": OPENROUTER PROCESSING\n\n");
    body.push_str(&content_chunk(""));
    for d in deltas {
        body.push_str(&content_chunk(d));
    }
    body.push_str(&ending(prompt, completion, cost));
    body
}

/// A reply that sends `body` in one write.
pub fn sse(body: impl Into<String>) -> Reply {
    Reply::Sse {
        parts: vec![Part {
            delay_ms: 0,
            bytes: body.into().into_bytes(),
        }],
        hang: false,
    }
}

/// A reply that sends `body` in pieces of `size` bytes, `delay_ms` apart (splits UTF-8 too).
pub fn sse_split(body: &str, size: usize, delay_ms: u64) -> Reply {
    let parts = body
        .as_bytes()
        .chunks(size)
        .map(|c| Part {
            delay_ms,
            bytes: c.to_vec(),
        })
        .collect();
    Reply::Sse { parts, hang: false }
}

/// 200 with a JSON body (catalogue, key info).
pub fn ok_json(body: String) -> Reply {
    Reply::Status {
        code: 200,
        headers: vec![],
        body,
    }
}

/// An error status with OpenRouter's JSON error body.
pub fn error_reply(code: u16, message: &str, headers: &[(&str, &str)]) -> Reply {
    Reply::Status {
        code,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: json!({"error": {"code": code, "message": message}}).to_string(),
    }
}

/// A 200 SSE reply whose body is gzip-compressed (`Content-Encoding: gzip`), sent whatever the
/// request's `Accept-Encoding` says, as a misconfigured proxy would.
pub fn sse_gzip(body: &str) -> Reply {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.as_bytes()).unwrap();
    Reply::Raw {
        code: 200,
        headers: vec![
            ("Content-Type".into(), "text/event-stream".into()),
            ("Content-Encoding".into(), "gzip".into()),
        ],
        body: gz.finish().unwrap(),
    }
}

/// A 200 SSE reply of raw bytes (invalid UTF-8, say), in one write.
pub fn sse_bytes(bytes: &[u8]) -> Reply {
    Reply::Sse {
        parts: vec![Part {
            delay_ms: 0,
            bytes: bytes.to_vec(),
        }],
        hang: false,
    }
}
