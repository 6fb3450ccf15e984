//! What a turn adds around OpenRouter's answer: the plugins it asks for (web search, PDFs), what the
//! prompt cache saved (from the model's catalogue prices), and the cited pages made safe to show.

use serde_json::{json, Value as Json};

use crate::app::Shared;
use crate::config::{OpenRouter, PdfEngine};
use crate::data::{Citation, Message, Usage};
use crate::openrouter::cache;
use crate::openrouter::key::ApiKey;
use crate::openrouter::redact::server_text;

/// The request's `plugins`: `web` when the chat searches the web; `file-parser` with the
/// configured engine when the conversation carries a PDF.
pub fn plugins(web: bool, pdf_engine: Option<PdfEngine>, messages: &[Message]) -> Vec<Json> {
    let mut plugins = Vec::new();
    if web {
        plugins.push(json!({"id": "web"}));
    }
    let has_pdf = || {
        let mut attachments = messages.iter().flat_map(|m| &m.attachments);
        attachments.any(|a| a.file_data.is_some())
    };
    if let Some(engine) = pdf_engine.filter(|_| has_pdf()) {
        plugins.push(json!({"id": "file-parser", "pdf": {"engine": engine}}));
    }
    plugins
}

/// The model the stream named, made safe to show (no control characters, no key), when it is
/// not the one asked for.
pub fn other_model(asked: &str, named: Option<&str>, key: Option<&ApiKey>) -> Option<String> {
    let named = named.filter(|n| *n != asked && !n.trim().is_empty())?;
    Some(server_text(named, key.map(ApiKey::secret)))
}

/// Citations as they may be shown and saved: control characters stripped, on one line, the
/// API key and any `Bearer` token taken out, at most 300 characters, each page once.
pub async fn clean_citations(app: &Shared, cfg: &OpenRouter, raw: Vec<Citation>) -> Vec<Citation> {
    if raw.is_empty() {
        return raw;
    }
    let key = app.api_key(cfg).await.ok();
    let secret = key.as_ref().map(|k| k.secret());
    let clean = |text: &str| {
        // A line break separates words; other controls (ESC, BEL) go too.
        let stripped: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        server_text(&stripped, secret)
    };
    let mut out: Vec<Citation> = Vec::new();
    for c in raw {
        let url = clean(&c.url).replace(' ', "%20");
        if url.is_empty() || out.iter().any(|o| o.url == url) {
            continue;
        }
        let title = clean(&c.title).replace('"', "'");
        out.push(Citation { url, title });
    }
    out
}

/// Fills in `usage.saved` (the cache's saving) and `usage.web_cost` from the cached catalogue
/// entry of `model` (no fetch: a guess from the built-in list would be wrong, and the answer
/// must not wait).
pub async fn price_extras(app: &Shared, model: &str, usage: &mut Usage) {
    let cache_used = usage.cached_tokens > 0 || usage.cache_write_tokens > 0;
    if !cache_used && usage.web_searches == 0 {
        return;
    }
    let catalogue = crate::models::cached(app).await;
    let Some(entry) = catalogue.as_ref().and_then(|c| c.find(model)) else {
        return;
    };
    usage.saved = cache::saving(entry, usage);
    usage.web_cost = entry
        .web_search_price
        .filter(|_| usage.web_searches > 0)
        .map(|p| p * usage.web_searches as f64);
}
