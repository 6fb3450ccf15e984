//! A real headless Neovim (`--headless --embed`) with the plugin on its runtimepath and the real
//! backend binary, driven over RPC. `ZEN_TEST_NVIM` picks the Neovim binary (default `nvim`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nvim_rs::compat::tokio::Compat;
use nvim_rs::{create::tokio::new_child_cmd, rpc::handler::Dummy, Neovim};
use rmpv::Value;
use serde_json::Value as Json;
use tokio::process::{Child, ChildStdin, Command};

/// The API key the tests use; it must never show up anywhere.
pub const TEST_KEY: &str = "sk-or-test-SECRET-4242";

pub struct Nvim {
    pub api: Neovim<Compat<ChildStdin>>,
    child: Child,
    /// Root of this Neovim's XDG directories.
    pub home: PathBuf,
    pub state_dir: PathBuf,
}

/// How to start Neovim for a test.
pub struct Start {
    pub home: PathBuf,
    /// Extra Lua table fields for `setup()` (Lua source, e.g. `layout = "split"`).
    pub setup: String,
    pub base_url: String,
    pub key: Option<String>,
    pub cwd: Option<PathBuf>,
    /// Extra environment (PATH with fake CLIs first, ...).
    pub env: Vec<(String, String)>,
    /// Extra fields of the `openrouter` table of `setup()` (Lua source, e.g. `compact = "auto"`).
    pub openrouter: String,
}

impl Start {
    pub fn new(home: &Path, base_url: &str) -> Start {
        Start {
            home: home.to_path_buf(),
            setup: String::new(),
            base_url: base_url.into(),
            key: Some(TEST_KEY.into()),
            cwd: None,
            env: Vec::new(),
            openrouter: String::new(),
        }
    }
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn nvim_binary() -> String {
    std::env::var("ZEN_TEST_NVIM").unwrap_or_else(|_| "nvim".into())
}

impl Nvim {
    /// Starts Neovim, installs a notification recorder and calls `setup()`.
    pub async fn start(opts: Start) -> Nvim {
        let root = repo_root();
        let mut cmd = Command::new(nvim_binary());
        cmd.args(["--headless", "--embed", "-u", "NONE", "-i", "NONE", "-n"])
            .arg("--cmd")
            .arg(format!("set rtp^={}", root.display()))
            .env_remove("NVIM")
            .env_remove("NVIM_LISTEN_ADDRESS")
            // A user's editor, not a CI job: with CI=true, gemini-cli runs headless and a revived
            // `gemini --resume <id>` exits (status 42) waiting for stdin.
            .env_remove("CI")
            .env_remove("GITHUB_ACTIONS")
            .env("XDG_CONFIG_HOME", opts.home.join("config"))
            .env("XDG_DATA_HOME", opts.home.join("data"))
            .env("XDG_STATE_HOME", opts.home.join("state"))
            .env("XDG_CACHE_HOME", opts.home.join("cache"))
            .current_dir(opts.cwd.clone().unwrap_or_else(|| opts.home.clone()))
            .kill_on_drop(true);
        cmd.envs(opts.env.iter().map(|(k, v)| (k, v)));
        match &opts.key {
            Some(k) => cmd.env("OPENROUTER_API_KEY", k),
            None => cmd.env_remove("OPENROUTER_API_KEY"),
        };
        let (api, _io, child) = new_child_cmd(&mut cmd, Dummy::new())
            .await
            .expect("start nvim");
        let state_dir = opts.home.join("zen-state");
        let nv = Nvim {
            api,
            child,
            home: opts.home.clone(),
            state_dir: state_dir.clone(),
        };
        nv.exec(&format!("source {}/plugin/zen.lua", root.display()))
            .await;
        let setup = format!(
            r#"
            _G.zen_notes = {{}}
            vim.notify = function(msg, level) table.insert(_G.zen_notes, {{ msg = msg, level = level or 2 }}) end
            require("zen").setup({{
              binary = {bin:?},
              state_dir = {state:?},
              layout = "current",
              openrouter = {{ base_url = {url:?}, retry_base_ms = 100, stall_timeout_ms = 1500, {openrouter} }},
              {extra}
            }})
            "#,
            bin = env!("CARGO_BIN_EXE_zen-portal"),
            state = state_dir.display().to_string(),
            url = opts.base_url,
            extra = opts.setup,
            openrouter = opts.openrouter,
        );
        nv.lua(&setup).await;
        nv
    }

