//! `:ZenEdit`: a range of a file rewritten by a model, streamed back as a pending change that the
//! user reviews in the buffer (`lua/zen/review.lua`). Each file has one `edit` session whose
//! history holds every edit's prompt and answer.

pub mod code;
mod start;
pub mod turn;

pub use start::start;

use serde::Deserialize;

use crate::data::{Message, Role};

/// What Lua captured for an edit.
#[derive(Debug, Deserialize)]
pub struct Capture {
    /// The pending change's id in `zen.review`.
    pub review: i64,
    pub path: String,
    #[serde(default)]
    pub filetype: String,
    /// 1-based, inclusive.
    pub first: u64,
    pub last: u64,
    pub lines: Vec<String>,
    #[serde(default)]
    pub before: Vec<String>,
    #[serde(default)]
    pub after: Vec<String>,
    #[serde(default)]
    pub diagnostics: Vec<Diagnostic>,
    pub instruction: String,
    pub cwd: std::path::PathBuf,
}

/// A diagnostic inside the range (`lnum` 0-based, as `vim.diagnostic`).
#[derive(Debug, Deserialize)]
pub struct Diagnostic {
    pub lnum: u64,
    #[serde(default)]
    pub severity: Option<u64>,
    pub message: String,
}

const SYSTEM: &str = "You edit code in the user's editor. Reply with the replacement for the \
lines to replace only: one fenced code block holding the new text of exactly those lines, \
without the context around them, and nothing else (no explanation). Keep the file's style and \
indentation.";

fn severity(s: Option<u64>) -> &'static str {
    match s {
        Some(1) => "error",
        Some(2) => "warning",
        Some(3) => "info",
        _ => "hint",
    }
}

/// The messages of an edit request: what to do, the lines, their context and diagnostics.
pub fn messages(c: &Capture) -> Vec<Message> {
    let lang = crate::send::language_of(&c.filetype, &c.path);
    let label = crate::send::label(&c.path, &c.cwd, Some(c.first), Some(c.last));
    let mut prompt = format!("{}\n\n", c.instruction.trim());
    if !c.before.is_empty() {
        let above = format!("context above (keep it; do not repeat it), {label}");
        prompt.push_str(&crate::data::code::fenced(
            &above,
            lang,
            &c.before.join("\n"),
        ));
        prompt.push_str("\n\n");
    }
    let replace = format!("lines to replace: {label}");
    prompt.push_str(&crate::data::code::fenced(
        &replace,
        lang,
        &c.lines.join("\n"),
    ));
    if !c.after.is_empty() {
        prompt.push_str("\n\n");
        let below = format!("context below (keep it; do not repeat it), {label}");
        prompt.push_str(&crate::data::code::fenced(
            &below,
            lang,
            &c.after.join("\n"),
        ));
    }
    if !c.diagnostics.is_empty() {
        prompt.push_str("\n\nDiagnostics in these lines:");
        for d in &c.diagnostics {
            prompt.push_str(&format!(
                "\n- line {}: {}: {}",
                d.lnum + 1,
                severity(d.severity),
                d.message.replace('\n', " ")
            ));
        }
    }
    vec![
        Message::new(Role::System, SYSTEM.into()),
        Message::new(Role::User, prompt),
    ]
}

/// The name of a file's edit session: `edit-<file name>`, in the characters names allow.
pub fn session_name(path: &str) -> String {
    let file = std::path::Path::new(path)
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or("buffer");
    let clean: String = file
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(50)
        .collect();
    format!("edit-{clean}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_are_valid_names() {
        assert_eq!(session_name("/p/src/lib.rs"), "edit-lib.rs");
        assert_eq!(session_name("/p/my file (1).rs"), "edit-my-file--1-.rs");
        assert_eq!(session_name(""), "edit-buffer");
        crate::data::session::validate_name(&session_name("/p/.hidden")).unwrap();
    }
}
