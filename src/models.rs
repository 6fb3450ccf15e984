//! The catalogue as the backend keeps it (memory, then the disk cache, then a fetch, then the
//! stale cache or the built-in list), the picker's rows, and the checks made before a request
//! spends money.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value as Json};

use crate::app::{App, Error};
use crate::config::OpenRouter;
use crate::data::model_id;
use crate::data::{now, Message};
use crate::openrouter::catalogue::{self, Catalogue, Source};

/// How long a catalogue fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(15);

/// The catalogue: fresh from memory or disk, else fetched (`refresh` forces the fetch).
pub async fn catalogue(app: &App, refresh: bool) -> Arc<Catalogue> {
    let Ok(ready) = app.ready() else {
        return Arc::new(builtin(None));
    };
    let cfg = &ready.config.openrouter;
    let fresh = |fetched_at: Option<u64>| {
        fetched_at.is_some_and(|t| now() < t.saturating_add(cfg.catalogue_ttl_s))
    };
    let mut slot = app.catalogue.lock().await;
    if let Some(c) = slot
        .as_ref()
        .filter(|c| !refresh && c.source != Source::Builtin && fresh(c.fetched_at))
    {
        return c.clone();
    }
    let (cached, warning) = read_cache(&ready.config.state_dir, &cfg.base_url).await;
    if let Some(w) = warning {
        ready.ui.notify(&format!("zen: {w}."), "warn").await;
    }
    if let Some(cache) = cached
        .as_ref()
        .filter(|c| !refresh && fresh(Some(c.fetched_at)))
    {
        let c = Arc::new(Catalogue {
            models: cache.models.clone(),
            source: Source::Cache,
            fetched_at: Some(cache.fetched_at),
            problem: None,
        });
        *slot = Some(c.clone());
        return c;
    }
    let result = match fetch(app, cfg).await {
        Ok(models) => {
            let file = catalogue::CacheFile {
                fetched_at: now(),
                base_url: cfg.base_url.clone(),
                models,
            };
            if let Err(e) = crate::store::write_atomic(
                &catalogue::cache_path(&ready.config.state_dir),
                &serde_json::to_vec(&file).unwrap_or_default(),
            ) {
                tracing::error!("saving the model cache: {e:#}");
            }
            Catalogue {
                models: file.models,
                source: Source::Live,
                fetched_at: Some(file.fetched_at),
                problem: None,
            }
        }
        Err(e) => match (cached, e.to_string()) {
            (Some(cache), problem) => Catalogue {
                models: cache.models,
                source: Source::Stale,
                fetched_at: Some(cache.fetched_at),
                problem: Some(problem),
            },
            (None, problem) => builtin(Some(problem)),
        },
    };
    let c = Arc::new(result);
    *slot = Some(c.clone());
    c
}

/// The catalogue without any network: memory, else the disk cache (fresh or not).
pub async fn cached(app: &App) -> Option<Arc<Catalogue>> {
    // Never waits for a fetch in progress (reads the disk cache instead), and never returns the
    // built-in list: checks made against it would be guesses.
    let ready = app.ready().ok()?;
    let mut slot = app.catalogue.try_lock().ok();
    if let Some(c) = slot
        .as_ref()
        .and_then(|s| s.as_ref())
        .filter(|c| c.source != Source::Builtin)
    {
        return Some(c.clone());
    }
    let (cache, warning) =
        read_cache(&ready.config.state_dir, &ready.config.openrouter.base_url).await;
    if let Some(w) = warning {
        ready.ui.notify(&format!("zen: {w}."), "warn").await;
    }
    let cache = cache?;
    let c = Arc::new(Catalogue {
        models: cache.models,
        source: Source::Cache,
        fetched_at: Some(cache.fetched_at),
        problem: None,
    });
    if let Some(slot) = slot.as_mut() {
        **slot = Some(c.clone());
    }
    Some(c)
}

/// Reads models.json off the async workers (it may be megabytes).
async fn read_cache(dir: &Path, base_url: &str) -> (Option<catalogue::CacheFile>, Option<String>) {
    let (dir, url) = (dir.to_path_buf(), base_url.to_string());
    let read = tokio::task::spawn_blocking(move || catalogue::read_cache(&dir, &url));
    read.await.unwrap_or((None, None))
}

