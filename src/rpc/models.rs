//! Model and spend requests: `set_model`, `model_ids`, `usage`, and the `pick_model` and
//! `credit` notices (answered later by calling into Lua, so the editor never waits on the network).

use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::chat::{target_session, Target};
use super::{args, Reply};
use crate::app::Shared;
use crate::models;
use crate::openrouter::catalogue::Source;
use crate::openrouter::model_id;
use crate::session::transcript;

#[derive(Deserialize)]
struct SetModel {
    #[serde(flatten)]
    target: Target,
    model: String,
    #[serde(default)]
    refresh: bool,
}

/// Sets the model of the chat in `buf` (the next turn uses it), or outside a chat the default
/// for new chats. For an unknown id it answers `unknown` (and the closest ids): the editor opens
/// the picker narrowed to it.
pub async fn set_model(app: &Shared, arg: Json) -> Reply {
    let req: SetModel = args(arg)?;
    let ready = app.ready()?;
    let model = req.model.trim().to_string();
    if model.is_empty() {
        return Err("zen: give a model id, e.g. :ZenModel openai/gpt-4o.".into());
    }
    model_id::check(&model).map_err(|why| model_id::refused(&model, ":ZenModel", &why))?;
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
    let target = target_session(app, &req.target);
    if let Some(id) = &target {
        if app.registry.with(id, |e| e.meta.agent.is_some()) == Some(true) {
            return Err("zen: :ZenModel sets the model of chats; give an agent its model with :ZenNew <kind> model=...".into());
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
        .ok_or("zen: the session is gone.")?;
    app.save_index().await;
    if let Some(buf) = buf {
        let _ = ready
            .ui
            .set_title(buf, &transcript::title(&name, &model))
            .await;
    }
    Ok(json!({"id": id, "name": name, "model": model, "scope": "session", "checked": checked}))
}

/// Model ids for command completion: whatever is cached, never a fetch.
pub async fn model_ids(app: &Shared) -> Reply {
    let ids: Vec<String> = match models::cached(app).await {
        Some(c) => c.models.iter().map(|m| m.id.clone()).collect(),
        None => crate::openrouter::catalogue::builtin()
            .into_iter()
            .map(|m| m.id)
            .collect(),
    };
    Ok(json!(ids))
}

#[derive(Deserialize)]
struct Pick {
    #[serde(flatten)]
    target: Json,
    #[serde(default)]
    refresh: bool,
}

/// Loads the catalogue (fetching if needed) and opens the picker in Lua.
pub fn pick_model(app: &Shared, arg: Json) {
    let Ok(pick) = args::<Pick>(arg) else { return };
    let app = app.clone();
    tokio::spawn(async move {
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
pub async fn usage(app: &Shared) -> Reply {
    let ready = app.ready()?;
    Ok(crate::spend::summary(
        &ready.config.state_dir,
        &app.registry.metas(),
    ))
}

/// Asks `GET /key` for the remaining credit and puts the answer in the usage window.
pub fn credit(app: &Shared) {
    let app = app.clone();
    tokio::spawn(async move {
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
