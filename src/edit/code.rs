//! The code of an edit's answer: models wrap the replacement in a fence and sometimes add prose
//! around it; only the code may become a pending change.

/// The replacement code in `text` so far. Inside the first fenced block when there is one (prose
/// around it dropped), else the whole text. While streaming (`done` false) only complete lines
/// count, so a half-received closing fence never shows as code.
pub fn extract(text: &str, done: bool) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let complete = |line: &str| done || line.ends_with('\n');
    let Some(open) = lines.iter().position(|l| fence_len(l).is_some()) else {
        let code: String = lines.into_iter().filter(|l| complete(l)).collect();
        return ended(code, done);
    };
    let opening = lines[open];
    if !complete(opening) {
        return String::new();
    }
    let ticks = fence_len(opening).unwrap_or(3);
    let mut code = String::new();
    for line in lines[open + 1..].iter().filter(|l| complete(l)) {
        if is_closing(line, ticks) {
            break;
        }
        code.push_str(line);
    }
    ended(code, done)
}

/// The finished code ends with a newline (a stopped stream may end mid-line).
fn ended(mut code: String, done: bool) -> String {
    if done && !code.is_empty() && !code.ends_with('\n') {
        code.push('\n');
    }
    code
}

/// The backtick (or tilde) run opening a fence on this line, if it opens one.
fn fence_len(line: &str) -> Option<usize> {
    let t = line.trim_start();
    let mark = t.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let n = t.chars().take_while(|c| *c == mark).count();
    (n >= 3).then_some(n)
}

fn is_closing(line: &str, ticks: usize) -> bool {
    let t = line.trim();
    let Some(mark) = t.chars().next().filter(|c| *c == '`' || *c == '~') else {
        return false;
    };
    t.chars().all(|c| c == mark) && t.len() >= ticks
}

#[cfg(test)]
mod tests {
    use super::extract;

    #[test]
    fn prose_around_a_fence_is_dropped() {
        let answer = "Here you go:\n```rust\nfn a() {}\nfn b() {}\n```\nThis renames it.\n";
        assert_eq!(extract(answer, true), "fn a() {}\nfn b() {}\n");
    }

    #[test]
    fn unfenced_answer_is_all_code() {
        assert_eq!(extract("x = 1\ny = 2", true), "x = 1\ny = 2\n");
    }

    #[test]
    fn streaming_shows_complete_lines_only() {
        assert_eq!(extract("```py\nx = 1\ny", false), "x = 1\n");
        assert_eq!(extract("```py\nx = 1\n``", false), "x = 1\n");
        assert_eq!(extract("``", false), "");
        assert_eq!(extract("```py", false), "");
    }

    #[test]
    fn a_longer_fence_holds_inner_backticks() {
        let answer = "````md\n```rust\nx\n```\n````\n";
        assert_eq!(extract(answer, true), "```rust\nx\n```\n");
    }

    #[test]
    fn stopped_mid_block_keeps_what_arrived() {
        assert_eq!(extract("```\na\nb", true), "a\nb\n");
    }
}
