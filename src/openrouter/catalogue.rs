//! The model catalogue: `GET {base_url}/models`, parsed leniently (prices are strings in USD per
//! token, any field may be missing), cached on disk for a day, served stale when offline, and a
//! short built-in list when nothing else is to be had.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::data::model_id;

/// One model, as much as the editor needs of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub id: String,
    pub name: String,
    pub context_length: Option<u64>,
    /// USD per prompt token (`None`: unknown or varies).
    pub prompt_price: Option<f64>,
    /// USD per completion token.
    pub completion_price: Option<f64>,
    pub input_modalities: Vec<String>,
    /// Accepts the `reasoning` parameter.
    pub reasoning: bool,
    pub max_completion_tokens: Option<u64>,
    /// USD per prompt token read from the cache (`pricing.input_cache_read`).
    #[serde(default)]
    pub cache_read_price: Option<f64>,
    /// USD per prompt token written to the cache (`pricing.input_cache_write`).
    #[serde(default)]
    pub cache_write_price: Option<f64>,
    /// USD per web search (`pricing.web_search`).
    #[serde(default)]
    pub web_search_price: Option<f64>,
}

impl Model {
    /// Whether the model takes images as input.
    pub fn accepts_images(&self) -> bool {
        self.input_modalities.iter().any(|m| m == "image")
    }

    /// Whether the model takes files (PDFs) as input.
    pub fn accepts_files(&self) -> bool {
        self.input_modalities.iter().any(|m| m == "file")
    }

    /// Whether the catalogue prices cache reads for the model: it supports prompt caching.
    pub fn caches(&self) -> bool {
        self.cache_read_price.is_some()
    }
}

/// Where a catalogue came from, as the picker labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Fetched just now.
    Live,
    /// From the disk cache, within its time to live.
    Cache,
    /// From the disk cache, older than its time to live (the fetch failed).
    Stale,
    /// Built in: no cache and the fetch failed.
    Builtin,
}

/// A catalogue and its provenance.
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub models: Vec<Model>,
    pub source: Source,
    pub fetched_at: Option<u64>,
    /// Why it is stale or built in.
    pub problem: Option<String>,
}

