//! What was spent: a ledger of every answer's usage (`usage.jsonl`, one line per answer), summed
//! per session, model and day for `:ZenUsage`, and the key's remaining credit from `GET /key`.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use crate::data::transcript::format_cost;
use crate::data::{SessionMeta, Usage};

/// One answer's usage, as the ledger keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub ts: u64,
    pub session: String,
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost: f64,
    /// Prompt tokens read from and written to the cache, and what that saved (USD); absent in
    /// lines written before caching was counted.
    #[serde(default)]
    pub cached_tokens: u64,
    #[serde(default)]
    pub cache_write_tokens: u64,
    #[serde(default)]
    pub saved: f64,
    /// OpenRouter's generation id (for `GET /generation?id=`), when the stream named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<String>,
}

/// Appends one answer's usage to the ledger, under a lock on the ledger itself (several editors
/// append to it); a torn last line is fenced off first so the new entry stays readable.
pub fn record(state_dir: &Path, session: &str, model: &str, usage: &Usage) -> anyhow::Result<()> {
    record_with(state_dir, session, model, usage, None)
}

/// [`record`], with the answer's generation id.
pub fn record_with(
    state_dir: &Path,
    session: &str,
    model: &str,
    usage: &Usage,
    generation: Option<&str>,
) -> anyhow::Result<()> {
    let entry = Entry {
        ts: crate::data::now(),
        session: session.into(),
        model: model.into(),
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        cost: usage.cost.unwrap_or(0.0),
        cached_tokens: usage.cached_tokens,
        cache_write_tokens: usage.cache_write_tokens,
        saved: usage.saved.unwrap_or(0.0),
        generation: generation.map(String::from),
    };
    let mut line = serde_json::to_vec(&entry)?;
    line.push(b'\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .mode(0o600)
        .open(state_dir.join("usage.jsonl"))?;
    file.lock()?;
    let len = file.metadata()?.len();
    let mut last = [b'\n'];
    if len > 0 {
        file.read_exact_at(&mut last, len - 1)?;
    }
    if last[0] != b'\n' {
        line.insert(0, b'\n');
    }
    file.write_all(&line)?;
    Ok(())
}

fn read_ledger(state_dir: &Path) -> (Vec<Entry>, usize) {
    // The entries, and how many lines could not be read (reported, not fatal).
    let text = std::fs::read_to_string(state_dir.join("usage.jsonl")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let entries: Vec<Entry> = lines
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let unreadable = lines.len() - entries.len();
    (entries, unreadable)
}

/// `2026-11-25` (UTC) for a Unix time.
pub fn day_of(ts: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ts as i64)
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| "?".into())
}

#[derive(Default, Serialize)]
struct Sum {
    prompt_tokens: u64,
    completion_tokens: u64,
    cost: f64,
    answers: u64,
    cached_tokens: u64,
    cache_write_tokens: u64,
    saved: f64,
}

impl Sum {
    fn add(&mut self, e: &Entry) {
        self.prompt_tokens += e.prompt_tokens;
        self.completion_tokens += e.completion_tokens;
        self.cost += e.cost;
        self.answers += 1;
        self.cached_tokens += e.cached_tokens;
        self.cache_write_tokens += e.cache_write_tokens;
        self.saved += e.saved;
    }

    /// `prompt cache: 1200 tokens read · 300 written · saved $0.0031`; `None` without a cache.
    fn cache_line(&self) -> Option<String> {
        (self.cached_tokens > 0 || self.cache_write_tokens > 0).then(|| {
            format!(
                "prompt cache: {} tokens read · {} written · saved {}",
                self.cached_tokens,
                self.cache_write_tokens,
                format_cost(Some(self.saved))
            )
        })
    }

    fn row(&self, label: &str) -> String {
        format!(
            "  {label:<40} {:>10} {:>10} {:>12}",
            self.prompt_tokens,
            self.completion_tokens,
            format_cost(Some(self.cost))
        )
    }
}

