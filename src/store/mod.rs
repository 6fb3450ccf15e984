//! On-disk state under `state_dir`, shared by every editor open on it: `sessions.json` (the
//! index: locked read-merge-write, `index.rs`), `history/<id>.jsonl` (append-only records,
//! `history.rs`) and `locks/<id>.lock` (one running turn per session, `lock.rs`). A corrupt line
//! or file is reported and skipped, never fatal and never silently overwritten.

pub mod history;
pub mod index;
pub mod lock;
mod stamp;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

pub use history::is_gone;

use crate::data::{Message, SessionMeta};

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
    index: index::Index,
    histories: history::Histories,
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
        for d in [dir.to_path_buf(), dir.join("history"), dir.join("locks")] {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&d)
                .with_context(|| format!("creating {}", d.display()))?;
        }
        Ok(Store {
            dir: dir.to_path_buf(),
            index: index::Index::new(dir),
            histories: history::Histories::new(dir.join("history")),
        })
    }

    /// Path of a session's history file.
    #[cfg(test)]
    pub fn history_path(&self, id: &str) -> PathBuf {
        self.histories.path(id)
    }

    /// Where the per-session turn locks live (one writer per history, across editors).
    pub fn locks_dir(&self) -> PathBuf {
        self.dir.join("locks")
    }

    /// Reads the index (rebuilt from the history files when missing or unreadable).
    pub fn load_index(&self) -> (Vec<SessionMeta>, Vec<String>) {
        match self.index.sync(&[], false) {
            Ok(merged) => merged,
            Err(e) => (vec![], vec![format!("reading the session list: {e:#}")]),
        }
    }

    /// Whether another editor changed the index since this backend last read or wrote it.
    pub fn index_changed(&self) -> bool {
        self.index.changed()
    }

    /// Merges this backend's sessions into the index (see `store/index.rs`), writing it when
    /// `write`; returns the list to hold from now on.
    pub fn sync_index(&self, ours: &[SessionMeta], write: bool) -> anyhow::Result<index::Merged> {
        self.index.sync(ours, write)
    }

    /// Deletes a session's history and its index entry, for every editor at once.
    pub fn kill(&self, id: &str, ours: &[SessionMeta]) -> anyhow::Result<index::Merged> {
        self.histories.forget(id);
        let merged = self.index.kill(id, ours)?;
        let _ = fs::remove_file(self.locks_dir().join(format!("{id}.lock")));
        Ok(merged)
    }

    /// Appends one record to a session's history; `sync` forces it to disk (turn boundaries).
    /// Fails with [`history::Gone`] for a killed session; other failures keep the record (but
    /// not a `partial`) for the next append.
    pub fn append(&self, id: &str, record: &Record, sync: bool) -> anyhow::Result<()> {
        self.histories.append(id, record, sync)
    }

    /// Writes the records that failed earlier (at exit).
    pub fn flush_pending(&self) {
        self.histories.flush_pending();
    }

    /// Reads a session's conversation back.
    pub fn load_history(&self, id: &str) -> Loaded {
        self.histories.load(id)
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
    let done = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(anyhow::Error::from)
        .and_then(|()| {
            fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
        });
    if done.is_err() {
        let _ = fs::remove_file(&tmp); // a full disk needs its space back
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Role;

    fn with_meta(dir: &Path, id: &str) -> Store {
        let store = Store::open(dir).unwrap();
        let meta = SessionMeta::new_chat(id.into(), "chat".into(), "m".into(), dir.into());
        store.append(id, &Record::Meta { meta }, true).unwrap();
        store
    }

    fn message(role: Role, text: &str) -> Record {
        Record::Message {
            message: Message::new(role, text.into()),
        }
    }

    #[test]
    fn corrupt_history_line_is_skipped_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = with_meta(dir.path(), "s1");
        store
            .append("s1", &message(Role::User, "hi"), true)
            .unwrap();
        let path = store.history_path("s1");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{not json\n").unwrap();
        store
            .append("s1", &message(Role::Assistant, "hello"), true)
            .unwrap();
        let loaded = store.load_history("s1");
        assert_eq!(loaded.messages.len(), 2);
        assert_eq!(loaded.messages[1].content, "hello");
        assert_eq!(loaded.warnings.len(), 1);
        assert!(
            loaded.warnings[0].contains("line 3"),
            "{:?}",
            loaded.warnings
        );
    }

    #[test]
    fn a_record_after_a_torn_line_starts_on_its_own_line() {
        let dir = tempfile::tempdir().unwrap();
        let store = with_meta(dir.path(), "s1");
        let path = store.history_path("s1");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"type\":\"partial\",\"te").unwrap();
        store
            .append("s1", &message(Role::User, "kept"), true)
            .unwrap();
        let loaded = store.load_history("s1");
        assert_eq!(loaded.messages.len(), 1);
        assert_eq!(loaded.messages[0].content, "kept");
        assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    }

    #[test]
    fn a_killed_session_is_not_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = with_meta(dir.path(), "s1");
        store.kill("s1", &[]).unwrap();
        let err = store
            .append("s1", &message(Role::Assistant, "late"), true)
            .unwrap_err();
        assert!(is_gone(&err), "{err:#}");
        assert!(!store.history_path("s1").exists());
    }

    #[test]
    fn a_failed_save_waits_and_is_written_later() {
        let dir = tempfile::tempdir().unwrap();
        let store = with_meta(dir.path(), "s1");
        let path = store.history_path("s1");
        let aside = dir.path().join("aside");
        fs::rename(&path, &aside).unwrap();
        std::os::unix::fs::symlink("/dev/full", &path).unwrap();
        assert!(store
            .append("s1", &message(Role::Assistant, "answer"), true)
            .is_err());
        assert_eq!(store.load_history("s1").messages.len(), 1, "kept in memory");
        fs::remove_file(&path).unwrap();
        fs::rename(&aside, &path).unwrap();
        store
            .append("s1", &message(Role::User, "next"), true)
            .unwrap();
        let loaded = store.load_history("s1");
        let texts: Vec<_> = loaded.messages.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(texts, ["answer", "next"]);
    }

    #[test]
    fn partial_answer_survives_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let store = with_meta(dir.path(), "s1");
        store
            .append("s1", &message(Role::User, "hi"), true)
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
    fn a_history_another_editor_appended_to_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = with_meta(dir.path(), "s1");
        store
            .append("s1", &message(Role::User, "ours"), true)
            .unwrap();
        assert_eq!(store.load_history("s1").messages.len(), 1);
        let other = Store::open(dir.path()).unwrap();
        other
            .append("s1", &message(Role::Assistant, "theirs"), true)
            .unwrap();
        store
            .append("s1", &message(Role::User, "ours again"), true)
            .unwrap();
        let loaded = store.load_history("s1");
        let texts: Vec<_> = loaded.messages.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(texts, ["ours", "theirs", "ours again"]);
    }

    #[test]
    fn corrupt_index_is_moved_aside_and_rebuilt() {
        for bad in [&b"[{broken"[..], &b"\xff\xfe["[..]] {
            let dir = tempfile::tempdir().unwrap();
            let store = with_meta(dir.path(), "s1");
            fs::write(dir.path().join("sessions.json"), bad).unwrap();
            let (list, warnings) = store.load_index();
            assert_eq!(list.len(), 1);
            assert!(warnings[0].contains("corrupt"), "{warnings:?}");
            let aside = fs::read_dir(dir.path())
                .unwrap()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().contains("corrupt"));
            assert!(aside, "the corrupt file is kept");
        }
    }

    #[test]
    fn a_directory_in_place_of_the_index_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let store = with_meta(dir.path(), "s1");
        fs::create_dir_all(dir.path().join("sessions.json/inner")).unwrap();
        let (list, warnings) = store.load_index();
        assert_eq!(list.len(), 1);
        assert!(warnings[0].contains("is a directory"), "{warnings:?}");
        assert!(dir.path().join("sessions.json").is_file());
    }

    #[test]
    fn files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let store = with_meta(&state, "s1");
        store.load_index();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&state), 0o700);
        assert_eq!(mode(&state.join("sessions.json")), 0o600);
        assert_eq!(mode(&store.history_path("s1")), 0o600);
    }
}
