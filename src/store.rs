//! On-disk state: `sessions.json` (the index, replaced atomically) and `history/<id>.jsonl`
//! (one JSON record per line, append-only). A corrupt line or file is reported and skipped,
//! never fatal and never silently overwritten: a corrupt index is moved aside and rebuilt
//! from the history files, which each start with the session's metadata.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::session::{Message, Role, SessionMeta};

/// One line of a history file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// First line of every file: lets a lost index be rebuilt.
    Meta { meta: SessionMeta },
    /// A complete message (a user prompt, or an answer that ended for any reason).
    Message { message: Message },
    /// The user edited earlier turns in the buffer: this is the whole conversation now.
    Rewrite { messages: Vec<Message> },
    /// More of the answer being streamed, saved while it streams so a crash loses little.
    Partial { text: String },
}

/// Reads and writes everything under `state_dir`.
pub struct Store {
    dir: PathBuf,
    index_lock: Mutex<()>,
}

/// A history file read back: the conversation plus what could not be read.
pub struct Loaded {
    pub messages: Vec<Message>,
    pub meta: Option<SessionMeta>,
    pub warnings: Vec<String>,
}

impl Store {
    /// Opens (and creates, mode 0700) the state directory.
    pub fn open(dir: &Path) -> anyhow::Result<Store> {
        for d in [dir.to_path_buf(), dir.join("history")] {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&d)
                .with_context(|| format!("creating {}", d.display()))?;
        }
        Ok(Store {
            dir: dir.to_path_buf(),
            index_lock: Mutex::new(()),
        })
    }

    fn index_path(&self) -> PathBuf {
        self.dir.join("sessions.json")
    }

    /// Path of a session's history file.
    pub fn history_path(&self, id: &str) -> PathBuf {
        self.dir.join("history").join(format!("{id}.jsonl"))
    }

    /// Reads the index. A corrupt one is moved aside and rebuilt from the history files.
    pub fn load_index(&self) -> (Vec<SessionMeta>, Vec<String>) {
        let path = self.index_path();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return self.rebuild_index(vec![])
            }
            Err(e) => return (vec![], vec![format!("reading {}: {e}", path.display())]),
        };
        match serde_json::from_str::<Vec<SessionMeta>>(&text) {
            Ok(list) => (list, vec![]),
            Err(e) => {
                let aside = path.with_extension(format!("json.corrupt-{}", crate::session::now()));
                let _ = fs::rename(&path, &aside);
                self.rebuild_index(vec![format!(
                    "{} was corrupt ({e}); kept it as {} and rebuilt the list from the history files",
                    path.display(),
                    aside.display()
                )])
            }
        }
    }

    fn rebuild_index(&self, mut warnings: Vec<String>) -> (Vec<SessionMeta>, Vec<String>) {
        let mut list = Vec::new();
        let Ok(entries) = fs::read_dir(self.dir.join("history")) else {
            return (list, warnings);
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("jsonl") {
                continue;
            }
            let loaded = read_history(&path);
            if let Some(meta) = loaded.meta {
                list.push(meta);
            }
        }
        list.sort_by_key(|m| m.created);
        if !list.is_empty() {
            if let Err(e) = self.save_index(&list) {
                warnings.push(format!("saving the rebuilt session list: {e:#}"));
            }
        }
        (list, warnings)
    }

    /// Replaces the index atomically (temp file, fsync, rename), mode 0600.
    pub fn save_index(&self, list: &[SessionMeta]) -> anyhow::Result<()> {
        let _guard = self.index_lock.lock().unwrap_or_else(|e| e.into_inner());
        let json = serde_json::to_vec_pretty(list)?;
        write_atomic(&self.index_path(), &json)
    }

    /// Appends one record to a session's history; `sync` forces it to disk (turn boundaries).
    pub fn append(&self, id: &str, record: &Record, sync: bool) -> anyhow::Result<()> {
        let path = self.history_path(id);
        let mut line = serde_json::to_vec(record)?;
        line.push(b'\n');
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        file.write_all(&line)
            .with_context(|| format!("writing {}", path.display()))?;
        if sync {
            file.sync_data()
                .with_context(|| format!("syncing {}", path.display()))?;
        }
        Ok(())
    }

    /// Reads a session's conversation back.
    pub fn load_history(&self, id: &str) -> Loaded {
        read_history(&self.history_path(id))
    }

    /// Deletes a session's history (after `:ZenKill`).
    pub fn remove_history(&self, id: &str) -> anyhow::Result<()> {
        match fs::remove_file(self.history_path(id)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

/// Writes `bytes` to `path` so that readers see the old file or the new one, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
}

fn read_history(path: &Path) -> Loaded {
    let mut loaded = Loaded {
        messages: vec![],
        meta: None,
        warnings: vec![],
    };
    let text = match File::open(path).and_then(|mut f| {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut s).map(|_| s)
    }) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return loaded,
        Err(e) => {
            loaded
                .warnings
                .push(format!("reading {}: {e}", path.display()));
            return loaded;
        }
    };
    let mut partial: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record = match serde_json::from_str::<Record>(line) {
            Ok(r) => r,
            Err(e) => {
                loaded.warnings.push(format!(
                    "{} line {} is not a valid record ({e}); skipped it",
                    path.display(),
                    n + 1
                ));
                continue;
            }
        };
        match record {
            Record::Meta { meta } => loaded.meta = Some(meta),
            Record::Message { message } => {
                if message.role != Role::Assistant {
                    flush_partial(&mut loaded.messages, &mut partial);
                }
                partial = None;
                loaded.messages.push(message);
            }
            Record::Rewrite { messages } => {
                partial = None;
                loaded.messages = messages;
            }
            Record::Partial { text } => partial.get_or_insert_with(String::new).push_str(&text),
        }
    }
    flush_partial(&mut loaded.messages, &mut partial);
    loaded
}

