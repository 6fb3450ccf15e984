//! Learning which conversation a codex agent is in. Codex picks the id itself (no flag sets
//! it) and writes it nowhere we could ask for; but while it runs (with `--no-daemon`) the
//! process in the agent's pane holds `$CODEX_HOME/thread-writer-locks/<id>.lock` open. So the
//! id is read from the open files of the pane's process tree, which no other agent shares,
//! unlike the newest session file of the directory. Linux only (`/proc`); elsewhere the id
//! stays unknown and reviving opens codex's own picker.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::time::SystemTime;

/// The id of the conversation held open by process `root` or its descendants, if any (the
/// most recently touched one when it holds several).
pub fn held_thread(root: u32) -> Option<String> {
    held_thread_in(Path::new("/proc"), root)
}

fn held_thread_in(proc_dir: &Path, root: u32) -> Option<String> {
    let tree = descendants(proc_dir, root);
    let mut found: Vec<(SystemTime, String)> = Vec::new();
    for pid in tree {
        let Ok(fds) = fs::read_dir(proc_dir.join(pid.to_string()).join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = fs::read_link(fd.path()) else {
                continue;
            };
            if let Some(id) = thread_of_lock(&target) {
                let when = fs::metadata(&target)
                    .and_then(|m| m.modified())
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                found.push((when, id));
            }
        }
    }
    found.into_iter().max().map(|(_, id)| id)
}

/// `<...>/thread-writer-locks/<uuid>.lock` → the uuid.
fn thread_of_lock(path: &Path) -> Option<String> {
    let dir = path.parent()?.file_name()?;
    let stem = path.file_name()?.to_str()?.strip_suffix(".lock")?;
    (dir == "thread-writer-locks" && uuid::Uuid::parse_str(stem).is_ok()).then(|| stem.to_string())
}

/// `root` and every process below it.
fn descendants(proc_dir: &Path, root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in fs::read_dir(proc_dir).into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        if let Some(ppid) = parent_of(&entry.path()) {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        out.extend(children.get(&out[i]).into_iter().flatten().copied());
        i += 1;
    }
    out
}

/// The parent pid from `/proc/<pid>/stat` (after the command name, which may hold spaces).
fn parent_of(proc_pid: &Path) -> Option<u32> {
    let stat = fs::read_to_string(proc_pid.join("stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_codex_thread_locks_name_a_conversation() {
        let id = "01a2355d-9269-7da0-b0bb-829b0e323c90";
        let lock = format!("/h/.codex/thread-writer-locks/{id}.lock");
        assert_eq!(thread_of_lock(Path::new(&lock)).as_deref(), Some(id));
        for other in [
            "/h/.codex/thread-writer-locks/.coordination.lock",
            "/h/.codex/auth.lock",
            "/h/elsewhere/01a2355d-9269-7da0-b0bb-829b0e323c90.lock",
        ] {
            assert_eq!(thread_of_lock(Path::new(other)), None, "{other}");
        }
    }

    #[test]
    fn finds_the_lock_held_by_a_child_of_the_pane() {
        // This test process holds a lock file open; it is a descendant of itself.
        let dir = tempfile::tempdir().unwrap();
        let locks = dir.path().join("thread-writer-locks");
        fs::create_dir_all(&locks).unwrap();
        let id = "01a2355e-542a-79f0-985f-bd7a7f3c8099";
        let _held = fs::File::create(locks.join(format!("{id}.lock"))).unwrap();
        assert_eq!(held_thread(std::process::id()).as_deref(), Some(id));
        assert_eq!(parent_of(Path::new("/proc/self")), Some(parent_pid()));
    }

    fn parent_pid() -> u32 {
        std::os::unix::process::parent_id()
    }
}