/// Loads the catalogue in the background (for a later check or completion).
pub fn warm(app: &crate::app::Shared) {
    let app = app.clone();
    app.clone().tasks.spawn(async move {
        catalogue(&app, false).await;
    });
}

fn builtin(problem: Option<String>) -> Catalogue {
    Catalogue {
        models: catalogue::builtin(),
        source: Source::Builtin,
        fetched_at: None,
        problem,
    }
}

/// Why the catalogue could not be fetched (kept as the catalogue's `problem`).
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error(transparent)]
    NotReady(#[from] Error),
    #[error("fetching {url}: {source}")]
    Get {
        url: String,
        source: crate::openrouter::client::GetError,
    },
    #[error("reading {url}: {why}")]
    Read { url: String, why: String },
    #[error("{0} listed no models")]
    Empty(String),
}

async fn fetch(app: &App, cfg: &OpenRouter) -> Result<Vec<catalogue::Model>, FetchError> {
    let ready = app.ready()?;
    let key = app.api_key(cfg).await.ok(); // the list is public; send the key when there is one
    let url = format!("{}/models", cfg.base_url.trim_end_matches('/'));
    let body = ready
        .client
        .get(&url, key.as_ref(), FETCH_TIMEOUT)
        .await
        .map_err(|source| FetchError::Get {
            url: url.clone(),
            source,
        })?;
    // A catalogue is megabytes of JSON: parsed off the async workers.
    let parsed = tokio::task::spawn_blocking(move || catalogue::parse_models(&body)).await;
    let read = |why: String| FetchError::Read {
        url: url.clone(),
        why,
    };
    let (models, skipped) = parsed
        .map_err(|e| read(e.to_string()))?
        .map_err(|e| read(format!("{e:#}")))?;
    if skipped > 0 {
        tracing::warn!("catalogue: skipped {skipped} entries without an id");
    }
    if models.is_empty() {
        return Err(FetchError::Empty(url));
    }
    Ok(models)
}

/// The picker's prompt: where the list came from (and why not from the server, on one line).
pub fn picker_prompt(c: &Catalogue) -> String {
    let n = c.models.len();
    let problem = model_id::shown(c.problem.as_deref().unwrap_or("offline"), 200);
    match c.source {
        Source::Live | Source::Cache => format!("zen model ({n} models)"),
        Source::Stale => format!(
            "zen model ({n} models, STALE cache from {}: {problem})",
            crate::spend::day_of(c.fetched_at.unwrap_or(0)),
        ),
        Source::Builtin => {
            format!("zen model (BUILT-IN list of {n}: catalogue unavailable: {problem})")
        }
    }
}

/// One aligned row per model, recently used first: id, name, context, $/M in/out, inputs (a
/// `file` input takes PDFs), flags (`reasoning`, `cache`: prompt caching is priced).
pub fn picker_rows(c: &Catalogue, recent: &[String]) -> Vec<Json> {
    let mut order: Vec<&catalogue::Model> = recent.iter().filter_map(|id| c.find(id)).collect();
    let mut rest: Vec<&catalogue::Model> = c
        .models
        .iter()
        .filter(|m| !recent.contains(&m.id))
        .collect();
    rest.sort_by(|a, b| a.id.cmp(&b.id));
    order.extend(rest);
    let id_width = order
        .iter()
        .map(|m| m.id.chars().count())
        .max()
        .unwrap_or(0)
        .min(48);
    order
        .into_iter()
        .map(|m| {
            let inputs: Vec<&str> = m
                .input_modalities
                .iter()
                .map(String::as_str)
                .filter(|x| *x != "text")
                .collect();
            let inputs = if inputs.is_empty() {
                "-".to_string()
            } else {
                inputs.join(",")
            };
            // Flags: takes the `reasoning` parameter; prices cache reads (prompt caching).
            let flags: Vec<&str> = [(m.reasoning, "reasoning"), (m.caches(), "cache")]
                .into_iter()
                .filter_map(|(on, flag)| on.then_some(flag))
                .collect();
            let label = format!(
                "{:<id_width$}  {:<32}  {:>6}  {:<16}  {:<10}  {}",
                m.id,
                model_id::shown(&m.name, 32),
                catalogue::format_context(m.context_length),
                catalogue::format_prices(m),
                inputs,
                flags.join(" "),
            );
            // The numbers let the picker sort by price or context (USD per million tokens).
            json!({"id": m.id, "label": label.trim_end(), "context": m.context_length,
                   "price_in": m.prompt_price.map(|p| p * 1e6),
                   "price_out": m.completion_price.map(|p| p * 1e6)})
        })
        .collect()
}