    /// Runs an Ex command; panics on error.
    pub async fn exec(&self, command: &str) {
        if let Err(e) = self.api.command(command).await {
            panic!("command `{command}` failed: {e}");
        }
    }

    /// Runs Lua and returns its value as JSON; panics on error.
    pub async fn lua(&self, code: &str) -> Json {
        match self.api.exec_lua(code, vec![]).await {
            Ok(v) => rmpv::ext::from_value(v).unwrap_or_else(|e| panic!("lua value: {e}\n{code}")),
            Err(e) => panic!("lua failed: {e}\n{code}"),
        }
    }

    /// Polls a Lua expression until it is truthy; panics after `secs`.
    pub async fn wait_for(&self, expr: &str, secs: u64) -> Json {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let v = self.lua(&format!("return {expr}")).await;
            if !(v.is_null() || v == Json::Bool(false)) {
                return v;
            }
            if Instant::now() > deadline {
                let notes = self.notes().await;
                panic!("timed out waiting for `{expr}`; notes: {notes:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Number of `ZenStreamDone` events seen so far.
    pub async fn install_event_counter(&self) {
        self.lua(
            r#"
            _G.zen_done = {}
            vim.api.nvim_create_autocmd("User", { pattern = "ZenStreamDone", callback = function()
              table.insert(_G.zen_done, require("zen").last_event("ZenStreamDone"))
            end })
            "#,
        )
        .await;
    }

    /// Waits for the `n`th `ZenStreamDone` and returns its payload.
    pub async fn wait_done(&self, n: usize, secs: u64) -> Json {
        self.wait_for(&format!("_G.zen_done[{n}]"), secs).await
    }

    /// All lines of a buffer (0: current) joined with newlines.
    pub async fn text(&self, buf: i64) -> String {
        let v = self
            .lua(&format!(
                "return table.concat(vim.api.nvim_buf_get_lines({buf}, 0, -1, false), '\\n')"
            ))
            .await;
        v.as_str().unwrap_or_default().to_string()
    }

    /// Types a prompt at the end of the current chat buffer.
    pub async fn type_prompt(&self, text: &str) {
        let lines: Vec<&str> = text.split('\n').collect();
        let arg = serde_json::to_string(&lines).unwrap();
        self.lua(&format!(
            "vim.api.nvim_buf_set_lines(0, -1, -1, false, vim.fn.json_decode({arg:?}))"
        ))
        .await;
    }

    /// The messages passed to `vim.notify`.
    pub async fn notes(&self) -> Vec<String> {
        let v = self
            .lua("return vim.tbl_map(function(n) return n.msg end, _G.zen_notes or {})")
            .await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits for a notification containing `needle`.
    pub async fn wait_note(&self, needle: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(n) = self.notes().await.into_iter().find(|n| n.contains(needle)) {
                return n;
            }
            if Instant::now() > deadline {
                panic!(
                    "no note containing {needle:?}; notes: {:?}",
                    self.notes().await
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The backend's process id.
    pub async fn backend_pid(&self) -> Option<i64> {
        self.lua("return require('zen.backend').pid()")
            .await
            .as_i64()
    }

    /// Quits Neovim and waits for it (the backend exits with it).
    /// Kills Neovim hard (SIGKILL), as a crash would.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }

    pub async fn quit(mut self) {
        let _ = self.api.command("qa!").await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}

/// The protocol version the built backend speaks (`zen-portal --protocol`).
pub fn backend_protocol() -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zen-portal"))
        .arg("--protocol")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Whether a process is still alive.
pub fn process_alive(pid: i64) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}
