//! Resource sampling from /proc: resident memory every 10 ms, and CPU time ran and waited for.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Samples resident memory of some processes every 10 ms until stopped.
pub struct Memory {
    task: JoinHandle<Vec<(u64, u64)>>,
    stop: CancellationToken,
}

impl Memory {
    pub fn watch(pids: Vec<i64>) -> Memory {
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

    pub async fn finish(self) -> Vec<(u64, u64)> {
        self.stop.cancel();
        self.task.await.expect("memory sampler")
    }
}

/// A field of /proc/<pid>/status in kB (VmRSS, VmHWM).
pub fn status_kb(pid: i64, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time a process's threads ran, and waited for a CPU while runnable (ms), from schedstat.
pub fn cpu_ms(pid: i64) -> (f64, f64) {
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
pub fn cpu_since(pids: &[i64], before: &[(f64, f64)]) -> Vec<(f64, f64)> {
    pids.iter()
        .zip(before)
        .map(|(&pid, b)| {
            let now = cpu_ms(pid);
            (now.0 - b.0, now.1 - b.1)
        })
        .collect()
}
