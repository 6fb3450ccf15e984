//! One SSE `data:` payload of `/chat/completions` turned into what happened in it.
//!
//! Framing (comments, line endings, UTF-8 split across reads) is `sse.rs`'s job; this file only
//! reads OpenRouter's chunk JSON, leniently: unknown fields are ignored, missing ones defaulted,
//! and a lone UTF-16 surrogate escape (`\ud800`, which serde_json refuses) becomes U+FFFD.

use serde::Deserialize;

use super::sse::Framer;
use super::ChatError;
use crate::data::{Citation, Usage};

/// Something a chunk said.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// Answer text.
    Content(String),
    /// Reasoning ("thinking") text.
    Reasoning(String),
    /// `finish_reason`: stop, length, tool_calls, content_filter, error.
    Finish(String),
    /// The usage chunk (tokens, cost).
    Usage(Usage),
    /// Web pages the answer cites (`url_citation` annotations), as the server sent them.
    Citations(Vec<Citation>),
    /// Who answered: the chunk's `model` (with `openrouter/auto`, presets or fallbacks, not
    /// always the one asked for) and generation `id` (for `GET /generation`), as sent.
    Answered {
        model: Option<String>,
        id: Option<String>,
    },
    /// `data: [DONE]`.
    Done,
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<WireError>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Option<Delta>,
    /// Some servers send the final message's annotations here rather than in the delta.
    #[serde(default)]
    message: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    reasoning: Option<String>,
    /// Read leniently (any shape): a bad annotation must not fail the answer.
    #[serde(default)]
    annotations: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    cost: Option<f64>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
    #[serde(default)]
    server_tool_use: Option<ServerToolUse>,
}

#[derive(Deserialize)]
struct ServerToolUse {
    #[serde(default)]
    web_search_requests: Option<u64>,
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
    #[serde(default)]
    cache_write_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct WireError {
    #[serde(default)]
    code: serde_json::Value,
    #[serde(default)]
    message: String,
}

/// Reads one `data:` payload. A mid-stream error event becomes `Err(MidStream)`.
pub fn parse_data(data: &str) -> Result<Vec<StreamEvent>, ChatError> {
    let data = data.trim();
    if data == "[DONE]" {
        return Ok(vec![StreamEvent::Done]);
    }
    let chunk: Chunk = match serde_json::from_str(data) {
        Ok(chunk) => chunk,
        // Only a failed parse pays for the scan: the usual chunk has no surrogate escape.
        Err(e) => replace_lone_surrogates(data)
            .and_then(|fixed| serde_json::from_str(&fixed).ok())
            .ok_or_else(|| ChatError::Malformed {
                detail: format!("{e} in `{}`", excerpt(data)),
            })?,
    };
    if let Some(err) = chunk.error {
        let code = match err.code {
            serde_json::Value::String(s) => s,
            serde_json::Value::Null => "error".into(),
            other => other.to_string(),
        };
        return Err(ChatError::MidStream {
            code,
            message: err.message,
        });
    }
    let mut events = Vec::new();
    if chunk.model.is_some() || chunk.id.is_some() {
        events.push(StreamEvent::Answered {
            model: chunk.model,
            id: chunk.id,
        });
    }
    for choice in chunk.choices.into_iter().take(1) {
        if let Some(delta) = choice.delta {
            if let Some(r) = delta.reasoning.filter(|r| !r.is_empty()) {
                events.push(StreamEvent::Reasoning(r));
            }
            if let Some(c) = delta.content.filter(|c| !c.is_empty()) {
                events.push(StreamEvent::Content(c));
            }
            events.extend(citations(delta.annotations.as_ref()));
        }
        if let Some(message) = choice.message {
            events.extend(citations(message.annotations.as_ref()));
        }
        if let Some(f) = choice.finish_reason {
            events.push(StreamEvent::Finish(f));
        }
    }
    if let Some(u) = chunk.usage {
        let prompt = u.prompt_tokens_details;
        events.push(StreamEvent::Usage(Usage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            cached_tokens: prompt.as_ref().and_then(|d| d.cached_tokens).unwrap_or(0),
            cache_write_tokens: prompt.and_then(|d| d.cache_write_tokens).unwrap_or(0),
            reasoning_tokens: u
                .completion_tokens_details
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
            cost: u.cost,
            web_searches: u
                .server_tool_use
                .and_then(|s| s.web_search_requests)
                .unwrap_or(0),
            ..Usage::default()
        }));
    }
    Ok(events)
}

