//! The baseline: the same 1 MB stream consumed the way most plugins do (`curl` under `jobstart`,
//! SSE parsed in Lua, one buffer edit per delta), in the same kind of Neovim.

use rmpv::Value;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::arith::micros;
use crate::memory::{cpu_ms, cpu_since, Memory};
use crate::probe::Probes;
use crate::rig::Rig;
use crate::streams::Stream;
use crate::support::TEST_KEY;
use crate::BASELINE_LIMIT;

pub struct Baseline {
    pub t0: f64,
    /// None: stopped at the limit.
    pub wall_ms: Option<f64>,
    pub push_ms: f64,
    pub intact: Option<bool>,
    pub deltas: u64,
    pub probes: Probes,
    pub nvim_growth_kb: u64,
    /// CPU (ran, waited for a core; ms) of Neovim and this process (the server).
    pub cpu: Vec<(f64, f64)>,
}

/// The same 1 MB stream consumed by curl + Lua in the same kind of Neovim.
pub async fn baseline(big: &Stream) -> Baseline {
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
