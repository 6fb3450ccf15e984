//! Arithmetic: time units, percentiles, and per-chunk server-to-buffer latencies.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub fn micros(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).expect("clock").as_micros() as f64
}

/// Nearest-rank percentile (q in 0..=1).
pub fn pct(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

pub fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NAN, f64::max)
}

/// Per chunk: from the moment the part carrying it left the server (`left`, µs, by part) to the
/// first buffer change that reached its end (`changes`: µs, answer bytes so far), in ms.
pub fn token_latencies(
    tokens: &[(usize, usize)],
    left: &[f64],
    changes: &[(f64, f64)],
) -> Vec<f64> {
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
