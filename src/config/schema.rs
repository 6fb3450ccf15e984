//! The settings schema: every option's type and default (the serde structs, read and written
//! both ways), and [`OPTIONS`], the table that names each option's expected type for errors,
//! says whether a project file may set it, and orders the generated defaults of the help.
//! Lua's `defaults` and `types` (lua/zen/config.lua) are checked against this file by a test.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value as Json;

/// The most retries one request may get, whatever the settings say.
pub const MAX_RETRIES: u32 = 5;
/// The bounds of `openrouter.retry_base_ms` (the first retry's wait; it doubles per retry).
pub const RETRY_BASE_MS: std::ops::RangeInclusive<u64> = 100..=10_000;

/// Everything the backend needs to know about the user's settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub openrouter: OpenRouter,
    pub agents: Agents,
    pub references: References,
    pub tmux: Tmux,
    /// The private tmux socket (`tmux -L <name>`) agents run on.
    pub tmux_socket: String,
    pub layout: Layout,
    /// Resolved by Lua (`stdpath("state")/zen-portal` unless set); empty until then.
    #[serde(serialize_with = "empty_as_null", deserialize_with = "null_as_empty")]
    pub state_dir: PathBuf,
    pub binary: Option<String>,
    pub log_level: String,
    /// The chat surface (read by Lua): `<Plug>(zen-send)` asks for an instruction first.
    pub send: SendSettings,
    /// How chats highlight code fences (read by Lua).
    pub highlight: Highlight,
    /// Sent as the first `system` message of a chat that has no `## System` turn.
    pub system_prompt: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            openrouter: OpenRouter::default(),
            agents: Agents::default(),
            references: References::default(),
            tmux: Tmux::Auto,
            tmux_socket: "zen-portal".into(),
            layout: Layout::Vsplit,
            state_dir: PathBuf::new(),
            binary: None,
            log_level: "info".into(),
            send: SendSettings { ask: true },
            highlight: Highlight::Auto,
            system_prompt: None,
        }
    }
}

/// The `send` table (read by Lua).
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SendSettings {
    /// `<Plug>(zen-send)` asks for an instruction before sending.
    pub ask: bool,
}

impl Default for SendSettings {
    fn default() -> Self {
        Self { ask: true }
    }
}

/// How chats highlight code fences (read by Lua): "auto" is the regex syntax, measured lighter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Highlight {
    Auto,
    Treesitter,
    Syntax,
    Off,
}

/// The `openrouter` table of the settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpenRouter {
    pub base_url: String,
    pub api_key_env: String,
    pub api_key_cmd: Option<Vec<String>>,
    pub default_model: String,
    /// The model of `:ZenEdit` (else the last chat's model, else `default_model`).
    pub edit_model: Option<String>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u64>,
    pub fallback_models: Vec<String>,
    /// Sent unchanged; its contents are OpenRouter's business.
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
    /// Prompt caching: `"auto"` puts cache breakpoints for the models that need them.
    pub cache: Cache,
    /// How OpenRouter reads attached PDFs (the `file-parser` plugin); `None`: the model does.
    pub pdf_engine: Option<PdfEngine>,
}

impl Default for OpenRouter {
    fn default() -> Self {
        Self {
            base_url: "https://openrouter.ai/api/v1".into(),
            api_key_env: "OPENROUTER_API_KEY".into(),
            api_key_cmd: None,
            default_model: "anthropic/claude-sonnet-4".into(),
            edit_model: None,
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
            cache: Cache::Auto,
            pdf_engine: None,
        }
    }
}

/// The `agents` table: one [`AgentSettings`] per terminal agent kind.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Agents {
    pub claude: AgentSettings,
    pub codex: AgentSettings,
    pub gemini: AgentSettings,
    pub opencode: AgentSettings,
    pub shell: AgentSettings,
}

impl Default for Agents {
    fn default() -> Self {
        let cmd = |name: &str, acp: &[&str]| AgentSettings {
            cmd: Some(vec![name.to_string()]),
            acp_cmd: Some(acp.iter().map(|a| a.to_string()).collect()),
            ..AgentSettings::default()
        };
        Self {
            claude: cmd("claude", &["claude-code-acp"]),
            codex: cmd("codex", &["codex-acp"]),
            gemini: cmd("gemini", &["gemini", "--acp"]),
            opencode: cmd("opencode", &["opencode", "acp"]),
            // None: Neovim's 'shell' (Lua fills it in), else $SHELL.
            shell: AgentSettings::default(),
        }
    }
}

/// `agents.<kind>` settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentSettings {
    /// The program and fixed arguments (default: the kind's name; for shell, 'shell').
    pub cmd: Option<Vec<String>>,
    /// Press Enter after pasting a `:ZenSend` (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_enter: Option<bool>,
    /// The Agent Client Protocol adapter's command line (`mode = "chat"`); none for shell.
    pub acp_cmd: Option<Vec<String>>,
    /// How `:ZenNew <kind>` runs the agent when `mode=` is not given.
    pub mode: AgentMode,
}

