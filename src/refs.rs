//! References inside chat prompts: `@path/to/file` inlines a file, `#buffer` the code buffer the
//! user came from, `#diagnostics` its diagnostics, and `@image.png` (jpeg, webp, gif) attaches the
//! image for models that accept images, and `@paper.pdf` the PDF for models that take files (or
//! any model when `openrouter.pdf_engine` has OpenRouter parse it). Resolved when the prompt is
//! sent, then kept in history.
//! Text inside fenced code blocks is never read as a reference (`@app.route` in Python is code).

use std::path::{Path, PathBuf};

use crate::data::code::CodeBuffer;
use base64::Engine;

use crate::data::Attachment;
use crate::openrouter::catalogue::Model;

/// A reference found in a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ref {
    File(String),
    Image(String),
    Pdf(String),
    Buffer,
    Diagnostics,
}

const IMAGE_TYPES: &[(&str, &str)] = &[
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("webp", "image/webp"),
    ("gif", "image/gif"),
];

/// The references in `text`, in order, outside fenced code blocks.
pub fn find(text: &str) -> Vec<Ref> {
    let mut refs = Vec::new();
    // The open fence (its character and length), so a shorter or other run inside doesn't close it.
    let mut fence: Option<(char, usize)> = None;
    for line in text.lines() {
        let t = line.trim_start();
        let marker = t.chars().next().filter(|c| *c == '`' || *c == '~');
        let run = marker.map_or(0, |m| t.chars().take_while(|c| *c == m).count());
        match (fence, marker) {
            (None, Some(m)) if run >= 3 => {
                fence = Some((m, run));
                continue;
            }
            (Some((m, n)), Some(c))
                if c == m && run >= n && t.trim_end().chars().all(|x| x == m) =>
            {
                fence = None;
                continue;
            }
            (Some(_), _) => continue,
            _ => {}
        }
        for word in line.split_whitespace() {
            // Sentence punctuation after a reference is not part of it.
            let word = word.trim_end_matches([',', ';', ':', '!', '?', ')', '"', '\'', '.']);
            match word {
                "#buffer" => refs.push(Ref::Buffer),
                "#diagnostics" => refs.push(Ref::Diagnostics),
                _ => {
                    let Some(path) = word.strip_prefix('@') else {
                        continue;
                    };
                    if path.is_empty()
                        || !(path.contains('/') || path.contains('.') || path.starts_with('~'))
                    {
                        continue; // "@someone" is prose
                    }
                    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
                    if IMAGE_TYPES.iter().any(|(e, _)| *e == ext) {
                        refs.push(Ref::Image(path.to_string()));
                    } else if ext == "pdf" {
                        refs.push(Ref::Pdf(path.to_string()));
                    } else {
                        refs.push(Ref::File(path.to_string()));
                    }
                }
            }
        }
    }
    let mut seen = Vec::new();
    refs.retain(|r| {
        let new = !seen.contains(r);
        seen.push(r.clone());
        new
    });
    refs
}

/// Size limits (`references.*` options).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_file_bytes: u64,
    pub max_image_bytes: u64,
    pub max_pdf_bytes: u64,
}

/// Everything resolving needs.
pub struct Context<'a> {
    /// Relative paths start here (the session's project root).
    pub root: &'a Path,
    pub model: &'a str,
    /// The model's catalogue entry, when known (to refuse images for text-only models).
    pub entry: Option<&'a Model>,
    pub limits: Limits,
    /// The code buffer, when the prompt names `#buffer` or `#diagnostics`.
    pub code: Option<CodeBuffer>,
    /// `openrouter.pdf_engine` is set: OpenRouter reads PDFs for any model.
    pub pdf_engine: bool,
}

/// Why a reference cannot be sent; its text is the user's one line.
#[derive(Debug, thiserror::Error)]
pub enum RefError {
    #[error(
        "zen: #buffer: there is no code buffer to send (open a file in another window first)."
    )]
    NoBuffer,
    #[error("zen: #diagnostics: there is no code buffer to read diagnostics from.")]
    NoDiagnosticsBuffer,
    #[error("zen: @{0}: no such file (looked for {1}). Fix the reference or remove it.")]
    NoSuchFile(String, String),
    #[error("zen: @{0} is not a file ({1}).")]
    NotAFile(String, String),
    #[error("zen: @{0}: {1}.")]
    Read(String, std::io::Error),
    #[error("zen: @{0} is a binary file; only text files and images (png, jpeg, webp, gif) can be sent.")]
    Binary(String),
    #[error("zen: {model} does not accept images, so @{path} cannot be sent. Pick a vision model with :ZenModel, or remove the reference.")]
    NoImages { model: String, path: String },
    #[error("zen: {model} does not take files, so @{path} cannot be sent. Set openrouter.pdf_engine (\"pdf-text\" or \"mistral-ocr\") to have OpenRouter read it, pick a model that takes files with :ZenModel, or remove the reference.")]
    NoFiles { model: String, path: String },
    #[error("zen: @{0} is not a PDF (it does not start with %PDF-).")]
    NotPdf(String),
    /// Over `option`'s limit.
    #[error("zen: {what} is {}, over the {} limit ({option}). {}.", human(*.size), human(*.limit), too_big_hint(option))]
    TooBig {
        what: String,
        size: u64,
        limit: u64,
        option: &'static str,
    },
}