/// An answer whose stream never finished (the backend died): keep what arrived.
fn flush_partial(messages: &mut Vec<Message>, partial: &mut Option<String>) {
    if let Some(text) = partial.take() {
        let mut m = Message::new(Role::Assistant, text);
        m.end = Some("interrupted".into());
        messages.push(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_history_line_is_skipped_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let user = Message::new(Role::User, "hi".into());
        store
            .append(
                "s1",
                &Record::Message {
                    message: user.clone(),
                },
                true,
            )
            .unwrap();
        let path = store.history_path("s1");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{not json\n").unwrap();
        let answer = Message::new(Role::Assistant, "hello".into());
        store
            .append("s1", &Record::Message { message: answer }, true)
            .unwrap();
        let loaded = store.load_history("s1");
        assert_eq!(loaded.messages.len(), 2);
        assert_eq!(loaded.messages[1].content, "hello");
        assert_eq!(loaded.warnings.len(), 1);
        assert!(
            loaded.warnings[0].contains("line 2"),
            "{:?}",
            loaded.warnings
        );
    }

    #[test]
    fn partial_answer_survives_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let user = Message::new(Role::User, "hi".into());
        store
            .append("s1", &Record::Message { message: user }, true)
            .unwrap();
        store
            .append("s1", &Record::Partial { text: "Hel".into() }, false)
            .unwrap();
        store
            .append("s1", &Record::Partial { text: "lo".into() }, false)
            .unwrap();
        let loaded = store.load_history("s1");
        assert_eq!(loaded.messages[1].content, "Hello");
        assert_eq!(loaded.messages[1].end.as_deref(), Some("interrupted"));
    }

    #[test]
    fn corrupt_index_is_moved_aside_and_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let meta = SessionMeta::new_chat("s1".into(), "chat".into(), "m".into(), dir.path().into());
        store.append("s1", &Record::Meta { meta }, true).unwrap();
        fs::write(dir.path().join("sessions.json"), b"[{broken").unwrap();
        let (list, warnings) = store.load_index();
        assert_eq!(list.len(), 1);
        assert!(warnings[0].contains("corrupt"), "{warnings:?}");
        let aside = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().contains("corrupt"));
        assert!(aside, "the corrupt file is kept");
    }

    #[test]
    fn files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let store = Store::open(&state).unwrap();
        store.save_index(&[]).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&state), 0o700);
        assert_eq!(mode(&state.join("sessions.json")), 0o600);
    }
}
