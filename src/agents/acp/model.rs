//! `:ZenModel` in an agent chat: the models and modes the agent offers (`session/new`'s
//! `models` and `modes`), set with `session/set_model` / `session/set_mode`.

use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{session, Agent};
use crate::app::{Error, Result, Shared, Which};
use crate::data::transcript;

/// `:ZenModel [id]` in an agent chat.
#[derive(Deserialize)]
pub struct AgentModel {
    #[serde(flatten)]
    which: Which,
    #[serde(default)]
    model: Option<String>,
}

/// Without an id: the agent's models and modes (`choices`) for the picker. With one: sets it
/// (the title follows a model) and answers what was chosen.
pub async fn agent_model(app: &Shared, req: AgentModel) -> Result<Json> {
    let ready = app.ready()?;
    let id = app
        .resolve(&req.which)?
        .ok_or(Error::refused("no agent chat here."))?;
    let agent = session::ensure(app, &id).await?;
    let Some(wanted) = req.model.filter(|m| !m.trim().is_empty()) else {
        return Ok(json!({ "choices": choices(&agent) }));
    };
    let kind = choose(&agent, wanted.trim()).await?;
    let shown = session::shown_model(&agent);
    let (name, buf) = app
        .registry
        .with(&id, |e| {
            e.meta.model = Some(shown.clone());
            (e.meta.name.clone(), e.buf)
        })
        .ok_or(Error::Gone)?;
    app.save_index().await;
    if let Some(buf) = buf {
        let _ = ready
            .ui
            .set_title(buf, &transcript::title(&name, &shown))
            .await;
    }
    Ok(json!({"id": id, "name": name, "model": shown, "kind": kind, "chosen": wanted.trim()}))
}

/// The picker rows: each model and mode the agent offers, the current ones marked.
pub fn choices(agent: &Agent) -> Vec<Json> {
    let state = agent.state();
    let mut rows = Vec::new();
    if let Some(m) = &state.models {
        for model in &m.available_models {
            rows.push(json!({
                "id": model.model_id, "name": model.name, "kind": "model",
                "description": model.description, "current": model.model_id == m.current_model_id,
            }));
        }
    }
    if let Some(m) = &state.modes {
        for mode in &m.available_modes {
            rows.push(json!({
                "id": mode.id, "name": mode.name, "kind": "mode",
                "description": mode.description, "current": mode.id == m.current_mode_id,
            }));
        }
    }
    rows
}

/// Sets the agent's model, or its mode, to `wanted` (an id it offered); answers which.
pub async fn choose(agent: &Agent, wanted: &str) -> Result<&'static str> {
    let (is_model, is_mode, offered) = {
        let state = agent.state();
        let models: Vec<&str> = state
            .models
            .iter()
            .flat_map(|m| m.available_models.iter().map(|x| x.model_id.as_str()))
            .collect();
        let modes: Vec<&str> = state
            .modes
            .iter()
            .flat_map(|m| m.available_modes.iter().map(|x| x.id.as_str()))
            .collect();
        let offered = models
            .iter()
            .chain(&modes)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        (models.contains(&wanted), modes.contains(&wanted), offered)
    };
    let name = agent.kind.name();
    let sid = agent.session_id();
    let (method, params) = if is_model {
        (
            "session/set_model",
            json!({"sessionId": sid, "modelId": wanted}),
        )
    } else if is_mode {
        (
            "session/set_mode",
            json!({"sessionId": sid, "modeId": wanted}),
        )
    } else if offered.is_empty() {
        return Err(Error::refused(format!(
            "{name} offers no models or modes to pick from."
        )));
    } else {
        return Err(Error::refused(format!(
            "{name} offers no model or mode '{wanted}'. It offers: {offered}."
        )));
    };
    agent
        .conn
        .request(method, params)
        .await
        .map_err(|e| Error::refused(format!("{name} refused {method}: {e}.")))?;
    let mut state = agent.state();
    if is_model {
        if let Some(m) = state.models.as_mut() {
            m.current_model_id = wanted.to_string();
        }
        return Ok("model");
    }
    if let Some(m) = state.modes.as_mut() {
        m.current_mode_id = wanted.to_string();
    }
    Ok("mode")
}
