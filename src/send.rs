//! Code as prompts: a selection (or range) becomes the instruction, a `path:first-last` label and
//! a fenced block in the file's language. The same text goes to chats and terminal agents.

use std::path::Path;

use crate::data::code::fenced;

/// Where the code came from, as the label shows it: relative to the project root when inside
/// it, else the full path.
pub fn label(path: &str, cwd: &Path, first: Option<u64>, last: Option<u64>) -> String {
    let shown = if path.is_empty() {
        "[No Name]".to_string()
    } else {
        let p = Path::new(path);
        let root = crate::config::project_root(p.parent().unwrap_or(cwd));
        p.strip_prefix(&root)
            .ok()
            .filter(|rel| !rel.as_os_str().is_empty() && root != Path::new("/"))
            .map(|rel| rel.display().to_string())
            .unwrap_or_else(|| p.display().to_string())
    };
    match (first, last) {
        (Some(a), Some(b)) if a == b => format!("{shown}:{a}"),
        (Some(a), Some(b)) => format!("{shown}:{a}-{b}"),
        _ => shown,
    }
}

/// The fence language for a 'filetype' (most are the same word).
pub fn language(filetype: &str) -> &str {
    match filetype {
        "typescriptreact" => "tsx",
        "javascriptreact" => "jsx",
        "sh" | "zsh" => "bash",
        other => other,
    }
}

/// The fence language for a file extension (when there is no 'filetype').
pub fn language_of_extension(ext: &str) -> &'static str {
    match ext {
        "rs" => "rust",
        "py" => "python",
        "lua" => "lua",
        "js" | "mjs" | "cjs" => "javascript",
        "ts" => "typescript",
        "tsx" => "tsx",
        "go" => "go",
        "c" | "h" => "c",
        "cc" | "cpp" | "hpp" => "cpp",
        "java" => "java",
        "rb" => "ruby",
        "sh" | "bash" => "bash",
        "md" => "markdown",
        "json" => "json",
        "toml" => "toml",
        "yaml" | "yml" => "yaml",
        "vim" => "vim",
        _ => "",
    }
}

/// The fence language of a file: from its 'filetype', else its extension.
pub fn language_of<'a>(filetype: &'a str, path: &str) -> &'a str {
    if !filetype.is_empty() {
        return language(filetype);
    }
    let ext = Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    language_of_extension(ext)
}

/// The prompt for a selection: the instruction, then the labelled code.
pub fn prompt(instruction: &str, code: Option<(&str, &str, &str)>) -> String {
    let instruction = instruction.trim();
    match code {
        None => instruction.to_string(),
        Some((label, lang, text)) if instruction.is_empty() => fenced(label, lang, text),
        Some((label, lang, text)) => format!("{instruction}\n\n{}", fenced(label, lang, text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fence_outgrows_backticks_inside() {
        assert_eq!(
            fenced("a.md:1-2", "markdown", "```rust\nx\n```"),
            "a.md:1-2\n````markdown\n```rust\nx\n```\n````"
        );
        assert_eq!(fenced("l", "", "plain"), "l\n```\nplain\n```");
    }

    #[test]
    fn labels_are_relative_to_the_project_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        let file = dir.path().join("src/main.rs");
        let l = label(file.to_str().unwrap(), dir.path(), Some(3), Some(9));
        assert_eq!(l, "src/main.rs:3-9");
        assert_eq!(label("", dir.path(), Some(1), Some(1)), "[No Name]:1");
    }

    #[test]
    fn prompt_with_and_without_instruction() {
        assert_eq!(
            prompt("Explain", Some(("f.rs:1-1", "rust", "fn x() {}"))),
            "Explain\n\nf.rs:1-1\n```rust\nfn x() {}\n```"
        );
        assert_eq!(prompt("  just text ", None), "just text");
    }
}
