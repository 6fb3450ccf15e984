//! JSON-RPC 2.0 over a child process's stdio, one message per line: the transport of the Agent
//! Client Protocol. Our requests get ids and wait on a oneshot; everything the agent sends
//! arrives on one channel (`Incoming`), in order: replies (the owner hands them back with
//! `resolve`, so a reply is never seen before the updates sent ahead of it), notifications,
//! requests, malformed lines and the agent's exit. A bad agent ends a turn with a message, never
//! a panic.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value as Json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// The longest line read from an agent (a 1 MB message fits many times over).
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// What went wrong talking to an agent.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnError {
    /// The program could not be started.
    #[error("could not start {program}: {why}")]
    Spawn { program: String, why: String },
    /// The agent's process ended (or closed its output).
    #[error("the agent exited{0}")]
    Closed(String),
    /// The agent answered a request with an error.
    #[error("{message} (code {code})")]
    Rpc {
        code: i64,
        message: String,
        data: Option<Json>,
    },
    /// Writing to the agent failed.
    #[error("writing to the agent failed: {0}")]
    Write(String),
    /// The agent's answer was not what the protocol says.
    #[error("the agent's answer to {method} did not parse: {why}")]
    BadReply { method: String, why: String },
}

/// A message from the agent other than a reply to us.
#[derive(Debug)]
pub enum Incoming {
    /// A notification (`session/update`).
    Notification { method: String, params: Json },
    /// A request we must answer by `id` (`fs/read_text_file`, `session/request_permission`).
    Request {
        id: Json,
        method: String,
        params: Json,
    },
    /// A line that is not a JSON-RPC message (shortened for the message).
    Malformed(String),
    /// A reply to our request `id` (give it to `Conn::resolve`).
    Reply {
        id: i64,
        result: Result<Json, ConnError>,
    },
    /// The agent's output ended: it exited (with this description of its status).
    Closed(String),
}

type Pending = Mutex<HashMap<i64, oneshot::Sender<Result<Json, ConnError>>>>;

/// A running agent process and its JSON-RPC channel.
pub struct Conn {
    stdin: tokio::sync::Mutex<ChildStdin>,
    next_id: AtomicI64,
    pending: Pending,
    child: Arc<Mutex<Option<Child>>>,
    /// How the agent ended (" with status 3"), set before `closed` fires.
    status: Arc<Mutex<String>>,
    /// Fired when the agent's output ends.
    pub closed: CancellationToken,
}

impl Conn {
    /// Starts `argv` in `cwd` (killed when the `Conn` is dropped) without the environment
    /// variables `hide` (our secrets); `label` names it in the log.
    pub fn spawn(
        argv: &[String],
        cwd: &Path,
        hide: &[String],
        label: &str,
    ) -> Result<(Arc<Conn>, mpsc::UnboundedReceiver<Incoming>), ConnError> {
        let program = argv.first().cloned().unwrap_or_default();
        let mut command = Command::new(&program);
        for name in hide {
            command.env_remove(name);
        }
        let mut child = command
            .args(&argv[1..])
            .current_dir(cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| ConnError::Spawn {
                program: program.clone(),
                why: e.to_string(),
            })?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let (tx, rx) = mpsc::unbounded_channel();
        let conn = Arc::new(Conn {
            stdin: tokio::sync::Mutex::new(stdin),
            next_id: AtomicI64::new(1),
            pending: Pending::default(),
            child: Arc::new(Mutex::new(Some(child))),
            status: Arc::default(),
            closed: CancellationToken::new(),
        });
        let label = label.to_string();
        tokio::spawn(log_stderr(BufReader::new(stderr), label.clone()));
        let (child, closed) = (conn.child.clone(), conn.closed.clone());
        let ended = conn.status.clone();
        tokio::spawn(async move {
            read_loop(BufReader::new(stdout), &tx).await;
            let status = exit_status(&child).await;
            tracing::info!("{label}: agent output ended{status}");
            *ended.lock().unwrap_or_else(|e| e.into_inner()) = status.clone();
            let _ = tx.send(Incoming::Closed(status));
            closed.cancel();
        });
        Ok((conn, rx))
    }

