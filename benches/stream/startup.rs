//! The plugin's cost at Neovim startup, read from `--startuptime`.

use std::process::Stdio;

use crate::support::repo_root;
use crate::STARTUP_RUNS;

/// The plugin's cost during Neovim's startup: plugin/zen.lua's line of `--startuptime` (ms).
pub fn plugin_startup_ms(nvim: &str) -> Vec<f64> {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = repo_root();
    let mut out = Vec::new();
    for i in 0..STARTUP_RUNS {
        let log = dir.path().join(format!("startup-{i}.log"));
        let status = std::process::Command::new(nvim)
            .args(["--headless", "--clean", "-i", "NONE", "--cmd"])
            .arg(format!("set rtp^={}", root.display()))
            .arg("--startuptime")
            .arg(&log)
            .arg("+qa!")
            .env_remove("NVIM")
            .env_remove("NVIM_LISTEN_ADDRESS")
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .env("XDG_CACHE_HOME", dir.path().join("cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run nvim --startuptime");
        assert!(status.success(), "nvim --startuptime failed: {status}");
        let text = std::fs::read_to_string(&log).expect("startuptime log");
        // "008.819  000.411  000.411: sourcing /…/plugin/zen.lua": clock, self+sourced, self.
        let line = text
            .lines()
            .find(|l| l.trim_end().ends_with("/plugin/zen.lua"))
            .unwrap_or_else(|| panic!("plugin/zen.lua was not loaded at startup:\n{text}"));
        let ms = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .expect("a time on the zen.lua line");
        out.push(ms);
    }
    out
}
