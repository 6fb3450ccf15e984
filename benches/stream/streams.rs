//! The answers the fake server sends: deterministic prose cut into ~4-byte chunks, each framed
//! byte for byte like a recorded OpenRouter event, and the check that an answer arrived intact.

use crate::support::{ending, Part, Reply};
use crate::{SLOW_GAP_MS, TOKEN_BYTES, WRITE_BYTES};

/// Deterministic prose of about `bytes` bytes: words (some not ASCII), lines of at most 80 bytes,
/// a blank line between paragraphs, no trailing newline.
pub fn prose(bytes: usize, seed: u64) -> String {
    const WORDS: &str = "the stream buffer token editor naïve wörld ✓ frame flush of latency \
        Neovim backend async a to and is in résumé 日本語 fn let value answer chunk model \
        request window cursor line";
    let words: Vec<&str> = WORDS.split(' ').collect();
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = String::with_capacity(bytes + 16);
    let (mut width, mut lines) = (0, 0);
    while out.len() < bytes {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let word = words[(state % words.len() as u64) as usize];
        if width > 0 && width + 1 + word.len() > 80 {
            out.push('\n');
            lines += 1;
            width = 0;
            if lines % 7 == 0 {
                out.push('\n');
            }
        } else if width > 0 {
            out.push(' ');
            width += 1;
        }
        out.push_str(word);
        width += word.len();
    }
    out
}

/// One content chunk byte for byte as OpenRouter sends it (see shared/fixtures/openrouter).
fn recorded_chunk(text: &str) -> String {
    format!(
        "data: {{\"id\":\"gen-1731200404-o7j2EtP4m5Ti0YjZFoLz\",\"provider\":\"OpenAI\",\"model\":\"openai/gpt-4o\",\"object\":\"chat.completion.chunk\",\"created\":1731200404,\"choices\":[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":{}}},\"finish_reason\":null,\"logprobs\":null}}],\"system_fingerprint\":\"fp_45cf54deae\"}}\n\n",
        serde_json::to_string(text).expect("string")
    )
}

/// An answer as the server sends it.
pub struct Stream {
    pub content: String,
    pub parts: Vec<Part>,
    /// Per chunk: where its text ends in the answer (bytes), and the part that carries it.
    pub tokens: Vec<(usize, usize)>,
    pub sse_bytes: usize,
    /// One event per write, at a realistic pace.
    pub paced: bool,
}

impl Stream {
    /// ~4-byte chunks, pushed in large writes as fast as the socket takes them.
    pub fn full_speed(content: String) -> Stream {
        Stream::build(content, Some(WRITE_BYTES), 1, 0)
    }

    /// ~4-byte chunks, one write each, 20 ms apart.
    pub fn realistic(content: String) -> Stream {
        Stream::build(content, None, 1, SLOW_GAP_MS)
    }

    /// A fast model: ~4-byte chunks, `per_write` of them in each write, `gap_ms` apart (30 per
    /// 10 ms: 3000 tokens/s).
    pub fn fast(content: String, per_write: usize, gap_ms: u64) -> Stream {
        Stream::build(content, None, per_write, gap_ms)
    }

    /// `per_write`: gather events into writes of at most this many bytes; `None`: `batch` events
    /// per write.
    fn build(content: String, per_write: Option<usize>, batch: usize, gap_ms: u64) -> Stream {
        let pieces = split_tokens(&content, TOKEN_BYTES);
        let mut parts = Vec::new();
        let mut tokens = Vec::with_capacity(pieces.len());
        let mut current = format!(": OPENROUTER PROCESSING\n\n{}", recorded_chunk(""));
        let flush = |parts: &mut Vec<Part>, current: &mut String| {
            let delay_ms = if parts.is_empty() { 0 } else { gap_ms };
            parts.push(Part {
                delay_ms,
                bytes: std::mem::take(current).into_bytes(),
            });
        };
        let mut end = 0;
        for (i, piece) in pieces.iter().enumerate() {
            let event = recorded_chunk(piece);
            let full = match per_write {
                Some(max) => current.len() + event.len() > max,
                None => i % batch == 0,
            };
            if full && !current.is_empty() {
                flush(&mut parts, &mut current);
            }
            current.push_str(&event);
            end += piece.len();
            tokens.push((end, parts.len()));
        }
        let last = ending(12, pieces.len() as u64, 0.0042);
        if per_write.is_none() {
            flush(&mut parts, &mut current);
        }
        current.push_str(&last);
        flush(&mut parts, &mut current);
        let sse_bytes = parts.iter().map(|p| p.bytes.len()).sum();
        Stream {
            content,
            parts,
            tokens,
            sse_bytes,
            paced: per_write.is_none(),
        }
    }

    pub fn reply(&self) -> Reply {
        Reply::Sse {
            parts: self.parts.clone(),
            hang: false,
        }
    }
}

/// Splits text into pieces of at least `size` bytes, on character boundaries.
fn split_tokens(text: &str, size: usize) -> Vec<&str> {
    let mut out = Vec::with_capacity(text.len() / size + 1);
    let mut start = 0;
    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        if end - start >= size {
            out.push(&text[start..end]);
            start = end;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// The answer of the last turn in a chat buffer's text, checked byte for byte; panics loudly.
pub fn check_answer(who: &str, text: &str, expected: &str) {
    let header = text
        .rfind("\n## Assistant")
        .unwrap_or_else(|| panic!("{who}: no answer header in the buffer"));
    let start = header
        + 1
        + text[header + 1..]
            .find("\n\n")
            .unwrap_or_else(|| panic!("{who}: no blank line after the answer header"))
        + 2;
    let end = text
        .rfind("\n\n> [zen] ")
        .filter(|&e| e >= start)
        .unwrap_or_else(|| panic!("{who}: no usage note under the answer"));
    let got = &text[start..end];
    if got != expected {
        let at = got
            .bytes()
            .zip(expected.bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(expected.len()));
        let around = |s: &str| {
            let from = at.saturating_sub(40).min(s.len());
            let to = (at + 40).min(s.len());
            String::from_utf8_lossy(&s.as_bytes()[from..to]).into_owned()
        };
        panic!(
            "{who}: THE ANSWER IN THE BUFFER IS NOT WHAT WAS SENT: {} bytes vs {} sent, first \
             difference at byte {at}:\n  buffer: {:?}\n  sent:   {:?}",
            got.len(),
            expected.len(),
            around(got),
            around(expected)
        );
    }
}
