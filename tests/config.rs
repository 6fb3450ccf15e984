//! Settings: setup() validation, the project file, per-session arguments, startup cost,
//! :checkhealth, and a missing binary.

mod support;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_names_unknown_keys_and_wrong_types() {
    let (_server, nv, _home) = setup().await;
    let err = nv.lua("local ok, e = pcall(require('zen').setup, { openrouter = { defualt_model = 'x' } }) return e").await;
    assert_eq!(
        err,
        "zen: unknown option `openrouter.defualt_model`. See :help zen-options."
    );
    let err = nv
        .lua("local ok, e = pcall(require('zen').setup, { layout = 'sideways' }) return e")
        .await;
    assert!(
        err.as_str()
            .unwrap()
            .contains("option `layout` must be one of vsplit"),
        "{err}"
    );
    let err = nv.lua("local ok, e = pcall(require('zen').setup, { openrouter = { temperature = 'hot' } }) return e").await;
    assert!(
        err.as_str()
            .unwrap()
            .contains("`openrouter.temperature` must be a number"),
        "{err}"
    );
    let err = nv.lua("local ok, e = pcall(require('zen').setup, { agents = { claude = { cmd = 'claude' } } }) return e").await;
    assert!(
        err.as_str()
            .unwrap()
            .contains("`agents.claude.cmd` must be a list of strings"),
        "{err}"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cascade_project_file_then_session_arguments() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let project = home.path().join("proj");
    std::fs::create_dir_all(project.join(".git")).unwrap();
    std::fs::create_dir_all(project.join("sub")).unwrap();
    std::fs::write(
        project.join(".zen-portal.json"),
        r#"{"openrouter": {"default_model": "project/model", "temperature": 0.1}}"#,
    )
    .unwrap();
    let mut start = Start::new(home.path(), &server.base_url());
    start.cwd = Some(project.join("sub"));
    let nv = Nvim::start(start).await;
    nv.install_event_counter().await;
    server.push(sse(answer_body(&["a"], 1, 1, 0.0)));
    server.push(sse(answer_body(&["b"], 1, 1, 0.0)));
    nv.exec("ZenNew openrouter").await;
    nv.type_prompt("q").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;
    nv.exec("ZenNew openrouter model=arg/model temperature=1.5")
        .await;
    nv.type_prompt("q").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(2, 10).await;
    let reqs = server.requests();
    assert_eq!(reqs[0].body["model"], "project/model");
    assert_eq!(reqs[0].body["temperature"], 0.1);
    assert_eq!(reqs[1].body["model"], "arg/model");
    assert_eq!(reqs[1].body["temperature"], 1.5);
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_file_may_not_run_programs() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let marker = home.path().join("pwned");
    std::fs::write(
        home.path().join(".zen-portal.json"),
        format!(
            r#"{{"openrouter": {{"api_key_cmd": ["touch", "{}"]}}}}"#,
            marker.display()
        ),
    )
    .unwrap();
    let nv = Nvim::start(Start::new(home.path(), &server.base_url())).await;
    nv.exec("ZenNew openrouter").await;
    let note = nv.wait_note("may not be set in a project file", 5).await;
    assert!(note.contains("openrouter.api_key_cmd"), "{note}");
    assert!(!marker.exists());
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loading_the_plugin_starts_nothing() {
    let (_server, nv, _home) = setup().await;
    assert_eq!(
        nv.lua("return require('zen.backend').running()").await,
        false
    );
    let cmds = nv
        .lua("return vim.fn.exists(':ZenNew') == 2 and vim.fn.exists(':ZenList') == 2")
        .await;
    assert_eq!(cmds, true);
    let completion = nv
        .lua("return vim.fn.getcompletion('ZenNew op', 'cmdline')")
        .await;
    assert_eq!(completion, serde_json::json!(["openrouter", "opencode"]));
    let completion = nv
        .lua("return vim.fn.getcompletion('ZenNew claude mode=c', 'cmdline')")
        .await;
    assert_eq!(completion, serde_json::json!(["mode=chat"]));
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkhealth_reports_without_revealing_the_key() {
    let (_server, nv, _home) = setup().await;
    nv.exec("checkhealth zen").await;
    let report = nv.text(0).await;
    assert!(
        report.contains("API key present in $OPENROUTER_API_KEY"),
        "{report}"
    );
    assert!(
        report.contains(&format!("protocol {}", backend_protocol())),
        "{report}"
    );
    assert!(report.contains("base URL: http://127.0.0.1"), "{report}");
    assert!(!report.contains(TEST_KEY));
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_binary_names_the_build_command() {
    let (_server, nv, _home) = setup().await;
    nv.lua("require('zen').setup({ binary = '/nonexistent/zen-portal' })")
        .await;
    nv.exec("ZenNew openrouter").await;
    let note = nv.wait_note("the backend is not built", 5).await;
    assert!(note.contains("cargo build --release"), "{note}");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_on_the_requested_neovim() {
    let Ok(expected) = std::env::var("ZEN_TEST_NVIM_VERSION") else {
        return;
    };
    let (_server, nv, _home) = setup().await;
    let v = nv
        .lua("local v = vim.version() return string.format('%d.%d.%d', v.major, v.minor, v.patch)")
        .await;
    assert!(
        expected.starts_with(v.as_str().unwrap()),
        "asked for {expected}, got {v}"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_mismatch_tells_how_to_rebuild() {
    let (_server, nv, _home) = setup().await;
    nv.lua("require('zen.backend').PROTOCOL = 99").await;
    nv.exec("ZenNew openrouter").await;
    let expected = format!(
        "speaks protocol {} but the plugin needs 99",
        backend_protocol()
    );
    let note = nv.wait_note(&expected, 5).await;
    assert!(note.contains("cargo build --release"), "{note}");
    assert_eq!(
        nv.lua("return require('zen.backend').running()").await,
        false
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layouts_open_the_chat_where_asked() {
    let (_server, nv, _home) = setup().await;
    let count = "return #vim.api.nvim_tabpage_list_wins(0) .. '/' .. #vim.api.nvim_list_tabpages()";
    nv.lua("require('zen.config').options.layout = 'vsplit'")
        .await;
    nv.exec("ZenNew openrouter name=a").await;
    assert_eq!(nv.lua(count).await, "2/1");
    assert_eq!(
        nv.lua("return vim.fn.winwidth(0) < vim.o.columns").await,
        true
    );
    nv.lua("require('zen.config').options.layout = 'tab'").await;
    nv.exec("ZenNew openrouter name=b").await;
    assert_eq!(nv.lua(count).await, "1/2");
    nv.lua("require('zen.config').options.layout = 'float'")
        .await;
    nv.exec("ZenNew openrouter name=c").await;
    assert_eq!(
        nv.lua("return vim.api.nvim_win_get_config(0).relative")
            .await,
        "editor"
    );
    assert_eq!(
        nv.lua("return vim.api.nvim_buf_get_name(0)").await,
        "zen://c"
    );
    assert_eq!(nv.lua("return vim.bo.filetype").await, "markdown");
    nv.quit().await;
}
