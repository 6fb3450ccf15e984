//! Settings cascade: defaults < `setup()` < project file < per-session arguments.
//!
//! Lua merges the first two tiers (it validates `setup()` where the user calls it) and sends the
//! result at handshake. The project tier (`.zen-portal.json`) is read here, per session directory,
//! and may not set anything that runs a program or reveals a secret.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;
use serde_json::Value as Json;

/// Name of the project-tier settings file, looked up at the git root, else the directory itself.
pub const PROJECT_FILE: &str = ".zen-portal.json";

/// Keys a project file may never set: they run programs or reveal secrets.
/// `base_url` too: the API key is sent there, so a cloned repository could collect it.
const FORBIDDEN_IN_PROJECT: &[&str] = &[
    "openrouter.api_key_cmd",
    "openrouter.api_key_env",
    "openrouter.base_url",
    "binary",
    "tmux_socket",
];

/// The most retries one request may get, whatever the settings say.
pub const MAX_RETRIES: u32 = 5;
/// The bounds of `openrouter.retry_base_ms` (the first retry's wait; it doubles per retry).
pub const RETRY_BASE_MS: std::ops::RangeInclusive<u64> = 100..=10_000;

/// Everything the backend needs to know about the user's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub openrouter: OpenRouter,
    #[serde(default)]
    pub agents: Json,
    #[serde(default = "default_tmux")]
    pub tmux: Json,
    #[serde(default = "default_layout")]
    pub layout: String,
    /// The private tmux socket (`tmux -L <name>`) agents run on.
    #[serde(default = "default_tmux_socket")]
    pub tmux_socket: String,
    /// Resolved by Lua (`stdpath("state")/zen-portal` unless set).
    pub state_dir: PathBuf,
    #[serde(default)]
    pub references: References,
    #[serde(default)]
    pub binary: Option<String>,
    #[serde(default)]
    pub log_level: Option<String>,
}

/// The `openrouter` table of the settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpenRouter {
    pub base_url: String,
    pub api_key_env: String,
    pub api_key_cmd: Option<Vec<String>>,
    pub default_model: String,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u64>,
    pub fallback_models: Vec<String>,
    pub provider: Option<Json>,
    pub reasoning: Option<Json>,
    /// Attribution headers OpenRouter shows on its leaderboard.
    pub app_title: String,
    pub app_url: String,
    /// No bytes for this long means the stream stalled.
    pub stall_timeout_ms: u64,
    pub connect_timeout_ms: u64,
    /// Retries before the first token (429, 408, 5xx, connection errors).
    pub max_retries: u32,
    pub retry_base_ms: u64,
    /// How long the model catalogue cache is fresh.
    pub catalogue_ttl_s: u64,
}

impl Default for OpenRouter {
    fn default() -> Self {
        Self {
            base_url: "https://openrouter.ai/api/v1".into(),
            api_key_env: "OPENROUTER_API_KEY".into(),
            api_key_cmd: None,
            default_model: "anthropic/claude-sonnet-4".into(),
            temperature: Some(0.7),
            max_tokens: None,
            fallback_models: Vec::new(),
            provider: None,
            reasoning: None,
            app_title: "zen-portal".into(),
            app_url: "https://github.com/zen-portal/zen-portal.nvim".into(),
            stall_timeout_ms: 120_000,
            connect_timeout_ms: 10_000,
            max_retries: 2,
            retry_base_ms: 1_000,
            catalogue_ttl_s: 86_400,
        }
    }
}

/// Limits on what prompt references (`@file`, `@image.png`, `#buffer`) may pull in.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct References {
    pub max_file_bytes: u64,
    pub max_image_bytes: u64,
}

impl Default for References {
    fn default() -> Self {
        Self {
            max_file_bytes: 512 * 1024,
            max_image_bytes: 5 * 1024 * 1024,
        }
    }
}

fn default_tmux() -> Json {
    Json::String("auto".into())
}

fn default_tmux_socket() -> String {
    "zen-portal".into()
}

fn default_layout() -> String {
    "vsplit".into()
}