impl Catalogue {
    /// The model with this id.
    pub fn find(&self, id: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.id == id)
    }

    /// Up to `n` ids that look like `wanted` (a typo, a missing vendor prefix, a partial name).
    pub fn closest(&self, wanted: &str, n: usize) -> Vec<String> {
        let wanted = wanted.to_lowercase();
        let mut scored: Vec<(f64, &str)> = self
            .models
            .iter()
            .map(|m| {
                let id = m.id.to_lowercase();
                let tail = id.rsplit('/').next().unwrap_or(&id).to_string();
                let mut score =
                    strsim::jaro_winkler(&wanted, &id).max(strsim::jaro_winkler(&wanted, &tail));
                if id.contains(&wanted) || wanted.contains(tail.as_str()) {
                    score += 1.0;
                }
                (score, m.id.as_str())
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        scored
            .into_iter()
            .take(n)
            .map(|(_, id)| id.to_string())
            .collect()
    }
}

/// The longest model name kept (names are shown in the picker; a server may send 10 KB).
const MAX_NAME_CHARS: usize = 100;

/// Parses a `/models` body. Entries without an id, or whose id is not a usable model id (control
/// characters, whitespace, too long: see [`model_id::check`]), are skipped and logged; returns
/// how many were.
pub fn parse_models(body: &str) -> anyhow::Result<(Vec<Model>, usize)> {
    let json: Json =
        serde_json::from_str(body).map_err(|e| anyhow::anyhow!("the body is not JSON ({e})"))?;
    let Some(data) = json.get("data").and_then(Json::as_array) else {
        anyhow::bail!("the body has no `data` list");
    };
    let mut skipped = 0;
    let models = data
        .iter()
        .filter_map(|entry| {
            let model = parse_model(entry);
            skipped += usize::from(model.is_none());
            model
        })
        .collect();
    Ok((models, skipped))
}

fn parse_model(entry: &Json) -> Option<Model> {
    let id = entry.get("id")?.as_str()?.to_string();
    if let Err(why) = model_id::check(&id) {
        tracing::warn!(
            "catalogue: dropped the entry '{}': {why}",
            model_id::shown(&id, 80)
        );
        return None;
    }
    let price = |key: &str| {
        let v = entry.get("pricing")?.get(key)?;
        let p = match v {
            Json::String(s) => s.trim().parse::<f64>().ok()?,
            Json::Number(n) => n.as_f64()?,
            _ => return None,
        };
        (p >= 0.0).then_some(p) // "-1" means "varies" (routers such as openrouter/auto)
    };
    let strings = |v: Option<&Json>| -> Vec<String> {
        v.and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let params = strings(entry.get("supported_parameters"));
    Some(Model {
        name: model_id::shown(
            entry.get("name").and_then(Json::as_str).unwrap_or(&id),
            MAX_NAME_CHARS,
        ),
        context_length: entry
            .get("context_length")
            .and_then(Json::as_u64)
            .or_else(|| entry.get("top_provider")?.get("context_length")?.as_u64()),
        prompt_price: price("prompt"),
        completion_price: price("completion"),
        input_modalities: strings(
            entry
                .get("architecture")
                .and_then(|a| a.get("input_modalities")),
        ),
        reasoning: params
            .iter()
            .any(|p| p == "reasoning" || p == "include_reasoning"),
        max_completion_tokens: entry
            .get("top_provider")
            .and_then(|t| t.get("max_completion_tokens"))
            .and_then(Json::as_u64),
        cache_read_price: price("input_cache_read"),
        cache_write_price: price("input_cache_write"),
        web_search_price: price("web_search").filter(|p| *p > 0.0),
        id,
    })
}

/// The popular models the project's seed plan named, for when no catalogue can be had.
pub fn builtin() -> Vec<Model> {
    let m = |id: &str, name: &str, ctx: u64, images: bool| Model {
        id: id.into(),
        name: name.into(),
        context_length: Some(ctx),
        prompt_price: None,
        completion_price: None,
        input_modalities: if images {
            vec!["text".into(), "image".into()]
        } else {
            vec!["text".into()]
        },
        reasoning: false,
        ..Model::default()
    };
    vec![
        m(
            "anthropic/claude-sonnet-4",
            "Anthropic: Claude Sonnet 4",
            200_000,
            true,
        ),
        m("openai/gpt-4o", "OpenAI: GPT-4o", 128_000, true),
        m(
            "google/gemini-2.0-flash-001",
            "Google: Gemini 2.0 Flash",
            1_000_000,
            true,
        ),
        m(
            "meta-llama/llama-3.3-70b-instruct",
            "Meta: Llama 3.3 70B Instruct",
            128_000,
            false,
        ),
        m("mistralai/mistral-large", "Mistral Large", 128_000, false),
    ]
}

/// The on-disk cache: `models.json` under the state directory.
#[derive(Serialize, Deserialize)]
pub struct CacheFile {
    pub fetched_at: u64,
    pub base_url: String,
    pub models: Vec<Model>,
}

/// Path of the cache file.
pub fn cache_path(state_dir: &Path) -> PathBuf {
    state_dir.join("models.json")
}

/// Reads the cache. A corrupt file is moved aside (and reported), never fatal.
pub fn read_cache(state_dir: &Path, base_url: &str) -> (Option<CacheFile>, Option<String>) {
    let path = cache_path(state_dir);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return (None, None);
    };
    match serde_json::from_str::<CacheFile>(&text) {
        Ok(mut cache) if cache.base_url == base_url => {
            // A cache written before ids were checked may hold hostile ones.
            cache.models.retain(|m| model_id::check(&m.id).is_ok());
            (Some(cache), None)
        }
        Ok(_) => (None, None), // another endpoint's catalogue
        Err(e) => {
            let aside = path.with_extension("json.corrupt");
            let _ = std::fs::rename(&path, &aside);
            let warning = format!(
                "the model cache {} was corrupt ({e}); moved it to {}; the next :ZenModel fetches a new one",
                path.display(),
                aside.display()
            );
            (None, Some(warning))
        }
    }
}

/// Formats a context length: `8k`, `200k`, `1M`, `1.05M`.
pub fn format_context(n: Option<u64>) -> String {
    match n {
        None => "?".into(),
        Some(n) if n >= 1_000_000 => {
            let m = n as f64 / 1_000_000.0;
            if (m - m.round()).abs() < 0.005 {
                format!("{}M", m.round())
            } else {
                format!("{m:.2}M")
            }
        }
        Some(n) if n >= 1000 => format!("{}k", (n as f64 / 1000.0).round()),
        Some(n) => n.to_string(),
    }
}

/// `$3.00/$15.00` per million tokens in/out, `free`, or `?` when unknown.
pub fn format_prices(m: &Model) -> String {
    match (m.prompt_price, m.completion_price) {
        (Some(p), Some(c)) if p == 0.0 && c == 0.0 => "free".into(),
        (Some(p), Some(c)) => format!("${}/${}", per_million(p), per_million(c)),
        _ => "?".into(),
    }
}

fn per_million(per_token: f64) -> String {
    let v = per_token * 1_000_000.0;
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 0.1 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_recorded_catalogue_leniently() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/openrouter/reasoning-models-78425505.json");
        let body = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
        let (models, skipped) = parse_models(&body).unwrap();
        assert_eq!(skipped, 0);
        let nano = models.iter().find(|m| m.id == "openai/gpt-5-nano").unwrap();
        assert_eq!(nano.context_length, Some(400_000));
        assert_eq!(nano.prompt_price, Some(0.00000005));
        assert!(nano.reasoning && nano.accepts_images());
        assert_eq!(format_prices(nano), "$0.050/$0.40");
    }

    #[test]
    fn missing_fields_and_variable_prices() {
        let body = r#"{"data":[{"id":"a/b"},{"name":"no id"},{"id":"openrouter/auto","pricing":{"prompt":"-1","completion":"-1"}},{"id":"x/free:free","pricing":{"prompt":"0","completion":"0"}}]}"#;
        let (models, skipped) = parse_models(body).unwrap();
        assert_eq!((models.len(), skipped), (3, 1));
        assert_eq!(models[0].name, "a/b");
        assert_eq!(format_prices(&models[1]), "?");
        assert_eq!(format_prices(&models[2]), "free");
        assert!(parse_models("<html>").is_err());
    }

    #[test]
    fn hostile_ids_are_dropped_and_names_made_safe_to_show() {
        let long = "x".repeat(10_000);
        let body = serde_json::json!({"data": [
            {"id": "evil/new\nline"}, {"id": "evil/cr\r"}, {"id": "evil/\u{1b}[2J"},
            {"id": "evil/\u{1b}]52;c;ZXZpbA==\u{7}"}, {"id": "evil/nul\u{0}"},
            {"id": "evil/\u{202e}gnp.exe"}, {"id": format!("evil/{long}")},
            {"id": "good/one", "name": format!("Name\n\u{1b}]52;c;x\u{7}\u{202e}{long}")},
            {"id": "@preset/mine"}, {"id": "good/one:online"}, {"id": "good/one:free"},
        ]})
        .to_string();
        let (models, skipped) = parse_models(&body).unwrap();
        let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "good/one",
                "@preset/mine",
                "good/one:online",
                "good/one:free"
            ]
        );
        assert_eq!(skipped, 7);
        let name = &models[0].name;
        assert!(
            !name.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{name:?}"
        );
        assert!(name.starts_with("Name\\u{a}\\u{1b}]52;"), "{name}");
        assert_eq!(name.chars().count(), MAX_NAME_CHARS);
    }

    #[test]
    fn context_formats() {
        assert_eq!(format_context(Some(200_000)), "200k");
        assert_eq!(format_context(Some(1_048_576)), "1.05M");
        assert_eq!(format_context(Some(1_000_000)), "1M");
        assert_eq!(format_context(Some(8192)), "8k");
    }

    #[test]
    fn closest_ids_for_a_typo() {
        let cat = Catalogue {
            models: builtin(),
            source: Source::Builtin,
            fetched_at: None,
            problem: None,
        };
        assert_eq!(cat.closest("openai/gpt4o", 1), vec!["openai/gpt-4o"]);
        assert_eq!(
            cat.closest("claude-sonnet-4", 1),
            vec!["anthropic/claude-sonnet-4"]
        );
    }
}