/// How an agent runs: its own CLI in a terminal, or over ACP in a zen chat buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentMode {
    #[default]
    Terminal,
    Chat,
}

/// Limits on what prompt references (`@file`, `@image.png`, `#buffer`) may pull in.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct References {
    pub max_file_bytes: u64,
    pub max_image_bytes: u64,
    pub max_pdf_bytes: u64,
}

impl Default for References {
    fn default() -> Self {
        Self {
            max_file_bytes: 512 * 1024,
            max_image_bytes: 5 * 1024 * 1024,
            max_pdf_bytes: 10 * 1024 * 1024,
        }
    }
}

/// Whether terminal agents run in tmux: `"auto"` (when installed), `true` or `false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tmux {
    Auto,
    Always,
    Never,
}

impl Serialize for Tmux {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Tmux::Auto => s.serialize_str("auto"),
            Tmux::Always => s.serialize_bool(true),
            Tmux::Never => s.serialize_bool(false),
        }
    }
}

impl<'de> Deserialize<'de> for Tmux {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Json::deserialize(d)? {
            Json::Bool(true) => Ok(Tmux::Always),
            Json::Bool(false) => Ok(Tmux::Never),
            Json::String(s) if s == "auto" => Ok(Tmux::Auto),
            _ => Err(serde::de::Error::custom("expected \"auto\", true or false")),
        }
    }
}

/// Prompt caching: `"auto"` (breakpoints for Anthropic and Gemini models, others cache by
/// themselves) or `false` (no breakpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cache {
    Auto,
    Off,
}

impl Serialize for Cache {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Cache::Auto => s.serialize_str("auto"),
            Cache::Off => s.serialize_bool(false),
        }
    }
}

impl<'de> Deserialize<'de> for Cache {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Json::deserialize(d)? {
            Json::Bool(false) => Ok(Cache::Off),
            Json::String(s) if s == "auto" => Ok(Cache::Auto),
            _ => Err(serde::de::Error::custom("expected \"auto\" or false")),
        }
    }
}

/// The engine of OpenRouter's `file-parser` plugin for PDFs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PdfEngine {
    PdfText,
    MistralOcr,
    Native,
}

/// Where a chat or an agent's terminal opens (read by Lua; checked here for the project file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    Vsplit,
    Split,
    Tab,
    Float,
    Current,
}

fn empty_as_null<S: Serializer>(path: &PathBuf, s: S) -> Result<S::Ok, S::Error> {
    if path.as_os_str().is_empty() {
        s.serialize_none()
    } else {
        path.serialize(s)
    }
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
    Ok(Option::<PathBuf>::deserialize(d)?.unwrap_or_default())
}

/// The type an option takes, as errors and `:help` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    String,
    Number,
    WholeNumber,
    Strings,
    Boolean,
    /// A table of options, checked key by key.
    Table,
    /// A table passed on unchecked (`provider`, `reasoning`).
    FreeTable,
    Tmux,
    Layout,
    Highlight,
    Cache,
    Mode,
    PdfEngine,
}

impl Kind {
    /// What an error says the value must be.
    pub fn expected(self) -> &'static str {
        match self {
            Kind::String => "a string",
            Kind::Number => "a number",
            Kind::WholeNumber => "a whole number",
            Kind::Strings => "a list of strings",
            Kind::Boolean => "a boolean",
            Kind::Table | Kind::FreeTable => "a table",
            Kind::Tmux => "\"auto\", true or false",
            Kind::Layout => "one of vsplit, split, tab, float, current",
            Kind::Highlight => "one of auto, treesitter, syntax, off",
            Kind::Cache => "\"auto\" or false",
            Kind::Mode => "one of terminal, chat",
            Kind::PdfEngine => "one of pdf-text, mistral-ocr, native",
        }
    }
}

/// One option of the schema.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Opt {
    /// Dotted key; `agents.*` stands for each agent kind.
    pub key: &'static str,
    pub kind: Kind,
    /// Why a project file may not set it (it runs a program, reads a secret, sends the key
    /// elsewhere, moves the data...), or `None` when it may.
    pub refused: Option<&'static str>,
    /// Inclusive bounds setup() enforces (the backend clamps to them).
    pub range: Option<(u64, u64)>,
}

const fn opt(key: &'static str, kind: Kind) -> Opt {
    Opt {
        key,
        kind,
        refused: None,
        range: None,
    }
}

const fn setup_only(key: &'static str, kind: Kind, why: &'static str) -> Opt {
    Opt {
        refused: Some(why),
        ..opt(key, kind)
    }
}

const RUNS: &str = "it would run a program";
const LEAKS: &str = "it could leak your API key";

const fn bounded(key: &'static str, min: u64, max: u64) -> Opt {
    Opt {
        range: Some((min, max)),
        ..opt(key, Kind::WholeNumber)
    }
}

