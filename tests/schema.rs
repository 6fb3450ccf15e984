//! The settings schema: errors that name the option and its type, the Lua defaults, types and
//! LuaLS annotations equal to the backend's schema, the help's defaults block current, and
//! `:checkhealth zen` on a project file.

mod support;

use serde_json::Value as Json;
use support::*;

/// What `zen-portal --schema` prints: `{defaults, options}`.
fn backend_schema() -> Json {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zen-portal"))
        .arg("--schema")
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).expect("--schema prints JSON")
}

/// Settings as they cross to the backend: no nils, no empty tables (Lua cannot tell `{}` from
/// `[]`, and `for_backend()` drops them).
fn pruned(v: &Json) -> Option<Json> {
    match v {
        Json::Null => None,
        Json::Object(m) => {
            let m: serde_json::Map<_, _> = m
                .iter()
                .filter_map(|(k, v)| pruned(v).map(|v| (k.clone(), v)))
                .collect();
            (!m.is_empty()).then_some(Json::Object(m))
        }
        Json::Array(a) if a.is_empty() => None,
        other => Some(other.clone()),
    }
}

/// A project directory (a git root) holding `.zen-portal.json` with `text`.
fn project(home: &std::path::Path, text: &str) -> std::path::PathBuf {
    let dir = home.join("proj");
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    std::fs::write(dir.join(".zen-portal.json"), text).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_file_wrong_type_names_the_option_and_the_type() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let dir = project(home.path(), r#"{"openrouter": {"temperature": "hot"}}"#);
    let mut start = Start::new(home.path(), &server.base_url());
    start.cwd = Some(dir.clone());
    let nv = Nvim::start(start).await;
    nv.exec("ZenNew openrouter").await;
    let note = nv.wait_note("must be", 5).await;
    assert_eq!(
        note,
        format!(
            "zen: applying {}/.zen-portal.json: option `openrouter.temperature` must be a number, got \"hot\".",
            dir.display()
        )
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_file_unknown_key_is_named_as_an_option() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let dir = project(home.path(), r#"{"openrouter": {"modle": "x/y"}}"#);
    let mut start = Start::new(home.path(), &server.base_url());
    start.cwd = Some(dir.clone());
    let nv = Nvim::start(start).await;
    nv.exec("ZenNew openrouter").await;
    let note = nv.wait_note("unknown option", 5).await;
    assert_eq!(
        note,
        format!(
            "zen: applying {}/.zen-portal.json: unknown option `openrouter.modle`. See :help zen-options.",
            dir.display()
        )
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_refuses_an_agent_kind_the_backend_does_not_know() {
    let (_server, nv, _home) = setup().await;
    let err = nv
        .lua("local ok, e = pcall(require('zen').setup, { agents = { aider = { cmd = { 'aider' } } } }) return e")
        .await;
    assert_eq!(
        err,
        "zen: unknown option `agents.aider`. See :help zen-options."
    );
    let err = nv
        .lua("local ok, e = pcall(require('zen').setup, { openrouter = { max_tokens = 1.5 } }) return e")
        .await;
    assert_eq!(
        err,
        "zen: option `openrouter.max_tokens` must be a whole number, got 1.5."
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lua_defaults_drift_from_the_backend_schema() {
    let (_server, nv, _home) = setup().await;
    let lua = nv.lua("return require('zen.config').defaults").await;
    let rust = backend_schema()["defaults"].clone();
    assert_eq!(pruned(&lua), pruned(&rust), "lua/zen/config.lua defaults");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lua_types_drift_from_the_backend_schema() {
    let (_server, nv, _home) = setup().await;
    let lua = nv
        .lua("local c = require('zen.config') return { types = c.types, free = c.free, bounds = c.bounds }")
        .await;
    let options = backend_schema()["options"].as_array().unwrap().clone();
    let mut expected = serde_json::Map::new();
    let (mut free, mut bounds) = (Vec::new(), serde_json::Map::new());
    for o in &options {
        let key = o["key"].as_str().unwrap().to_string();
        let kind = match o["kind"].as_str().unwrap() {
            "strings" => "list of strings",
            "whole_number" => "whole number",
            "free_table" => {
                free.push(key.clone());
                "table"
            }
            k => k,
        };
        expected.insert(key.clone(), kind.into());
        if !o["range"].is_null() {
            bounds.insert(key, o["range"].clone());
        }
    }
    assert_eq!(lua["types"], Json::Object(expected), "config.lua `types`");
    let mut lua_free: Vec<String> = lua["free"].as_object().unwrap().keys().cloned().collect();
    lua_free.sort();
    free.sort();
    assert_eq!(lua_free, free, "config.lua `free`");
    assert_eq!(lua["bounds"], Json::Object(bounds), "config.lua `bounds`");
    nv.quit().await;
}

#[test]
fn luals_annotations_miss_an_option() {
    let source = std::fs::read_to_string(repo_root().join("lua/zen/config.lua")).unwrap();
    for o in backend_schema()["options"].as_array().unwrap() {
        let key = o["key"].as_str().unwrap();
        let field = key.rsplit('.').next().unwrap();
        if field == "*" {
            continue;
        }
        assert!(
            source.contains(&format!("---@field {field}? ")),
            "no `---@field {field}?` for `{key}` in lua/zen/config.lua"
        );
    }
}

#[test]
fn help_defaults_block_drifts_from_the_schema() {
    let help = std::fs::read_to_string(repo_root().join("doc/zen.txt")).unwrap();
    let start = help.find("The defaults: >\n").expect("a defaults block") + 16;
    let block: String = help[start..]
        .lines()
        .skip_while(|l| l.is_empty())
        .take_while(|l| *l != "<")
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zen-portal"))
        .arg("--defaults-doc")
        .output()
        .unwrap();
    let generated = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        block, generated,
        "doc/zen.txt's defaults are stale: paste `target/release/zen-portal --defaults-doc`, indented 4 spaces"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkhealth_shows_the_project_file_refused_keys_and_type_errors() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let dir = project(
        home.path(),
        r#"{"openrouter": {"base_url": "https://evil.example/v1", "temperature": "hot"},
            "tmux_socket": "theirs", "layuot": "tab"}"#,
    );
    let mut start = Start::new(home.path(), &server.base_url());
    start.cwd = Some(dir.join(".git")); // a subdirectory: the file is found at the root
    let nv = Nvim::start(start).await;
    nv.exec("checkhealth zen").await;
    let report = nv.text(0).await;
    for needle in [
        format!("project file: {}/.zen-portal.json", dir.display()),
        "`openrouter.base_url` may not be set in a project file".into(),
        "`tmux_socket` may not be set in a project file".into(),
        "option `openrouter.temperature` must be a number, got \"hot\"".into(),
        "unknown option `layuot`".into(),
        "sessions in this project are refused".into(),
    ] {
        assert!(report.contains(&needle), "{needle} not in:\n{report}");
    }
    assert!(!report.contains(TEST_KEY));
    std::fs::write(
        dir.join(".zen-portal.json"),
        r#"{"openrouter": {"temperature": 0.2}}"#,
    )
    .unwrap();
    nv.exec("bwipeout!").await;
    nv.exec("checkhealth zen").await;
    let report = nv.text(0).await;
    assert!(report.contains("project file is valid"), "{report}");
    nv.quit().await;
}
