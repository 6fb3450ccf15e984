//! `:ZenEdit` and the review surface: a model's replacement streams in as a pending change shown
//! beside the old lines; the buffer changes only when the user accepts (one undo step).

mod support;

use support::*;

const FILE: &str = "fn one() {}\nfn two() {}\nfn three() {}\nfn four() {}\nfn five() {}\n";

/// A project with src/lib.rs open in Neovim.
async fn project() -> (FakeServer, Nvim, tempfile::TempDir) {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let proj = home.path().join("proj");
    std::fs::create_dir_all(proj.join(".git")).unwrap();
    std::fs::create_dir_all(proj.join("src")).unwrap();
    std::fs::write(proj.join("src/lib.rs"), FILE).unwrap();
    let mut start = Start::new(home.path(), &server.base_url());
    start.cwd = Some(proj.clone());
    let nv = Nvim::start(start).await;
    nv.exec("edit src/lib.rs").await;
    (server, nv, home)
}

/// Waits until the buffer's pending change has stopped streaming; returns how many are pending.
async fn wait_streamed(nv: &Nvim) -> i64 {
    nv.wait_for(
        "(function() local l = require('zen.review').list() \
         for _, c in ipairs(l) do if c.streaming then return false end end return #l > 0 end)()",
        15,
    )
    .await;
    pending(nv).await
}

async fn pending(nv: &Nvim) -> i64 {
    nv.lua("return #require('zen.review').list()")
        .await
        .as_i64()
        .unwrap()
}

fn file_text(home: &tempfile::TempDir) -> String {
    std::fs::read_to_string(home.path().join("proj/src/lib.rs")).unwrap()
}

