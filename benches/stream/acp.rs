//! An agent chat over ACP (`:ZenNew claude mode=chat`) streaming 1 MB, in the users'
//! configuration (filetype and syntax on, the chat shown, a UI attached at 200x50): the editor's
//! probe p99 must stay under a frame (16 ms). The agent is `acp_flood.py`: it answers a prompt
//! with 1 MB of `agent_message_chunk` updates of 200 bytes each, as fast as its stdout takes them.

use std::time::Duration;

use nvim_rs::UiAttachOptions;
use tokio_util::sync::CancellationToken;

use crate::arith::{max, pct};
use crate::rig::Rig;

/// Bytes the agent streams.
const FLOOD_BYTES: usize = 1 << 20;
const RUNS: usize = 2;

/// One run: the probe during it and its wall time.
pub struct AcpRun {
    pub probes: Vec<f64>,
    pub wall_ms: f64,
}

/// Runs the flood `RUNS` times, each in a fresh agent chat of one Neovim.
pub async fn acp_bench() -> Vec<AcpRun> {
    let agent = format!("{}/benches/stream/acp_flood.py", env!("CARGO_MANIFEST_DIR"));
    let setup = format!(
        "highlight = \"syntax\", agents = {{ claude = {{ acp_cmd = {{ \"python3\", {agent:?} }} }} }},"
    );
    let mut rig = Rig::start_with(&setup).await;
    rig.nv.exec("filetype plugin indent on | syntax on").await;
    let mut opts = UiAttachOptions::new();
    opts.set_rgb(true).set_linegrid_external(true);
    rig.nv
        .api
        .ui_attach(200, 50, &opts)
        .await
        .expect("attach a UI");
    let mut runs = Vec::new();
    for i in 0..RUNS {
        rig.nv
            .exec(&format!("ZenNew claude mode=chat name=flood{i}"))
            .await;
        rig.nv.wait_for("vim.b.zen_session ~= nil", 30).await;
        rig.nv.type_prompt("Stream a megabyte.").await;
        let stop = CancellationToken::new();
        let probes = rig.probe.start(stop.clone());
        let t0 = std::time::Instant::now();
        rig.nv
            .lua("_G.bench.done, _G.bench.expect = {}, 1 vim.cmd('ZenSubmit')")
            .await;
        let done = rig.probe.wait("bench_done", Duration::from_secs(120)).await;
        let wall_ms = t0.elapsed().as_secs_f64() * 1e3;
        stop.cancel();
        let probes = probes.await.expect("probes").ms();
        assert!(
            done,
            "bench: the agent's answer never ended; notes: {:?}",
            rig.nv.notes().await
        );
        let text = rig.nv.text(0).await;
        assert!(
            text.len() >= FLOOD_BYTES,
            "bench: the chat holds {} bytes, not the agent's 1 MB",
            text.len()
        );
        runs.push(AcpRun { probes, wall_ms });
    }
    rig.quit().await;
    runs
}

/// Prints the row (`ZEN_BENCH_ONLY=acp make bench`): probe p50 / p99 / max over all runs, and
/// the wall time of each.
pub fn print(runs: &[AcpRun]) {
    let probes: Vec<f64> = runs.iter().flat_map(|r| r.probes.clone()).collect();
    let p99 = pct(&probes, 0.99);
    let walls: Vec<String> = runs.iter().map(|r| format!("{:.0}", r.wall_ms)).collect();
    println!(
        "{:<2} {:<62} {:<28} {:<12} {}",
        "9",
        "ACP agent chat, syntax on, UI 200x50: probe during 1 MB: p50 / p99 / max",
        format!(
            "{:.1} / {:.1} / {:.1} ms",
            pct(&probes, 0.5),
            p99,
            max(&probes)
        ),
        "p99 < 16 ms",
        if p99 < 16.0 { "ok" } else { "MISSED" }
    );
    println!(
        "{:<2} {:<62} {:<28}",
        "9",
        "ACP agent chat: 1 MB answer, submit → done (each run)",
        format!("{} ms", walls.join(" / "))
    );
}