impl Config {
    /// Parses the table Lua sends at handshake.
    pub fn from_json(json: Json) -> anyhow::Result<Self> {
        let mut config: Config =
            serde_json::from_value(json).context("reading the settings sent by the plugin")?;
        config.openrouter.clamp_retries();
        config.openrouter.check_models()?;
        Ok(config)
    }

    /// The settings for a session in `dir`: these settings with the project file merged over them.
    pub fn for_dir(&self, dir: &Path) -> anyhow::Result<(Config, Option<PathBuf>)> {
        let Some(file) = find_project_file(dir) else {
            return Ok((self.clone(), None));
        };
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let project: Json = serde_json::from_str(&text)
            .with_context(|| format!("parsing {} as JSON", file.display()))?;
        let merged = merge_project(self, &project)
            .with_context(|| format!("applying {}", file.display()))?;
        Ok((merged, Some(file)))
    }
}

/// Merges a parsed project file over `base`, refusing keys that run programs or reveal secrets.
pub fn merge_project(base: &Config, project: &Json) -> anyhow::Result<Config> {
    let Json::Object(_) = project else {
        bail!("the file must hold a JSON object")
    };
    for key in FORBIDDEN_IN_PROJECT {
        if lookup(project, key).is_some() {
            bail!("`{key}` may not be set in a project file (it could run code or leak your API key); set it in setup()");
        }
    }
    if let Some(Json::Object(agents)) = project.get("agents") {
        if let Some((name, _)) = agents.iter().find(|(_, a)| a.get("cmd").is_some()) {
            bail!("`agents.{name}.cmd` may not be set in a project file (it would run a program); set it in setup()");
        }
    }
    if project.get("state_dir").is_some() {
        bail!("`state_dir` may not be set in a project file; set it in setup()");
    }
    let mut merged = to_json(base);
    deep_merge(&mut merged, project);
    let mut config: Config = serde_json::from_value(merged).map_err(|e| anyhow::anyhow!("{e}"))?;
    // A project file may make retrying gentler (fewer retries, longer waits), never harsher than
    // setup(): a cloned repository must not be able to flood the API with the user's key.
    let (or, base_or) = (&mut config.openrouter, &base.openrouter);
    or.max_retries = or.max_retries.min(base_or.max_retries);
    or.retry_base_ms = or.retry_base_ms.max(base_or.retry_base_ms);
    or.clamp_retries();
    or.check_models()?;
    Ok(config)
}

impl OpenRouter {
    /// Refuses a `default_model` or `fallback_models` entry that is not a model id (a newline
    /// in one would break every chat title and submit).
    fn check_models(&self) -> anyhow::Result<()> {
        let fallbacks = self
            .fallback_models
            .iter()
            .map(|id| ("fallback_models", id));
        for (field, id) in std::iter::once(("default_model", &self.default_model)).chain(fallbacks)
        {
            if let Err(why) = crate::data::model_id::check(id) {
                bail!(
                    "`openrouter.{field}` '{}' is not a model id ({why}); use one such as openai/gpt-4o",
                    crate::data::model_id::shown(id, 60)
                );
            }
        }
        Ok(())
    }

    /// Brings the retry settings within [`MAX_RETRIES`] and [`RETRY_BASE_MS`]. setup() refuses
    /// values outside them; this covers every other way in.
    pub fn clamp_retries(&mut self) {
        self.max_retries = self.max_retries.min(MAX_RETRIES);
        self.retry_base_ms = self
            .retry_base_ms
            .clamp(*RETRY_BASE_MS.start(), *RETRY_BASE_MS.end());
    }
}

fn to_json(config: &Config) -> Json {
    let or = &config.openrouter;
    serde_json::json!({
        "openrouter": {
            "base_url": or.base_url, "api_key_env": or.api_key_env, "api_key_cmd": or.api_key_cmd,
            "default_model": or.default_model, "temperature": or.temperature,
            "max_tokens": or.max_tokens, "fallback_models": or.fallback_models,
            "provider": or.provider, "reasoning": or.reasoning, "app_title": or.app_title,
            "app_url": or.app_url, "stall_timeout_ms": or.stall_timeout_ms,
            "connect_timeout_ms": or.connect_timeout_ms, "max_retries": or.max_retries,
            "retry_base_ms": or.retry_base_ms, "catalogue_ttl_s": or.catalogue_ttl_s,
        },
        "references": config.references,
        "agents": config.agents, "tmux": config.tmux, "layout": config.layout,
        "tmux_socket": config.tmux_socket,
        "state_dir": config.state_dir, "binary": config.binary, "log_level": config.log_level,
    })
}

