//! The system prompt a chat request gets: the chat's own `## System` turn, else a project file's
//! `system_prompt` once the user trusts that file, else setup()'s. A project file comes from a
//! cloned repository: Lua asks the user (once per version of the file) at submit time, before
//! the request, never while an answer streams.

use std::hash::{DefaultHasher, Hash, Hasher};

use crate::app::Shared;
use crate::data::transcript::NOTE_PREFIX;
use crate::data::{Message, Role, SessionMeta};

/// Puts the prompt in force first, unless the chat has a `## System` turn (that one wins). Only
/// the request gets it: the chat and its history stay as the user wrote them. Returns the note
/// to add under the answer when a project's prompt was left out (once per chat and file version).
pub async fn apply(
    app: &Shared,
    meta: &SessionMeta,
    messages: &mut Vec<Message>,
    setup: Option<String>,
) -> Option<String> {
    if messages.iter().any(|m| m.role == Role::System) {
        return None;
    }
    let (prompt, note) = match crate::config::project_prompt(&meta.dir) {
        None => (setup, None),
        Some(project) => match trusted(app, &project).await {
            true => (Some(project.prompt), None),
            false => (setup, first_note(app, &meta.id, &project)),
        },
    };
    if let Some(prompt) = prompt.filter(|p| !p.trim().is_empty()) {
        messages.insert(0, Message::new(Role::System, prompt));
    }
    note
}

async fn trusted(app: &Shared, project: &crate::config::ProjectPrompt) -> bool {
    let Ok(ready) = app.ready() else { return false };
    match ready.ui.trust_project(&project.file, &project.text).await {
        Ok(yes) => yes,
        Err(e) => {
            tracing::warn!("asking to trust {}: {e:#}", project.file.display());
            false
        }
    }
}

/// The note saying why the project's prompt is not used, the first time for this file version.
fn first_note(app: &Shared, id: &str, project: &crate::config::ProjectPrompt) -> Option<String> {
    let mut h = DefaultHasher::new();
    project.text.hash(&mut h);
    let version = h.finish();
    let first = app
        .registry
        .with(id, |e| e.noted_prompt.replace(version) != Some(version))?;
    first.then(|| {
        format!(
            "{NOTE_PREFIX} the system_prompt of {} is not used: you have not trusted that file (:help zen-trust)",
            project.file.display()
        )
    })
}
