//! msgpack values from Neovim to JSON and back: handlers work on serde types, and JSON is
//! what our config, history and events already are.

use rmpv::Value;
use serde_json::Value as Json;

/// A msgpack value as JSON (binary strings decoded lossily, extension types as their number).
pub fn value_to_json(value: Value) -> Json {
    match value {
        Value::Nil => Json::Null,
        Value::Boolean(b) => Json::Bool(b),
        Value::Integer(i) => i
            .as_i64()
            .map(Json::from)
            .or_else(|| i.as_u64().map(Json::from))
            .unwrap_or(Json::Null),
        Value::F32(f) => serde_json::Number::from_f64(f as f64).map_or(Json::Null, Json::Number),
        Value::F64(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::String(s.into_str().unwrap_or_default()),
        Value::Binary(b) => Json::String(String::from_utf8_lossy(&b).into_owned()),
        Value::Array(a) => Json::Array(a.into_iter().map(value_to_json).collect()),
        Value::Map(m) => Json::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::String(s) => s.into_str().unwrap_or_default(),
                        other => other.to_string(),
                    };
                    (key, value_to_json(v))
                })
                .collect(),
        ),
        Value::Ext(_, bytes) => {
            // Buffer/window handles: a msgpack fixint inside the extension.
            rmpv::decode::read_value(&mut &bytes[..]).map_or(Json::Null, value_to_json)
        }
    }
}

/// JSON as a msgpack value (objects become maps, as Lua wants them).
pub fn json_to_value(json: Json) -> Value {
    match json {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Boolean(b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::F64(n.as_f64().unwrap_or(0.0))
            }
        }
        Json::String(s) => Value::from(s),
        Json::Array(a) => Value::Array(a.into_iter().map(json_to_value).collect()),
        Json::Object(o) => Value::Map(
            o.into_iter()
                .map(|(k, v)| (Value::from(k), json_to_value(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let json = serde_json::json!({"a": [1, -2, 2.5, "x", null, true], "b": {}});
        assert_eq!(value_to_json(json_to_value(json.clone())), json);
    }
}
