//! Settings cascade: defaults < `setup()` < project file < per-session arguments.
//!
//! Lua merges the first two tiers (it validates `setup()` where the user calls it) and sends the
//! result at handshake. The project tier (`.zen-portal.json`) is read here, per session directory,
//! and may not set anything that runs a program or reveals a secret. Its `system_prompt` is not
//! merged: it is used only once the user trusts the file (`project_prompt`, asked at submit). The schema (types, defaults,
//! which keys a project may set) is `schema.rs`; errors naming the option are `check.rs`; the
//! generated defaults of `:help zen-options` are `doc.rs`.

mod check;
mod doc;
mod schema;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde_json::Value as Json;

// The one import from the rest of the crate: what a model id may be (pure rules, no I/O).
use crate::data::model_id;

pub use check::check_project;
pub use doc::defaults_doc;
pub use schema::*;

/// Name of the project-tier settings file, looked up at the git root, else the directory itself.
pub const PROJECT_FILE: &str = ".zen-portal.json";

impl Config {
    /// Parses the table Lua sends at handshake.
    pub fn from_json(json: Json) -> anyhow::Result<Self> {
        let mut config: Config = check::parse(&json)?;
        if config.state_dir.as_os_str().is_empty() {
            bail!("option `state_dir` is missing (the plugin sends it; update the plugin)");
        }
        config.openrouter.clamp_retries();
        config.openrouter.check_models()?;
        Ok(config)
    }

    /// The settings for a session in `dir`: these settings with the project file merged over them.
    pub fn for_dir(&self, dir: &Path) -> anyhow::Result<(Config, Option<PathBuf>)> {
        let Some(file) = find_project_file(dir) else {
            return Ok((self.clone(), None));
        };
        let project = read_project_file(&file)?;
        let merged = merge_project(self, &project)
            .with_context(|| format!("applying {}", file.display()))?;
        Ok((merged, Some(file)))
    }
}

/// Reads and parses a project file (not yet checked against the schema).
pub fn read_project_file(file: &Path) -> anyhow::Result<Json> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {} as JSON", file.display()))
}

/// The project file that applies to `dir` and every problem of it, for `:checkhealth zen`.
pub fn project_problems(dir: &Path) -> (Option<PathBuf>, Vec<String>) {
    let Some(file) = find_project_file(dir) else {
        return (None, Vec::new());
    };
    let problems = match read_project_file(&file) {
        Ok(project) => {
            let problems = check_project(&project).problems();
            if problems.is_empty() {
                // The checks that need the whole file (model ids).
                let base = Config {
                    state_dir: dir.to_path_buf(),
                    ..Config::default()
                };
                let error = merge_project(&base, &project).err();
                error.into_iter().map(|e| format!("{e:#}")).collect()
            } else {
                problems
            }
        }
        Err(e) => vec![format!("{e:#}")],
    };
    (Some(file), problems)
}

/// A project file's `system_prompt`, to use only once the user trusts that file: a cloned
/// repository's text would otherwise steer every answer unseen.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectPrompt {
    pub file: PathBuf,
    /// The file's whole text as read: what the user trusts (a changed file is asked again).
    pub text: String,
    pub prompt: String,
}

/// The `system_prompt` set by the project file that applies to `dir`, if any.
pub fn project_prompt(dir: &Path) -> Option<ProjectPrompt> {
    let file = find_project_file(dir)?;
    let text = std::fs::read_to_string(&file).ok()?;
    let json: Json = serde_json::from_str(&text).ok()?;
    let prompt = json.get("system_prompt")?.as_str()?.to_string();
    (!prompt.trim().is_empty()).then_some(ProjectPrompt { file, text, prompt })
}

/// Merges a parsed project file over `base`, refusing keys that run programs or reveal secrets.
pub fn merge_project(base: &Config, project: &Json) -> anyhow::Result<Config> {
    if let Some(problem) = check_project(project).problems().into_iter().next() {
        bail!(problem);
    }
    let mut merged = serde_json::to_value(base).context("writing the settings")?;
    let mut project = project.clone();
    if let Some(keys) = project.as_object_mut() {
        keys.remove("system_prompt"); // untrusted text: see project_prompt
    }
    deep_merge(&mut merged, &project);
    let mut config: Config = check::parse(&merged)?;
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
        let edit = self.edit_model.iter().map(|id| ("edit_model", id));
        for (field, id) in std::iter::once(("default_model", &self.default_model))
            .chain(fallbacks)
            .chain(edit)
        {
            if let Err(why) = model_id::check(id) {
                bail!(
                    "`openrouter.{field}` '{}' is not a model id ({why}); use one such as openai/gpt-4o",
                    model_id::shown(id, 60)
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

/// Objects merge key by key; any other value replaces.
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

/// The project root of `dir`: the nearest ancestor holding `.git`, else `dir` itself.
pub fn project_root(dir: &Path) -> PathBuf {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(dir)
        .to_path_buf()
}

/// The project file that applies to `dir`, if there is one.
pub fn find_project_file(dir: &Path) -> Option<PathBuf> {
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
        // The ACP adapter is a program too; the mode is not.
        let project = serde_json::json!({"agents": {"gemini": {"acp_cmd": ["evil"]}}});
        let err = merge_project(&base(), &project).unwrap_err().to_string();
        assert!(err.contains("agents.gemini.acp_cmd"), "{err}");
        let project = serde_json::json!({"agents": {"gemini": {"mode": "chat"}}});
        assert!(merge_project(&base(), &project).is_ok());
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
    fn a_project_files_system_prompt_is_not_merged_into_the_settings() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(PROJECT_FILE);
        let text = r#"{"system_prompt": "steer"}"#;
        std::fs::write(&file, text).unwrap();
        let mut setup = base();
        setup.system_prompt = Some("mine".into());
        let (merged, _) = setup.for_dir(dir.path()).unwrap();
        assert_eq!(merged.system_prompt.as_deref(), Some("mine"));
        let found = project_prompt(dir.path()).unwrap();
        assert_eq!(
            (found.prompt.as_str(), found.text.as_str()),
            ("steer", text)
        );
    }

    #[test]
    fn project_file_unknown_key_is_named() {
        let project = serde_json::json!({"openrouter": {"defualt_model": "x"}});
        let err = merge_project(&base(), &project).unwrap_err().to_string();
        assert!(err.contains("defualt_model"), "{err}");
    }
}