/// Resolves every reference into an attachment, or says (in one line) why one cannot be.
pub fn resolve(refs: &[Ref], ctx: &Context) -> Result<Vec<Attachment>, RefError> {
    refs.iter().map(|r| resolve_one(r, ctx)).collect()
}

fn resolve_one(r: &Ref, ctx: &Context) -> Result<Attachment, RefError> {
    match r {
        Ref::File(p) => file(p, ctx),
        Ref::Image(p) => image(p, ctx),
        Ref::Pdf(p) => pdf(p, ctx),
        Ref::Buffer => {
            let code = ctx.code.as_ref().ok_or(RefError::NoBuffer)?;
            let label = crate::send::label(&code.name, ctx.root, None, None);
            let text = code.lines.join("\n");
            if text.len() as u64 > ctx.limits.max_file_bytes {
                return Err(too_big(
                    "#buffer",
                    text.len() as u64,
                    ctx.limits.max_file_bytes,
                    "references.max_file_bytes",
                ));
            }
            Ok(text_attachment(
                "#buffer",
                label,
                crate::send::language_of(&code.filetype, &code.name),
                text,
            ))
        }
        Ref::Diagnostics => {
            let code = ctx.code.as_ref().ok_or(RefError::NoDiagnosticsBuffer)?;
            let label = crate::send::label(&code.name, ctx.root, None, None);
            let mut lines: Vec<String> = code
                .diagnostics
                .iter()
                .map(|d| {
                    let severity = ["error", "warning", "info", "hint"]
                        .get(d.severity.saturating_sub(1) as usize)
                        .unwrap_or(&"note");
                    let source = d
                        .source
                        .as_deref()
                        .map(|s| format!(" [{s}]"))
                        .unwrap_or_default();
                    format!(
                        "{label}:{}:{}: {severity}: {}{source}",
                        d.lnum + 1,
                        d.col + 1,
                        d.message
                    )
                })
                .collect();
            if lines.is_empty() {
                lines.push(format!("(no diagnostics in {label})"));
            }
            Ok(text_attachment(
                "#diagnostics",
                format!("diagnostics of {label}"),
                "",
                lines.join("\n"),
            ))
        }
    }
}

fn text_attachment(reference: &str, label: String, lang: &str, text: String) -> Attachment {
    Attachment {
        reference: reference.into(),
        label,
        lang: Some(lang.into()),
        text: Some(text),
        image_url: None,
        file_data: None,
    }
}

fn locate(p: &str, ctx: &Context) -> Result<(PathBuf, String), RefError> {
    let path = match p.strip_prefix("~/") {
        Some(rest) => PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(rest),
        None => ctx.root.join(p),
    };
    let looked = path.clone();
    let path = path
        .canonicalize()
        .map_err(|_| RefError::NoSuchFile(p.into(), looked.display().to_string()))?;
    if !path.is_file() {
        return Err(RefError::NotAFile(p.into(), path.display().to_string()));
    }
    // Inside the project: the relative path; outside: the resolved path, so the user sees it.
    let root = ctx
        .root
        .canonicalize()
        .unwrap_or_else(|_| ctx.root.to_path_buf());
    let label = path
        .strip_prefix(&root)
        .map(|r| r.display().to_string())
        .unwrap_or_else(|_| path.display().to_string());
    Ok((path, label))
}

fn file(p: &str, ctx: &Context) -> Result<Attachment, RefError> {
    let (path, label) = locate(p, ctx)?;
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    if size > ctx.limits.max_file_bytes {
        return Err(too_big(
            &format!("@{p}"),
            size,
            ctx.limits.max_file_bytes,
            "references.max_file_bytes",
        ));
    }
    let bytes = std::fs::read(&path).map_err(|e| RefError::Read(p.into(), e))?;
    let text = match String::from_utf8(bytes) {
        Ok(t) if !t.contains('\0') => t,
        _ => return Err(RefError::Binary(p.into())),
    };
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    Ok(text_attachment(
        &format!("@{p}"),
        label,
        crate::send::language_of_extension(ext),
        text,
    ))
}