/// The `url_citation` annotations of a delta or message (others, and malformed ones, skipped).
fn citations(annotations: Option<&serde_json::Value>) -> Option<StreamEvent> {
    let found: Vec<Citation> = annotations?
        .as_array()?
        .iter()
        .filter(|a| a["type"] == "url_citation")
        .filter_map(|a| {
            let c = &a["url_citation"];
            Some(Citation {
                url: c["url"].as_str()?.to_string(),
                title: c["title"].as_str().unwrap_or("").to_string(),
            })
        })
        .collect();
    (!found.is_empty()).then_some(StreamEvent::Citations(found))
}

/// Frames one network read and parses its events: those before any bad one, then the error.
pub fn read_events(framer: &mut Framer, bytes: &[u8]) -> (Vec<StreamEvent>, Option<ChatError>) {
    let mut out = Vec::new();
    for data in framer.feed(bytes) {
        match parse_data(&data) {
            Ok(events) => out.extend(events),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

/// `data` with every `\uXXXX` escape of an unpaired UTF-16 surrogate replaced by `\uFFFD`;
/// `None` when there is none.
fn replace_lone_surrogates(data: &str) -> Option<String> {
    let bytes = data.as_bytes();
    let unit = |at: usize| -> Option<u16> {
        let hex = bytes.get(at..at + 6)?.strip_prefix(b"\\u")?;
        u16::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
    };
    let high = |u: u16| (0xD800..0xDC00).contains(&u);
    let low = |u: u16| (0xDC00..0xE000).contains(&u);
    let (mut out, mut copied, mut i) = (String::new(), 0, 0);
    while let Some(at) = memchr::memchr(b'\\', &bytes[i..]).map(|p| i + p) {
        match unit(at) {
            Some(u) if high(u) && unit(at + 6).is_some_and(low) => i = at + 12, // a pair
            Some(u) if high(u) || low(u) => {
                out.push_str(&data[copied..at]);
                out.push_str("\\uFFFD");
                i = at + 6;
                copied = i;
            }
            Some(_) => i = at + 6,
            // `\\`, `\"`, `\n`...: skip the escaped character, which may itself be a `\`.
            None => i = (at + 2).min(bytes.len()),
        }
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&data[copied..]);
    Some(out)
}

fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/openrouter")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
    }

    /// Runs bytes through the same SSE framing the client uses, `split` bytes per read.
    fn events_of(bytes: &[u8], split: usize) -> Vec<StreamEvent> {
        let mut framer = Framer::default();
        let mut events = Vec::new();
        for read in bytes.chunks(split) {
            let (got, error) = read_events(&mut framer, read);
            assert!(error.is_none(), "{error:?}");
            events.extend(got);
        }
        events
    }

    fn content(events: &[StreamEvent]) -> String {
        events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::Content(c) => Some(c.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn recorded_stream_gives_text_finish_usage_done() {
        let bytes = fixture("prompt-sse-f1cf815c.sse");
        for split in [1, 7, 4096] {
            let events = events_of(&bytes, split);
            assert!(content(&events).starts_with("Pebbles and"), "{events:?}");
            assert!(events.contains(&StreamEvent::Finish("stop".into())));
            assert!(events.iter().any(|e| matches!(e, StreamEvent::Usage(u) if u.prompt_tokens == 17 && u.cost == Some(0.0001025))));
            assert_eq!(events.last(), Some(&StreamEvent::Done));
        }
    }

    #[test]
    fn multibyte_split_across_reads_and_crlf() {
        let body = "data: {\"choices\":[{\"delta\":{\"content\":\"héllo ✓ 日本\"}}]}\r\n\r\n: OPENROUTER PROCESSING\r\n\r\ndata: [DONE]\r\n\r\n";
        for split in 1..6 {
            let events = events_of(body.as_bytes(), split);
            assert_eq!(content(&events), "héllo ✓ 日本");
        }
    }

    #[test]
    fn a_lone_surrogate_escape_becomes_a_replacement_character() {
        let events =
            parse_data(r#"{"choices":[{"delta":{"content":"a\ud800b\udc00c\\ud800"}}]}"#).unwrap();
        assert_eq!(content(&events), "a\u{fffd}b\u{fffd}c\\ud800");
        let pair = parse_data(r#"{"choices":[{"delta":{"content":"\ud83d\ude00"}}]}"#).unwrap();
        assert_eq!(content(&pair), "😀");
    }

    #[test]
    fn mid_stream_error_is_reported() {
        let data = r#"{"error":{"code":502,"message":"Provider disconnected"},"choices":[{"delta":{"content":""},"finish_reason":"error"}]}"#;
        let err = parse_data(data).unwrap_err().to_string();
        assert!(err.contains("502: Provider disconnected"), "{err}");
    }

    #[test]
    fn malformed_chunk_is_reported() {
        let err = parse_data("{\"choices\": [").unwrap_err();
        assert!(matches!(err, ChatError::Malformed { .. }), "{err}");
    }

    #[test]
    fn usage_with_empty_choices() {
        let events = parse_data(
            r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"cost":0.5}}"#,
        )
        .unwrap();
        assert_eq!(events.len(), 1);
        assert!(matches!(&events[0], StreamEvent::Usage(u) if u.completion_tokens == 4));
    }

    #[test]
    fn cache_reads_and_writes_are_read_from_prompt_details() {
        let events = parse_data(
            r#"{"choices":[],"usage":{"prompt_tokens":900,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":800,"cache_write_tokens":50}}}"#,
        )
        .unwrap();
        assert!(
            matches!(&events[0], StreamEvent::Usage(u) if u.cached_tokens == 800 && u.cache_write_tokens == 50),
            "{events:?}"
        );
    }

    #[test]
    fn url_citations_are_read_from_the_delta_or_the_message() {
        let delta = r#"{"choices":[{"delta":{"content":"","annotations":[{"type":"url_citation","url_citation":{"url":"https://a.example","title":"A","start_index":0,"end_index":3}},{"type":"other"},{"type":"url_citation","url_citation":{"title":7}}]}}]}"#;
        let events = parse_data(delta).unwrap();
        let a = Citation {
            url: "https://a.example".into(),
            title: "A".into(),
        };
        assert_eq!(events, vec![StreamEvent::Citations(vec![a.clone()])]);
        let message = r#"{"choices":[{"message":{"annotations":[{"type":"url_citation","url_citation":{"url":"https://a.example","title":"A"}}]},"finish_reason":"stop"}]}"#;
        let events = parse_data(message).unwrap();
        assert_eq!(events[0], StreamEvent::Citations(vec![a]));
        let odd = r#"{"choices":[{"delta":{"content":"x","annotations":"nonsense"}}]}"#;
        assert_eq!(
            parse_data(odd).unwrap(),
            vec![StreamEvent::Content("x".into())]
        );
    }

    #[test]
    fn reasoning_delta() {
        let events =
            parse_data(r#"{"choices":[{"delta":{"reasoning":"hmm","content":null}}]}"#).unwrap();
        assert_eq!(events, vec![StreamEvent::Reasoning("hmm".into())]);
    }
}
