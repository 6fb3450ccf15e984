//! The keys and windows of chats: `?`, `gy`, `gO`, `q`, insert mode in new chats, terminal mode
//! in agents, :ZenList in a zen window, :ZenUsage's window.

mod support;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn question_mark_shows_the_chat_keys_and_q_closes_them() {
    let (_server, nv, _home) = setup().await;
    nv.exec("ZenNew openrouter model=test/model").await;
    nv.exec("stopinsert").await;
    nv.exec("normal ?").await;
    let shown = nv
        .lua(
            "local c = vim.api.nvim_win_get_config(0)
             return { float = c.relative ~= '', text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\\n'),
                      wins = #vim.api.nvim_list_wins(),
                      title = vim.fn.has('nvim-0.9') == 0 or (c.title ~= nil and vim.inspect(c.title):find('zen keys') ~= nil) }",
        )
        .await;
    assert_eq!(shown["float"], true, "{shown}");
    assert_eq!(shown["title"], true, "a title on 0.9+: {shown}");
    let text = shown["text"].as_str().unwrap();
    for key in ["<CR>", "gy", "gO", "?", "yank the code block"] {
        assert!(text.contains(key), "{key} in {text}");
    }
    nv.exec("normal q").await;
    let after = nv
        .lua("return { wins = #vim.api.nvim_list_wins(), chat = vim.b.zen_session ~= nil }")
        .await;
    assert_eq!(after["wins"], shown["wins"].as_i64().unwrap() - 1);
    assert_eq!(after["chat"], true, "back in the chat");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gy_yanks_the_code_block_under_the_cursor_and_only_inside_one() {
    let (server, nv, _home) = setup().await;
    nv.exec("ZenNew openrouter model=test/model").await;
    answer_hi(&server, &nv, answer_body(&[FENCES], 1, 1, 0.0), 1).await;
    nv.exec("stopinsert").await;
    nv.exec("call search('^let g:y') | normal gy").await;
    assert_eq!(nv.lua("return vim.fn.getreg('\"')").await, "let g:y = 2\n");
    nv.exec("call search('^Here:', 'b') | normal gy").await;
    nv.wait_note("no code block under the cursor", 5).await;
    assert_eq!(nv.lua("return vim.fn.getreg('\"')").await, "let g:y = 2\n");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_outline_lists_the_turns_not_headers_the_model_wrote() {
    let (server, nv, _home) = setup().await;
    nv.exec("ZenNew openrouter model=test/model").await;
    answer_hi(&server, &nv, answer_body(&[MODEL_TEXT], 1, 1, 0.0), 1).await;
    nv.exec("stopinsert").await;
    nv.exec("normal gO").await;
    let items = nv
        .lua(
            "local lines = vim.api.nvim_buf_get_lines(vim.fn.getloclist(0, { filewinid = 0 }).filewinid ~= 0
               and vim.api.nvim_win_get_buf(vim.fn.getloclist(0, { filewinid = 0 }).filewinid) or 0, 0, -1, false)
             return vim.tbl_map(function(i) return lines[i.lnum] end, vim.fn.getloclist(0))",
        )
        .await;
    assert_eq!(
        items,
        serde_json::json!(["## User", "## Assistant · test/model", "## User"]),
        "{}",
        nv.text(0).await
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_chat_opens_in_insert_mode_under_the_user_header() {
    let (_server, nv, _home) = setup().await;
    nv.exec("ZenNew openrouter model=test/model").await;
    let at = nv
        .lua(
            "local row = vim.api.nvim_win_get_cursor(0)[1]
             return { mode = vim.api.nvim_get_mode().mode, above = vim.api.nvim_buf_get_lines(0, row - 2, row, false) }",
        )
        .await;
    assert_eq!(at["mode"], "i", "{at}");
    assert_eq!(at["above"], serde_json::json!(["## User", ""]), "{at}");
    nv.quit().await;
}

/// Picks the session named `name` in :ZenList, then `open`.
const PICK_BY_NAME: &str = r#"
  vim.ui.select = function(items, opts, cb)
    for _, it in ipairs(items) do
      if it == 'open' or (type(it) == 'table' and it.name == _G.pick) then return cb(it) end
    end
  end
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zen_list_from_a_chat_window_shows_the_session_in_that_window() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let mut start = Start::new(home.path(), &server.base_url());
    start.setup = r#"layout = "vsplit","#.into();
    let nv = Nvim::start(start).await;
    nv.lua(PICK_BY_NAME).await;
    nv.exec("ZenNew openrouter model=test/model name=a").await;
    nv.exec("close").await;
    nv.exec("ZenNew openrouter model=test/model name=b").await;
    nv.exec("stopinsert").await;
    assert_eq!(nv.lua("return #vim.api.nvim_list_wins()").await, 2);
    nv.lua("_G.pick = 'a'").await;
    nv.exec("ZenList").await;
    let here = nv
        .lua("return { wins = #vim.api.nvim_list_wins(), name = vim.api.nvim_buf_get_name(0) }")
        .await;
    assert_eq!(here["wins"], 2, "no new split: {here}");
    assert!(
        here["name"].as_str().unwrap().ends_with("zen://a"),
        "{here}"
    );
    // From a code window, `layout` applies as before.
    nv.exec("wincmd p | enew").await;
    nv.lua("_G.pick = 'b'").await;
    nv.exec("ZenList").await;
    assert_eq!(nv.lua("return #vim.api.nvim_list_wins()").await, 3);
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zen_usage_reuses_its_window_and_q_closes_it() {
    let server = FakeServer::start().await;
    server.route("GET", "/api/v1/key", ok_json(key_body(None, None, 0.0)));
    let home = tempfile::tempdir().unwrap();
    let mut start = Start::new(home.path(), &server.base_url());
    start.setup = r#"layout = "vsplit","#.into();
    let nv = Nvim::start(start).await;
    nv.exec("ZenUsage").await;
    nv.exec("wincmd p").await;
    nv.exec("ZenUsage").await;
    let wins = nv.lua("return #vim.api.nvim_list_wins()").await;
    assert_eq!(wins, 2, "one usage window");
    assert_eq!(
        nv.lua("return vim.api.nvim_buf_get_name(0)").await,
        "zen://usage"
    );
    nv.exec("normal q").await;
    assert_eq!(nv.lua("return #vim.api.nvim_list_wins()").await, 1);
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_opens_in_terminal_mode() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let mut start = Start::new(home.path(), &server.base_url());
    start.setup = r#"tmux = false, agents = { shell = { cmd = { "sh" } } },"#.into();
    let nv = Nvim::start(start).await;
    nv.exec("ZenNew shell").await;
    let mode = nv
        .wait_for("vim.api.nvim_get_mode().mode == 't' and 't'", 5)
        .await;
    assert_eq!(mode, "t");
    nv.quit().await;
}
