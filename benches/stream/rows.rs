//! The table's rows: each figure of DESIGN.md §5 against its target, next to the baseline, with
//! the numbers behind it for the JSON.

use serde_json::json;

use crate::arith::{ms, pct};
use crate::report::{f_mb, f_ms, f_probes, probe_values, row, Report, Row};
use crate::support::CATALOGUE_SIZE;
use crate::{BASELINE_LIMIT, BIG_RUNS};

impl Report<'_> {
    pub fn rows(&self) -> Vec<Row> {
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
        rows.extend(crate::users::rows(&self.users));
        rows.shrink_to_fit();
        rows
    }
}
