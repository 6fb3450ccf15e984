//! Agent sessions: starting one (`new_agent`), opening (attach or revive), the states `:ZenList`
//! shows, delivering `:ZenSend` text, kill and rename, and the `agent_started` / `agent_exited`
//! notices from Lua's terminals. The tmux policy (`tmux = "auto"`) lives here.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::ids::{self, Runs};
use super::tmux::{PaneState, Tmux};
use super::{self as agents, via, Kind};
use crate::app::which::session_dir;
use crate::app::{Error, Result, Shared};
use crate::config::{AgentMode, Config, Tmux as TmuxSetting};
use crate::data::{AgentMeta, SessionMeta};

const AGENT_KEYS: &[&str] = &["dir", "prompt", "model", "name", "worktree", "via", "mode"];

/// `:ZenNew <kind> key=value...` run in `cwd`.
#[derive(Deserialize)]
pub struct NewAgent {
    kind: String,
    #[serde(default, deserialize_with = "crate::data::map_or_empty_list")]
    args: HashMap<String, String>,
    cwd: PathBuf,
}

/// The tmux session name of a zen session (tmux turns `.` and `:` into `_` anyway).
pub fn tmux_name(name: &str) -> String {
    name.replace(['.', ':'], "_")
}

fn tmux_of(config: &Config) -> Tmux {
    Tmux {
        socket: config.tmux_socket.clone(),
    }
}

/// Whether agents run in tmux: `tmux = "auto"` uses it when installed; `true` requires it.
fn use_tmux(config: &Config) -> Result<bool> {
    match config.tmux {
        TmuxSetting::Never => Ok(false),
        TmuxSetting::Always if !Tmux::installed() => Err(Error::refused(
            "tmux = true, but tmux is not installed. Install it, or set tmux = \"auto\".",
        )),
        _ => Ok(Tmux::installed()),
    }
}

