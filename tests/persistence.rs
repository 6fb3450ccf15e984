//! Nothing is lost: history on disk, reopening after a Neovim restart, a killed backend, corrupt
//! files, private file modes, and no orphan processes.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use support::*;

fn history_file(state: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(state.join("history"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

/// Picks the first session in `:ZenList` and the first action ("open").
const PICK_FIRST: &str = r#"
  _G.picked = {}
  vim.ui.select = function(items, opts, cb)
    table.insert(_G.picked, vim.tbl_map(opts.format_item or tostring, items))
    cb(items[1])
  end
"#;

async fn start_again(home: &tempfile::TempDir, server: &FakeServer) -> Nvim {
    let nv = Nvim::start(Start::new(home.path(), &server.base_url())).await;
    nv.install_event_counter().await;
    nv.lua(PICK_FIRST).await;
    nv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_after_restart_and_continue_the_conversation() {
    let (server, nv, home) = setup().await;
    server.push(sse(answer_body(&["Paris."], 10, 2, 0.5)));
    nv.exec("ZenNew openrouter model=test/model name=geo").await;
    nv.type_prompt("Capital of France?").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;
    let before = nv.text(0).await;
    nv.quit().await;

    let nv = start_again(&home, &server).await;
    nv.exec("ZenList").await;
    let picked = nv.lua("return _G.picked[1][1]").await;
    let row = picked.as_str().unwrap();
    assert!(
        row.contains("geo")
            && row.contains("openrouter")
            && row.contains("test/model")
            && row.contains("$0.5000"),
        "{row}"
    );
    nv.wait_for("vim.b.zen_session ~= nil", 5).await;
    assert_eq!(
        nv.text(0).await,
        before.replace(" · session 10 in · 2 out · $0.5000", "")
    );
    server.push(sse(answer_body(&["About 2 million."], 20, 4, 0.25)));
    nv.type_prompt("Population?").await;
    nv.exec("ZenSubmit").await;
    let done = nv.wait_done(1, 10).await;
    assert_eq!(done["session_cost"], 0.75, "totals survive the restart");
    assert_eq!(
        server.requests()[1].body["messages"],
        serde_json::json!([
            {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": "Paris."},
            {"role": "user", "content": "Population?"},
        ])
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_backend_is_reported_and_the_next_command_restarts_it() {
    let (server, nv, _home) = setup().await;
    server.push(sse(answer_body(&["one"], 1, 1, 0.0)));
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("first").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;
    let pid = nv.backend_pid().await.expect("backend pid");
    unsafe_kill(pid);
    nv.wait_note("the backend exited", 10).await;
    server.push(sse(answer_body(&["two"], 1, 1, 0.0)));
    nv.type_prompt("second").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(2, 10).await;
    assert_ne!(nv.backend_pid().await, Some(pid), "a new backend");
    let msgs = &server.requests()[1].body["messages"];
    assert_eq!(msgs.as_array().unwrap().len(), 3, "{msgs}");
    assert!(nv.text(0).await.contains("\ntwo\n"));
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_killed_mid_stream_keeps_what_arrived() {
    let (server, nv, home) = setup().await;
    let mut parts = vec![];
    for i in 0..200 {
        parts.push(Part {
            delay_ms: 20,
            bytes: content_chunk(&format!("t{i} ")).into_bytes(),
        });
    }
    server.push(Reply::Sse { parts, hang: true });
    nv.exec("ZenNew openrouter model=test/model name=crashy")
        .await;
    nv.type_prompt("go").await;
    nv.exec("ZenSubmit").await;
    nv.wait_for("vim.fn.search('t80 ', 'n') > 0", 15).await; // > 1 s of streaming: a partial save happened
    unsafe_kill(nv.backend_pid().await.unwrap());
    nv.wait_note("the backend exited", 10).await;
    nv.quit().await;

    let nv = start_again(&home, &server).await;
    nv.exec("ZenList").await;
    nv.wait_for("vim.b.zen_session ~= nil", 5).await;
    let text = nv.text(0).await;
    assert!(
        text.contains("t0 t1 t2 t3 t4 t5 t6 t7 t8 t9 t10 "),
        "{text}"
    );
    assert!(text.contains("> [zen] interrupted"), "{text}");
    let _ = history_file(&home.path().join("zen-state"));
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_history_line_is_reported_and_skipped() {
    let (server, nv, home) = setup().await;
    server.push(sse(answer_body(&["kept answer"], 1, 1, 0.0)));
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("kept prompt").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;
    nv.quit().await;
    let file = history_file(&home.path().join("zen-state"));
    let mut text = std::fs::read_to_string(&file).unwrap();
    let first_nl = text.find('\n').unwrap();
    text.insert_str(first_nl + 1, "{\"type\":\"message\",\"message\":{oops\n");
    std::fs::write(&file, &text).unwrap();

    let nv = start_again(&home, &server).await;
    nv.exec("ZenList").await;
    nv.wait_for("vim.b.zen_session ~= nil", 5).await;
    let note = nv.wait_note("line 2 is not a valid record", 5).await;
    assert!(note.starts_with("zen: "), "{note}");
    let buf = nv.text(0).await;
    assert!(
        buf.contains("kept prompt") && buf.contains("kept answer"),
        "{buf}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        text,
        "never overwritten"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_session_index_is_kept_aside_and_rebuilt() {
    let (server, nv, home) = setup().await;
    nv.exec("ZenNew openrouter model=test/model name=survivor")
        .await;
    nv.quit().await;
    let state = home.path().join("zen-state");
    std::fs::write(state.join("sessions.json"), "[{\"id\": trunc").unwrap();
    let nv = start_again(&home, &server).await;
    nv.exec("ZenList").await;
    nv.wait_note("was corrupt", 5).await;
    let row = nv.lua("return _G.picked[1][1]").await;
    assert!(row.as_str().unwrap().contains("survivor"), "{row}");
    let aside = std::fs::read_dir(&state)
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().contains("corrupt"));
    assert!(aside);
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_files_are_private_and_the_backend_exits_with_neovim() {
    let (server, nv, home) = setup().await;
    server.push(sse(answer_body(&["x"], 1, 1, 0.0)));
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("q").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;
    let pid = nv.backend_pid().await.unwrap();
    nv.quit().await;
    let state = home.path().join("zen-state");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("sessions.json")), 0o600);
    assert_eq!(mode(&history_file(&state)), 0o600);
    for _ in 0..100 {
        if !process_alive(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("backend {pid} outlived Neovim");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_and_rename_sessions() {
    let (_server, nv, home) = setup().await;
    nv.exec("ZenNew openrouter model=test/model name=old").await;
    nv.exec("ZenRename new-name").await;
    assert_eq!(
        nv.lua("return vim.api.nvim_buf_get_name(0)").await,
        "zen://new-name"
    );
    assert!(nv
        .text(0)
        .await
        .starts_with("# zen · new-name · test/model"));
    let index = std::fs::read_to_string(home.path().join("zen-state/sessions.json")).unwrap();
    assert!(index.contains("\"new-name\""), "{index}");
    nv.exec("ZenKill! new-name").await;
    nv.wait_note("killed new-name", 5).await;
    let index = std::fs::read_to_string(home.path().join("zen-state/sessions.json")).unwrap();
    assert_eq!(index.trim(), "[]");
    assert_eq!(
        std::fs::read_dir(home.path().join("zen-state/history"))
            .unwrap()
            .count(),
        0
    );
    nv.quit().await;
}

fn unsafe_kill(pid: i64) {
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_find_an_open_chat_after_a_backend_restart() {
    let (_server, nv, _home) = setup().await;
    nv.exec("ZenNew openrouter model=test/model name=before")
        .await;
    nv.exec("ZenRestart").await;
    nv.exec("ZenRename after").await;
    assert_eq!(
        nv.lua("return vim.api.nvim_buf_get_name(0)").await,
        "zen://after"
    );
    nv.exec("ZenModel other/model").await;
    nv.wait_note("after now uses other/model", 5).await;
    assert!(nv.text(0).await.starts_with("# zen · after · other/model"));
    nv.quit().await;
}
