//! The second RPC client on the measured Neovim: it probes with `nvim_eval("1")` every 10 ms and
//! hears when a run is done. It also installs the Lua instruments (clocks, the done signal, the
//! submit-and-watch helpers and the curl + Lua baseline).

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use nvim_rs::compat::tokio::Compat;
use nvim_rs::Neovim;
use rmpv::Value;
use tokio::io::WriteHalf;
use tokio::net::UnixStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::arith::{micros, ms};
use crate::support::Nvim;
use crate::PROBE_EVERY;

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
pub struct Probe {
    api: ProbeApi,
    events: mpsc::UnboundedReceiver<String>,
}

impl Probe {
    /// Opens a socket in `nv` with `serverstart()`, connects, and installs the Lua instruments.
    pub async fn connect(nv: &Nvim, dir: &Path) -> Probe {
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
    pub async fn wait(&mut self, name: &str, limit: Duration) -> bool {
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
    pub fn start(&self, stop: CancellationToken) -> JoinHandle<Probes> {
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
pub struct Probes(pub Vec<(f64, f64)>);

impl Probes {
    pub fn ms(&self) -> Vec<f64> {
        self.0.iter().map(|p| p.1).collect()
    }

    /// The slowest probes as (sent, ms after `t0`; round trip, ms), slowest first.
    pub fn worst(&self, n: usize, t0: f64) -> Vec<(f64, f64)> {
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