/// Starts a terminal agent session: checks the binary, makes the worktree if asked, starts the
/// CLI (in tmux when available) and answers what Lua should run in a terminal.
pub async fn new_agent(app: &Shared, req: NewAgent) -> Result<Json> {
    let ready = app.ready()?;
    let kind = Kind::parse(&req.kind).ok_or(Error::refused(format!(
        "unknown session kind '{}'. Known: openrouter, claude, codex, gemini, shell.",
        req.kind
    )))?;
    if let Some(bad) = req.args.keys().find(|k| !AGENT_KEYS.contains(&k.as_str())) {
        return Err(Error::refused(format!(
            "unknown argument '{bad}' for :ZenNew {}. Known: {}.",
            kind.name(),
            AGENT_KEYS.join(", ")
        )));
    }
    let via = via::check(kind, req.args.get("via").map(String::as_str))?;
    if via.is_some() {
        // Before the worktree: a missing key must leave nothing behind.
        via::key(app).await?;
    }
    let (mut dir, cfg) = session_dir(&ready.config, &req.cwd, req.args.get("dir"))?;
    let mode = match req.args.get("mode").map(String::as_str) {
        None => agents::settings(&cfg.agents, kind).mode,
        Some("chat") => AgentMode::Chat,
        Some("terminal") => AgentMode::Terminal,
        Some(other) => {
            let why = format!("mode={other} must be terminal or chat.");
            return Err(Error::refused(why));
        }
    };
    if mode == AgentMode::Chat {
        return agents::acp::session::new_chat(app, kind, &req.args, &req.cwd).await;
    }
    let cmd = agents::base_cmd(kind, &agents::settings(&ready.config.agents, kind));
    agents::check_binary(kind, &cmd)?;
    if let Some(n) = req.args.get("name").filter(|n| n.contains('.')) {
        // tmux would turn it into '_', and two sessions could share one tmux session.
        return Err(Error::refused(format!(
            "agent session names may not contain '.' ('{n}'). Use '-' or '_'."
        )));
    }
    let name = app.choose_name(req.args.get("name"), kind.name())?;
    let tmux = use_tmux(&cfg)?;
    let (mut worktree, mut branch) = (None, None);
    let wants_worktree = match req.args.get("worktree").map(String::as_str) {
        None | Some("false" | "0" | "no") => false,
        Some("true" | "1" | "yes") => true,
        Some(other) => {
            let why = format!("worktree={other} must be true or false.");
            return Err(Error::refused(why));
        }
    };
    if wants_worktree {
        let (path, b) =
            agents::worktree::add(&dir, &name, &ready.config.state_dir.join("worktrees")).await?;
        dir = path.clone();
        (worktree, branch) = (Some(path), Some(b));
    }
    // claude and gemini take the id we choose; codex picks its own (learned in agent_ids).
    let cli_session =
        matches!(kind, Kind::Claude | Kind::Gemini).then(|| uuid::Uuid::new_v4().to_string());
    let model = req
        .args
        .get("model")
        .filter(|m| !m.trim().is_empty())
        .cloned();
    let prompt = req
        .args
        .get("prompt")
        .map(String::as_str)
        .filter(|p| !p.is_empty());
    let argv = agents::start_argv(kind, &cmd, model.as_deref(), prompt, cli_session.as_deref());
    let run_argv = via::wrap(app, via.as_deref(), argv.clone()).await?;
    let id = uuid::Uuid::new_v4().to_string();
    let now = crate::data::now();
    let meta = SessionMeta {
        id: id.clone(),
        kind: kind.name().into(),
        name: name.clone(),
        model,
        temperature: None,
        dir: dir.clone(),
        created: now,
        updated: now,
        totals: Default::default(),
        web: false,
        agent: Some(AgentMeta {
            cli_session,
            tmux,
            argv: argv.clone(),
            worktree,
            branch,
            via,
        }),
        acp: None,
    };
    if tmux {
        let started = tmux_of(&ready.config)
            .new_session(&tmux_name(&name), &dir.to_string_lossy(), &run_argv)
            .await;
        if let Err(e) = started {
            if let Some(path) = meta.agent.as_ref().and_then(|a| a.worktree.as_ref()) {
                let _ = agents::worktree::remove(path).await; // just made, nothing in it yet
            }
            return Err(Error::refused(format!(
                "starting {} in tmux failed: {e}.",
                kind.name()
            )));
        }
    }
    app.add_session(meta).await?;
    if tmux && kind == Kind::Codex {
        let runs = Runs::Tmux(tmux_of(&ready.config), tmux_name(&name));
        ids::watch(app, &id, runs);
    }
    let run = if tmux {
        tmux_of(&ready.config).attach_argv(&tmux_name(&name))
    } else {
        run_argv
    };
    Ok(json!({"id": id, "name": name, "kind": kind.name(), "run": run, "cwd": dir, "tmux": tmux}))
}

