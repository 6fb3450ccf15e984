//! The chat buffer as the user sees it: zen's highlight groups on zen's rows only, fold markers
//! hidden, code fences highlighted in their language.

mod support;

use support::*;

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
    answer_hi(&server, &nv, with_reasoning(MODEL_TEXT), 1).await;
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
    answer_hi(&server, &nv, with_reasoning("answer"), 1).await;
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

async fn fences_in(setup_lua: &str) -> (String, String, String) {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let mut start = Start::new(home.path(), &server.base_url());
    start.setup = setup_lua.into();
    let nv = Nvim::start(start).await;
    nv.install_event_counter().await;
    nv.exec("syntax on").await; // what a user's config has
    nv.exec("ZenNew openrouter model=test/model").await;
    answer_hi(&server, &nv, answer_body(&[FENCES], 1, 1, 0.0), 1).await;
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
