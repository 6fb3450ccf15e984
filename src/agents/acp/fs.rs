//! The agent's `fs/read_text_file` and `fs/write_text_file`, first version: from and to disk,
//! only inside the session's directory, writes atomic (`store::write_atomic`). The review
//! surface and Neovim's loaded buffers come next (a buffer-aware version replaces this file).

use std::path::{Component, Path, PathBuf};

use serde_json::{json, Value as Json};

use super::{session, Agent, Refusal};
use crate::acp::protocol::{ReadTextFile, WriteTextFile};

/// JSON-RPC "resource not found" (ACP uses it for a missing file).
const NOT_FOUND: i64 = -32002;
/// JSON-RPC "internal error".
const FAILED: i64 = -32603;

/// Answers `fs/read_text_file`: the file's text, from `line` (1-based) for `limit` lines.
pub async fn read_text_file(agent: &Agent, params: Json) -> Result<Json, Refusal> {
    let req: ReadTextFile = serde_json::from_value(params).map_err(Refusal::invalid)?;
    let path = inside(agent, &req.path)?;
    let text = tokio::fs::read_to_string(&path).await.map_err(|e| {
        let code = if e.kind() == std::io::ErrorKind::NotFound {
            NOT_FOUND
        } else {
            FAILED
        };
        Refusal::new(code, format!("reading {}: {e}", path.display()))
    })?;
    Ok(json!({ "content": lines(&text, req.line, req.limit) }))
}

/// Answers `fs/write_text_file`: writes the file atomically (its directory made if needed).
pub async fn write_text_file(agent: &Agent, params: Json) -> Result<Json, Refusal> {
    let req: WriteTextFile = serde_json::from_value(params).map_err(Refusal::invalid)?;
    let path = inside(agent, &req.path)?;
    let written = tokio::task::spawn_blocking(move || {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        crate::store::write_atomic(&path, req.content.as_bytes())
            .map_err(|e| std::io::Error::other(format!("{e:#}")))
    })
    .await;
    match written {
        Ok(Ok(())) => Ok(Json::Null),
        Ok(Err(e)) => Err(Refusal::new(FAILED, format!("writing {}: {e}", req.path))),
        Err(e) => Err(Refusal::new(FAILED, format!("writing {}: {e}", req.path))),
    }
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

/// The absolute path the agent named, if it lies inside the session's directory (symbolic
/// links resolved for the part that exists; `..` refused).
pub fn inside(agent: &Agent, path: &str) -> Result<PathBuf, Refusal> {
    let root = session::root(agent);
    let given = Path::new(path);
    let outside = || {
        Refusal::new(
            FAILED,
            format!(
                "zen refused: {path} is outside the session's directory {}",
                root.display()
            ),
        )
    };
    if !given.is_absolute() || given.components().any(|c| c == Component::ParentDir) {
        return Err(outside());
    }
    let resolved = resolve_existing(given);
    if resolved.starts_with(&root) {
        Ok(resolved)
    } else {
        Err(outside())
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

    #[test]
    fn line_and_limit_pick_lines() {
        assert_eq!(lines("a\nb\nc\n", Some(2), Some(1)), "b\n");
        assert_eq!(lines("a\nb\nc", Some(3), None), "c");
        assert_eq!(lines("a\nb", None, None), "a\nb");
    }
}
