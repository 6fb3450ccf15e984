//! The defaults block of `:help zen-options`, written from the schema (`--defaults-doc`); a
//! test keeps doc/zen.txt equal to it.

use serde_json::Value as Json;

use super::schema::{defaults_json, generic_key, AGENT_KINDS, OPTIONS};

/// The `require("zen").setup({...})` call with every default, as the help shows it.
pub fn defaults_doc() -> String {
    let mut out = String::from("require(\"zen\").setup({\n");
    table(&defaults_json(), "", 1, &mut out);
    out.push_str("})\n");
    out
}

/// The keys of one table, in the schema's order, one per line.
fn table(json: &Json, prefix: &str, depth: usize, out: &mut String) {
    let Json::Object(map) = json else { return };
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by_key(|k| order(&join(prefix, k)));
    for k in keys {
        let key = join(prefix, k);
        let indent = "  ".repeat(depth);
        match &map[k] {
            // Agent kinds fit on one line each.
            Json::Object(_) if depth < 2 => {
                out.push_str(&format!("{indent}{k} = {{\n"));
                table(&map[k], &key, depth + 1, out);
                out.push_str(&format!("{indent}}},\n"));
            }
            v => out.push_str(&format!("{indent}{k} = {},\n", inline(v))),
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Where a key comes: its place in `OPTIONS`, agent kinds in their own order.
fn order(key: &str) -> (usize, usize) {
    let generic = generic_key(key);
    let place = OPTIONS
        .iter()
        .position(|o| o.key == generic)
        .unwrap_or(usize::MAX);
    let kind = key
        .split('.')
        .nth(1)
        .and_then(|k| AGENT_KINDS.iter().position(|a| *a == k))
        .unwrap_or(0);
    (place, kind)
}

/// A value as Lua source.
fn inline(v: &Json) -> String {
    match v {
        Json::Null => "nil".into(),
        Json::Array(items) if items.is_empty() => "{}".into(),
        Json::Array(items) => {
            let items: Vec<String> = items.iter().map(inline).collect();
            format!("{{ {} }}", items.join(", "))
        }
        Json::Object(map) => {
            let fields: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k} = {}", inline(v)))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        other => other.to_string(),
    }
}
