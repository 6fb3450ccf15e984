//! Agents' files through Neovim (lua/zen/files.lua, what the ACP service calls through zen.ui):
//! reads see unsaved buffer text, writes go through the loaded buffer (one undo step) and reach
//! the disk atomically, and an edit the agent asks permission for is a pending change in the
//! file's buffer whose decision goes back to the backend as `acp_permission`.

mod support;

use std::os::unix::fs::PermissionsExt;

use serde_json::json;
use support::*;

const FILE: &str = "fn one() {}\nfn two() {}\nfn three() {}\n";

struct Project {
    nv: Nvim,
    home: tempfile::TempDir,
    _server: FakeServer,
}

impl Project {
    fn path(&self, rel: &str) -> String {
        self.home
            .path()
            .join("proj")
            .join(rel)
            .display()
            .to_string()
    }

    fn disk(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    /// Calls `require('zen.ui').<function>` with JSON arguments (as the backend does).
    async fn ui(&self, function: &str, args: serde_json::Value) -> serde_json::Value {
        let args = serde_json::to_string(&args).unwrap();
        self.nv
            .lua(&format!(
                "return require('zen.ui').{function}(unpack(vim.fn.json_decode({args:?})))"
            ))
            .await
    }

    /// The `acp_permission` notifications Lua sent so far.
    async fn answers(&self) -> serde_json::Value {
        self.nv.lua("return _G.zen_acp").await
    }

    /// Proposes `old` → `new` in src/lib.rs as tool call `t1` of session `s1`.
    async fn propose(&self, old: serde_json::Value, new: &str) -> serde_json::Value {
        let edit = json!({"session": "s1", "tool_call_id": "t1", "title": "Edit lib.rs",
                          "path": self.path("src/lib.rs"), "old_text": old, "new_text": new,
                          "layout": "vsplit"});
        self.ui("propose_agent_edit", json!([edit])).await
    }
}

/// A project with src/lib.rs on disk (not opened); `acp_permission` notifications recorded.
async fn project() -> Project {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let proj = home.path().join("proj");
    std::fs::create_dir_all(proj.join("src")).unwrap();
    std::fs::write(proj.join("src/lib.rs"), FILE).unwrap();
    let mut start = Start::new(home.path(), &server.base_url());
    start.cwd = Some(proj.clone());
    let nv = Nvim::start(start).await;
    nv.lua(
        r#"
        _G.zen_acp = {}
        local backend = require("zen.backend")
        local notify = backend.notify
        backend.notify = function(method, args)
          if method == "acp_permission" then table.insert(_G.zen_acp, args) else notify(method, args) end
        end
        "#,
    )
    .await;
    Project {
        nv,
        home,
        _server: server,
    }
}

async fn lib_buffer_text(p: &Project) -> String {
    p.nv
        .lua("return table.concat(vim.api.nvim_buf_get_lines(vim.fn.bufnr('src/lib.rs'), 0, -1, false), '\\n')")
        .await
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_read_sees_unsaved_buffer_text_not_the_disk() {
    let p = project().await;
    p.nv.exec("edit src/lib.rs").await;
    p.nv.lua("vim.api.nvim_buf_set_lines(0, 1, 2, false, {'fn unsaved() {}'})")
        .await;
    let text = p.ui("read_file", json!([p.path("src/lib.rs")])).await;
    assert_eq!(text, json!("fn one() {}\nfn unsaved() {}\nfn three() {}\n"));
    assert_eq!(p.disk("src/lib.rs"), FILE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_read_of_an_unloaded_file_is_left_to_the_disk() {
    let p = project().await;
    let text = p.ui("read_file", json!([p.path("src/lib.rs")])).await;
    assert_eq!(text, json!(null));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_write_to_a_loaded_file_is_one_undo_step_and_reaches_the_disk_with_its_mode() {
    let p = project().await;
    let path = p.path("src/lib.rs");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o750)).unwrap();
    p.nv.exec("edit src/lib.rs").await;
    let new = "fn one() {}\nfn TWO() {}\nfn three() {}\n";
    let handled = p.ui("write_file", json!([path, new])).await;
    assert_eq!(handled, json!(true));
    assert_eq!(lib_buffer_text(&p).await, new.trim_end());
    assert_eq!(p.disk("src/lib.rs"), new);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o750, "the file's mode is kept");
    assert_eq!(p.nv.lua("return vim.bo.modified").await, json!(false));
    let leftovers: Vec<_> = std::fs::read_dir(p.home.path().join("proj/src"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(leftovers, vec!["lib.rs"], "no temporary file left");
    // Neovim knows the file is the buffer's: no "changed since editing started" later.
    p.nv.exec("checktime").await;
    p.nv.exec("undo").await;
    assert_eq!(lib_buffer_text(&p).await, FILE.trim_end(), "one undo step");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_write_of_the_same_text_adds_no_undo_step() {
    let p = project().await;
    p.nv.exec("edit src/lib.rs").await;
    let before = p.nv.lua("return vim.fn.undotree().seq_last").await;
    let handled = p
        .ui("write_file", json!([p.path("src/lib.rs"), FILE]))
        .await;
    assert_eq!(handled, json!(true));
    assert_eq!(p.nv.lua("return vim.fn.undotree().seq_last").await, before);
    assert_eq!(p.disk("src/lib.rs"), FILE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_write_to_an_unloaded_file_is_left_to_the_backend() {
    let p = project().await;
    let handled = p
        .ui("write_file", json!([p.path("src/lib.rs"), "changed\n"]))
        .await;
    assert_eq!(handled, json!(false));
    assert_eq!(p.disk("src/lib.rs"), FILE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_edit_is_pending_in_the_unloaded_files_buffer_without_taking_the_focus() {
    let p = project().await;
    let chat = p.nv.lua("return vim.api.nvim_get_current_win()").await;
    let r = p.propose(json!("fn two() {}"), "fn TWO() {}").await;
    assert!(r["id"].is_i64(), "{r}");
    assert_eq!(
        p.nv.lua("return vim.api.nvim_get_current_win()").await,
        chat
    );
    assert_eq!(
        p.nv.lua("return vim.fn.bufwinid(vim.fn.bufnr('src/lib.rs')) ~= -1")
            .await,
        json!(true),
        "the file is shown"
    );
    assert_eq!(
        lib_buffer_text(&p).await,
        FILE.trim_end(),
        "not applied yet"
    );
    let change =
        p.nv.lua("local c = require('zen.review').list()[1] return {c.whole, c.old, c.new}")
            .await;
    assert_eq!(change, json!([true, ["fn two() {}"], ["fn TWO() {}"]]));
    let header = p
        .nv
        .lua(
            "local b = vim.fn.bufnr('src/lib.rs') \
             local ms = vim.api.nvim_buf_get_extmarks(b, require('zen.review_view').ns, 0, -1, {details = true}) \
             return vim.inspect(ms)",
        )
        .await;
    assert!(
        header.as_str().unwrap().contains(":ZenAccept! (always)"),
        "{header}"
    );
    assert_eq!(p.answers().await, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_agent_edit_answers_allow_once_and_its_read_sees_the_text_it_proposed_against() {
    let p = project().await;
    p.propose(json!("fn two() {}"), "fn TWO() {}").await;
    p.nv.exec("buffer src/lib.rs").await;
    p.nv.exec("ZenAccept").await;
    let new = "fn one() {}\nfn TWO() {}\nfn three() {}\n";
    assert_eq!(lib_buffer_text(&p).await, new.trim_end());
    assert_eq!(
        p.answers().await,
        json!([{"session": "s1", "tool_call_id": "t1", "decision": "once"}])
    );
    // The agent's tool then reads the file and replaces the old text itself: that read must see
    // the text it proposed against, once; its write is the buffer's text: nothing changes again.
    let path = p.path("src/lib.rs");
    assert_eq!(p.ui("read_file", json!([path])).await, json!(FILE));
    assert_eq!(p.ui("write_file", json!([path, new])).await, json!(true));
    assert_eq!(p.disk("src/lib.rs"), new);
    assert_eq!(p.ui("read_file", json!([path])).await, json!(new));
    p.nv.exec("undo").await;
    assert_eq!(lib_buffer_text(&p).await, FILE.trim_end(), "one undo step");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zen_accept_bang_in_the_agents_chat_answers_allow_always() {
    let p = project().await;
    p.propose(json!("fn three() {}\n"), "").await;
    // The agent's chat: a buffer of session s1.
    p.nv.lua("vim.cmd('enew') vim.b.zen_session = 's1'").await;
    p.nv.exec("ZenAccept!").await;
    assert_eq!(
        p.answers().await,
        json!([{"session": "s1", "tool_call_id": "t1", "decision": "always"}])
    );
    assert_eq!(
        lib_buffer_text(&p).await,
        "fn one() {}\nfn two() {}",
        "line removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_agent_edit_leaves_the_buffer_byte_identical_and_answers_reject() {
    let p = project().await;
    p.propose(json!("one"), "ONE").await;
    p.nv.exec("buffer src/lib.rs").await;
    p.nv.exec("ZenReject").await;
    assert_eq!(lib_buffer_text(&p).await, FILE.trim_end());
    assert_eq!(p.nv.lua("return vim.bo.modified").await, json!(false));
    assert_eq!(p.disk("src/lib.rs"), FILE);
    assert_eq!(
        p.answers().await,
        json!([{"session": "s1", "tool_call_id": "t1", "decision": "reject"}])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_edit_whose_old_text_is_not_in_the_file_is_refused_with_one_line() {
    let p = project().await;
    let r = p.propose(json!("fn nine() {}"), "x").await;
    let error = r["error"].as_str().unwrap();
    assert!(error.starts_with("zen: Edit lib.rs: "), "{error}");
    assert!(!error.contains('\n'));
    assert_eq!(
        p.nv.lua("return #require('zen.review').list()").await,
        json!(0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_edit_of_a_new_file_proposes_its_whole_text_and_the_write_creates_it() {
    let p = project().await;
    let path = p.path("src/new.rs");
    let edit = json!({"session": "s1", "tool_call_id": "t2", "title": "Write new.rs",
                      "path": path, "old_text": null, "new_text": "fn new() {}\n",
                      "layout": "vsplit"});
    let r = p.ui("propose_agent_edit", json!([edit])).await;
    assert!(r["id"].is_i64(), "{r}");
    p.nv.exec("buffer src/new.rs").await;
    p.nv.exec("ZenAccept").await;
    assert_eq!(p.ui("read_file", json!([path])).await, json!(""));
    assert_eq!(
        p.ui("write_file", json!([path, "fn new() {}\n"])).await,
        json!(true)
    );
    assert_eq!(p.disk("src/new.rs"), "fn new() {}\n");
    assert_eq!(p.nv.lua("return vim.bo.modified").await, json!(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_agents_pending_edit_is_dropped_without_a_second_answer() {
    let p = project().await;
    p.propose(json!("fn two() {}"), "fn TWO() {}").await;
    // :ZenStop answered the agent "cancelled": the change goes, nothing more is sent.
    p.ui("drop_agent_edit", json!(["s1", "t1"])).await;
    assert_eq!(
        p.nv.lua("return #require('zen.review').list()").await,
        json!(0)
    );
    assert_eq!(lib_buffer_text(&p).await, FILE.trim_end());
    assert_eq!(p.answers().await, json!([]));
}