    /// Sends a request and waits for its result.
    pub async fn request(&self, method: &str, params: Json) -> Result<Json, ConnError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.lock_pending().insert(id, tx);
        let sent = self
            .send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        if let Err(e) = sent {
            self.lock_pending().remove(&id);
            return Err(e);
        }
        let closed = || {
            let status = self.status.lock().unwrap_or_else(|e| e.into_inner());
            ConnError::Closed(status.clone())
        };
        tokio::select! {
            r = rx => r.unwrap_or_else(|_| Err(closed())),
            _ = self.closed.cancelled() => {
                self.lock_pending().remove(&id);
                Err(closed())
            }
        }
    }

    /// Hands a reply (`Incoming::Reply`) to the request waiting for it.
    pub fn resolve(&self, id: i64, result: Result<Json, ConnError>) {
        match self.lock_pending().remove(&id) {
            Some(w) => {
                let _ = w.send(result);
            }
            None => tracing::warn!("a reply to no request (id {id})"),
        }
    }

    /// Sends a request and decodes its result as `T`.
    pub async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: Json,
    ) -> Result<T, ConnError> {
        let value = self.request(method, params).await?;
        serde_json::from_value(value).map_err(|e| ConnError::BadReply {
            method: method.into(),
            why: e.to_string(),
        })
    }

    /// Sends a notification (`session/cancel`).
    pub async fn notify(&self, method: &str, params: Json) -> Result<(), ConnError> {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await
    }

    /// Answers the agent's request `id` with `result`.
    pub async fn respond(&self, id: Json, result: Json) -> Result<(), ConnError> {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "result": result}))
            .await
    }

    /// Answers the agent's request `id` with an error.
    pub async fn respond_error(&self, id: Json, code: i64, message: &str) -> Result<(), ConnError> {
        let error = json!({"code": code, "message": message});
        self.send(&json!({"jsonrpc": "2.0", "id": id, "error": error}))
            .await
    }

    /// Ends the agent's process (its output then closes).
    pub fn kill(&self) {
        if let Some(child) = self
            .child
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            let _ = child.start_kill();
        }
    }

    async fn send(&self, message: &Json) -> Result<(), ConnError> {
        let mut line = serde_json::to_vec(message).map_err(|e| ConnError::Write(e.to_string()))?;
        line.push(b'\n');
        let mut stdin = self.stdin.lock().await;
        let written = async {
            stdin.write_all(&line).await?;
            stdin.flush().await
        };
        written.await.map_err(|e| ConnError::Write(e.to_string()))
    }

    fn lock_pending(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<i64, oneshot::Sender<Result<Json, ConnError>>>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How the child ended, as " with status 3" (empty when unknown). Waits at most 5 s for it: a
/// loaded machine may take seconds to reap it.
async fn exit_status(child: &Mutex<Option<Child>>) -> String {
    let Some(mut child) = child.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        return String::new();
    };
    let waited = tokio::time::timeout(std::time::Duration::from_secs(5), child.wait()).await;
    match waited {
        Ok(Ok(s)) => match s.code() {
            Some(code) => format!(" with status {code}"),
            None => " (killed by a signal)".into(),
        },
        _ => String::new(),
    }
}

