//! The model catalogue, `:ZenModel`, checks before sending, and spend (`:ZenUsage`, status()).

mod support;

use support::*;

/// Records what `vim.ui.select` is given (the models; the header row apart), and chooses the row
/// whose id is `_G.choose` (if set).
const CAPTURE_SELECT: &str = r#"
  _G.selects = {}
  vim.ui.select = function(items, opts, cb)
    local header = type(items[1]) == "table" and items[1].header and table.remove(items, 1)
    _G.header = header and header.label
    local labels = vim.tbl_map(opts.format_item or tostring, items)
    table.insert(_G.selects, { prompt = opts.prompt, labels = labels, ids = vim.tbl_map(function(i) return type(i) == "table" and i.id or i end, items) })
    local chosen = nil
    for _, item in ipairs(items) do
      if type(item) == "table" and item.id == _G.choose then chosen = item end
    end
    cb(chosen)
  end
"#;

async fn with_catalogue() -> (FakeServer, Nvim, tempfile::TempDir) {
    let (server, nv, home) = setup().await;
    server.route("GET", "/api/v1/models", catalogue_reply());
    nv.lua(CAPTURE_SELECT).await;
    (server, nv, home)
}

async fn open_picker(nv: &Nvim, n: usize) -> serde_json::Value {
    nv.exec("ZenModel").await;
    nv.wait_for(&format!("_G.selects[{n}]"), 10).await
}