/// Opens an agent: attaches to its tmux session, reviving it with the CLI's resume when it has
/// exited; without tmux, answers the resume command for Lua to run if its terminal has ended.
pub async fn open_agent(app: &Shared, id: &str) -> Result<Json> {
    let ready = app.ready()?;
    let (meta, agent, kind, buf) = agent_session(app, id)?;
    let cmd = agents::base_cmd(kind, &agents::settings(&ready.config.agents, kind));
    let resume = agents::resume_argv(
        kind,
        &cmd,
        meta.model.as_deref(),
        agent.cli_session.as_deref(),
    );
    let mut revived = false;
    let via = agent.via.as_deref();
    let run = if agent.tmux {
        let tmux = tmux_of(&ready.config);
        let tname = tmux_name(&meta.name);
        let dir = meta.dir.to_string_lossy();
        let state = tmux.states().await.get(&tname).copied();
        if state != Some(PaneState::Running) {
            agents::check_binary(kind, &cmd)?;
            let resume = via::wrap(app, via, resume).await?;
            let started = match state {
                // The pane stayed (remain-on-exit): run the resume in it. Killing the session
                // instead could stop the server just as the next command connects.
                Some(_) => tmux.respawn(&tname, &dir, &resume).await,
                None => tmux.new_session(&tname, &dir, &resume).await,
            };
            started.map_err(|e| Error::refused(format!("reviving {} failed: {e}.", meta.name)))?;
            revived = true;
        }
        if kind == Kind::Codex {
            ids::watch(app, id, Runs::Tmux(tmux.clone(), tname.clone()));
        }
        tmux.attach_argv(&tname)
    } else {
        via::wrap(app, via, resume).await?
    };
    // Without a known conversation id, say how to find the conversation (never a guess).
    let note = match (kind, &agent.cli_session) {
        (Kind::Claude | Kind::Codex, None) => "its conversation id is unknown: pick it in the list",
        (Kind::Gemini, None) => "its conversation id is unknown: pick it with /resume",
        (Kind::Opencode, _) => "its earlier sessions are in opencode's /sessions",
        _ => "",
    };
    Ok(json!({
        "id": id, "name": meta.name, "kind": meta.kind, "run": run, "cwd": meta.dir,
        "tmux": agent.tmux, "buf": buf, "revived": revived, "note": note,
    }))
}

/// The state `:ZenList` shows for an agent: running, exited or failed.
pub async fn states(app: &Shared) -> HashMap<String, &'static str> {
    let Ok(ready) = app.ready() else {
        return HashMap::new();
    };
    let panes = tmux_of(&ready.config).states().await;
    let mut out = HashMap::new();
    for row in app.registry.list() {
        let Some(agent) = &row.meta.agent else {
            continue;
        };
        let state = if agent.tmux {
            match panes.get(&tmux_name(&row.meta.name)) {
                Some(PaneState::Running) => "running",
                Some(PaneState::Dead(Some(code))) if *code != 0 => "failed",
                Some(PaneState::Dead(_)) | None => "exited",
            }
        } else {
            match app
                .registry
                .with(&row.meta.id, |e| (e.running, e.exit_code))
            {
                Some((true, _)) => "running",
                Some((false, Some(code))) if code != 0 => "failed",
                _ => "exited",
            }
        };
        out.insert(row.meta.id.clone(), state);
    }
    out
}

/// Delivers `:ZenSend` text to an agent: pasted into tmux here, or handed to Lua for the
/// terminal's channel. Either way whole, as one bracketed paste, then Enter (unless turned off).
pub async fn deliver(app: &Shared, id: &str, text: &str) -> Result<Json> {
    let ready = app.ready()?;
    let (meta, agent, kind, _) = agent_session(app, id)?;
    // The project file may set send_enter (it runs nothing), so read the merged settings.
    let (cfg, _) = ready
        .config
        .for_dir(&meta.dir)
        .map_err(|e| Error::refused(format!("{e:#}.")))?;
    let enter = agents::settings(&cfg.agents, kind)
        .send_enter
        .unwrap_or(true);
    app.registry.touch(id);
    if !agent.tmux {
        return Ok(
            json!({"id": id, "name": meta.name, "agent": true, "paste": text, "enter": enter}),
        );
    }
    let tmux = tmux_of(&ready.config);
    let tname = tmux_name(&meta.name);
    if tmux.states().await.get(&tname) != Some(&PaneState::Running) {
        return Err(Error::refused(format!(
            "{} is not running. Open it from :ZenList to revive it, then send again.",
            meta.name
        )));
    }
    tmux.paste(&tname, text, enter)
        .await
        .map_err(|e| Error::refused(format!("pasting into {} failed: {e}.", meta.name)))?;
    Ok(json!({"id": id, "name": meta.name, "agent": true}))
}

/// An agent session's metadata, its agent details, its kind and its buffer.
fn agent_session(app: &Shared, id: &str) -> Result<(SessionMeta, AgentMeta, Kind, Option<i64>)> {
    let (meta, buf) = app
        .registry
        .with(id, |e| (e.meta.clone(), e.buf))
        .ok_or(Error::Gone)?;
    let agent = meta
        .agent
        .clone()
        .ok_or(Error::refused("not an agent session."))?;
    let kind = Kind::parse(&meta.kind).ok_or(Error::refused("unknown agent kind."))?;
    Ok((meta, agent, kind, buf))
}

