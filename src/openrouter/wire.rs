//! Messages as sent: each message's `content`, with its attachments inlined (text as fenced
//! blocks, images as `image_url` parts, PDFs as `file` parts), and the prompt-cache breakpoints of the models that need
//! them (as content-part arrays whose text parts carry `cache_control`).

use serde_json::{json, Value as Json};

use super::cache::{self, Breakpoint};
use crate::config::Cache;
use crate::data::code::fenced;
use crate::data::Message;

/// The `messages` of a request for `model`.
pub fn messages(messages: &[Message], model: &str, mode: Cache) -> Vec<Json> {
    let marks = match mode {
        Cache::Auto if cache::needs_breakpoints(model) => cache::breakpoints(messages),
        _ => Vec::new(),
    };
    messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let marked: Vec<usize> = marks
                .iter()
                .filter(|b: &&Breakpoint| b.message == i)
                .map(|b| b.part)
                .collect();
            json!({"role": m.role, "content": content(m, &marked)})
        })
        .collect()
}

/// The text parts of a message: its own text, then each text attachment as a fenced block
/// (joined, they are the text the model reads).
fn text_parts(message: &Message) -> Vec<String> {
    let mut parts = vec![message.content.clone()];
    for a in message.attachments.iter().filter(|a| a.text.is_some()) {
        let lang = a.lang.as_deref().unwrap_or("");
        let block = fenced(&a.label, lang, a.text.as_deref().unwrap_or(""));
        parts.push(format!("\n\n{block}"));
    }
    parts
}

/// The parts that are not text: images, then PDFs as `file` parts.
fn other_parts(message: &Message) -> Vec<Json> {
    let images = message
        .attachments
        .iter()
        .filter_map(|a| a.image_url.as_deref())
        .map(|url| json!({"type": "image_url", "image_url": {"url": url}}));
    let files = message.attachments.iter().filter_map(|a| {
        let data = a.file_data.as_deref()?;
        Some(json!({"type": "file", "file": {"filename": a.label, "file_data": data}}))
    });
    images.chain(files).collect()
}

/// A message's `content`: a plain string when it is all text and carries no breakpoint, else
/// an array of parts (`marked`: the text parts that carry `cache_control`).
fn content(message: &Message, marked: &[usize]) -> Json {
    let others = other_parts(message);
    let texts = text_parts(message);
    if marked.is_empty() {
        let text = texts.concat();
        if others.is_empty() {
            return json!(text);
        }
        let mut parts = vec![json!({"type": "text", "text": text})];
        parts.extend(others);
        return Json::Array(parts);
    }
    let mut parts: Vec<Json> = texts
        .into_iter()
        .enumerate()
        .filter(|(_, t)| !t.is_empty())
        .map(|(n, text)| match marked.contains(&n) {
            true => json!({"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}),
            false => json!({"type": "text", "text": text}),
        })
        .collect();
    parts.extend(others);
    Json::Array(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Attachment, Role};

    #[test]
    fn plain_messages_stay_strings_for_models_that_cache_by_themselves() {
        let msgs = vec![
            Message::new(Role::System, "s".into()),
            Message::new(Role::User, "q".into()),
            Message::new(Role::Assistant, "a".into()),
            Message::new(Role::User, "q2".into()),
        ];
        let sent = messages(&msgs, "openai/gpt-4o", Cache::Auto);
        assert!(sent.iter().all(|m| m["content"].is_string()), "{sent:?}");
        let off = messages(&msgs, "anthropic/claude-sonnet-4", Cache::Off);
        assert!(off.iter().all(|m| m["content"].is_string()), "{off:?}");
        let on = messages(&msgs, "anthropic/claude-sonnet-4", Cache::Auto);
        let eph = json!({"type": "ephemeral"});
        assert_eq!(on[0]["content"][0]["cache_control"], eph);
        assert_eq!(on[2]["content"][0]["cache_control"], eph);
        assert_eq!(on[1]["content"], "q");
        assert_eq!(on[3]["content"], "q2");
    }

    #[test]
    fn a_large_attachment_is_its_own_marked_part() {
        let mut q = Message::new(Role::User, "read".into());
        q.attachments = vec![Attachment {
            reference: "@big.txt".into(),
            label: "big.txt".into(),
            lang: Some(String::new()),
            text: Some("x".repeat(cache::LARGE_ATTACHMENT)),
            image_url: None,
            file_data: None,
        }];
        let sent = messages(&[q.clone()], "anthropic/claude-sonnet-4", Cache::Auto);
        let parts = sent[0]["content"].as_array().unwrap();
        assert_eq!(parts[0], json!({"type": "text", "text": "read"}));
        assert_eq!(parts[1]["cache_control"]["type"], "ephemeral");
        let plain = messages(&[q], "openai/gpt-4o", Cache::Auto);
        let text = plain[0]["content"].as_str().unwrap();
        assert_eq!(
            text,
            format!("read{}", parts[1]["text"].as_str().unwrap()),
            "the same text either way"
        );
    }
}