fn label_of<'a>(pick: &'a serde_json::Value, id: &str) -> &'a str {
    let ids = pick["ids"].as_array().unwrap();
    let i = ids
        .iter()
        .position(|x| x == id)
        .unwrap_or_else(|| panic!("{id} not in picker"));
    pick["labels"][i].as_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn picker_rows_show_context_prices_modalities_and_reasoning() {
    let (server, nv, _home) = with_catalogue().await;
    let pick = open_picker(&nv, 1).await;
    assert_eq!(
        pick["prompt"],
        format!("zen model ({CATALOGUE_SIZE} models)")
    );
    assert_eq!(pick["ids"].as_array().unwrap().len(), CATALOGUE_SIZE);
    let sonnet = label_of(&pick, "anthropic/claude-sonnet-4");
    assert!(sonnet.starts_with("anthropic/claude-sonnet-4 "), "{sonnet}");
    for part in [
        "Anthropic: Claude Sonnet 4",
        " 200k ",
        "$3.00/$15.00",
        "image,file",
        "reasoning",
    ] {
        assert!(sonnet.contains(part), "{part} missing in {sonnet}");
    }
    let free = label_of(&pick, "meta-llama/llama-3.3-70b-instruct:free");
    assert!(
        free.contains(" 131k ") && free.contains(" free ") && !free.contains("reasoning"),
        "{free}"
    );
    assert!(
        label_of(&pick, "openrouter/auto").contains(" 2M  ?"),
        "variable prices show as ?"
    );
    assert!(label_of(&pick, "bare/minimum").contains("bare/minimum"));
    // Columns line up: every label has its context column at the same place.
    let col = sonnet[..sonnet.find("200k").unwrap()].chars().count();
    let free_ctx: String = free.chars().skip(col).take(4).collect();
    assert_eq!(free_ctx, "131k");
    assert_eq!(server.requests_to("/api/v1/models").len(), 1);
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn picker_shows_which_models_take_files_and_which_cache() {
    let (_server, nv, _home) = with_catalogue().await;
    let pick = open_picker(&nv, 1).await;
    let sonnet = label_of(&pick, "anthropic/claude-sonnet-4");
    assert!(
        sonnet.contains("image,file") && sonnet.ends_with("reasoning cache"),
        "{sonnet}"
    );
    let gpt = label_of(&pick, "openai/gpt-4o");
    assert!(!gpt.contains("file") && !gpt.contains("cache"), "{gpt}");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn choosing_sets_the_chat_model_and_the_next_request_uses_it() {
    let (server, nv, _home) = with_catalogue().await;
    server.push(sse(answer_body(&["hi"], 1, 1, 0.0)));
    nv.exec("ZenNew openrouter model=anthropic/claude-sonnet-4")
        .await;
    nv.lua("_G.choose = 'openai/gpt-4o'").await;
    open_picker(&nv, 1).await;
    nv.wait_note("chat-1 now uses openai/gpt-4o", 5).await;
    assert!(nv
        .text(0)
        .await
        .starts_with("# zen · chat-1 · openai/gpt-4o\n"));
    nv.type_prompt("q").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;
    assert_eq!(
        server.requests_to("/api/v1/chat/completions")[0].body["model"],
        "openai/gpt-4o"
    );
    // Recently used models come first.
    let pick = open_picker(&nv, 2).await;
    assert_eq!(pick["ids"][0], "openai/gpt-4o");
    assert_eq!(pick["ids"][1], "anthropic/claude-sonnet-4");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_a_chat_it_sets_the_default_remembered_across_restarts() {
    let (server, nv, home) = with_catalogue().await;
    nv.exec("ZenModel openai/gpt-4o").await;
    nv.wait_note("new chats will use openai/gpt-4o", 5).await;
    nv.quit().await;
    let nv = Nvim::start(Start::new(home.path(), &server.base_url())).await;
    nv.exec("ZenNew openrouter").await;
    assert!(nv
        .text(0)
        .await
        .starts_with("# zen · chat-1 · openai/gpt-4o\n"));
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_that_is_not_an_id_opens_the_picker_narrowed_and_completion_offers_ids() {
    let (_server, nv, _home) = with_catalogue().await;
    nv.exec("ZenNew openrouter").await;
    // No catalogue yet: taken as given (the editor never waits on a fetch), and said so.
    nv.exec("ZenModel some/model").await;
    nv.wait_note(
        "chat-1 now uses some/model (not checked: no model catalogue yet)",
        5,
    )
    .await;
    nv.wait_for(
        "vim.fn.filereadable(require('zen.config').state_dir() .. '/models.json') == 1",
        10,
    )
    .await;
    nv.lua("_G.choose = 'openai/gpt-4o'").await;
    nv.exec("ZenModel gpt4o").await;
    let pick = nv.wait_for("_G.selects[1]", 10).await;
    let ids = pick["ids"].as_array().unwrap();
    assert!(ids.contains(&"openai/gpt-4o".into()), "{pick}");
    assert!(ids.len() < CATALOGUE_SIZE, "narrowed: {} rows", ids.len());
    for label in pick["labels"].as_array().unwrap() {
        let chars: Vec<char> = label.as_str().unwrap().to_lowercase().chars().collect();
        let mut it = chars.iter();
        assert!(
            "gpt4o".chars().all(|c| it.any(|x| *x == c)),
            "{label} does not match gpt4o"
        );
    }
    assert!(
        pick["prompt"]
            .as_str()
            .unwrap()
            .ends_with("matching 'gpt4o'"),
        "{pick}"
    );
    let header = nv.lua("return _G.header").await;
    let header = header.as_str().unwrap();
    for column in ["id", "name", "context", "$/M in/out", "inputs"] {
        assert!(header.contains(column), "{column} in {header}");
    }
    nv.wait_note("chat-1 now uses openai/gpt-4o", 5).await;
    nv.exec("ZenModel zzqqzzqq").await;
    let note = nv.wait_note("no model matches 'zzqqzzqq'", 5).await;
    assert!(note.contains(":ZenModel lists them all"), "{note}");
    let ids = nv
        .lua("return vim.fn.getcompletion('ZenModel anthropic/', 'cmdline')")
        .await;
    assert_eq!(ids, serde_json::json!(["anthropic/claude-sonnet-4"]));
    let ids = nv
        .lua("return vim.fn.getcompletion('ZenNew openrouter model=openai/', 'cmdline')")
        .await;
    assert_eq!(ids, serde_json::json!(["model=openai/gpt-4o"]));
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn choosing_the_header_row_sorts_the_models_by_price_or_context() {
    let (_server, nv, _home) = with_catalogue().await;
    nv.lua(
        r#"
        _G.calls = {}
        vim.ui.select = function(items, opts, cb)
          table.insert(_G.calls, items)
          if #_G.calls == 1 then return cb(items[1]) end                 -- the header
          if #_G.calls == 2 then return cb(items[_G.by], _G.by) end     -- sort by
          if #_G.calls == 3 then _G.sorted = vim.list_slice(items, 2) return cb(nil) end
        end
        "#,
    )
    .await;
    for (by, key, ascending) in [(2, "price", true), (3, "context", false)] {
        nv.lua(&format!("_G.calls, _G.sorted, _G.by = {{}}, nil, {by}"))
            .await;
        nv.exec("ZenModel").await;
        nv.wait_for("_G.sorted", 10).await;
        let values = nv
            .lua(&format!(
                "return vim.tbl_map(function(r)
                   local p, o, c = tonumber(r.price_in), tonumber(r.price_out), tonumber(r.context)
                   if '{key}' == 'price' then return (p and o) and (p + o) or 1e300 end
                   return c or -1
                 end, _G.sorted)"
            ))
            .await;
        let v: Vec<f64> = values
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(v.len(), CATALOGUE_SIZE);
        let ordered = v.windows(2).all(|w| {
            if ascending {
                w[0] <= w[1]
            } else {
                w[0] >= w[1]
            }
        });
        assert!(ordered, "sorted by {key}: {v:?}");
    }
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_fresh_then_stale_offline_then_refreshed() {
    let (server, nv, home) = with_catalogue().await;
    open_picker(&nv, 1).await;
    open_picker(&nv, 2).await;
    assert_eq!(
        server.requests_to("/api/v1/models").len(),
        1,
        "the second open used the cache"
    );
    nv.quit().await;
    // A new Neovim within the TTL reads the disk cache: no fetch.
    let nv = Nvim::start(Start::new(home.path(), &server.base_url())).await;
    nv.lua(CAPTURE_SELECT).await;
    open_picker(&nv, 1).await;
    assert_eq!(server.requests_to("/api/v1/models").len(), 1);
    nv.quit().await;
    // Expired and offline: the stale cache, labelled.
    server.route("GET", "/api/v1/models", error_reply(503, "down", &[]));
    let mut start = Start::new(home.path(), &server.base_url());
    start.setup = format!(
        "openrouter = {{ base_url = {:?}, catalogue_ttl_s = 0 }}",
        server.base_url()
    );
    let nv = Nvim::start(start).await;
    nv.lua(CAPTURE_SELECT).await;
    let pick = open_picker(&nv, 1).await;
    let prompt = pick["prompt"].as_str().unwrap();
    assert!(
        prompt.contains("STALE cache from") && prompt.contains("HTTP 503: down"),
        "{prompt}"
    );
    assert_eq!(pick["ids"].as_array().unwrap().len(), CATALOGUE_SIZE);
    // Back online, :ZenModel! refreshes.
    server.route("GET", "/api/v1/models", catalogue_reply());
    nv.exec("ZenModel!").await;
    let pick = nv.wait_for("_G.selects[2]", 10).await;
    assert_eq!(
        pick["prompt"],
        format!("zen model ({CATALOGUE_SIZE} models)")
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_cache_and_offline_gives_the_builtin_list_and_a_corrupt_cache_is_replaced() {
    let (server, nv, home) = setup().await;
    nv.lua(CAPTURE_SELECT).await;
    server.route(
        "GET",
        "/api/v1/models",
        error_reply(502, "bad gateway", &[]),
    );
    let pick = open_picker(&nv, 1).await;
    assert!(
        pick["prompt"]
            .as_str()
            .unwrap()
            .starts_with("zen model (BUILT-IN list of 5"),
        "{}",
        pick["prompt"]
    );
    assert!(pick["ids"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("openai/gpt-4o")));
    nv.quit().await;
    std::fs::write(
        home.path().join("zen-state/models.json"),
        "{\"fetched_at\": 1, trunc",
    )
    .unwrap();
    server.route("GET", "/api/v1/models", catalogue_reply());
    let nv = Nvim::start(Start::new(home.path(), &server.base_url())).await;
    nv.lua(CAPTURE_SELECT).await;
    let pick = open_picker(&nv, 1).await;
    nv.wait_note("model cache", 5).await;
    assert_eq!(pick["ids"].as_array().unwrap().len(), CATALOGUE_SIZE);
    let cache = std::fs::read_to_string(home.path().join("zen-state/models.json")).unwrap();
    assert!(
        serde_json::from_str::<serde_json::Value>(&cache).is_ok(),
        "replaced by a good cache"
    );
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_before_sending_refuse_too_long_and_warn_on_reasoning() {
    let (server, nv, home) = with_catalogue().await;
    open_picker(&nv, 1).await; // loads the catalogue
    nv.exec("ZenNew openrouter model=tiny/small-context").await;
    nv.type_prompt(&"words ".repeat(1000)).await;
    nv.exec("ZenSubmit").await;
    let note = nv
        .wait_note("more than tiny/small-context's context of 1k", 5)
        .await;
    assert!(note.contains("about 1503 tokens"), "{note}");
    assert!(
        server.requests_to("/api/v1/chat/completions").is_empty(),
        "nothing was spent"
    );
    nv.quit().await;

    let mut start = Start::new(home.path(), &server.base_url());
    start.setup = format!(
        "openrouter = {{ base_url = {:?}, reasoning = {{ effort = 'high' }} }}",
        server.base_url()
    );
    let nv = Nvim::start(start).await;
    nv.install_event_counter().await;
    server.push(sse(answer_body(&["ok"], 1, 1, 0.0)));
    server.push(sse(answer_body(&["ok"], 1, 1, 0.0)));
    nv.exec("ZenNew openrouter model=openai/gpt-4o").await;
    nv.type_prompt("q").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;
    nv.wait_note("openai/gpt-4o does not support reasoning", 5)
        .await;
    nv.exec("ZenNew openrouter model=anthropic/claude-sonnet-4")
        .await;
    nv.type_prompt("q").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(2, 10).await;
    let reqs = server.requests_to("/api/v1/chat/completions");
    assert!(reqs[0].body.get("reasoning").is_none());
    assert_eq!(reqs[1].body["reasoning"]["effort"], "high");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_sums_what_was_served_per_session_model_and_day_with_credit() {
    let (server, nv, home) = setup().await;
    server.route(
        "GET",
        "/api/v1/key",
        ok_json(key_body(Some(10.0), Some(7.5), 2.5)),
    );
    server.push(sse(answer_body(&["a"], 100, 10, 0.001)));
    server.push(sse(answer_body(&["b"], 200, 20, 0.002)));
    server.push(sse(answer_body(&["c"], 400, 40, 0.004)));
    nv.exec("ZenNew openrouter model=m/one name=first").await;
    for (i, q) in ["q1", "q2"].iter().enumerate() {
        nv.type_prompt(q).await;
        nv.exec("ZenSubmit").await;
        nv.wait_done(i + 1, 10).await;
    }
    nv.exec("ZenNew openrouter model=m/two name=second").await;
    nv.type_prompt("q3").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(3, 10).await;
    let status = nv.lua("return require('zen').status()").await;
    // Costs read the same everywhere: as in the note and :ZenUsage.
    assert_eq!(status, "zen second · m/two · $0.004000 · ctx 440/? · idle");
    nv.exec("ZenUsage").await;
    nv.wait_for("vim.fn.search('credit: \\\\$7', 'n') > 0", 10)
        .await;
    let text = nv.text(0).await;
    let today = nv.lua("return os.date('!%Y-%m-%d')").await;
    for row in [
        "credit: $7.5000 left of $10.0000 (used $2.5000)".to_string(),
        format!(
            "  {:<40} {:>10} {:>10} {:>12}",
            "first", 300, 30, "$0.003000"
        ),
        format!(
            "  {:<40} {:>10} {:>10} {:>12}",
            "second", 400, 40, "$0.004000"
        ),
        format!(
            "  {:<40} {:>10} {:>10} {:>12}",
            "m/one", 300, 30, "$0.003000"
        ),
        format!(
            "  {:<40} {:>10} {:>10} {:>12}",
            today.as_str().unwrap(),
            700,
            70,
            "$0.007000"
        ),
        format!(
            "  {:<40} {:>10} {:>10} {:>12}",
            "total", 700, 70, "$0.007000"
        ),
    ] {
        assert!(text.contains(&row), "missing {row:?} in\n{text}");
    }
    assert_eq!(
        server.requests_to("/api/v1/key")[0].headers["authorization"],
        format!("Bearer {TEST_KEY}")
    );
    nv.quit().await;
    // Totals survive a restart; an unlimited key says so.
    server.route("GET", "/api/v1/key", ok_json(key_body(None, None, 0.5)));
    let nv = Nvim::start(Start::new(home.path(), &server.base_url())).await;
    nv.exec("ZenUsage").await;
    nv.wait_for("vim.fn.search('credit: unlimited key', 'n') > 0", 10)
        .await;
    assert!(nv.text(0).await.contains(&format!(
        "  {:<40} {:>10} {:>10} {:>12}",
        "total", 700, 70, "$0.007000"
    )));
    nv.quit().await;
}
