//! Keeps a codex agent's conversation id (`cli_session`) up to date while it runs, so reviving
//! it resumes exactly that conversation (`codex resume <id>`), never the newest of the
//! directory. The id is read from the pane's process tree (see `agents::codex`) every couple of
//! seconds: codex makes its conversation at the first message, and a new one on `/new`.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use super::codex;
use super::tmux::Tmux;
use crate::app::Shared;
use crate::store::Record;

const POLL: Duration = Duration::from_secs(1);

/// Where the agent's program runs.
pub enum Runs {
    /// In this tmux session (its pane's program may be restarted by a revive).
    Tmux(Tmux, String),
    /// As this process (a plain Neovim terminal).
    Pid(u32),
}

/// Agents being watched, by session id: one watcher each.
static WATCHED: Mutex<Option<HashSet<String>>> = Mutex::new(None);

fn claim(id: &str) -> bool {
    let mut set = WATCHED.lock().unwrap_or_else(|e| e.into_inner());
    set.get_or_insert_with(HashSet::new).insert(id.to_string())
}

fn release(id: &str) {
    let mut set = WATCHED.lock().unwrap_or_else(|e| e.into_inner());
    set.get_or_insert_with(HashSet::new).remove(id);
}

/// Starts watching codex agent `id` (nothing if it is already watched); ends when the program
/// or the session does.
pub fn watch(app: &Shared, id: &str, runs: Runs) {
    if !claim(id) {
        return;
    }
    let (app, id) = (app.clone(), id.to_string());
    let stopping = app.stopping.clone();
    app.clone().tasks.spawn(async move {
        loop {
            let pid = match &runs {
                Runs::Tmux(tmux, name) => tmux.pane_pid(name).await,
                Runs::Pid(pid) => std::path::Path::new(&format!("/proc/{pid}"))
                    .exists()
                    .then_some(*pid),
            };
            let Some(pid) = pid else { break };
            if let Some(thread) = codex::held_thread(pid) {
                if !record(&app, &id, thread).await {
                    break;
                }
            }
            tokio::select! {
                _ = stopping.cancelled() => break,
                _ = tokio::time::sleep(POLL) => {}
            }
        }
        release(&id);
    });
}

/// Saves `thread` as the agent's conversation id if it changed; false when the session is gone.
async fn record(app: &Shared, id: &str, thread: String) -> bool {
    let changed = app.registry.with(id, |e| {
        let agent = e.meta.agent.as_mut()?;
        if agent.cli_session.as_deref() == Some(&thread) {
            return None;
        }
        agent.cli_session = Some(thread.clone());
        Some(e.meta.clone())
    });
    let Some(changed) = changed else {
        return false; // killed
    };
    if let (Some(meta), Ok(ready)) = (changed, app.ready()) {
        tracing::info!("{}: codex conversation {thread}", meta.name);
        if let Err(e) = ready.store.append(id, &Record::Meta { meta }, true) {
            tracing::error!("saving the codex conversation id of {id}: {e:#}");
        }
        app.save_index().await;
    }
    true
}
