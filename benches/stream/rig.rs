//! Our side: a Neovim with the plugin, its fake server and the probe client (`Rig`), one streamed
//! answer measured end to end, and the runs built on it (`ours_single`, `ours_many`).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::arith::{micros, token_latencies};
use crate::memory::{cpu_ms, cpu_since, status_kb, Memory};
use crate::probe::{Probe, Probes};
use crate::streams::{check_answer, Stream};
use crate::support::{FakeServer, Nvim, SentPart, Start};
use crate::{BACKEND_STARTS, BIG_RUNS, FRAME_MS, SESSIONS};

/// What one streamed answer gave.
#[derive(Default)]
pub struct StreamRun {
    /// When :ZenSubmit was given (µs, wall clock) and how long it kept Neovim busy (ms).
    pub t0: f64,
    pub submit_ms: f64,
    pub wall_ms: f64,
    /// First part begun → last part written, on the server.
    pub push_ms: f64,
    pub flushes: f64,
    /// Buffer changes seen during the answer, and their average spacing.
    pub changes: usize,
    pub flushes_per_frame: f64,
    pub min_change_gap_ms: f64,
    /// Gaps between buffer changes longer than two frames: (start, ms after t0; length, ms).
    pub long_gaps: Vec<(f64, f64)>,
    /// Per chunk: left the server → in the buffer (ms).
    pub latency: Vec<f64>,
    pub probes: Probes,
    pub nvim_growth_kb: u64,
    /// CPU (ran, waited for a CPU; ms) of Neovim, the backend and this process (the server).
    pub cpu: Vec<(f64, f64)>,
}

impl StreamRun {
    /// The run of median wall time, with the probes and latencies of all runs pooled and the
    /// largest Neovim growth.
    pub fn pooled(mut runs: Vec<StreamRun>) -> StreamRun {
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

pub struct Ours {
    pub backend_starts_ms: Vec<f64>,
    pub idle_rss_kb: u64,
    /// The median run, with probes and latencies of all runs.
    pub big: StreamRun,
    pub big_walls: Vec<f64>,
    pub slow: StreamRun,
    pub rss_after_kb: u64,
}

pub struct Many {
    pub t0: f64,
    /// How long the eight submits kept Neovim busy (probing starts after them).
    pub submit_ms: f64,
    pub wall_ms: f64,
    /// Each session's time to its ZenStreamDone.
    pub done_ms: Vec<f64>,
    pub peak_rss_kb: u64,
    pub nvim_growth_kb: u64,
    pub probes: Probes,
}

/// A Neovim with the plugin, its fake server and the probe client.
pub struct Rig {
    pub server: FakeServer,
    pub nv: Nvim,
    pub probe: Probe,
    pub nvim_pid: i64,
    pub _home: tempfile::TempDir,
}

impl Rig {
    pub async fn start() -> Rig {
        Rig::start_with("").await
    }

    /// A rig whose `setup()` gets the extra Lua fields `setup`.
    pub async fn start_with(setup: &str) -> Rig {
        let server = FakeServer::start().await;
        let home = tempfile::tempdir().expect("temp dir");
        let mut start = Start::new(home.path(), &server.base_url());
        start.setup = setup.into();
        let nv = Nvim::start(start).await;
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

    pub async fn backend_pid(&self) -> i64 {
        self.nv.backend_pid().await.expect("backend pid")
    }

    /// Index of the latest chat request the server saw.
    pub fn last_chat_request(&self) -> usize {
        self.server
            .requests()
            .iter()
            .rposition(|r| r.path.ends_with("/chat/completions"))
            .expect("a chat request reached the server")
    }

    /// The parts the server wrote for request `index`, by part number.
    pub fn parts_sent(&self, index: usize) -> Vec<SentPart> {
        let mut parts: Vec<_> = self
            .server
            .sent()
            .into_iter()
            .filter(|p| p.request == index)
            .collect();
        parts.sort_by_key(|p| p.part);
        parts
    }

    pub async fn quit(self) {
        let Rig { nv, probe, .. } = self;
        drop(probe);
        // A Neovim still busy is killed when dropped.
        let _ = tokio::time::timeout(Duration::from_secs(10), nv.quit()).await;
    }

    /// Opens a chat, streams `stream` into it while probing and sampling memory, checks the
    /// answer byte for byte and returns the figures.
    pub async fn stream_one(
        &mut self,
        stream: &Stream,
        probing: bool,
        pids: Vec<i64>,
    ) -> StreamRun {
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
pub async fn ours_single(big: &Stream, slow: &Stream) -> Ours {
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
pub async fn ours_many(each: &Stream) -> Many {
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
