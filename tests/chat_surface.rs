//! The chat buffer as the user sees it: zen's highlight groups on zen's rows only, fold markers
//! hidden, code fences highlighted in their language, the keys (`?`, `q`, `gy`, `gO`), insert mode
//! in new chats, windows reused.

mod support;

use support::*;

/// Streams `body` as the answer to "hi" in a new chat named `name`.
async fn answer(server: &FakeServer, nv: &Nvim, body: String, n: usize) {
    server.push(sse(body));
    nv.type_prompt("hi").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(n, 10).await;
}

fn with_reasoning(content: &str) -> String {
    format!(
        ": OPENROUTER PROCESSING\n\n{}{}{}",
        reasoning_chunk("deep thought"),
        content_chunk(content),
        ending(3, 4, 0.0001)
    )
}

/// The zen highlight group on the first row matching `pattern` (zen_look namespace), or "".
async fn zen_group(nv: &Nvim, pattern: &str) -> String {
    nv.lua(&format!(
        r#"
        local row = vim.fn.search({pattern:?}, 'nw') - 1
        if row < 0 then return 'no such row' end
        local ns = vim.api.nvim_create_namespace('zen_look')
        local m = vim.api.nvim_buf_get_extmarks(0, ns, {{row, 0}}, {{row, -1}}, {{ details = true }})[1]
        return m and m[4].hl_group or ''
        "#
    ))
    .await
    .as_str()
    .unwrap_or_default()
    .to_string()
}

const MODEL_TEXT: &str = "> [zen] not a note\n## User\nstill the model";

