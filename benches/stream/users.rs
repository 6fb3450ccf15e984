//! The configuration users run, next to the bare one (`-u NONE`, nothing drawn): filetype and
//! syntax on, the chat shown in a window, a UI attached at 200x50 (this client, through
//! `nvim_ui_attach`: Neovim draws every change as it would on a screen), and code highlighted by
//! the regex markdown syntax or by treesitter (where the Neovim has the markdown parser).
//! Measured: the probe during the 1 MB flood and during a fast model (3000 tokens/s), and the
//! 1 MB wall time.

use nvim_rs::UiAttachOptions;
use serde_json::json;

use crate::arith::pct;
use crate::report::{f_ms, f_probes, probe_values, row, Row};
use crate::rig::{Rig, StreamRun};
use crate::streams::Stream;
use crate::USER_BIG_RUNS;

/// One highlighting configuration, measured.
pub struct UserRun {
    pub name: &'static str,
    /// The 1 MB flood: the median run, probes of all runs.
    pub big: StreamRun,
    pub big_walls: Vec<f64>,
    /// 3000 tokens/s.
    pub fast: StreamRun,
}

/// Runs both configurations (treesitter only where the parser exists).
pub async fn users(big: &Stream, fast: &Stream) -> Vec<UserRun> {
    let mut out = Vec::new();
    for (name, highlight) in [("regex syntax", "syntax"), ("treesitter", "treesitter")] {
        let mut rig = Rig::start_with(&format!("highlight = {highlight:?},")).await;
        rig.nv.exec("filetype plugin indent on | syntax on").await;
        let mut opts = UiAttachOptions::new();
        opts.set_rgb(true).set_linegrid_external(true);
        rig.nv
            .api
            .ui_attach(200, 50, &opts)
            .await
            .expect("attach a UI");
        rig.nv.lua("_G.bench.start_backend()").await;
        let mode = rig
            .nv
            .lua("return require('zen.look').mode()")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string();
        if mode != highlight {
            eprintln!("bench: no {name} here (the Neovim has no markdown parser); skipped");
            rig.quit().await;
            continue;
        }
        let pids = vec![rig.nvim_pid, rig.backend_pid().await];
        let mut runs = Vec::new();
        for _ in 0..USER_BIG_RUNS {
            runs.push(rig.stream_one(big, true, pids.clone()).await);
        }
        let big_walls = runs.iter().map(|r| r.wall_ms).collect();
        let fast_run = rig.stream_one(fast, true, pids).await;
        let shown = rig
            .nv
            .lua("return vim.b.zen_highlight .. ' ' .. vim.fn.winwidth(0) .. 'x' .. vim.fn.winheight(0)")
            .await;
        eprintln!("bench: {name}: chat highlighted by {shown}");
        rig.quit().await;
        out.push(UserRun {
            name,
            big: StreamRun::pooled(runs),
            big_walls,
            fast: fast_run,
        });
    }
    out
}

/// The rows of the users' configurations (figure 8).
pub fn rows(runs: &[UserRun]) -> Vec<Row> {
    let mut out = Vec::new();
    for r in runs {
        let (big, fast) = (
            pct(&r.big.probes.ms(), 0.99),
            pct(&r.fast.probes.ms(), 0.99),
        );
        out.push(
            row(
                "8",
                &format!("{}, UI 200x50: probe during 1 MB: p50 / p99 / max", r.name),
                f_probes(&r.big.probes),
                "p99 < 50 ms",
                Some(big < 50.0),
            )
            .values(probe_values(&r.big.probes, r.big.t0)),
        );
        out.push(
            row(
                "8",
                &format!(
                    "{}, UI 200x50: 1 MB answer (median of {USER_BIG_RUNS})",
                    r.name
                ),
                f_ms(r.big.wall_ms),
                "≤ 1.5 s",
                Some(r.big.wall_ms <= 1500.0),
            )
            .values(json!({"ms": r.big.wall_ms, "runs_ms": r.big_walls, "flushes": r.big.flushes})),
        );
        out.push(
            row(
                "8",
                &format!(
                    "{}, UI 200x50: probe at 3000 tokens/s: p50 / p99 / max",
                    r.name
                ),
                f_probes(&r.fast.probes),
                "p99 < 5 ms",
                Some(fast < 5.0),
            )
            .values(probe_values(&r.fast.probes, r.fast.t0)),
        );
    }
    out
}

/// Prints only these rows (`ZEN_BENCH_ONLY=users make bench`).
pub fn print(runs: &[UserRun]) {
    for r in rows(runs) {
        let mark = match r.met {
            Some(true) => "ok",
            Some(false) => "MISSED",
            None => "",
        };
        println!(
            "{:<2} {:<62} {:<28} {:<12} {mark}",
            r.figure, r.measure, r.ours, r.target
        );
    }
}