/// Sums per session (by name), model and day, with the lines `:ZenUsage` shows.
pub fn summary(state_dir: &Path, sessions: &[SessionMeta]) -> Json {
    let (ledger, unreadable) = read_ledger(state_dir);
    let names: BTreeMap<&str, &str> = sessions
        .iter()
        .map(|m| (m.id.as_str(), m.name.as_str()))
        .collect();
    let (mut by_session, mut by_model, mut by_day) =
        (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let mut total = Sum::default();
    for e in &ledger {
        let name = names
            .get(e.session.as_str())
            .copied()
            .unwrap_or("(killed)")
            .to_string();
        by_session.entry(name).or_insert_with(Sum::default).add(e);
        by_model
            .entry(e.model.clone())
            .or_insert_with(Sum::default)
            .add(e);
        by_day
            .entry(day_of(e.ts))
            .or_insert_with(Sum::default)
            .add(e);
        total.add(e);
    }
    let header = format!(
        "  {:<40} {:>10} {:>10} {:>12}",
        "", "tokens in", "out", "cost"
    );
    let mut lines = vec![
        "zen usage".to_string(),
        String::new(),
        CREDIT_PENDING.to_string(),
        String::new(),
    ];
    for (title, table) in [
        ("per session", &by_session),
        ("per model", &by_model),
        ("per day (UTC)", &by_day),
    ] {
        lines.push(title.to_string());
        lines.push(header.clone());
        lines.extend(table.iter().map(|(k, s)| s.row(k)));
        lines.push(String::new());
    }
    lines.push(total.row("total"));
    lines.extend(total.cache_line());
    lines.extend(key_agents(sessions));
    if unreadable > 0 {
        let file = state_dir.join("usage.jsonl");
        lines.push(String::new());
        lines.push(format!(
            "({unreadable} unreadable lines of {} were skipped)",
            file.display()
        ));
    }
    json!({"lines": lines, "sessions": by_session, "models": by_model, "days": by_day, "total": total})
}

/// The agents running on the OpenRouter key (`via=openrouter`): their answers never pass
/// through zen, so only the key's own total (the credit line, from `/key`) counts them.
fn key_agents(sessions: &[SessionMeta]) -> Vec<String> {
    let rows: Vec<String> = sessions
        .iter()
        .filter(|m| m.agent.as_ref().is_some_and(|a| a.via.is_some()))
        .map(|m| {
            let model = m.model.as_deref().unwrap_or("claude's default model");
            format!("  {:<40} {}", m.name, model)
        })
        .collect();
    if rows.is_empty() {
        return rows;
    }
    let mut lines = vec![
        String::new(),
        "agents on the OpenRouter key (their spend is in the key's total on the credit line, from /key, not per turn)".to_string(),
    ];
    lines.extend(rows);
    lines
}

/// The generation ids (and models) of the last `n` answers that have one, oldest first.
pub fn recent_generations(state_dir: &Path, n: usize) -> Vec<(String, String)> {
    let (ledger, _) = read_ledger(state_dir);
    let mut found: Vec<(String, String)> = ledger
        .into_iter()
        .rev()
        .filter_map(|e| Some((e.generation?, e.model)))
        .take(n)
        .collect();
    found.reverse();
    found
}

/// The heading above the generation lines in the usage window.
pub const GENERATIONS_HEADING: &str = "last answers (GET /generation):";

/// One answer as `GET /generation?id=` describes it: who served it, how long it took, what the
/// cache took off. Server text, made safe (`safe`: redaction and one line).
pub fn generation_line(id: &str, model: &str, body: &str, safe: impl Fn(&str) -> String) -> String {
    let json: Json = serde_json::from_str(body).unwrap_or(Json::Null);
    let data = &json["data"];
    let text = |key: &str| data[key].as_str().map(&safe);
    let mut parts = vec![format!(
        "provider {}",
        text("provider_name").unwrap_or_else(|| "?".into())
    )];
    if let Some(ms) = data["latency"].as_f64() {
        parts.push(format!("latency {ms:.0} ms"));
    }
    if let Some(d) = data["cache_discount"].as_f64() {
        parts.push(format!("cache discount {}", format_cost(Some(d))));
    }
    if let Some(c) = data["total_cost"].as_f64() {
        parts.push(format!("cost {}", format_cost(Some(c))));
    }
    let model = text("model").unwrap_or_else(|| model.to_string());
    format!("  {}  {model}  {}", safe(id), parts.join(" · "))
}

/// The credit line while `/key` is being asked.
pub const CREDIT_PENDING: &str = "credit: asking OpenRouter…";

/// The credit line from a `/key` body: what is left of the limit, or that the key has none.
pub fn credit_line(body: &str) -> String {
    let json: Json = serde_json::from_str(body).unwrap_or(Json::Null);
    let data = &json["data"];
    let usage = data["usage"]
        .as_f64()
        .map(|u| format!(" (used {})", format_cost(Some(u))))
        .unwrap_or_default();
    let free = if data["is_free_tier"].as_bool() == Some(true) {
        " · free tier"
    } else {
        ""
    };
    match (data["limit"].as_f64(), data["limit_remaining"].as_f64()) {
        (Some(limit), Some(left)) => format!(
            "credit: {} left of {}{usage}{free}",
            format_cost(Some(left)),
            format_cost(Some(limit))
        ),
        _ if data.is_object() => format!("credit: unlimited key{usage}{free}"),
        _ => "credit: unknown (the /key answer had no data)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_lines() {
        let limited =
            r#"{"data":{"limit":10,"limit_remaining":7.5,"usage":2.5,"is_free_tier":false}}"#;
        assert_eq!(
            credit_line(limited),
            "credit: $7.5000 left of $10.0000 (used $2.5000)"
        );
        let unlimited = r#"{"data":{"limit":null,"limit_remaining":null,"usage":0.25}}"#;
        assert_eq!(
            credit_line(unlimited),
            "credit: unlimited key (used $0.2500)"
        );
    }

    #[test]
    fn old_ledger_lines_still_read_and_savings_sum() {
        let dir = tempfile::tempdir().unwrap();
        let old = r#"{"ts":1,"session":"s","model":"m","prompt_tokens":5,"completion_tokens":6,"cost":0.5}"#;
        std::fs::write(dir.path().join("usage.jsonl"), format!("{old}\n")).unwrap();
        let usage = Usage {
            prompt_tokens: 10,
            cached_tokens: 800,
            cache_write_tokens: 20,
            saved: Some(0.25),
            ..Usage::default()
        };
        record(dir.path(), "s", "m", &usage).unwrap();
        let sum = summary(dir.path(), &[]);
        let lines: Vec<&str> = sum["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|l| l.as_str())
            .collect();
        assert_eq!(sum["total"]["prompt_tokens"], 15, "{lines:?}");
        assert!(
            lines.contains(&"prompt cache: 800 tokens read · 20 written · saved $0.2500"),
            "{lines:?}"
        );
        assert!(!lines.iter().any(|l| l.contains("unreadable")), "{lines:?}");
    }

    #[test]
    fn days_are_utc_dates() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(1_764_028_800), "2025-11-25");
    }
}