/// Every option, in the order of `:help zen-options`.
pub const OPTIONS: &[Opt] = &[
    opt("openrouter", Kind::Table),
    setup_only("openrouter.base_url", Kind::String, LEAKS),
    setup_only("openrouter.api_key_env", Kind::String, LEAKS),
    setup_only("openrouter.api_key_cmd", Kind::Strings, RUNS),
    opt("openrouter.default_model", Kind::String),
    opt("openrouter.edit_model", Kind::String),
    opt("openrouter.temperature", Kind::Number),
    opt("openrouter.max_tokens", Kind::WholeNumber),
    opt("openrouter.fallback_models", Kind::Strings),
    opt("openrouter.provider", Kind::FreeTable),
    opt("openrouter.reasoning", Kind::FreeTable),
    opt("openrouter.app_title", Kind::String),
    opt("openrouter.app_url", Kind::String),
    opt("openrouter.stall_timeout_ms", Kind::WholeNumber),
    opt("openrouter.connect_timeout_ms", Kind::WholeNumber),
    bounded("openrouter.max_retries", 0, MAX_RETRIES as u64),
    bounded(
        "openrouter.retry_base_ms",
        *RETRY_BASE_MS.start(),
        *RETRY_BASE_MS.end(),
    ),
    opt("openrouter.catalogue_ttl_s", Kind::WholeNumber),
    opt("openrouter.cache", Kind::Cache),
    opt("openrouter.pdf_engine", Kind::PdfEngine),
    opt("agents", Kind::Table),
    opt("agents.*", Kind::Table),
    setup_only("agents.*.cmd", Kind::Strings, RUNS),
    opt("agents.*.send_enter", Kind::Boolean),
    setup_only("agents.*.acp_cmd", Kind::Strings, RUNS),
    opt("agents.*.mode", Kind::Mode),
    opt("references", Kind::Table),
    opt("references.max_file_bytes", Kind::WholeNumber),
    opt("references.max_image_bytes", Kind::WholeNumber),
    opt("references.max_pdf_bytes", Kind::WholeNumber),
    opt("tmux", Kind::Tmux),
    setup_only(
        "tmux_socket",
        Kind::String,
        "it would point agents at another tmux server",
    ),
    opt("layout", Kind::Layout),
    setup_only("state_dir", Kind::String, "it would move your sessions"),
    setup_only("binary", Kind::String, RUNS),
    opt("log_level", Kind::String),
    opt("send", Kind::Table),
    opt("send.ask", Kind::Boolean),
    opt("highlight", Kind::Highlight),
    // From a project file only once the user trusts that file (config::project_prompt).
    opt("system_prompt", Kind::String),
];

/// The agent kinds `agents` holds, in the order shown.
pub const AGENT_KINDS: &[&str] = &["claude", "codex", "gemini", "opencode", "shell"];

/// The schema entry of a dotted key (`agents.claude.cmd` finds `agents.*.cmd`).
pub fn option(key: &str) -> Option<&'static Opt> {
    let generic = generic_key(key);
    OPTIONS.iter().find(|o| o.key == generic)
}

/// `agents.<kind>...` as `agents.*...`; other keys unchanged.
pub fn generic_key(key: &str) -> String {
    let mut parts: Vec<&str> = key.split('.').collect();
    if parts.len() > 1 && parts[0] == "agents" && AGENT_KINDS.contains(&parts[1]) {
        parts[1] = "*";
    }
    parts.join(".")
}

/// The defaults as JSON (absent options as `null`), for the Lua check and the help.
pub fn defaults_json() -> Json {
    serde_json::to_value(Config::default()).expect("the settings serialize")
}

/// The defaults and the option table, as `--schema` prints them for the Lua check.
pub fn schema_json() -> Json {
    serde_json::json!({"defaults": defaults_json(), "options": OPTIONS})
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every leaf of the defaults, as a generic dotted key.
    fn leaves(json: &Json, prefix: &str, out: &mut Vec<String>) {
        let Json::Object(map) = json else { return };
        for (k, v) in map {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            let generic = generic_key(&key);
            out.push(generic.clone());
            if option(&generic).is_some_and(|o| o.kind == Kind::Table) {
                leaves(v, &key, out);
            }
        }
    }

    #[test]
    fn options_table_matches_the_structs() {
        let mut keys = Vec::new();
        leaves(&defaults_json(), "", &mut keys);
        // send_enter is absent from the defaults (None is not written).
        keys.push("agents.*.send_enter".into());
        for key in &keys {
            assert!(option(key).is_some(), "{key} missing from OPTIONS");
        }
        for o in OPTIONS {
            assert!(keys.iter().any(|k| k == o.key), "{} is not a field", o.key);
        }
    }

    #[test]
    fn defaults_read_back_as_themselves() {
        let json = defaults_json();
        let back: Config = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(back).unwrap(), json);
    }
}
