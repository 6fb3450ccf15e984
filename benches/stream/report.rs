//! The report: everything measured, one `Row` per line of the table, the formatting helpers,
//! and the output (the printed table and `target/bench/stream.json`). The rows are in `rows`.

use std::path::PathBuf;

use serde_json::{json, Value as Json};

use crate::arith::{max, pct};
use crate::baseline::Baseline;
use crate::picker::Picker;
use crate::probe::Probes;
use crate::rig::{Many, Ours};
use crate::streams::Stream;
use crate::support::repo_root;

pub struct Report<'a> {
    pub version: String,
    /// /proc/loadavg when the bench began: the machine may be shared.
    pub load: String,
    pub big: &'a Stream,
    pub startup: Vec<f64>,
    pub ours: Ours,
    pub many: Many,
    pub base: Baseline,
    pub picker: Picker,
    /// The configurations users run (`users`).
    pub users: Vec<crate::users::UserRun>,
}

/// One line of the table (and of the JSON).
pub struct Row {
    pub figure: &'static str,
    pub measure: String,
    pub ours: String,
    pub baseline: String,
    pub target: String,
    /// Some(true) met, Some(false) missed, None: no target.
    pub met: Option<bool>,
    /// The figure as numbers, for the JSON.
    pub values: Json,
}

pub fn row(
    figure: &'static str,
    measure: &str,
    ours: String,
    target: &str,
    met: Option<bool>,
) -> Row {
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
    pub fn baseline(mut self, text: String) -> Row {
        self.baseline = text;
        self
    }

    pub fn values(mut self, values: Json) -> Row {
        self.values = values;
        self
    }
}

pub fn f_ms(v: f64) -> String {
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
pub fn probe_values(p: &Probes, t0: f64) -> Json {
    let v = p.ms();
    json!({"p50": pct(&v, 0.5), "p99": pct(&v, 0.99), "max": max(&v), "n": v.len(),
           "slowest_at_ms_and_ms": p.worst(5, t0)})
}

pub fn f_mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

pub fn f_probes(p: &Probes) -> String {
    let p = &p.ms();
    format!(
        "{} / {} / {}",
        f_ms(pct(p, 0.5)),
        f_ms(pct(p, 0.99)),
        f_ms(max(p))
    )
}

impl Report<'_> {
    pub fn print(&self) {
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

    pub fn write_json(&self) {
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