fn deep_merge(base: &mut Json, over: &Json) {
    match (base, over) {
        (Json::Object(b), Json::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) if slot.is_object() && v.is_object() => deep_merge(slot, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

fn lookup<'a>(json: &'a Json, dotted: &str) -> Option<&'a Json> {
    dotted.split('.').try_fold(json, |j, k| j.get(k))
}

/// The project root of `dir`: the nearest ancestor holding `.git`, else `dir` itself.
pub fn project_root(dir: &Path) -> PathBuf {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(dir)
        .to_path_buf()
}

fn find_project_file(dir: &Path) -> Option<PathBuf> {
    let file = project_root(dir).join(PROJECT_FILE);
    file.is_file().then_some(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Config {
        Config::from_json(serde_json::json!({"state_dir": "/tmp/x"})).unwrap()
    }

    #[test]
    fn project_file_overrides_model_and_keeps_the_rest() {
        let project = serde_json::json!({"openrouter": {"default_model": "openai/gpt-4o"}});
        let merged = merge_project(&base(), &project).unwrap();
        assert_eq!(merged.openrouter.default_model, "openai/gpt-4o");
        assert_eq!(merged.openrouter.api_key_env, "OPENROUTER_API_KEY");
    }

    #[test]
    fn project_file_may_not_run_programs() {
        let project = serde_json::json!({"openrouter": {"api_key_cmd": ["sh", "-c", "evil"]}});
        let err = merge_project(&base(), &project).unwrap_err().to_string();
        assert!(err.contains("openrouter.api_key_cmd"), "{err}");
        let project = serde_json::json!({"agents": {"claude": {"cmd": ["evil"]}}});
        let err = merge_project(&base(), &project).unwrap_err().to_string();
        assert!(err.contains("agents.claude.cmd"), "{err}");
    }

    #[test]
    fn project_file_may_not_redirect_the_api_key() {
        let project = serde_json::json!({"openrouter": {"base_url": "https://evil.example/v1"}});
        let err = merge_project(&base(), &project).unwrap_err().to_string();
        assert!(err.contains("openrouter.base_url"), "{err}");
    }

    #[test]
    fn project_file_cannot_cause_a_retry_storm() {
        let project =
            serde_json::json!({"openrouter": {"max_retries": 100000, "retry_base_ms": 0}});
        let merged = merge_project(&base(), &project).unwrap();
        assert_eq!(merged.openrouter.max_retries, 2, "not above setup()'s");
        assert_eq!(merged.openrouter.retry_base_ms, 1000, "not below setup()'s");
        let project = serde_json::json!({"openrouter": {"max_retries": 0, "retry_base_ms": 5000}});
        let merged = merge_project(&base(), &project).unwrap();
        assert_eq!(
            (
                merged.openrouter.max_retries,
                merged.openrouter.retry_base_ms
            ),
            (0, 5000),
            "gentler is allowed"
        );
    }

    #[test]
    fn retry_settings_are_capped_wherever_they_come_from() {
        let config = Config::from_json(serde_json::json!({"state_dir": "/tmp/x",
            "openrouter": {"max_retries": 100000, "retry_base_ms": 0}}))
        .unwrap();
        assert_eq!(config.openrouter.max_retries, MAX_RETRIES);
        assert_eq!(config.openrouter.retry_base_ms, *RETRY_BASE_MS.start());
    }

    #[test]
    fn project_file_model_must_be_a_model_id() {
        let project = serde_json::json!({"openrouter": {"default_model": "a/b\n## User"}});
        let err = merge_project(&base(), &project).unwrap_err().to_string();
        assert!(
            err.contains("is not a model id") && !err.contains('\n'),
            "{err}"
        );
    }

    #[test]
    fn project_file_unknown_key_is_named() {
        let project = serde_json::json!({"openrouter": {"defualt_model": "x"}});
        let err = merge_project(&base(), &project).unwrap_err().to_string();
        assert!(err.contains("defualt_model"), "{err}");
    }
}
