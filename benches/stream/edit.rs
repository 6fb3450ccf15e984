//! `:ZenEdit` under load: a 2,000-line rewrite streamed into a visible, highlighted code buffer
//! as a pending change, at 3000 tokens/s (the editor's probe p99 must stay under a frame) and at
//! full loopback speed (it must land whole within 2× the server's push time).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::arith::{max, micros, pct};
use crate::rig::Rig;
use crate::support::{content_chunk, ending, Part, Reply};
use crate::{TOKEN_BYTES, WRITE_BYTES};

const LINES: usize = 2_000;
const TOKENS_PER_S: usize = 3_000;
/// The paced stream writes this often (30 tokens a write at 3000 tokens/s).
const WRITE_EVERY_MS: u64 = 10;

/// What one edit run gave.
pub struct EditRun {
    pub probe_p50: f64,
    pub probe_p99: f64,
    pub probe_max: f64,
    /// First byte written by the server → the change complete in Neovim (ms).
    pub land_ms: f64,
    /// First byte written → last byte written, on the server (ms).
    pub push_ms: f64,
    pub whole: bool,
}

/// The file before (`old`) and the model's rewrite (`new`), both 2,000 lines of Rust.
fn code() -> (String, String) {
    let line =
        |i: usize, name: &str| format!("    let {name}_{i} = compute({i}, \"wörld\") + {i};");
    let old: Vec<String> = (0..LINES).map(|i| line(i, "value")).collect();
    let new: Vec<String> = (0..LINES).map(|i| line(i, "renamed")).collect();
    (old.join("\n") + "\n", new.join("\n") + "\n")
}

/// The answer as SSE: a fenced block cut into ~4-byte tokens; `paced`: 3000 tokens/s, else in
/// 64 KB writes as fast as the socket takes them.
fn reply(new: &str, paced: bool) -> Reply {
    let answer = format!("```rust\n{new}```\n");
    let mut tokens = Vec::new();
    let mut start = 0;
    while start < answer.len() {
        let mut end = (start + TOKEN_BYTES).min(answer.len());
        while !answer.is_char_boundary(end) {
            end += 1;
        }
        tokens.push(content_chunk(&answer[start..end]));
        start = end;
    }
    let per_write = TOKENS_PER_S * WRITE_EVERY_MS as usize / 1000;
    let mut parts = Vec::new();
    let mut current = String::new();
    for (i, t) in tokens.iter().enumerate() {
        current.push_str(t);
        let full = if paced {
            (i + 1) % per_write == 0
        } else {
            current.len() >= WRITE_BYTES
        };
        if full {
            let delay_ms = if paced && !parts.is_empty() {
                WRITE_EVERY_MS
            } else {
                0
            };
            parts.push(Part {
                delay_ms,
                bytes: std::mem::take(&mut current).into_bytes(),
            });
        }
    }
    current.push_str(&ending(10, tokens.len() as u64, 0.0));
    let delay_ms = if paced { WRITE_EVERY_MS } else { 0 };
    parts.push(Part {
        delay_ms,
        bytes: current.into_bytes(),
    });
    Reply::Sse { parts, hang: false }
}

/// Records in Lua when the edit's stream ends (the backend calls `zen.review.stream`).
const HOOK: &str = r#"
local review = require("zen.review")
local stream = review.stream
_G.edit_bench = {}
review.stream = function(id, text, reset, done, note)
  local ok = stream(id, text, reset, done, note)
  if done then
    local s, us = (vim.uv or vim.loop).gettimeofday()
    _G.edit_bench.done = s * 1e6 + us
  end
  return ok
end
"#;

async fn run_one(rig: &mut Rig, new: &str, paced: bool) -> EditRun {
    rig.nv.lua("_G.edit_bench = {}").await;
    rig.server.push(reply(new, paced));
    let stop = CancellationToken::new();
    let probes = rig.probe.start(stop.clone());
    rig.nv.exec("%ZenEdit rename value to renamed").await;
    let mut done = false;
    for _ in 0..1200 {
        if rig.nv.lua("return _G.edit_bench.done ~= nil").await == serde_json::json!(true) {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    let probes = probes.await.expect("probes").ms();
    assert!(
        done,
        "bench: the edit did not end within 60 s; notes: {:?}",
        rig.nv.notes().await
    );
    let landed = rig
        .nv
        .lua("local c = require('zen.review').list()[1] return c and (table.concat(c.new, '\\n') .. '\\n') or ''")
        .await;
    let done_at = rig
        .nv
        .lua("return _G.edit_bench.done")
        .await
        .as_f64()
        .unwrap_or(f64::NAN);
    let request = rig.last_chat_request();
    let sent = rig.parts_sent(request);
    let first = micros(sent.first().expect("parts").started);
    let last = micros(sent.last().expect("parts").written);
    rig.nv.exec("ZenReject").await;
    EditRun {
        probe_p50: pct(&probes, 0.5),
        probe_p99: pct(&probes, 0.99),
        probe_max: max(&probes),
        land_ms: (done_at - first) / 1e3,
        push_ms: (last - first) / 1e3,
        whole: landed.as_str() == Some(new),
    }
}

/// Both runs in one Neovim showing the file with syntax highlighting; prints their table rows.
pub async fn edit_bench() -> (EditRun, EditRun) {
    let mut rig = Rig::start().await;
    let (old, new) = code();
    let file = rig._home.path().join("big.rs");
    std::fs::write(&file, &old).expect("write big.rs");
    rig.nv.exec(&format!("edit {}", file.display())).await;
    rig.nv
        .exec("syntax enable | set filetype=rust | lua pcall(vim.treesitter.start)")
        .await;
    rig.nv.lua(HOOK).await;
    let paced = run_one(&mut rig, &new, true).await;
    let fast = run_one(&mut rig, &new, false).await;
    rig.quit().await;
    let verdict = |ok: bool| if ok { "ok" } else { "MISSED" };
    println!("\n:ZenEdit, a {LINES}-line rewrite into a visible, highlighted buffer");
    println!(
        "| edit at {TOKENS_PER_S} tokens/s: probe p50 / p99 / max; lands whole | {:.2} / {:.2} / {:.2} ms; {} | p99 < 16 ms, whole | {} |",
        paced.probe_p50,
        paced.probe_p99,
        paced.probe_max,
        if paced.whole { "whole" } else { "NOT WHOLE" },
        verdict(paced.probe_p99 < 16.0 && paced.whole)
    );
    println!(
        "| edit at full speed: server push → landed whole | {:.0} ms → {:.0} ms; {} | < 2× push | {} |",
        fast.push_ms,
        fast.land_ms,
        if fast.whole { "whole" } else { "NOT WHOLE" },
        verdict(fast.whole && fast.land_ms < 2.0 * fast.push_ms)
    );
    (paced, fast)
}