async fn assert_zen_rows(nv: &Nvim, when: &str) {
    assert_eq!(zen_group(nv, "^# zen").await, "ZenTitle", "{when}");
    assert_eq!(
        zen_group(nv, "^## Assistant").await,
        "ZenAssistantHeader",
        "{when}"
    );
    assert_eq!(
        zen_group(nv, "^> \\[zen\\] 3 in").await,
        "ZenNote",
        "{when}"
    );
    assert_eq!(
        zen_group(nv, "^> \\[zen\\] not a note").await,
        "",
        "{when}: the model's text"
    );
    assert_eq!(
        zen_group(nv, "^still the model").await,
        "",
        "{when}: the model's text"
    );
    // The model's `## User` (row 3 of its text) is not highlighted; zen's last one is.
    let rows = nv
        .lua(
            r#"
            local ns = vim.api.nvim_create_namespace('zen_look')
            local out = {}
            for i, l in ipairs(vim.api.nvim_buf_get_lines(0, 0, -1, false)) do
              if l == '## User' then
                local m = vim.api.nvim_buf_get_extmarks(0, ns, {i - 1, 0}, {i - 1, -1}, { details = true })[1]
                table.insert(out, m and m[4].hl_group or '')
              end
            end
            return out
            "#,
        )
        .await;
    assert_eq!(
        rows,
        serde_json::json!(["ZenUserHeader", "", "ZenUserHeader"]),
        "{when}"
    );
    let reasoning = nv
        .lua(
            r#"
            local ns = vim.api.nvim_create_namespace('zen_reasoning')
            local m = vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })[1]
            return m and m[4].hl_group or ''
            "#,
        )
        .await;
    assert_eq!(reasoning, "ZenReasoning", "{when}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zen_rows_get_zen_highlights_and_the_models_text_never_does() {
    let (server, nv, _home) = setup().await;
    nv.exec("ZenNew openrouter model=test/model name=look")
        .await;
    answer(&server, &nv, with_reasoning(MODEL_TEXT), 1).await;
    assert_zen_rows(&nv, "live").await;
    // Rebuilt from history, the same rows are zen's.
    nv.exec("bwipeout!").await;
    nv.lua("require('zen').open('look')").await;
    assert_zen_rows(&nv, "reopened").await;
    let linked = nv
        .lua("return vim.fn.synIDattr(vim.fn.synIDtrans(vim.fn.hlID('ZenNote')), 'name')")
        .await;
    assert_eq!(linked, "Comment", "zen's groups link to standard ones");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fold_markers_do_not_show_in_the_chat() {
    let (server, nv, _home) = setup().await;
    nv.exec("ZenNew openrouter model=test/model").await;
    answer(&server, &nv, with_reasoning("answer"), 1).await;
    let shown = nv
        .lua(
            r#"
            local ns = vim.api.nvim_create_namespace('zen_block_marks')
            local out = {}
            for _, pat in ipairs({ '^::: reasoning {{{$', '^::: }}}$' }) do
              local row = vim.fn.search(pat, 'nw') - 1
              local m = vim.api.nvim_buf_get_extmarks(0, ns, {row, 0}, {row, -1}, { details = true })[1]
              table.insert(out, m and vim.trim(m[4].virt_text[1][1]) or 'visible')
            end
            local start = vim.fn.search('^::: reasoning', 'nw')
            vim.v.foldstart, vim.v.foldend = start, start + 2
            table.insert(out, vim.fn.foldclosed(start) == start and 'folded' or 'open')
            return out
            "#,
        )
        .await;
    assert_eq!(shown, serde_json::json!(["▾ reasoning", "", "folded"]));
    let text = nv
        .lua(
            "local s = vim.fn.search('^::: reasoning', 'nw')
             return vim.api.nvim_win_call(0, function()
               return vim.fn.foldtextresult(s)
             end)",
        )
        .await;
    assert_eq!(text, "▸ reasoning · 1 lines");
    nv.quit().await;
}

/// What highlights the first column of the first row matching `pattern`: the treesitter
/// language or the syntax group.
async fn code_highlight(nv: &Nvim, pattern: &str) -> String {
    nv.lua(&format!(
        r#"
        local row = vim.fn.search({pattern:?}, 'nw')
        if vim.b.zen_highlight == 'treesitter' then
          vim.treesitter.get_parser(0):parse(true)
          for _, c in ipairs(vim.treesitter.get_captures_at_pos(0, row - 1, 0)) do
            if c.lang ~= 'markdown' and c.lang ~= 'markdown_inline' then return 'ts:' .. c.lang end
          end
          return 'ts:none'
        end
        return vim.fn.synIDattr(vim.fn.synID(row, 1, 1), 'name')
        "#
    ))
    .await
    .as_str()
    .unwrap_or_default()
    .to_string()
}

const FENCES: &str = "Here:\n\n```lua\nlocal x = 1\n```\n\n```vim\nlet g:y = 2\n```\n";

async fn fences_in(setup_lua: &str) -> (String, String, String) {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let mut start = Start::new(home.path(), &server.base_url());
    start.setup = setup_lua.into();
    let nv = Nvim::start(start).await;
    nv.install_event_counter().await;
    nv.exec("syntax on").await; // what a user's config has
    nv.exec("ZenNew openrouter model=test/model").await;
    answer(&server, &nv, answer_body(&[FENCES], 1, 1, 0.0), 1).await;
    let mode = nv.lua("return vim.b.zen_highlight").await;
    let out = (
        mode.as_str().unwrap_or_default().to_string(),
        code_highlight(&nv, "^local x").await,
        code_highlight(&nv, "^let g:y").await,
    );
    nv.quit().await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fenced_code_is_highlighted_in_its_language() {
    let (mode, lua, vim) = fences_in("").await;
    assert_eq!(
        mode, "syntax",
        "auto is the regex syntax (measured lighter)"
    );
    assert!(lua.starts_with("lua"), "lua fence: {lua}");
    assert!(vim.starts_with("vim"), "vim fence: {vim}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fenced_code_is_highlighted_by_treesitter_where_neovim_has_the_parser() {
    let (mode, lua, vim) = fences_in(r#"highlight = "treesitter","#).await;
    if mode == "treesitter" {
        assert_eq!((lua.as_str(), vim.as_str()), ("ts:lua", "ts:vim"));
    } else {
        // 0.7 to 0.9: no bundled markdown parser; the regex syntax instead.
        assert_eq!(mode, "syntax");
        assert!(lua.starts_with("lua"), "lua fence: {lua}");
    }
}

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
    answer(&server, &nv, answer_body(&[FENCES], 1, 1, 0.0), 1).await;
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
    answer(&server, &nv, answer_body(&[MODEL_TEXT], 1, 1, 0.0), 1).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_waiting_line_shows_until_the_first_text() {
    let (server, nv, _home) = setup().await;
    nv.exec("ZenNew openrouter model=test/model").await;
    let body = answer_body(&["late answer"], 1, 1, 0.0);
    server.push(sse_split(&body, body.len(), 700)); // under the 1.5 s stall timeout
    nv.type_prompt("hi").await;
    nv.exec("ZenSubmit").await;
    let waiting = r#"(function()
        local ns = vim.api.nvim_create_namespace('zen_waiting')
        local m = vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })[1]
        if not m then return false end
        local line = vim.api.nvim_buf_get_lines(0, m[2], m[2] + 1, false)[1]
        return line .. ' |' .. m[4].virt_text[1][1]
      end)()"#;
    let shown = nv.wait_for(waiting, 5).await;
    let shown = shown.as_str().unwrap();
    assert!(
        shown.starts_with("## Assistant · test/model |  waiting… "),
        "{shown}"
    );
    nv.wait_done(1, 10).await;
    assert_eq!(nv.lua(&format!("return {waiting}")).await, false);
    assert!(nv.text(0).await.contains("late answer"));
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zen_retry_replaces_the_last_answer_and_refuses_after_a_new_prompt() {
    let (server, nv, _home) = setup().await;
    nv.exec("ZenNew openrouter model=test/model").await;
    answer(&server, &nv, answer_body(&["first try"], 1, 1, 0.0), 1).await;
    server.push(sse(answer_body(&["second try"], 1, 1, 0.0)));
    nv.exec("stopinsert").await;
    nv.exec("normal gR").await;
    nv.wait_done(2, 10).await;
    let text = nv.text(0).await;
    assert!(!text.contains("first try"), "{text}");
    assert_eq!(text.matches("## Assistant").count(), 1, "{text}");
    assert!(text.contains("second try"), "{text}");
    let reqs = server.requests_to("/api/v1/chat/completions");
    assert_eq!(
        reqs[1].body["messages"],
        serde_json::json!([{"role": "user", "content": "hi"}])
    );
    nv.type_prompt("a new question").await;
    nv.exec("ZenRetry").await;
    nv.wait_note("you wrote after the last answer", 5).await;
    assert_eq!(server.requests_to("/api/v1/chat/completions").len(), 2);
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn costs_read_the_same_in_the_note_the_statusline_and_the_session_list() {
    let (server, nv, _home) = setup().await;
    nv.exec("ZenNew openrouter model=test/model name=cost")
        .await;
    answer(&server, &nv, answer_body(&["ok"], 17, 6, 0.0001025), 1).await;
    assert!(nv
        .text(0)
        .await
        .contains("· session 17 in · 6 out · $0.000102\n"));
    let status = nv.lua("return require('zen').status()").await;
    assert_eq!(status, "zen cost · test/model · $0.000102 · idle");
    let row = nv
        .lua(
            "local rows = require('zen.backend').request('list')
             return require('zen.picker').format_row(rows[1])",
        )
        .await;
    assert!(row.as_str().unwrap().contains(" $0.000102 "), "{row}");
    nv.quit().await;
}

/// The `> [zen]` note lines of the current buffer.
async fn notes_in_buffer(nv: &Nvim) -> Vec<String> {
    nv.text(0)
        .await
        .lines()
        .filter(|l| l.starts_with("> [zen]"))
        .map(String::from)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_adds_one_note_not_two() {
    let (server, nv, _home) = setup().await;
    let words: Vec<String> = (0..400).map(|i| format!("w{i} ")).collect();
    let body = answer_body(
        &words.iter().map(String::as_str).collect::<Vec<_>>(),
        1,
        1,
        0.0,
    );
    server.push(sse_split(&body, 200, 25));
    nv.exec("ZenNew openrouter model=test/model name=stop")
        .await;
    nv.type_prompt("long please").await;
    nv.exec("ZenSubmit").await;
    nv.wait_for("vim.fn.search('w3 ', 'n') > 0", 10).await;
    nv.exec("ZenStop").await;
    nv.wait_done(1, 10).await;
    let live = notes_in_buffer(&nv).await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert!(live[0].starts_with("> [zen] stopped · "), "{live:?}");
    nv.exec("bwipeout!").await;
    nv.lua("require('zen').open('stop')").await;
    let reopened = notes_in_buffer(&nv).await;
    assert_eq!(reopened.len(), 1, "{reopened:?}");
    assert!(reopened[0].starts_with("> [zen] stopped"), "{reopened:?}");
    nv.quit().await;
}
