//! The agent's `fs/read_text_file` and `fs/write_text_file`, through Neovim: a file loaded in a
//! buffer is read from it (unsaved text included) and written through it (one undo step, then
//! the disk atomically from the same text: `lua/zen/files.lua`); any other file is read from disk
//! and written atomically, its mode kept. A path outside the session's directory is asked first
//! (the chat's permission line), never used silently.

use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{json, Value as Json};

use super::{permission, session, Agent, Refusal};
use crate::acp::protocol::{ReadTextFile, WriteTextFile};
use crate::nvim::Ui;

/// JSON-RPC "resource not found" (ACP uses it for a missing file).
const NOT_FOUND: i64 = -32002;
/// JSON-RPC "internal error".
const FAILED: i64 = -32603;

/// Answers `fs/read_text_file`: the file's text (its buffer's when loaded), from `line`
/// (1-based) for `limit` lines.
pub async fn read_text_file(
    agent: &Arc<Agent>,
    ui: Option<&Ui>,
    params: Json,
) -> Result<Json, Refusal> {
    let req: ReadTextFile = serde_json::from_value(params).map_err(Refusal::invalid)?;
    let path = allowed(agent, &req.path, "read").await?;
    let shown = path.display().to_string();
    let loaded = match ui {
        Some(ui) => ui.read_file(&shown).await.map_err(|e| failed(&shown, e))?,
        None => None,
    };
    let text = match loaded {
        Some(text) => text,
        None => tokio::fs::read_to_string(&path).await.map_err(|e| {
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                NOT_FOUND
            } else {
                FAILED
            };
            Refusal::new(code, format!("reading {shown}: {e}"))
        })?,
    };
    Ok(json!({ "content": lines(&text, req.line, req.limit) }))
}

/// Answers `fs/write_text_file`: through the file's buffer when loaded, else atomically to disk
/// (its directory made if needed).
pub async fn write_text_file(
    agent: &Arc<Agent>,
    ui: Option<&Ui>,
    params: Json,
) -> Result<Json, Refusal> {
    let req: WriteTextFile = serde_json::from_value(params).map_err(Refusal::invalid)?;
    let path = allowed(agent, &req.path, "write").await?;
    let shown = path.display().to_string();
    if let Some(ui) = ui {
        if ui
            .write_file(&shown, &req.content)
            .await
            .map_err(|e| failed(&shown, e))?
        {
            return Ok(Json::Null);
        }
    }
    let written = tokio::task::spawn_blocking(move || {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        write_atomic(&path, &req.content)
    })
    .await
    .map_err(std::io::Error::other);
    match written {
        Ok(Ok(())) => Ok(Json::Null),
        Ok(Err(e)) | Err(e) => Err(Refusal::new(FAILED, format!("writing {shown}: {e}"))),
    }
}

fn failed(path: &str, e: anyhow::Error) -> Refusal {
    Refusal::new(FAILED, format!("{path}: {e:#}"))
}

/// Writes `text` to `path` atomically: a temporary file in its directory, renamed over it. The
/// file's mode is kept (a new file gets the umask's, as an editor would make it).
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.zen-{}.tmp", std::process::id()));
    let perms = std::fs::metadata(path).ok().map(|m| m.permissions());
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o666)
            .open(&tmp)?;
        file.write_all(text.as_bytes())?;
        if let Some(perms) = &perms {
            file.set_permissions(perms.clone())?; // the umask may have narrowed it
        }
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp); // a full disk needs its space back
    }
    written
}

/// `text` from 1-based `line`, at most `limit` lines.
fn lines(text: &str, line: Option<usize>, limit: Option<usize>) -> String {
    if line.is_none() && limit.is_none() {
        return text.to_string();
    }
    let skip = line.unwrap_or(1).saturating_sub(1);
    let take = limit.unwrap_or(usize::MAX);
    text.split_inclusive('\n').skip(skip).take(take).collect()
}

static ASKED: AtomicU64 = AtomicU64::new(1);

/// The absolute path the agent named, inside the session's directory, or outside it once the
/// user allowed it (asked in the chat like a permission; `..` and relative paths refused).
async fn allowed(agent: &Arc<Agent>, path: &str, verb: &str) -> Result<PathBuf, Refusal> {
    let root = session::root(agent);
    let given = Path::new(path);
    if !given.is_absolute() || given.components().any(|c| c == Component::ParentDir) {
        return Err(Refusal::new(
            FAILED,
            format!("zen refused: {path} is not an absolute path without '..'"),
        ));
    }
    let resolved = resolve_existing(given);
    if resolved.starts_with(&root) {
        return Ok(resolved);
    }
    let n = ASKED.fetch_add(1, Ordering::Relaxed);
    let request = json!({
        "toolCall": {"toolCallId": format!("zen-fs-{n}"),
                     "title": format!("{verb} {path} (outside {})", root.display())},
        "options": [{"optionId": "allow", "name": "Allow", "kind": "allow_once"},
                    {"optionId": "reject", "name": "Reject", "kind": "reject_once"}],
    });
    let asked = permission::ask(agent, request)?;
    let answer = permission::answered(agent, asked).await?;
    if answer["outcome"]["optionId"] == "allow" {
        Ok(resolved)
    } else {
        Err(Refusal::new(
            FAILED,
            format!("the user did not allow zen to {verb} {path}: it is outside the session's directory"),
        ))
    }
}

/// `path` with its longest existing ancestor canonicalized (a new file's directory may not
/// exist yet).
fn resolve_existing(path: &Path) -> PathBuf {
    let mut rest = Vec::new();
    let mut cur = path.to_path_buf();
    loop {
        if let Ok(real) = cur.canonicalize() {
            return rest.iter().rev().fold(real, |p, c| p.join(c));
        }
        match (cur.file_name().map(|n| n.to_os_string()), cur.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                cur = parent.to_path_buf();
            }
            _ => return path.to_path_buf(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn line_and_limit_pick_lines() {
        assert_eq!(lines("a\nb\nc\n", Some(2), Some(1)), "b\n");
        assert_eq!(lines("a\nb\nc", Some(3), None), "c");
        assert_eq!(lines("a\nb", None, None), "a\nb");
    }

    #[test]
    fn atomic_write_keeps_the_files_mode_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.sh");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        write_atomic(&path, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
