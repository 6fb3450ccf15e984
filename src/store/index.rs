//! `sessions.json`, the session index, shared by every Neovim open on one state_dir.
//!
//! Several backends write it, so none may write back what it merely remembers. Every write is a
//! read-merge-write under an exclusive `flock` on `sessions.lock` (held for milliseconds; the
//! kernel releases it if a backend dies): the backend reads the file and applies only what it
//! changed since it last synced with it, a three-way merge per session against that copy (a
//! field it changed wins, token totals add up). Sessions another editor added are kept; a
//! session another editor removed is dropped. Killing deletes the history file under the same
//! lock, and a session without a history file is never written back: the history file's
//! absence is the tombstone, so a killed session cannot return.
//!
//! One file with a lock (rather than a file per session) keeps the index a single readable file,
//! as before, and a reader notices another writer's change with one `stat`: every write replaces
//! the file (a new inode), so identity, size and mtime change.
//!
//! A file that cannot be read as an index (not JSON, not UTF-8, a directory) is moved aside as
//! `sessions.json.corrupt-<time>` and the index is rebuilt from the history files, which each
//! start with their session's metadata.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::stamp::{stamp, Stamp};
use super::{lock, write_atomic};
use crate::data::{SessionMeta, Totals};

/// The index file and what this backend last agreed with it.
pub struct Index {
    path: PathBuf,
    lock_path: PathBuf,
    history: PathBuf,
    synced: Mutex<Synced>,
}

#[derive(Default)]
struct Synced {
    stamp: Option<Stamp>,
    /// The file's sessions as of the last sync: the base of the three-way merge.
    base: HashMap<String, SessionMeta>,
}

/// A merged list to put in the registry, and what to tell the user.
pub type Merged = (Vec<SessionMeta>, Vec<String>);

impl Index {
    pub fn new(dir: &Path) -> Index {
        Index {
            path: dir.join("sessions.json"),
            lock_path: dir.join("sessions.lock"),
            history: dir.join("history"),
            synced: Mutex::new(Synced::default()),
        }
    }

    /// Whether another backend rewrote the file since this one last synced with it.
    pub fn changed(&self) -> bool {
        let synced = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        stamp(&self.path) != synced.stamp
    }

    /// Merges `ours` (every session this backend holds) with the file; writes the result when
    /// `write`. Returns the merged list, which the registry should hold from now on.
    pub fn sync(&self, ours: &[SessionMeta], write: bool) -> anyhow::Result<Merged> {
        let _lock = lock::exclusive(&self.lock_path)?;
        self.sync_locked(ours, write)
    }

    /// Deletes a session's history and drops it from the index, both under the lock.
    pub fn kill(&self, id: &str, ours: &[SessionMeta]) -> anyhow::Result<Merged> {
        let _lock = lock::exclusive(&self.lock_path)?;
        match fs::remove_file(self.history.join(format!("{id}.jsonl"))) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        let ours: Vec<SessionMeta> = ours.iter().filter(|m| m.id != id).cloned().collect();
        self.sync_locked(&ours, true)
    }

    fn sync_locked(&self, ours: &[SessionMeta], write: bool) -> anyhow::Result<Merged> {
        let (theirs, warnings) = self.read()?;
        let mut synced = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        let merged = merge_all(&synced.base, ours, &theirs, |id| {
            self.history.join(format!("{id}.jsonl")).exists()
        });
        let keep = if write && merged != theirs {
            write_atomic(&self.path, &serde_json::to_vec_pretty(&merged)?)?;
            &merged
        } else {
            &theirs
        };
        synced.base = keep.iter().map(|m| (m.id.clone(), m.clone())).collect();
        synced.stamp = stamp(&self.path);
        Ok((merged, warnings))
    }

    /// The file's sessions. A missing file is rebuilt from the history files; an unreadable
    /// one is moved aside first.
    fn read(&self) -> anyhow::Result<Merged> {
        let path = &self.path;
        let problem = match fs::read(path) {
            Ok(bytes) => match serde_json::from_slice::<Vec<SessionMeta>>(&bytes) {
                Ok(list) => return Ok((list, vec![])),
                Err(e) => format!("was corrupt ({e})"),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let list = self.rebuild();
                if !list.is_empty() {
                    write_atomic(path, &serde_json::to_vec_pretty(&list)?)?;
                }
                return Ok((list, vec![]));
            }
            Err(_) if path.is_dir() => "is a directory".to_string(),
            Err(e) => return Err(anyhow::anyhow!("reading {}: {e}", path.display())),
        };
        let aside = path.with_extension(format!("json.corrupt-{}", crate::data::now()));
        let list = self.rebuild();
        let mut warning = match fs::rename(path, &aside) {
            Ok(()) => format!(
                "{} {problem}; kept it as {} and rebuilt the list from the history files",
                path.display(),
                aside.display()
            ),
            Err(e) => format!(
                "{} {problem} and could not be moved aside ({e}); rebuilt the list from the history files. Move it away",
                path.display()
            ),
        };
        if let Err(e) = write_atomic(path, &serde_json::to_vec_pretty(&list)?) {
            warning.push_str(&format!(". Saving the rebuilt list failed: {e:#}"));
        }
        Ok((list, vec![warning]))
    }