/// Rough token count of a conversation (4 characters a token, as OpenRouter's docs estimate).
pub fn estimate_tokens(messages: &[Message]) -> u64 {
    // Attachments count too: text by length, an image as about a thousand tokens.
    // A PDF's text is unknown here: its bytes (base64, 4/3 of the file) over 16, a rough guess.
    let attachment = |a: &crate::data::Attachment| match (&a.text, &a.image_url, &a.file_data) {
        (Some(t), _, _) => t.chars().count() as u64 / 4 + 8,
        (None, Some(_), _) => 1000,
        (None, None, Some(f)) => f.len() as u64 / 16,
        _ => 0,
    };
    messages
        .iter()
        .map(|m| {
            let own = m.content.chars().count() as u64 / 4 + 4;
            own + m.attachments.iter().map(attachment).sum::<u64>()
        })
        .sum()
}

/// Checks a request against the model's entry before any money is spent: refuses a conversation
/// longer than the context, and drops (with a warning) reasoning options the model lacks.
pub fn preflight(
    model: Option<&catalogue::Model>,
    messages: &[Message],
    cfg: &mut OpenRouter,
) -> Result<Vec<String>, Error> {
    let Some(model) = model else {
        return Ok(vec![]);
    };
    let mut warnings = vec![];
    if let Some(ctx) = model.context_length {
        let estimate = estimate_tokens(messages);
        if estimate > ctx {
            return Err(Error::refused(format!(
                "this conversation is about {} tokens, more than {}'s context of {}. Start a new chat, trim earlier turns, or pick a longer-context model with :ZenModel.",
                estimate,
                model.id,
                catalogue::format_context(Some(ctx))
            )));
        }
    }
    if cfg.reasoning.is_some() && !model.reasoning {
        cfg.reasoning = None;
        warnings.push(format!(
            "zen: {} does not support reasoning; sent without openrouter.reasoning.",
            model.id
        ));
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Role;

    fn model(ctx: u64, reasoning: bool) -> catalogue::Model {
        catalogue::Model {
            id: "t/m".into(),
            name: "T".into(),
            context_length: Some(ctx),
            prompt_price: Some(0.000003),
            completion_price: Some(0.000015),
            input_modalities: vec!["text".into(), "image".into()],
            reasoning,
            ..catalogue::Model::default()
        }
    }

    #[test]
    fn refuses_a_conversation_longer_than_the_context() {
        let msgs = vec![Message::new(Role::User, "x".repeat(40_000))];
        let err =
            preflight(Some(&model(8000, true)), &msgs, &mut OpenRouter::default()).unwrap_err();
        let err = err.to_string();
        assert!(
            err.contains("about 10004 tokens") && err.contains("context of 8k"),
            "{err}"
        );
    }

    #[test]
    fn drops_reasoning_for_a_model_without_it() {
        let mut cfg = OpenRouter {
            reasoning: Some(json!({"effort": "high"})),
            ..OpenRouter::default()
        };
        let w = preflight(Some(&model(8000, false)), &[], &mut cfg).unwrap();
        assert!(cfg.reasoning.is_none() && w[0].contains("does not support reasoning"));
    }

    #[test]
    fn rows_list_recent_first_and_align() {
        let mut a = model(200_000, true);
        a.id = "b/second".into();
        a.cache_read_price = Some(0.0000003);
        let mut b = model(8192, false);
        b.id = "a/first".into();
        b.prompt_price = Some(0.0);
        b.completion_price = Some(0.0);
        let c = Catalogue {
            models: vec![a, b],
            source: Source::Live,
            fetched_at: Some(0),
            problem: None,
        };
        let rows = picker_rows(&c, &["b/second".into()]);
        assert_eq!(rows[0]["id"], "b/second");
        assert_eq!(rows[0]["label"], "b/second  T                                   200k  $3.00/$15.00      image       reasoning cache");
        assert_eq!(
            rows[1]["label"],
            "a/first   T                                     8k  free              image"
        );
    }
}
