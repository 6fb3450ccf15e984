//! What a model id may be, and how a server's text (a model's name) is made safe to show.
//!
//! An id is sent in requests, written in titles, histories and prefs, and typed in commands, so
//! a hostile catalogue or file must not slip in control characters (a newline breaks the buffer
//! and every later submit, ESC and OSC 52 drive the terminal, U+202E reorders what is shown).

/// The longest id accepted, in bytes.
pub const MAX_ID_BYTES: usize = 200;

/// Why a text is not a usable model id (the clause after "is not a model id").
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum BadId {
    #[error("it is empty")]
    Empty,
    #[error("it is longer than {MAX_ID_BYTES} bytes")]
    TooLong,
    #[error("it contains the control character {}", .0.escape_unicode())]
    Control(char),
    #[error("it contains whitespace")]
    Whitespace,
}

/// Why `id` is not a usable model id, or `Ok`. `openrouter/auto`, `@preset/<slug>` and the
/// `:online`, `:free` variants are ordinary ids here.
pub fn check(id: &str) -> Result<(), BadId> {
    if id.is_empty() {
        return Err(BadId::Empty);
    }
    if id.len() > MAX_ID_BYTES {
        return Err(BadId::TooLong);
    }
    if let Some(c) = id.chars().find(|c| c.is_control() || invisible(*c)) {
        return Err(BadId::Control(c));
    }
    if id.chars().any(char::is_whitespace) {
        return Err(BadId::Whitespace);
    }
    Ok(())
}

/// A refused id from `origin` (`:ZenModel`, `model=`, a file...): the user's one line.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("zen: {origin}: '{}' is not a model id ({why}). Give one such as openai/gpt-4o; :ZenModel lists them.", shown(.id, 60))]
pub struct Refused {
    pub id: String,
    pub origin: &'static str,
    pub why: BadId,
}

/// The refusal of `id` from `origin`, for `why`.
pub fn refused(id: &str, origin: &'static str, why: BadId) -> Refused {
    Refused {
        id: id.into(),
        origin,
        why,
    }
}

/// `text` as it may be shown: control and invisible characters as visible escapes (`\u{1b}`),
/// cut to `max` characters with `…`.
pub fn shown(text: &str, max: usize) -> String {
    // Each character shows as at least one, so `max + 1` of them tell whether to cut.
    let escaped: String = text
        .chars()
        .take(max + 1)
        .map(|c| match c.is_control() || invisible(c) {
            true => c.escape_unicode().to_string(),
            false => c.to_string(),
        })
        .collect();
    if escaped.chars().count() <= max {
        return escaped;
    }
    let mut out: String = escaped.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Characters that are not `Cc` controls but change how text is shown or read: bidi controls,
/// zero-width characters, the byte order mark.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_ids_and_their_variants_are_accepted() {
        for id in [
            "openai/gpt-4o",
            "openrouter/auto",
            "@preset/my-preset",
            "openai/gpt-4o:online",
            "meta-llama/llama-3.3-70b-instruct:free",
            "vendor/modèle-日本",
        ] {
            assert_eq!(check(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn hostile_ids_are_refused() {
        for id in [
            "a/b\nc",
            "a/b\r",
            "a/\u{1b}[31mred",
            "a/\u{1b}]52;c;ZXZpbA==\u{7}",
            "a/\0",
            "a/\u{202e}txt.exe",
            "a/zero\u{200b}width",
            "a/b c",
            "a/b\u{a0}c",
            "",
        ] {
            assert!(check(id).is_err(), "{id:?} accepted");
        }
        assert!(check(&format!("a/{}", "x".repeat(MAX_ID_BYTES))).is_err());
        assert!(check(&format!("a/{}", "x".repeat(MAX_ID_BYTES - 2))).is_ok());
    }

    #[test]
    fn shown_text_has_no_raw_controls_and_is_cut() {
        assert_eq!(
            shown("Evil\nName\u{1b}]52;x\u{7}", 80),
            "Evil\\u{a}Name\\u{1b}]52;x\\u{7}"
        );
        assert_eq!(shown("\u{202e}abc", 80), "\\u{202e}abc");
        assert_eq!(shown("abcdef", 4), "abc…");
        assert_eq!(shown("abcd", 4), "abcd");
        assert_eq!(shown(&"x".repeat(10_000), 32).chars().count(), 32);
    }

    #[test]
    fn the_refusal_is_one_line() {
        let e = refused("a/b\nc", ":ZenModel", BadId::Control('\n')).to_string();
        assert!(
            !e.contains('\n') && e.starts_with("zen: :ZenModel: 'a/b\\u{a}c'"),
            "{e}"
        );
    }
}
