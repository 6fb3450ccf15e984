//! Takes secrets out of text a server sent, before it is shown, logged or saved. A server may
//! echo the request (`Invalid header Authorization: Bearer sk-…`), so every server text passes
//! through [`redact`] where it enters the backend: error bodies, stream errors, `/key`, `/models`.

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Keys shorter than this are not searched for (a one-letter "key" would blank out the text).
const MIN_KEY_LEN: usize = 8;

/// `text` with the API key (wherever it appears) and the token of any `Bearer <token>` replaced
/// by `[redacted]`.
pub fn redact(text: &str, key: Option<&str>) -> String {
    let mut out = match key.map(str::trim).filter(|k| k.len() >= MIN_KEY_LEN) {
        Some(k) => text.replace(k, REDACTED),
        None => text.to_string(),
    };
    redact_bearer(&mut out);
    out
}

/// Server text as it may be shown, logged or saved: redacted ([`redact`]), on one line (runs of
/// whitespace as one space, other control characters escaped), at most 300 characters.
pub fn server_text(text: &str, key: Option<&str>) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::data::model_id::shown(&redact(&one_line, key), 300)
}

/// Replaces the token after every (case-insensitive) `Bearer` followed by blanks.
fn redact_bearer(text: &mut String) {
    let mut from = 0;
    // ASCII lowercasing keeps byte offsets, so positions found in `lower` are valid in `text`.
    while let Some(at) = text.to_ascii_lowercase()[from..].find("bearer") {
        let after_word = from + at + "bearer".len();
        let rest = &text[after_word..];
        let blanks = rest.len() - rest.trim_start_matches([' ', '\t', ':', '=']).len();
        let token_start = after_word + blanks;
        let token_len = text[token_start..]
            .find(|c: char| c.is_whitespace() || "\"'<>,;\\".contains(c))
            .unwrap_or(text.len() - token_start);
        let token = &text[token_start..token_start + token_len];
        if blanks == 0 || token_len == 0 || token == REDACTED {
            from = after_word;
            continue;
        }
        text.replace_range(token_start..token_start + token_len, REDACTED);
        from = token_start + REDACTED.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk-or-v1-0123456789abcdef";

    #[test]
    fn the_key_is_replaced_wherever_it_appears() {
        let text = format!("bad key {KEY}; again:{KEY}.");
        assert_eq!(
            redact(&text, Some(KEY)),
            "bad key [redacted]; again:[redacted]."
        );
    }

    #[test]
    fn any_bearer_token_is_replaced_even_without_the_key() {
        let text = "Invalid header Authorization: Bearer sk-other-token, try again";
        assert_eq!(
            redact(text, None),
            "Invalid header Authorization: Bearer [redacted], try again"
        );
        assert_eq!(
            redact("\"authorization\":\"BEARER abc\"", None),
            "\"authorization\":\"BEARER [redacted]\""
        );
        assert_eq!(redact("bearer:\ttok", None), "bearer:\t[redacted]");
    }

    #[test]
    fn the_key_and_bearer_together_leave_one_marker() {
        let text = format!("Authorization: Bearer {KEY}");
        assert_eq!(redact(&text, Some(KEY)), "Authorization: Bearer [redacted]");
    }

    #[test]
    fn ordinary_text_is_untouched() {
        for text in [
            "No auth credentials found",
            "bearers of bad news",
            "Bearer",
            "",
        ] {
            assert_eq!(redact(text, Some(KEY)), text);
        }
        assert_eq!(redact("a short key x", Some("x")), "a short key x");
    }

    #[test]
    fn server_text_is_one_safe_line() {
        let text = format!("bad\n  key:\u{1b}[2J Bearer {KEY}\r\n{}", "x".repeat(1000));
        let shown = server_text(&text, Some(KEY));
        assert!(
            shown.starts_with("bad key:\\u{1b}[2J Bearer [redacted] xxx"),
            "{shown}"
        );
        assert_eq!(shown.chars().count(), 300);
    }

    #[test]
    fn multibyte_text_around_a_token() {
        assert_eq!(
            redact("日本 Bearer tök ✓", None),
            "日本 Bearer [redacted] ✓"
        );
    }
}