    /// Every session that has a history file, oldest first.
    fn rebuild(&self) -> Vec<SessionMeta> {
        let mut list = Vec::new();
        let Ok(entries) = fs::read_dir(&self.history) else {
            return list;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("jsonl") {
                continue;
            }
            if let Some(meta) = super::history::read_history(&path, vec![]).meta {
                list.push(meta);
            }
        }
        list.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        list
    }
}

/// The index after applying our changes (`ours` against `base`) to the file's list (`theirs`).
fn merge_all(
    base: &HashMap<String, SessionMeta>,
    ours: &[SessionMeta],
    theirs: &[SessionMeta],
    has_history: impl Fn(&str) -> bool,
) -> Vec<SessionMeta> {
    let ours_by_id: HashMap<&str, &SessionMeta> = ours.iter().map(|m| (m.id.as_str(), m)).collect();
    let theirs_ids: HashSet<&str> = theirs.iter().map(|m| m.id.as_str()).collect();
    let mut out = Vec::new();
    for t in theirs {
        match (ours_by_id.get(t.id.as_str()), base.get(&t.id)) {
            (Some(o), b) => out.push(merge(b.unwrap_or(t), o, t)),
            (None, None) => out.push(t.clone()), // added by another editor
            (None, Some(_)) => {}                // removed here
        }
    }
    for o in ours {
        // Ours only: new here (kept if its history exists), or removed by another editor.
        if !theirs_ids.contains(o.id.as_str()) && !base.contains_key(&o.id) && has_history(&o.id) {
            out.push(o.clone());
        }
    }
    out.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
    out
}

/// One session: the file's version plus what we changed since `base`.
fn merge(base: &SessionMeta, ours: &SessionMeta, theirs: &SessionMeta) -> SessionMeta {
    let mut out = theirs.clone();
    if ours.name != base.name {
        out.name = ours.name.clone();
    }
    if ours.model != base.model {
        out.model = ours.model.clone();
    }
    if ours.temperature != base.temperature {
        out.temperature = ours.temperature;
    }
    if ours.agent != base.agent {
        out.agent = ours.agent.clone();
    }
    if ours.web != base.web {
        out.web = ours.web;
    }
    if ours.acp != base.acp {
        out.acp = ours.acp.clone();
    }
    out.updated = out.updated.max(ours.updated);
    if ours.totals != base.totals {
        let (o, b, t) = (&ours.totals, &base.totals, &theirs.totals);
        out.totals = Totals {
            prompt_tokens: t.prompt_tokens + o.prompt_tokens.saturating_sub(b.prompt_tokens),
            completion_tokens: t.completion_tokens
                + o.completion_tokens.saturating_sub(b.completion_tokens),
            cost: t.cost + (o.cost - b.cost).max(0.0),
            turns: t.turns + o.turns.saturating_sub(b.turns),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: &str, name: &str) -> SessionMeta {
        SessionMeta::new_chat(id.into(), name.into(), "m".into(), "/".into())
    }

    #[test]
    fn totals_from_two_editors_add_up_and_renames_are_kept() {
        let base = meta("a", "a");
        let mut ours = base.clone();
        ours.totals.cost = 0.5;
        ours.totals.turns = 1;
        let mut theirs = base.clone();
        theirs.totals.cost = 0.25;
        theirs.totals.turns = 1;
        theirs.name = "renamed".into();
        let m = merge(&base, &ours, &theirs);
        assert_eq!(m.totals.cost, 0.75);
        assert_eq!(m.totals.turns, 2);
        assert_eq!(m.name, "renamed");
    }

    #[test]
    fn sessions_added_or_removed_elsewhere_are_respected() {
        let base: HashMap<_, _> = [("a".to_string(), meta("a", "a"))].into();
        let ours = vec![meta("a", "a"), meta("new", "new")];
        let theirs = vec![meta("other", "other")];
        let merged = merge_all(&base, &ours, &theirs, |_| true);
        let ids: Vec<_> = merged.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids.len(), 2);
        assert!(ids.contains(&"other") && ids.contains(&"new"), "{ids:?}");
        let merged = merge_all(&HashMap::new(), &ours[1..], &[], |_| false);
        assert!(merged.is_empty(), "no history, no index entry");
    }
}