async fn modified(nv: &Nvim) -> bool {
    nv.lua("return vim.bo.modified").await == serde_json::json!(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_edit_replaces_exactly_its_range_and_one_undo_restores_it() {
    let (server, nv, home) = project().await;
    server.push(sse(answer_body(
        &[
            "```rust\n",
            "fn TWO() {}\nfn THREE() {}\n",
            "fn FOUR() {}\n```",
        ],
        30,
        9,
        0.001,
    )));
    nv.exec("2,4ZenEdit uppercase the names").await;
    assert_eq!(wait_streamed(&nv).await, 1);
    assert_eq!(
        nv.text(0).await + "\n",
        FILE,
        "nothing changes before accepting"
    );
    assert!(!modified(&nv).await);

    nv.exec("ZenAccept").await;
    assert_eq!(
        nv.text(0).await,
        "fn one() {}\nfn TWO() {}\nfn THREE() {}\nfn FOUR() {}\nfn five() {}"
    );
    assert_eq!(pending(&nv).await, 0);
    assert_eq!(file_text(&home), FILE, "nothing is written to disk");

    nv.exec("normal! u").await;
    assert_eq!(nv.text(0).await + "\n", FILE, "one undo step restores it");

    // The request: the instruction, the lines labelled, and context around them.
    let reqs = server.requests_to("/api/v1/chat/completions");
    let user = reqs[0].body["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(user.starts_with("uppercase the names\n\n"), "{user}");
    assert!(user.contains("lines to replace: src/lib.rs:2-4\n```rust\nfn two() {}\nfn three() {}\nfn four() {}\n```"), "{user}");
    assert!(
        user.contains("fn one() {}") && user.contains("fn five() {}"),
        "context: {user}"
    );

    // The edit session: listed under its own kind, with its cost.
    let rows = nv
        .lua("return require('zen.backend').request('list')")
        .await;
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "edit")
        .expect("an edit session is listed")
        .clone();
    assert_eq!(row["name"], "edit-lib.rs");
    assert!(row["cost"].as_f64().unwrap() > 0.0);
    let id = row["id"].as_str().unwrap();
    let history =
        std::fs::read_to_string(nv.state_dir.join(format!("history/{id}.jsonl"))).unwrap();
    assert!(
        history.contains("uppercase the names") && history.contains("fn FOUR() {}"),
        "the prompt and the answer are saved: {history}"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_edit_leaves_the_buffer_byte_identical() {
    let (server, nv, _home) = project().await;
    server.push(sse(answer_body(&["```\nx\ny\n```\n"], 1, 1, 0.0)));
    nv.exec("2,3ZenEdit shorten").await;
    wait_streamed(&nv).await;
    nv.exec("ZenReject").await;
    assert_eq!(nv.text(0).await + "\n", FILE);
    assert!(!modified(&nv).await, "not even marked modified");
    assert_eq!(pending(&nv).await, 0);
    let marks = nv
        .lua("return #vim.api.nvim_buf_get_extmarks(0, vim.api.nvim_create_namespace('zen_review'), 0, -1, {})")
        .await;
    assert_eq!(marks, 0, "nothing is left drawn");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hunk_keys_accept_one_hunk_and_reject_the_other() {
    let (server, nv, _home) = project().await;
    // Lines 1-5 come back with 2 and 5 changed: two hunks.
    server.push(sse(answer_body(
        &["```rust\nfn one() {}\nfn 2() {}\nfn three() {}\nfn four() {}\nfn 5() {}\n```\n"],
        1,
        1,
        0.0,
    )));
    nv.exec("%ZenEdit digits").await;
    wait_streamed(&nv).await;
    let hunks = nv
        .lua("return #require('zen.review').list()[1].hunks")
        .await;
    assert_eq!(hunks, 2);

    nv.exec("call cursor(2, 1) | exe \"normal ga\"").await;
    assert_eq!(
        nv.text(0).await,
        "fn one() {}\nfn 2() {}\nfn three() {}\nfn four() {}\nfn five() {}"
    );
    assert_eq!(pending(&nv).await, 1, "the other hunk is still pending");

    nv.exec("call cursor(1, 1) | exe \"normal ]h\"").await;
    assert_eq!(
        nv.lua("return vim.fn.line('.')").await,
        5,
        "]h jumps to the next hunk"
    );
    nv.exec("exe \"normal gr\"").await;
    assert_eq!(pending(&nv).await, 0);
    assert_eq!(
        nv.text(0).await,
        "fn one() {}\nfn 2() {}\nfn three() {}\nfn four() {}\nfn five() {}"
    );
    assert_eq!(
        nv.lua("return vim.fn.maparg('ga', 'n', false, true).buffer")
            .await,
        serde_json::Value::Null,
        "the keys go with the last pending change"
    );
    nv.exec("normal! u").await;
    assert_eq!(
        nv.text(0).await + "\n",
        FILE,
        "the accepted hunk was one undo step"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_added_above_a_streaming_edit_move_it_down() {
    let (server, nv, _home) = project().await;
    let body = answer_body(
        &["```rust\n", "fn TWO() {}\n", "fn THREE() {}\n", "```\n"],
        1,
        1,
        0.0,
    );
    server.push(sse_split(&body, 30, 150));
    nv.exec("2,3ZenEdit upper").await;
    nv.wait_for("require('zen.review').list()[1].raw ~= ''", 15)
        .await;
    nv.lua("vim.api.nvim_buf_set_lines(0, 0, 0, false, {'// a', '// b'})")
        .await;
    wait_streamed(&nv).await;
    nv.exec("ZenAccept").await;
    assert_eq!(
        nv.text(0).await,
        "// a\n// b\nfn one() {}\nfn TWO() {}\nfn THREE() {}\nfn four() {}\nfn five() {}"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepting_over_lines_the_user_changed_is_refused() {
    let (server, nv, _home) = project().await;
    server.push(sse(answer_body(&["```\nfn TWO() {}\n```\n"], 1, 1, 0.0)));
    nv.exec("2ZenEdit upper").await;
    wait_streamed(&nv).await;
    nv.lua("vim.api.nvim_buf_set_lines(0, 1, 2, false, {'fn mine() {}'})")
        .await;
    nv.exec("ZenAccept").await;
    nv.wait_note("was edited since it was proposed", 5).await;
    assert_eq!(
        nv.text(0).await,
        "fn one() {}\nfn mine() {}\nfn three() {}\nfn four() {}\nfn five() {}",
        "the user's text is never clobbered"
    );
    assert_eq!(pending(&nv).await, 1, "the proposal stays");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prose_around_the_fenced_code_is_not_applied() {
    let (server, nv, _home) = project().await;
    server.push(sse(answer_body(
        &[
            "Sure! Here is the new code:\n\n",
            "```rust\nfn TWO() {}\n```\n",
            "\nThis renames it.\n",
        ],
        1,
        1,
        0.0,
    )));
    nv.exec("2ZenEdit upper").await;
    wait_streamed(&nv).await;
    nv.exec("ZenAccept").await;
    assert_eq!(
        nv.text(0).await,
        "fn one() {}\nfn TWO() {}\nfn three() {}\nfn four() {}\nfn five() {}"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_edit_over_a_pending_change_is_refused() {
    let (server, nv, _home) = project().await;
    server.push(sse(answer_body(
        &["```\nfn TWO() {}\nfn THREE() {}\n```\n"],
        1,
        1,
        0.0,
    )));
    nv.exec("2,3ZenEdit upper").await;
    wait_streamed(&nv).await;
    nv.exec("3,4ZenEdit other").await;
    nv.wait_note("already have a pending change", 5).await;
    assert_eq!(pending(&nv).await, 1);
    assert_eq!(server.requests_to("/api/v1/chat/completions").len(), 1);
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zen_stop_keeps_what_arrived_as_the_pending_change() {
    let (server, nv, _home) = project().await;
    server.push(Reply::Sse {
        parts: vec![Part {
            delay_ms: 0,
            bytes: (content_chunk("```rust\nfn TWO() {}\n")).into_bytes(),
        }],
        hang: true,
    });
    nv.exec("2,3ZenEdit upper").await;
    nv.wait_for("require('zen.review').list()[1].raw ~= ''", 15)
        .await;
    nv.exec("ZenStop").await;
    wait_streamed(&nv).await;
    nv.exec("ZenAccept").await;
    assert_eq!(
        nv.text(0).await,
        "fn one() {}\nfn TWO() {}\nfn four() {}\nfn five() {}"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_changes_are_dropped_with_a_notice_when_the_backend_restarts() {
    let (server, nv, _home) = project().await;
    server.push(sse(answer_body(&["```\nfn TWO() {}\n```\n"], 1, 1, 0.0)));
    nv.exec("2ZenEdit upper").await;
    wait_streamed(&nv).await;
    nv.exec("ZenPending").await;
    let qf = nv.lua("return vim.fn.getqflist()[1].lnum").await;
    assert_eq!(qf, 2, ":ZenPending lists it at its line");
    nv.exec("wincmd p | ZenRestart").await;
    nv.wait_note("pending change(s) dropped", 5).await;
    assert_eq!(pending(&nv).await, 0);
    assert_eq!(nv.text(0).await + "\n", FILE);
    nv.quit().await;
}

/// A chat that answered `:2,3ZenSend` on src/lib.rs with a fenced block (prose around it).
async fn answered_send(server: &FakeServer, nv: &Nvim, block: &str) {
    server.push(sse(answer_body(
        &["Try this:\n\n", block, "\nIt renames them.\n"],
        1,
        1,
        0.0,
    )));
    nv.exec("ZenNew openrouter model=test/model name=target")
        .await;
    nv.exec("edit src/lib.rs").await;
    nv.install_event_counter().await;
    nv.exec("2,3ZenSend rename").await;
    nv.wait_done(1, 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_puts_a_sent_blocks_answer_back_on_its_origin_lines() {
    let (server, nv, _home) = project().await;
    answered_send(&server, &nv, "```rust\nfn TWO() {}\nfn THREE() {}\n```\n").await;
    assert!(nv.lua("return vim.b.zen_session ~= nil").await == serde_json::json!(true));
    nv.exec("call search('fn TWO') | ZenApply").await;
    assert_eq!(
        nv.lua("return vim.fn.expand('%:t')").await,
        "lib.rs",
        "the origin file is shown"
    );
    assert_eq!(pending(&nv).await, 1);
    nv.exec("ZenAccept").await;
    assert_eq!(
        nv.text(0).await,
        "fn one() {}\nfn TWO() {}\nfn THREE() {}\nfn four() {}\nfn five() {}"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_named_by_the_model_is_not_opened_without_asking() {
    let (server, nv, home) = project().await;
    std::fs::write(home.path().join("proj/secret.rs"), "keep\n").unwrap();
    server.push(sse(answer_body(
        &["secret.rs\n```rust\nstolen\n```\n"],
        1,
        1,
        0.0,
    )));
    nv.exec("ZenNew openrouter model=test/model name=target")
        .await;
    nv.type_prompt("hello").await;
    nv.install_event_counter().await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;
    nv.lua("_G.asked = {} vim.fn.confirm = function(q) table.insert(_G.asked, q) return 2 end vim.ui.input = function() end")
        .await;
    nv.exec("call search('stolen') | ZenApply").await;
    let asked = nv.lua("return _G.asked[1]").await;
    assert_eq!(
        asked,
        "zen: apply this block to secret.rs (named by the model)?"
    );
    assert_eq!(pending(&nv).await, 0, "declined: nothing proposed");
    assert_eq!(
        nv.lua("return vim.fn.bufloaded('secret.rs')").await,
        0,
        "nor read"
    );
    assert_eq!(
        std::fs::read_to_string(home.path().join("proj/secret.rs")).unwrap(),
        "keep\n"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_change_is_dropped_with_a_notice_when_its_buffer_is_unloaded() {
    let (server, nv, _home) = project().await;
    server.push(sse(answer_body(&["```\nfn TWO() {}\n```\n"], 1, 1, 0.0)));
    nv.exec("2ZenEdit upper").await;
    wait_streamed(&nv).await;
    nv.exec("enew | bunload #").await;
    nv.wait_note("dropped: its buffer was unloaded", 5).await;
    assert_eq!(pending(&nv).await, 0);
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_proposal_is_taken_whole_and_its_proposer_hears_always() {
    let (_server, nv, home) = project().await;
    nv.lua(
        "_G.decided = {} \
         require('zen.review').propose(0, { lines = {'new file'}, source = 'agent', whole = true, \
           on_decide = function(d) table.insert(_G.decided, d) end })",
    )
    .await;
    // The hunk key acts on the whole change: a whole proposal has no partial acceptance.
    nv.exec("call cursor(5, 1) | exe \"normal gr\"").await;
    assert_eq!(nv.lua("return _G.decided[1]").await, "rejected");
    assert_eq!(nv.text(0).await + "\n", FILE);
    nv.lua(
        "require('zen.review').propose(0, { lines = {'new file'}, source = 'agent', whole = true, \
           on_decide = function(d) table.insert(_G.decided, d) end })",
    )
    .await;
    nv.exec("ZenAccept!").await;
    assert_eq!(nv.lua("return _G.decided[2]").await, "always");
    assert_eq!(nv.text(0).await, "new file");
    assert_eq!(file_text(&home), FILE, "the user saves, not zen");
    nv.quit().await;
}
