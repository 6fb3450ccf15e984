//! Reading settings with errors that name the option: `option `openrouter.temperature` must be
//! a number, got "hot"`, `unknown option `openrouter.modle``; and the project file's report
//! (every refused key and every type error at once, for `:checkhealth zen`).

use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use serde_path_to_error::Segment;

use super::schema::{option, Config, Kind, AGENT_KINDS};

/// A setting that cannot be read; the text names the option and what it must be.
#[derive(Debug, thiserror::Error)]
pub enum SettingError {
    #[error("unknown option `{key}`{}. See :help zen-options", kinds_hint(.key))]
    Unknown { key: String },
    #[error("option `{key}` must be {}, got {got}", .kind.expected())]
    WrongType {
        key: String,
        kind: Kind,
        got: String,
    },
    #[error("option `{key}`: {why}")]
    Invalid { key: String, why: String },
    /// serde's own words, where there is no option to name.
    #[error("{0}")]
    Other(String),
}

/// Reads `json` as a `T`; the error names the option and what it must be.
pub fn parse<T: DeserializeOwned>(json: &Json) -> Result<T, SettingError> {
    serde_path_to_error::deserialize(json).map_err(|e| {
        let mut key: Vec<String> = Vec::new();
        for segment in e.path().iter() {
            match segment {
                Segment::Map { key: k } => key.push(k.clone()),
                Segment::Seq { .. } => break, // an item of a list: the list is the option
                _ => {}
            }
        }
        let inner = e.into_inner().to_string();
        if let Some(rest) = inner.strip_prefix("unknown field `") {
            // The key that was refused may or may not be in the path already.
            let name = rest.split('`').next().unwrap_or_default();
            if key.last().map(String::as_str) != Some(name) {
                key.push(name.to_string());
            }
            return SettingError::Unknown { key: key.join(".") };
        }
        if inner.starts_with("unknown variant") && key.is_empty() {
            return SettingError::Other(inner);
        }
        let key = key.join(".");
        match option(&key) {
            Some(o) => wrong_type(&key, o.kind, lookup(json, &key)),
            None => SettingError::Invalid { key, why: inner },
        }
    })
}

/// `agents.aider`: the kinds are fixed, say which exist.
fn kinds_hint(key: &str) -> String {
    match key.strip_prefix("agents.") {
        Some(kind) if !kind.contains('.') => {
            format!(" (agent kinds: {})", AGENT_KINDS.join(", "))
        }
        _ => String::new(),
    }
}

fn wrong_type(key: &str, kind: Kind, got: Option<&Json>) -> SettingError {
    let mut shown = got.map(Json::to_string).unwrap_or_else(|| "nothing".into());
    if shown.chars().count() > 60 {
        shown = shown.chars().take(60).collect::<String>() + "…";
    }
    SettingError::WrongType {
        key: key.into(),
        kind,
        got: shown,
    }
}

/// The value at a dotted key.
pub fn lookup<'a>(json: &'a Json, dotted: &str) -> Option<&'a Json> {
    dotted.split('.').try_fold(json, |j, k| j.get(k))
}

/// What is wrong with a project file, all at once.
#[derive(Debug, Default)]
pub struct ProjectReport {
    /// Keys a project file may not set (they run programs, reveal secrets...), sorted.
    pub refused: Vec<String>,
    /// Unknown keys and wrong types, one message each.
    pub errors: Vec<String>,
}

impl ProjectReport {
    /// Every problem, one line each: refused keys first.
    pub fn problems(&self) -> Vec<String> {
        let refused = self.refused.iter().map(|key| {
            let why = option(key).and_then(|o| o.refused).unwrap_or_default();
            format!("`{key}` may not be set in a project file ({why}); set it in setup()")
        });
        refused.chain(self.errors.iter().cloned()).collect()
    }
}

/// Checks a parsed project file against the schema: refused keys, then each other key alone
/// (so one bad key does not hide the next).
pub fn check_project(project: &Json) -> ProjectReport {
    let mut report = ProjectReport::default();
    if !project.is_object() {
        report
            .errors
            .push("the file must hold a JSON object".into());
        return report;
    }
    let mut leaves = Vec::new();
    leaf_keys(project, "", &mut leaves);
    let base = serde_json::to_value(Config::default()).expect("the settings serialize");
    for key in leaves {
        if option(&key).is_some_and(|o| o.refused.is_some()) {
            report.refused.push(key);
            continue;
        }
        let mut merged = base.clone();
        super::deep_merge(&mut merged, &single(&key, lookup(project, &key)));
        if let Err(e) = parse::<Config>(&merged) {
            report.errors.push(e.to_string());
        }
    }
    report.refused.sort();
    report
}

/// The dotted keys of `json`'s values, descending into the tables the schema checks key by key.
fn leaf_keys(json: &Json, prefix: &str, out: &mut Vec<String>) {
    let Json::Object(map) = json else { return };
    for (k, v) in map {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let table = option(&key).is_some_and(|o| o.kind == Kind::Table);
        if table && v.is_object() {
            leaf_keys(v, &key, out);
        } else {
            out.push(key);
        }
    }
}

/// `{"a": {"b": value}}` for the key `a.b`.
fn single(key: &str, value: Option<&Json>) -> Json {
    let value = value.cloned().unwrap_or(Json::Null);
    key.rsplit('.').fold(value, |v, k| {
        Json::Object([(k.to_string(), v)].into_iter().collect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error(json: Json) -> String {
        parse::<Config>(&json).unwrap_err().to_string()
    }

    #[test]
    fn a_wrong_type_names_the_option_and_the_type() {
        let err = error(json!({"openrouter": {"temperature": "hot"}}));
        assert_eq!(
            err,
            "option `openrouter.temperature` must be a number, got \"hot\""
        );
        let err = error(json!({"agents": {"claude": {"cmd": "claude"}}}));
        assert_eq!(
            err,
            "option `agents.claude.cmd` must be a list of strings, got \"claude\""
        );
        let err = error(json!({"openrouter": {"fallback_models": ["a/b", 3]}}));
        assert!(
            err.starts_with("option `openrouter.fallback_models` must be a list of strings"),
            "{err}"
        );
        assert_eq!(
            error(json!({"tmux": "yes"})),
            "option `tmux` must be \"auto\", true or false, got \"yes\""
        );
        assert!(error(json!({"layout": "right"})).contains("one of vsplit"));
        assert!(error(json!({"openrouter": {"max_retries": 1.5}})).contains("a whole number"));
    }

    #[test]
    fn an_unknown_key_is_named() {
        assert_eq!(
            error(json!({"openrouter": {"modle": "x"}})),
            "unknown option `openrouter.modle`. See :help zen-options"
        );
        assert!(error(json!({"agents": {"aider": {}}})).contains("`agents.aider`"));
        assert!(error(json!({"colour": 1})).contains("`colour`"));
    }

    #[test]
    fn the_project_report_lists_every_problem() {
        let project = json!({
            "openrouter": {"base_url": "https://evil", "temperature": "hot", "default_model": "a/b"},
            "agents": {"codex": {"cmd": ["x"]}},
            "tmux_socket": "other",
            "layuot": "tab",
        });
        let report = check_project(&project);
        assert_eq!(
            report.refused,
            ["agents.codex.cmd", "openrouter.base_url", "tmux_socket"]
        );
        assert_eq!(report.errors.len(), 2, "{:?}", report.errors);
        assert!(report.errors.iter().any(|e| e.contains("`layuot`")));
        assert!(report
            .errors
            .iter()
            .any(|e| e.contains("`openrouter.temperature` must be a number")));
    }
}
