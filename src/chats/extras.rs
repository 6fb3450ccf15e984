//! What a turn adds around OpenRouter's answer: what the prompt cache saved (from the model's
//! catalogue prices).

use crate::app::Shared;
use crate::data::Usage;
use crate::openrouter::cache;

/// Fills in `usage.saved` from the cached catalogue entry of `model` (no fetch: a guess from
/// the built-in list would be wrong, and the answer must not wait).
pub async fn price_cache(app: &Shared, model: &str, usage: &mut Usage) {
    if usage.cached_tokens == 0 && usage.cache_write_tokens == 0 {
        return;
    }
    let catalogue = crate::models::cached(app).await;
    usage.saved = catalogue
        .as_ref()
        .and_then(|c| c.find(model))
        .and_then(|m| cache::saving(m, usage));
}
