//! Which session a request means, and the name and directory of a new one. One rule for every
//! request: an id or a name given is the session meant (a typo never falls back to another);
//! else the session shown in `buf`, known to the registry or, after a backend restart, named by
//! the buffer's `b:zen_session`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::{Error, Result};
use super::App;
use crate::config::Config;
use crate::data::session::validate_name;

/// The part of a request that names a session.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Which {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub buf: Option<i64>,
    /// `b:zen_session` of `buf`: finds the chat after a backend restart.
    #[serde(default)]
    pub session: Option<String>,
}

impl Which {
    /// The id or name the request gave, if any.
    pub fn named(&self) -> Option<&str> {
        [&self.id, &self.name]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .find(|n| !n.is_empty())
    }
}

impl App {
    /// The session `which` means: `Ok(None)` when it names none and its buffer shows none.
    pub fn resolve(&self, which: &Which) -> Result<Option<String>> {
        if let Some(name) = which.named() {
            let id = self.registry.by_name(name);
            return id.map(Some).ok_or(Error::NoSuchSession(name.to_string()));
        }
        let Some(buf) = which.buf else {
            return Ok(None);
        };
        if let Some(id) = self.registry.by_buf(buf) {
            return Ok(Some(id));
        }
        let Some(id) = which.session.as_deref().filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        match self.registry.with(id, |e| e.buf = Some(buf)) {
            Some(()) => Ok(Some(id.to_string())),
            None => Err(Error::Killed),
        }
    }

    /// The session `which` means, or why there is none.
    pub fn resolve_some(&self, which: &Which) -> Result<String> {
        self.resolve(which)?.ok_or(Error::NoneHere)
    }

    /// The name of a new session: `given` (checked, and not in use), else the first free
    /// `{stem}-N`.
    pub fn choose_name(&self, given: Option<&String>, stem: &str) -> Result<String> {
        let Some(n) = given else {
            let free = (1..).map(|n| format!("{stem}-{n}"));
            return Ok(free
                .into_iter()
                .find(|n| !self.registry.name_taken(n))
                .expect("some name is free"));
        };
        validate_name(n)?;
        if self.registry.name_taken(n) {
            return Err(Error::refused(format!(
                "a session is already called '{n}'. Pick another name."
            )));
        }
        Ok(n.clone())
    }
}

/// A new session's directory (`dir=`, relative to `cwd`) and its settings (project file merged).
pub fn session_dir(config: &Config, cwd: &Path, dir: Option<&String>) -> Result<(PathBuf, Config)> {
    let dir = cwd.join(dir.map(String::as_str).unwrap_or("."));
    let dir = dir
        .canonicalize()
        .map_err(|e| Error::refused(format!("dir={} cannot be used ({e}).", dir.display())))?;
    let (cfg, _) = config
        .for_dir(&dir)
        .map_err(|e| Error::refused(format!("{e:#}.")))?;
    Ok((dir, cfg))
}
