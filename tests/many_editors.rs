//! Two Neovims open on one state_dir (the common case): each sees the sessions the other makes,
//! renames or kills at its next command, a killed session stays dead, the usage ledger stays
//! whole, and one chat never has two writers.

mod support;

use support::*;

/// Records the rows `:ZenList` shows, and closes the menu.
const RECORD_LIST: &str = r#"
  vim.ui.select = function(items, opts, cb)
    table.insert(_G.listed, vim.tbl_map(opts.format_item or tostring, items))
    cb(nil)
  end
"#;

async fn editor(home: &tempfile::TempDir, server: &FakeServer) -> Nvim {
    let nv = Nvim::start(Start::new(home.path(), &server.base_url())).await;
    nv.install_event_counter().await;
    nv.lua(RECORD_LIST).await;
    nv
}

/// The rows of `:ZenList`, as the user sees them.
async fn listed(nv: &Nvim) -> Vec<String> {
    nv.lua("_G.listed = {}").await;
    nv.exec("ZenList").await;
    let rows = nv.lua("return _G.listed[1] or {}").await;
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}

fn shows(rows: &[String], name: &str) -> bool {
    rows.iter()
        .any(|r| r.split_whitespace().any(|word| word == name))
}

fn index(home: &tempfile::TempDir) -> serde_json::Value {
    let text = std::fs::read_to_string(home.path().join("zen-state/sessions.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn index_names(home: &tempfile::TempDir) -> Vec<String> {
    let mut names: Vec<String> = index(home)
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_made_in_one_editor_is_listed_in_the_other() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let a = editor(&home, &server).await;
    let b = editor(&home, &server).await;
    a.exec("ZenNew openrouter model=test/model name=alpha")
        .await;
    b.exec("ZenNew openrouter model=test/model name=beta").await;
    a.exec("ZenNew openrouter model=test/model name=gamma")
        .await;

    for (who, nv) in [("a", &a), ("b", &b)] {
        let rows = listed(nv).await;
        for name in ["alpha", "beta", "gamma"] {
            assert!(shows(&rows, name), "{who} misses {name}: {rows:?}");
        }
    }
    assert_eq!(index_names(&home), ["alpha", "beta", "gamma"]);
    a.quit().await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_killed_in_one_editor_stays_dead_in_the_other() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let a = editor(&home, &server).await;
    let b = editor(&home, &server).await;
    a.exec("ZenNew openrouter model=test/model name=alpha")
        .await;
    a.exec("ZenNew openrouter model=test/model name=gamma")
        .await;
    b.exec("ZenNew openrouter model=test/model name=beta").await;

    a.exec("ZenKill! alpha").await;
    a.wait_note("killed alpha", 5).await;
    let rows = listed(&b).await;
    assert!(!shows(&rows, "alpha"), "{rows:?}");
    // b writes the index (a rename): the session it used to know must not come back.
    b.exec("ZenRename beta2").await;
    let rows = listed(&a).await;
    assert!(!shows(&rows, "alpha"), "{rows:?}");
    assert!(shows(&rows, "beta2") && shows(&rows, "gamma"), "{rows:?}");
    assert_eq!(index_names(&home), ["beta2", "gamma"]);
    let histories = std::fs::read_dir(home.path().join("zen-state/history"))
        .unwrap()
        .count();
    assert_eq!(histories, 2, "the killed session's history is gone");
    let note = b.lua("return _G.zen_notes").await.to_string();
    assert!(!note.contains("error"), "{note}");
    a.quit().await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_chat_submitted_from_two_editors_is_refused_in_the_second() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let a = editor(&home, &server).await;
    let b = editor(&home, &server).await;
    a.exec("ZenNew openrouter model=test/model name=shared")
        .await;
    b.lua("require('zen').open('shared')").await;
    b.wait_for("vim.b.zen_session ~= nil", 5).await;

    let parts = (0..100)
        .map(|i| Part {
            delay_ms: 30,
            bytes: content_chunk(&format!("a{i} ")).into_bytes(),
        })
        .collect();
    server.push(Reply::Sse { parts, hang: true });
    a.type_prompt("from a").await;
    a.exec("ZenSubmit").await;
    a.wait_for("vim.fn.search('a3 ', 'n') > 0", 10).await;

    b.type_prompt("from b").await;
    b.exec("ZenSubmit").await;
    let note = b.wait_note("answering in another Neovim", 5).await;
    assert_eq!(
        note,
        "zen: shared is answering in another Neovim. Wait for it, or stop it there."
    );
    assert_eq!(server.requests_to("/api/v1/chat/completions").len(), 1);

    a.exec("ZenStop").await;
    a.wait_done(1, 10).await;
    let history = std::fs::read_dir(home.path().join("zen-state/history"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(history).unwrap();
    assert!(
        text.contains("from a") && !text.contains("from b"),
        "{text}"
    );
    a.quit().await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_from_two_editors_stays_whole() {
    let server = FakeServer::start().await;
    server.route(
        "GET",
        "/api/v1/key",
        ok_json(key_body(Some(10.0), Some(7.5), 2.5)),
    );
    let home = tempfile::tempdir().unwrap();
    let a = editor(&home, &server).await;
    let b = editor(&home, &server).await;
    b.exec("ZenNew openrouter model=test/model name=bee").await;
    a.exec("ZenNew openrouter model=test/model name=ant").await;

    server.push(sse(answer_body(&["one"], 10, 1, 0.5)));
    a.type_prompt("q1").await;
    a.exec("ZenSubmit").await;
    a.wait_done(1, 10).await;
    server.push(sse(answer_body(&["two"], 20, 2, 0.25)));
    b.type_prompt("q2").await;
    b.exec("ZenSubmit").await;
    b.wait_done(1, 10).await;
    server.push(sse(answer_body(&["three"], 30, 3, 1.0)));
    a.type_prompt("q3").await;
    a.exec("ZenSubmit").await;
    a.wait_done(2, 10).await;

    b.exec("ZenUsage").await;
    b.wait_for("vim.fn.search('credit: \\\\$7', 'n') > 0", 10)
        .await;
    let text = b.text(0).await;
    let row = |label: &str, tin: u64, out: u64, cost: &str| {
        format!("  {label:<40} {tin:>10} {out:>10} {cost:>12}")
    };
    assert!(text.contains(&row("ant", 40, 4, "$1.5000")), "{text}");
    assert!(text.contains(&row("bee", 20, 2, "$0.2500")), "{text}");
    assert!(text.contains(&row("total", 60, 6, "$1.7500")), "{text}");
    assert!(!text.contains("(killed)"), "{text}");

    let costs: Vec<(String, f64, u64)> = index(&home)
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let t = &m["totals"];
            let name = m["name"].as_str().unwrap().to_string();
            (
                name,
                t["cost"].as_f64().unwrap(),
                t["turns"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(costs.contains(&("ant".into(), 1.5, 2)), "{costs:?}");
    assert!(costs.contains(&("bee".into(), 0.25, 1)), "{costs:?}");
    a.quit().await;
    b.quit().await;
}
