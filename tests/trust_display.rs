//! What the chat shows around an answer: only zen's reasoning blocks fold (live and on reopen),
//! the statusline leaves `streaming`, the send picker shows no `vim.NIL`, and wiping a streaming
//! chat is not an error.

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;

const PICK_FIRST: &str = r#"
  vim.ui.select = function(items, opts, cb) cb(items[1]) end
"#;

fn history(home: &tempfile::TempDir) -> String {
    let dir = home.path().join("zen-state/history");
    std::fs::read_dir(dir)
        .unwrap()
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
        .collect()
}

/// The first row of the closed fold over the first line matching `line`, or -1.
async fn folded(nv: &Nvim, line: &str) -> i64 {
    nv.lua(&format!(
        "return vim.fn.foldclosed(vim.fn.search({line:?}, 'nw'))"
    ))
    .await
    .as_i64()
    .unwrap()
}

async fn assert_only_zen_folds(nv: &Nvim, when: &str) {
    assert!(
        folded(nv, "^deep thought").await > 0,
        "{when}: zen's reasoning block folds"
    );
    for line in ["^open {{{", "^middle", "^visible tail", "^## User"] {
        assert_eq!(folded(nv, line).await, -1, "{when}: {line} is visible");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fold_markers_written_by_the_model_fold_nothing() {
    let (server, nv, home) = setup().await;
    let body = format!(
        ": OPENROUTER PROCESSING\n\n{}{}{}",
        reasoning_chunk("deep thought"),
        content_chunk("open {{{\nmiddle\n}}} close\nstill {{{\nvisible tail"),
        ending(1, 1, 0.0)
    );
    server.push(sse(body));
    nv.exec("ZenNew openrouter model=test/model name=f").await;
    nv.type_prompt("hi").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;
    assert_only_zen_folds(&nv, "live").await;
    nv.quit().await;

    let nv = Nvim::start(Start::new(home.path(), &server.base_url())).await;
    nv.lua(PICK_FIRST).await;
    nv.exec("ZenList").await;
    nv.wait_for("vim.b.zen_session ~= nil", 5).await;
    assert_only_zen_folds(&nv, "reopened").await;
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wiping_a_streaming_chat_is_not_an_error() {
    let (server, nv, home) = setup().await;
    let parts = (0..400)
        .map(|i| Part {
            delay_ms: 25,
            bytes: content_chunk(&format!("w{i} ")).into_bytes(),
        })
        .collect();
    server.push(Reply::Sse { parts, hang: false });
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("long please").await;
    nv.exec("ZenSubmit").await;
    nv.wait_for("vim.fn.search('w3 ', 'n') > 0", 10).await;
    // The renderer finds the buffer gone before the `buffer_closed` notice arrives.
    nv.lua(
        r#"
        local backend = require("zen.backend")
        local notify = backend.notify
        backend.notify = function(method, args)
          if method == "buffer_closed" then
            vim.defer_fn(function() notify(method, args) end, 1500)
          else
            notify(method, args)
          end
        end
        "#,
    )
    .await;
    nv.exec("bwipeout!").await;
    let done = nv.wait_done(1, 10).await;
    assert_eq!(done["stopped"], "buffer closed", "{done}");
    assert!(done["error"].is_null(), "{done}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let saved = history(&home);
    assert!(saved.contains("\"end\":\"buffer closed\""), "{saved}");
    assert!(!saved.contains("truncated"), "{saved}");
    let errors = nv
        .lua("return vim.tbl_filter(function(n) return n.level == vim.log.levels.ERROR end, _G.zen_notes)")
        .await;
    assert_eq!(errors, json!([]), "no error notification");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statusline_on_screen_says_idle_after_the_answer() {
    let (server, nv, _home) = setup().await;
    server.push(sse(answer_body(&["Hel", "lo"], 1, 1, 0.0)));
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.lua("vim.o.statusline = \"%!v:lua.require'zen'.status()\" vim.o.laststatus = 2")
        .await;
    nv.type_prompt("Say hello").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;
    // What is drawn, not what status() would say now.
    let screen = "(function() local s = '' for c = 1, 60 do s = s .. vim.fn.screenstring(vim.o.lines - 1, c) end return s end)()";
    let drawn = nv
        .wait_for(&format!("{screen}:find('idle') and {screen}"), 5)
        .await;
    assert!(
        drawn
            .as_str()
            .unwrap()
            .starts_with("zen chat-1 · test/model"),
        "{drawn}"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_send_picker_shows_no_vim_nil_for_a_session_without_a_model() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let clis = FakeClis::install(home.path());
    let mut start = Start::new(home.path(), &server.base_url());
    start.env = clis.env();
    start.setup = "tmux = false".into();
    let nv = Nvim::start(start).await;
    nv.exec("ZenNew claude name=agent").await;
    clis.argv("claude", 0).await;
    nv.exec("ZenNew openrouter model=test/model name=chat")
        .await;
    nv.exec("ZenRestart").await; // no last used session: :ZenSend asks
    nv.lua(
        r#"
        _G.rows = nil
        vim.ui.select = function(items, opts) _G.rows = vim.tbl_map(opts.format_item, items) end
        "#,
    )
    .await;
    nv.exec("enew").await;
    nv.exec("ZenSend hello").await;
    let rows = nv.wait_for("_G.rows", 5).await;
    let rows: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(rows.contains(&"agent  claude"), "{rows:?}");
    assert!(rows.contains(&"chat  openrouter  test/model"), "{rows:?}");
    assert!(!rows.iter().any(|r| r.contains("NIL")), "{rows:?}");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reasoning_block_folds_as_soon_as_it_closes_and_only_once() {
    let (server, nv, _home) = setup().await;
    let mut parts = vec![Part {
        delay_ms: 0,
        bytes: format!(
            "{}{}",
            reasoning_chunk("deep thought\nmore"),
            content_chunk("answer {{{ ")
        )
        .into_bytes(),
    }];
    parts.extend((0..60).map(|i| Part {
        delay_ms: 25,
        bytes: content_chunk(&format!("w{i} ")).into_bytes(),
    }));
    parts.push(Part {
        delay_ms: 0,
        bytes: ending(1, 1, 0.0).into_bytes(),
    });
    server.push(Reply::Sse { parts, hang: false });
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.type_prompt("hi").await;
    nv.exec("ZenSubmit").await;
    nv.wait_for("vim.fn.search('w3 ', 'n') > 0", 10).await;
    assert!(nv.lua("return #_G.zen_done").await == 0, "still streaming");
    assert!(
        folded(&nv, "^deep thought").await > 0,
        "folded while streaming"
    );
    assert_eq!(folded(&nv, "^answer {{{").await, -1);
    nv.wait_done(1, 10).await;
    let level = nv
        .lua("return vim.fn.foldlevel(vim.fn.search('^deep thought', 'nw'))")
        .await;
    assert_eq!(level, 1, "one fold, not one per event");
    assert_eq!(folded(&nv, "^## User").await, -1);
    nv.quit().await;
}
