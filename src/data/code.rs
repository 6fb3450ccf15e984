//! Code as data: the buffer a prompt refers to (`#buffer`, `#diagnostics`) and the fenced block
//! code is sent in.

use serde::Deserialize;

/// A fenced block under a label; the fence is longer than any backtick run inside.
pub fn fenced(label: &str, lang: &str, text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    format!("{label}\n{fence}{lang}\n{text}{newline}{fence}")
}

/// The buffer the user came from, as Lua reads it for `#buffer` and `#diagnostics`.
#[derive(Debug, Clone, Deserialize)]
pub struct CodeBuffer {
    pub name: String,
    #[serde(default)]
    pub filetype: String,
    #[serde(default)]
    pub lines: Vec<String>,
    #[serde(default)]
    pub diagnostics: Vec<Diagnostic>,
}

/// One `vim.diagnostic` entry.
#[derive(Debug, Clone, Deserialize)]
pub struct Diagnostic {
    pub lnum: u64,
    #[serde(default)]
    pub col: u64,
    #[serde(default)]
    pub severity: u8,
    pub message: String,
    #[serde(default)]
    pub source: Option<String>,
}