/// Reads lines until EOF, each message to `tx`.
async fn read_loop(mut reader: impl AsyncBufRead + Unpin, tx: &mpsc::UnboundedSender<Incoming>) {
    loop {
        let line = match read_line(&mut reader).await {
            Ok(Some(Line::Text(l))) => l,
            Ok(Some(Line::TooLong)) => {
                let why = format!("a line over {} MB", MAX_LINE / (1024 * 1024));
                let _ = tx.send(Incoming::Malformed(why));
                continue;
            }
            Ok(None) => return,
            Err(e) => {
                tracing::warn!("reading the agent's output: {e}");
                return;
            }
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let _ = tx.send(classify(&line).unwrap_or_else(|m| Incoming::Malformed(m.to_string())));
    }
}

enum Line {
    Text(Vec<u8>),
    TooLong,
}

/// One line without its newline; a line over `MAX_LINE` is skipped whole and reported.
async fn read_line(reader: &mut (impl AsyncBufRead + Unpin)) -> std::io::Result<Option<Line>> {
    let (mut line, mut too_long) = (Vec::new(), false);
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return Ok((!line.is_empty() || too_long).then_some(if too_long {
                Line::TooLong
            } else {
                Line::Text(line)
            }));
        }
        let (chunk, found) = match memchr::memchr(b'\n', buf) {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        if !too_long {
            if line.len() + chunk.len() > MAX_LINE {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        let used = found.unwrap_or(buf.len());
        reader.consume(used);
        if found.is_some() {
            return Ok(Some(if too_long {
                Line::TooLong
            } else {
                Line::Text(line)
            }));
        }
    }
}

/// Sorts one line into a reply, a request, a notification, or the reason it is none of them.
fn classify(line: &[u8]) -> Result<Incoming, Malformed> {
    let value: Json = serde_json::from_slice(line).map_err(|_| {
        let text = String::from_utf8_lossy(&line[..line.len().min(60)]).into_owned();
        Malformed::NotJson(text)
    })?;
    let Json::Object(mut map) = value else {
        return Err(Malformed::NotObject);
    };
    let method = map.get("method").and_then(Json::as_str).map(str::to_string);
    let params = map.remove("params").unwrap_or(Json::Null);
    match (map.remove("id"), method) {
        (Some(id), Some(method)) => Ok(Incoming::Request { id, method, params }),
        (None, Some(method)) => Ok(Incoming::Notification { method, params }),
        (Some(id), None) => {
            let id = id.as_i64().ok_or(Malformed::ForeignId)?;
            let result = match (map.remove("result"), map.remove("error")) {
                (_, Some(err)) => Err(ConnError::Rpc {
                    code: err.get("code").and_then(Json::as_i64).unwrap_or(0),
                    message: err
                        .get("message")
                        .and_then(Json::as_str)
                        .unwrap_or("error")
                        .to_string(),
                    data: err.get("data").cloned(),
                }),
                (Some(r), None) => Ok(r),
                (None, None) => return Err(Malformed::EmptyReply),
            };
            Ok(Incoming::Reply { id, result })
        }
        (None, None) => Err(Malformed::Neither),
    }
}

/// Why a line from the agent is no JSON-RPC message (said in the chat's one-line error).
#[derive(Debug, thiserror::Error)]
enum Malformed {
    #[error("not JSON: {0:?}")]
    NotJson(String),
    #[error("a JSON value that is not an object")]
    NotObject,
    #[error("a reply with an id we never sent")]
    ForeignId,
    #[error("a reply with neither result nor error")]
    EmptyReply,
    #[error("a message with neither id nor method")]
    Neither,
}

/// The agent's stderr goes to our log (bounded lines), never to the user's screen.
async fn log_stderr(mut reader: impl AsyncBufRead + Unpin, label: String) {
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let end = floor_boundary(&line, 2000);
                tracing::info!("{label} stderr: {}", line[..end].trim_end());
            }
        }
    }
}

/// `at` moved back to a character boundary of `s`.
fn floor_boundary(s: &str, at: usize) -> usize {
    let mut at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_split_anywhere_and_an_overlong_line_is_skipped() {
        let mut data = b"{\"a\":1}\n".to_vec();
        data.extend(vec![b'x'; MAX_LINE + 10]);
        data.extend(b"\nlast");
        let mut r = BufReader::with_capacity(7, &data[..]);
        assert!(
            matches!(read_line(&mut r).await.unwrap(), Some(Line::Text(l)) if l == b"{\"a\":1}")
        );
        assert!(matches!(
            read_line(&mut r).await.unwrap(),
            Some(Line::TooLong)
        ));
        assert!(matches!(read_line(&mut r).await.unwrap(), Some(Line::Text(l)) if l == b"last"));
        assert!(read_line(&mut r).await.unwrap().is_none());
    }

    #[test]
    fn classify_sorts_messages() {
        assert!(matches!(
            classify(br#"{"jsonrpc":"2.0","id":3,"result":{"x":1}}"#),
            Ok(Incoming::Reply {
                id: 3,
                result: Ok(_)
            })
        ));
        assert!(matches!(
            classify(br#"{"jsonrpc":"2.0","id":"a","method":"fs/read_text_file","params":{}}"#),
            Ok(Incoming::Request { .. })
        ));
        assert!(matches!(
            classify(br#"{"jsonrpc":"2.0","method":"session/update","params":{}}"#),
            Ok(Incoming::Notification { .. })
        ));
        assert!(classify(b"hello").is_err());
        assert!(classify(b"[1]").is_err());
    }
}
