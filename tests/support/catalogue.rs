//! A model catalogue of the real size (~340 entries, ~0.5 MB), shaped like OpenRouter's
//! `/models` (see shared/fixtures/openrouter/*-models-*.json), with a few known entries to test.

use serde_json::{json, Value};

/// Number of entries `catalogue_body` serves.
pub const CATALOGUE_SIZE: usize = 340;

fn entry(
    id: &str,
    name: &str,
    ctx: u64,
    prompt: &str,
    completion: &str,
    inputs: &[&str],
    reasoning: bool,
) -> Value {
    let mut params = vec![
        "max_tokens",
        "temperature",
        "top_p",
        "stop",
        "tools",
        "tool_choice",
    ];
    if reasoning {
        params.extend(["reasoning", "include_reasoning"]);
    }
    json!({
        "id": id,
        "canonical_slug": format!("{id}-2025-01-01"),
        "hugging_face_id": "",
        "name": name,
        "created": 1754587402,
        "description": format!("{name} is a model served through OpenRouter. {}", "It is described at length here, as the real catalogue does, to reach a realistic size. ".repeat(11)),
        "context_length": ctx,
        "architecture": {"modality": "text->text", "input_modalities": inputs, "output_modalities": ["text"], "tokenizer": "Other", "instruct_type": null},
        "pricing": {"prompt": prompt, "completion": completion, "request": "0", "image": "0", "web_search": "0", "internal_reasoning": "0"},
        "top_provider": {"context_length": ctx, "max_completion_tokens": 16384, "is_moderated": false},
        "per_request_limits": null,
        "supported_parameters": params,
        "default_parameters": {"temperature": null, "top_p": null},
    })
}

/// The `/models` body.
pub fn catalogue_body() -> String {
    let mut data = vec![
        entry(
            "anthropic/claude-sonnet-4",
            "Anthropic: Claude Sonnet 4",
            200_000,
            "0.000003",
            "0.000015",
            &["text", "image", "file"],
            true,
        ),
        entry(
            "openai/gpt-4o",
            "OpenAI: GPT-4o",
            128_000,
            "0.0000025",
            "0.00001",
            &["text", "image"],
            false,
        ),
        entry(
            "meta-llama/llama-3.3-70b-instruct:free",
            "Meta: Llama 3.3 70B Instruct (free)",
            131_072,
            "0",
            "0",
            &["text"],
            false,
        ),
        entry(
            "tiny/small-context",
            "Tiny: Small Context",
            1_000,
            "0.0000001",
            "0.0000002",
            &["text"],
            false,
        ),
        json!({"id": "bare/minimum"}),
        entry(
            "openrouter/auto",
            "Auto Router",
            2_000_000,
            "-1",
            "-1",
            &["text", "image"],
            true,
        ),
    ];
    // Claude's cache prices, as the real catalogue lists them (0.1x reads, 1.25x writes).
    data[0]["pricing"]["input_cache_read"] = json!("0.0000003");
    data[0]["pricing"]["input_cache_write"] = json!("0.00000375");
    let mut i = 0;
    while data.len() < CATALOGUE_SIZE {
        let price = format!("0.{:0>9}", (i * 37) % 20_000 + 1);
        data.push(entry(
            &format!("vendor{}/model-{i}", i % 40),
            &format!("Vendor {}: Model {i}", i % 40),
            4096 * (1 + i as u64 % 64),
            &price,
            &price,
            &["text"],
            i % 3 == 0,
        ));
        i += 1;
    }
    json!({"data": data}).to_string()
}

/// The `/models` reply.
pub fn catalogue_reply() -> super::Reply {
    super::ok_json(catalogue_body())
}

/// The `/key` body: a key with a limit, or without one.
pub fn key_body(limit: Option<f64>, remaining: Option<f64>, usage: f64) -> String {
    json!({"data": {"label": "sk-or-v1-abc...xyz", "limit": limit, "limit_remaining": remaining, "usage": usage, "usage_daily": usage, "is_free_tier": false}}).to_string()
}