fn image(p: &str, ctx: &Context) -> Result<Attachment, RefError> {
    if let Some(entry) = ctx.entry {
        if !entry.accepts_images() {
            return Err(RefError::NoImages {
                model: ctx.model.into(),
                path: p.into(),
            });
        }
    }
    let (path, label) = locate(p, ctx)?;
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    if size > ctx.limits.max_image_bytes {
        return Err(too_big(
            &format!("@{p}"),
            size,
            ctx.limits.max_image_bytes,
            "references.max_image_bytes",
        ));
    }
    let bytes = std::fs::read(&path).map_err(|e| RefError::Read(p.into(), e))?;
    let ext = p.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    let mime = IMAGE_TYPES
        .iter()
        .find(|(e, _)| *e == ext)
        .map(|(_, m)| *m)
        .unwrap_or("image/png");
    let data = base64::engine::general_purpose::STANDARD.encode(bytes);
    Ok(Attachment {
        reference: format!("@{p}"),
        label,
        lang: None,
        text: None,
        image_url: Some(format!("data:{mime};base64,{data}")),
        file_data: None,
    })
}

fn pdf(p: &str, ctx: &Context) -> Result<Attachment, RefError> {
    if let Some(entry) = ctx.entry.filter(|e| !ctx.pdf_engine && !e.accepts_files()) {
        return Err(RefError::NoFiles {
            model: entry.id.clone(),
            path: p.into(),
        });
    }
    let (path, label) = locate(p, ctx)?;
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    if size > ctx.limits.max_pdf_bytes {
        return Err(too_big(
            &format!("@{p}"),
            size,
            ctx.limits.max_pdf_bytes,
            "references.max_pdf_bytes",
        ));
    }
    let bytes = std::fs::read(&path).map_err(|e| RefError::Read(p.into(), e))?;
    if !bytes.starts_with(b"%PDF-") {
        return Err(RefError::NotPdf(p.into()));
    }
    let data = base64::engine::general_purpose::STANDARD.encode(bytes);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    Ok(Attachment {
        reference: format!("@{p}"),
        label: name.unwrap_or(label),
        lang: None,
        text: None,
        image_url: None,
        file_data: Some(format!("data:application/pdf;base64,{data}")),
    })
}

fn too_big(what: &str, size: u64, limit: u64, option: &'static str) -> RefError {
    RefError::TooBig {
        what: what.into(),
        size,
        limit,
        option,
    }
}

fn too_big_hint(option: &str) -> &'static str {
    if option.ends_with("image_bytes") {
        "Shrink the image, or raise the limit"
    } else if option.ends_with("pdf_bytes") {
        "Send fewer pages, or raise the limit"
    } else {
        "Send a part of it with :ZenSend instead, or raise the limit"
    }
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.0} KB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_references_outside_code_blocks_only() {
        let text = "Look at @src/main.rs, #buffer and @shot.PNG.\n```python\n@app.route('/x')\n```\nping @someone #diagnostics";
        assert_eq!(
            find(text),
            vec![
                Ref::File("src/main.rs".into()),
                Ref::Buffer,
                Ref::Image("shot.PNG".into()),
                Ref::Diagnostics
            ]
        );
    }

    #[test]
    fn fences_close_only_on_their_own_marker() {
        let text =
            "````md\n```\n@inside.rs\n````\n~~~\n@tilde.rs\n~~~\nsee @out.rs and @out.rs again";
        assert_eq!(find(text), vec![Ref::File("out.rs".into())]);
    }

    #[test]
    fn missing_binary_and_too_big_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bin.dat"), [0u8, 159, 146, 150]).unwrap();
        std::fs::write(dir.path().join("big.txt"), "x".repeat(2048)).unwrap();
        let ctx = Context {
            root: dir.path(),
            model: "m",
            entry: None,
            limits: Limits {
                max_file_bytes: 1024,
                max_image_bytes: 1024,
                max_pdf_bytes: 1024,
            },
            code: None,
            pdf_engine: false,
        };
        let err = resolve(&[Ref::File("nope.rs".into())], &ctx)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no such file"), "{err}");
        let err = resolve(&[Ref::File("bin.dat".into())], &ctx)
            .unwrap_err()
            .to_string();
        assert!(err.contains("binary file"), "{err}");
        let err = resolve(&[Ref::File("big.txt".into())], &ctx)
            .unwrap_err()
            .to_string();
        assert!(err.contains("2 KB, over the 1 KB limit"), "{err}");
    }
}
