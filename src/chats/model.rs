//! A chat's model and the catalogue and spend around it: `set_model`, `model_ids`, `usage`, and
//! the `pick_model` and `credit` notices (answered later by calling into Lua, so the editor
//! never waits on the network).

use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::app::{Error, Result, Shared, Which};
use crate::data::{model_id, transcript};
use crate::models;
use crate::openrouter::catalogue::Source;

/// `:ZenModel[!] {id}` in a chat, or outside one.
#[derive(Deserialize)]
pub struct SetModel {
    #[serde(flatten)]
    target: Which,
    model: String,
    #[serde(default)]
    refresh: bool,
}

/// Sets the model of the chat in `buf` (the next turn uses it), or outside a chat the default
/// for new chats. For an unknown id it answers `unknown` (and the closest ids): the editor opens
/// the picker narrowed to it.
pub async fn set_model(app: &Shared, req: SetModel) -> Result<Json> {
    let ready = app.ready()?;
    let model = req.model.trim().to_string();
    if model.is_empty() {
        return Err(Error::refused(
            "give a model id, e.g. :ZenModel openai/gpt-4o.",
        ));
    }
    model_id::check(&model).map_err(|why| model_id::refused(&model, ":ZenModel", why))?;
    // Checked against the cached catalogue only: the editor waits on this request, so no fetch
    // here. Without a cache the id is taken as given and the catalogue loads in the background.
    let catalogue = if req.refresh {
        Some(models::catalogue(app, true).await)
    } else {
        models::cached(app).await
    };
    let checked = match catalogue.as_ref().filter(|c| c.source != Source::Builtin) {
        Some(c) if c.find(&model).is_none() => {
            // Not an id: the editor opens the picker narrowed to what matches it.
            return Ok(json!({"unknown": model, "closest": c.closest(&model, 3)}));
        }
        Some(_) => true,
        None => {
            models::warm(app);
            false
        }
    };
    let target = app.resolve(&req.target)?;
    if let Some(id) = &target {
        if app.registry.with(id, |e| e.meta.agent.is_some()) == Some(true) {
            return Err(Error::refused(":ZenModel sets the model of chats; give an agent its model with :ZenNew <kind> model=..."));
        }
    }
    app.update_prefs(|p| p.used(&model));
    let Some(id) = target else {
        app.update_prefs(|p| p.default_model = Some(model.clone()));
        return Ok(json!({"model": model, "scope": "default", "checked": checked}));
    };
    let (name, buf) = app
        .registry
        .with(&id, |e| {
            e.meta.model = Some(model.clone());
            (e.meta.name.clone(), e.buf)
        })
        .ok_or(Error::Gone)?;
    app.save_index().await;
    if let Some(buf) = buf {
        let _ = ready
            .ui
            .set_title(buf, &transcript::title(&name, &model))
            .await;
        super::context::show(app, buf, &id, &model, None).await;
    }
    Ok(json!({"id": id, "name": name, "model": model, "scope": "session", "checked": checked}))
}

/// Model ids for command completion: whatever is cached, never a fetch.
pub async fn model_ids(app: &Shared) -> Vec<String> {
    let ids: Vec<String> = match models::cached(app).await {
        Some(c) => c.models.iter().map(|m| m.id.clone()).collect(),
        None => crate::openrouter::catalogue::builtin()
            .into_iter()
            .map(|m| m.id)
            .collect(),
    };
    ids
}

/// `:ZenModel` without an id: the picker, for the chat `target` names.
#[derive(Deserialize)]
pub struct Pick {
    #[serde(flatten)]
    target: Json,
    #[serde(default)]
    refresh: bool,
}

/// Loads the catalogue (fetching if needed) and opens the picker in Lua.
pub fn pick_model(app: &Shared, pick: Pick) {
    let app = app.clone();
    app.clone().tasks.spawn(async move {
        let Ok(ready) = app.ready() else { return };
        let catalogue = models::catalogue(&app, pick.refresh).await;
        let rows = models::picker_rows(&catalogue, &app.prefs().recent_models);
        let payload = json!({
            "prompt": models::picker_prompt(&catalogue),
            "source": catalogue.source,
            "rows": rows,
            "target": pick.target,
        });
        if let Err(e) = ready.ui.show_model_picker(&payload).await {
            tracing::error!("opening the model picker: {e:#}");
        }
    });
}

/// Tokens and cost per session, model and day, as lines for the usage window.
pub async fn usage(app: &Shared) -> Result<Json> {
    let ready = app.ready()?;
    let (dir, metas) = (ready.config.state_dir.clone(), app.registry.metas());
    tokio::task::spawn_blocking(move || crate::spend::summary(&dir, &metas))
        .await
        .map_err(|e| Error::io("reading usage.jsonl", e))
}

/// How many of the last answers `:ZenUsage generation` asks about.
const GENERATIONS: usize = 5;

/// Asks `GET /generation?id=` about the last answers (provider, latency, cache discount) and
/// appends what it says to the usage window: on demand only, never for every turn.
pub fn generations(app: &Shared) {
    let app = app.clone();
    app.clone().tasks.spawn(async move {
        let Ok(ready) = app.ready() else { return };
        let cfg = &ready.config.openrouter;
        let dir = ready.config.state_dir.clone();
        let recent = tokio::task::spawn_blocking(move || {
            crate::spend::recent_generations(&dir, GENERATIONS)
        })
        .await
        .unwrap_or_default();
        let mut lines = vec![String::new(), crate::spend::GENERATIONS_HEADING.to_string()];
        if recent.is_empty() {
            lines.push("  (no answer with a generation id yet)".into());
        }
        let key = app.api_key(cfg).await.ok();
        let secret = key.as_ref().map(|k| k.secret());
        let safe = |t: &str| crate::openrouter::redact::server_text(t, secret);
        for (id, model) in recent {
            let url = format!(
                "{}/generation?id={}",
                cfg.base_url.trim_end_matches('/'),
                urlencoding(&id)
            );
            let line = match ready
                .client
                .get(&url, key.as_ref(), Duration::from_secs(10))
                .await
            {
                Ok(body) => crate::spend::generation_line(&id, &model, &body, safe),
                Err(e) => format!("  {}  {}  unknown ({e})", safe(&id), safe(&model)),
            };
            lines.push(line);
        }
        let _ = ready.ui.append_usage(&lines).await;
    });
}

/// `id` safe in a query string (generation ids are `gen-…`; anything else is escaped).
fn urlencoding(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Asks `GET /key` for the remaining credit and puts the answer in the usage window.
pub fn credit(app: &Shared) {
    let app = app.clone();
    app.clone().tasks.spawn(async move {
        let Ok(ready) = app.ready() else { return };
        let cfg = &ready.config.openrouter;
        let line = match app.api_key(cfg).await {
            Err(_) => format!(
                "credit: unknown (no API key in {})",
                crate::openrouter::key::source(cfg)
            ),
            Ok(key) => {
                let url = format!("{}/key", cfg.base_url.trim_end_matches('/'));
                match ready
                    .client
                    .get(&url, Some(&key), Duration::from_secs(10))
                    .await
                {
                    Ok(body) => crate::spend::credit_line(&body),
                    Err(e) => format!("credit: unknown ({e})"),
                }
            }
        };
        let _ = ready.ui.set_credit(&line).await;
    });
}