/// Ends an agent's program and, unless it has uncommitted changes (or `force`), its worktree.
/// Returns a note for the user when something was kept.
pub async fn stop_agent(app: &Shared, meta: &SessionMeta, force: bool) -> Result<Option<String>> {
    let ready = app.ready()?;
    if meta.acp.is_some() {
        agents::acp::kill(&meta.id);
        return Ok(None);
    }
    let Some(agent) = &meta.agent else {
        return Ok(None);
    };
    if agent.tmux {
        tmux_of(&ready.config).kill(&tmux_name(&meta.name)).await;
    }
    let Some(path) = &agent.worktree else {
        return Ok(None);
    };
    let keep = |why: String| {
        let path = path.display();
        format!(
            "kept its worktree {path} ({why}); remove it with: git worktree remove --force {path}"
        )
    };
    if !force {
        // When in doubt, keep: a failed check must not cost uncommitted work.
        match agents::worktree::dirty_files(path).await {
            Err(e) => return Ok(Some(keep(format!("could not check it for changes: {e}")))),
            Ok(0) => {}
            Ok(1) => return Ok(Some(keep("1 file with uncommitted changes".into()))),
            Ok(n) => return Ok(Some(keep(format!("{n} files with uncommitted changes")))),
        }
    }
    agents::worktree::remove(path)
        .await
        .map_err(|e| Error::refused(format!("removing the worktree {}: {e}.", path.display())))?;
    let branch = agent.branch.clone().unwrap_or_default();
    Ok(Some(format!(
        "removed its worktree; branch {branch} is kept"
    )))
}

/// Renames an agent's tmux session along with it.
pub async fn rename_agent(app: &Shared, meta: &SessionMeta, new_name: &str) -> Result<()> {
    let ready = app.ready()?;
    if new_name.contains('.') {
        return Err(Error::refused(format!(
            "agent session names may not contain '.' ('{new_name}'). Use '-' or '_'."
        )));
    }
    if !meta.agent.as_ref().is_some_and(|a| a.tmux) {
        return Ok(());
    }
    let tmux = tmux_of(&ready.config);
    let old = tmux_name(&meta.name);
    if tmux.states().await.contains_key(&old) {
        tmux.rename(&old, &tmux_name(new_name)).await.map_err(|e| {
            Error::refused(format!(
                "renaming the tmux session of {} failed: {e}.",
                meta.name
            ))
        })?;
    }
    Ok(())
}

/// Lua opened a terminal for an agent.
#[derive(Deserialize)]
pub struct Started {
    id: String,
    buf: i64,
    /// The terminal's process (a plain terminal runs the agent itself).
    #[serde(default)]
    pid: Option<u32>,
    #[serde(default)]
    tmux: bool,
}

/// Lua opened a terminal for an agent.
pub fn agent_started(app: &Shared, s: Started) {
    let kind = app.registry.with(&s.id, |e| {
        e.buf = Some(s.buf);
        e.running = true;
        e.exit_code = None;
        e.meta.kind.clone()
    });
    if let (Some("codex"), Some(pid), false) = (kind.as_deref(), s.pid, s.tmux) {
        ids::watch(app, &s.id, Runs::Pid(pid));
    }
}

/// An agent's terminal ended.
#[derive(Deserialize)]
pub struct Exited {
    id: String,
    code: i64,
    #[serde(default)]
    tmux: bool,
}

/// An agent's terminal ended (for tmux, that is only the attached client).
pub fn agent_exited(app: &Shared, x: Exited) {
    if !x.tmux {
        app.registry.with(&x.id, |e| {
            e.running = false;
            e.exit_code = Some(x.code);
        });
    }
}
