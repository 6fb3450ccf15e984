//! What a hostile server or a cloned repository may not do: show the API key (echoed in an error
//! body of any endpoint) anywhere the user or a file could see it, or turn one submit into a
//! flood of requests.

mod support;

use std::path::Path;
use std::time::Duration;

use support::*;

/// An error body that echoes the request's credentials, as some proxies and providers do.
fn echoing_error(code: u16) -> Reply {
    let message =
        format!("Invalid header Authorization: Bearer {TEST_KEY} (key {TEST_KEY} rejected)");
    error_reply(code, &message, &[])
}

/// Records `vim.ui.select` prompts and rows (the model picker), choosing nothing.
const CAPTURE_SELECT: &str = r#"
  _G.selects = {}
  vim.ui.select = function(items, opts, cb)
    table.insert(_G.selects, { prompt = opts.prompt, labels = vim.tbl_map(opts.format_item or tostring, items) })
    cb(nil)
  end
"#;

/// Everything the user can see in the editor: every buffer, notifications, `:messages`, picker
/// prompts and rows.
async fn everything_shown(nv: &Nvim) -> String {
    let shown = nv
        .lua(
            r#"
            local out = {}
            for _, b in ipairs(vim.api.nvim_list_bufs()) do
              if vim.api.nvim_buf_is_loaded(b) then
                table.insert(out, vim.api.nvim_buf_get_name(b))
                vim.list_extend(out, vim.api.nvim_buf_get_lines(b, 0, -1, false))
              end
            end
            for _, n in ipairs(_G.zen_notes or {}) do table.insert(out, n.msg) end
            table.insert(out, vim.fn.execute("messages"))
            for _, s in ipairs(_G.selects or {}) do
              table.insert(out, s.prompt)
              vim.list_extend(out, s.labels)
            end
            return table.concat(out, "\n")
            "#,
        )
        .await;
    shown.as_str().unwrap_or_default().to_string()
}

/// The key is in nothing shown, nor in any file under the test's home (state dir, log, cache).
async fn assert_key_nowhere(nv: Nvim, home: &Path) {
    let shown = everything_shown(&nv).await;
    assert!(!shown.contains(TEST_KEY), "the key is shown:\n{shown}");
    nv.quit().await;
    let files = files_under(home);
    assert!(
        files.iter().any(|f| f.ends_with("zen-portal.log")),
        "the log is checked too: {files:?}"
    );
    for file in files {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap_or_default()).to_string();
        assert!(
            !text.contains(TEST_KEY),
            "the key leaked into {}",
            file.display()
        );
    }
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_echoed_in_a_chat_error_body_is_never_shown_or_saved() {
    let (server, nv, home) = setup().await;
    server.push(echoing_error(401));
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("q").await;
    nv.exec("ZenSubmit").await;
    let done = nv.wait_done(1, 15).await;
    let err = done["error"].as_str().unwrap_or_default();
    assert!(
        err.contains("Bearer [redacted] (key [redacted] rejected)"),
        "{done}"
    );
    assert!(nv.text(0).await.contains("> [zen] error: OpenRouter rejected the API key (401: Invalid header Authorization: Bearer [redacted]"));
    assert_key_nowhere(nv, home.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_echoed_in_a_mid_stream_error_is_never_shown_or_saved() {
    let (server, nv, home) = setup().await;
    let error = serde_json::json!({"error": {"code": 502, "message": format!("upstream saw Authorization: Bearer {TEST_KEY}")},
        "choices": [{"delta": {"content": ""}, "finish_reason": "error"}]});
    server.push(sse(format!("{}{}", content_chunk("partial"), data(&error))));
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("q").await;
    nv.exec("ZenSubmit").await;
    let done = nv.wait_done(1, 15).await;
    let err = done["error"].as_str().unwrap_or_default();
    assert!(
        err.contains("502: upstream saw Authorization: Bearer [redacted]"),
        "{done}"
    );
    assert!(nv.text(0).await.contains("partial"));
    assert_key_nowhere(nv, home.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_echoed_by_the_key_endpoint_is_not_in_the_usage_window() {
    let (server, nv, home) = setup().await;
    server.route("GET", "/api/v1/key", echoing_error(401));
    nv.exec("ZenUsage").await;
    nv.wait_for("vim.fn.search('credit: unknown', 'n') > 0", 10)
        .await;
    let text = nv.text(0).await;
    assert!(text.contains("Bearer [redacted]"), "{text}");
    assert_key_nowhere(nv, home.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_echoed_by_the_models_endpoint_is_not_in_the_picker_prompt() {
    let (server, nv, home) = setup().await;
    server.route("GET", "/api/v1/models", echoing_error(401));
    nv.lua(CAPTURE_SELECT).await;
    nv.exec("ZenModel").await;
    let prompt = nv
        .wait_for("_G.selects[1] and _G.selects[1].prompt", 10)
        .await;
    let prompt = prompt.as_str().unwrap();
    assert!(
        prompt.contains("BUILT-IN") && prompt.contains("Bearer [redacted]"),
        "{prompt}"
    );
    assert_key_nowhere(nv, home.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_file_cannot_cause_a_retry_storm() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let project = home.path().join("cloned");
    std::fs::create_dir_all(project.join(".git")).unwrap();
    std::fs::write(
        project.join(".zen-portal.json"),
        r#"{"openrouter":{"max_retries":100000,"retry_base_ms":0}}"#,
    )
    .unwrap();
    server.route(
        "POST",
        "/api/v1/chat/completions",
        error_reply(500, "Internal Server Error", &[]),
    );
    let mut start = Start::new(home.path(), &server.base_url());
    start.cwd = Some(project);
    let nv = Nvim::start(start).await;
    nv.install_event_counter().await;
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("q").await;
    nv.exec("ZenSubmit").await;
    let done = nv.wait_done(1, 15).await;
    let err = done["error"].as_str().unwrap_or_default();
    assert!(
        err.contains("failed (500: Internal Server Error)"),
        "{done}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await; // nothing more is sent after the error
    let posts = server.requests_to("/api/v1/chat/completions");
    assert_eq!(
        posts.len(),
        3,
        "1 + setup()'s max_retries (2), not the project's 100000"
    );
    for pair in posts.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= Duration::from_millis(90), "retries {gap:?} apart");
    }
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_refuses_retry_settings_that_could_flood_the_api() {
    let (_server, nv, _home) = setup().await;
    let err = nv
        .lua("local ok, e = pcall(require('zen').setup, { openrouter = { max_retries = 100000 } }) return e")
        .await;
    assert_eq!(
        err,
        "zen: option `openrouter.max_retries` must be between 0 and 5, got 100000."
    );
    let err = nv
        .lua("local ok, e = pcall(require('zen').setup, { openrouter = { retry_base_ms = 0 } }) return e")
        .await;
    assert_eq!(
        err,
        "zen: option `openrouter.retry_base_ms` must be between 100 and 10000, got 0."
    );
    nv.quit().await;
}
