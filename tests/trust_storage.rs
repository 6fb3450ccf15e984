//! Never lose a byte on disk: torn history lines, a full disk, `:qa!` mid-stream, an index that
//! is not UTF-8 or is a directory, `:ZenKill!` while a chat streams, and chat names.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use support::*;

fn state(home: &tempfile::TempDir) -> PathBuf {
    home.path().join("zen-state")
}

fn history_files(state: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(state.join("history"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect()
}

async fn start_again(home: &tempfile::TempDir, server: &FakeServer) -> Nvim {
    let nv = Nvim::start(Start::new(home.path(), &server.base_url())).await;
    nv.install_event_counter().await;
    nv
}

/// Reopens a session by name in a fresh Neovim and returns its buffer text.
async fn reopen(home: &tempfile::TempDir, server: &FakeServer, name: &str) -> (Nvim, String) {
    let nv = start_again(home, server).await;
    nv.lua(&format!("require('zen').open('{name}')")).await;
    nv.wait_for("vim.b.zen_session ~= nil", 5).await;
    let text = nv.text(0).await;
    (nv, text)
}

/// A slow answer: `n` parts `<tag><i> `, one every `every_ms`, then the socket hangs.
fn slow(tag: &str, n: usize, every_ms: u64) -> Reply {
    let parts = (0..n)
        .map(|i| Part {
            delay_ms: every_ms,
            bytes: content_chunk(&format!("{tag}{i} ")).into_bytes(),
        })
        .collect();
    Reply::Sse { parts, hang: true }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_history_line_does_not_swallow_the_next_prompt() {
    let (server, nv, home) = setup().await;
    server.push(sse(answer_body(&["one"], 1, 1, 0.0)));
    nv.exec("ZenNew openrouter model=test/model name=torn")
        .await;
    nv.type_prompt("first").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;
    // A crash (or a full disk) mid-write left half a record at the end.
    let file = &history_files(&state(&home))[0];
    let mut f = std::fs::OpenOptions::new().append(true).open(file).unwrap();
    f.write_all(b"{\"type\":\"partial\",\"text\":\"cu").unwrap();
    server.push(sse(answer_body(&["two"], 1, 1, 0.0)));
    nv.type_prompt("second").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(2, 10).await;
    nv.quit().await;

    let (nv, text) = reopen(&home, &server, "torn").await;
    assert!(
        text.contains("\nsecond\n") && text.contains("\ntwo\n"),
        "{text}"
    );
    let note = nv.wait_note("is not a valid record", 5).await;
    assert!(note.contains("line 4"), "{note}");
    nv.quit().await;
}

/// A tiny tmpfs mounted over a directory (tests run as root); unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_path_buf()))
    }

    /// Fills the file system; returns the filler to delete when space should come back.
    fn fill(&self) -> PathBuf {
        let filler = self.0.join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = [0u8; 4096];
        while f.write_all(&block).is_ok() {}
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_said_in_the_chat_and_the_answer_is_saved_once_space_is_back() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount(&state(&home), "256k") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let nv = start_again(&home, &server).await;
    server.push(sse(answer_body(&["one"], 1, 1, 0.0)));
    nv.exec("ZenNew openrouter model=test/model name=full")
        .await;
    nv.type_prompt("first").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(1, 10).await;

    let filler = disk.fill();
    let big = "x".repeat(300);
    let parts = (0..40)
        .map(|i| Part {
            delay_ms: 40,
            bytes: content_chunk(&format!("d{i}{big} ")).into_bytes(),
        })
        .collect();
    let mut parts: Vec<Part> = parts;
    parts.push(Part {
        delay_ms: 0,
        bytes: ending(1, 1, 0.0).into_bytes(),
    });
    server.push(Reply::Sse { parts, hang: false });
    nv.type_prompt("second").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(2, 15).await;
    let note = nv.wait_note("not saved yet", 5).await;
    assert!(
        note.starts_with("zen: this answer is not saved yet (") && note.contains("No space left"),
        "{note}"
    );
    let text = nv.text(0).await;
    assert!(
        text.contains("> [zen] this answer is not saved yet"),
        "{text}"
    );

    std::fs::remove_file(filler).unwrap();
    server.push(sse(answer_body(&["three"], 1, 1, 0.0)));
    nv.type_prompt("third").await;
    nv.exec("ZenSubmit").await;
    nv.wait_done(3, 10).await;
    nv.quit().await;

    let (nv, text) = reopen(&home, &server, "full").await;
    for want in [
        "\nfirst\n",
        "\none\n",
        "\nsecond\n",
        "d39",
        "\nthird\n",
        "\nthree\n",
    ] {
        assert!(text.contains(want), "{want:?} missing: {text}");
    }
    assert_eq!(text.matches("\nsecond\n").count(), 1, "{text}");
    assert_eq!(text.matches("d0x").count(), 1, "{text}");
    nv.quit().await;
    drop(disk);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quitting_mid_stream_keeps_every_byte_received() {
    let (server, nv, home) = setup().await;
    server.push(slow("q", 200, 40));
    nv.exec("ZenNew openrouter model=test/model name=quitter")
        .await;
    nv.type_prompt("go").await;
    nv.exec("ZenSubmit").await;
    // Past the first partial save (1 s): the last ones arrived since and are only in memory.
    nv.wait_for("vim.fn.search('q34 ', 'n') > 0", 15).await;
    let quit_at = SystemTime::now();
    nv.quit().await;
    let settled = quit_at - Duration::from_millis(150);
    let received = server.sent().iter().filter(|p| p.written < settled).count();
    assert!(received >= 30, "{received}");

    let (nv, text) = reopen(&home, &server, "quitter").await;
    let last = format!("q{} ", received - 1);
    assert!(text.contains(&last), "{last:?} missing: {text}");
    assert!(text.contains("> [zen] interrupted"), "{text}");
    nv.quit().await;
}

async fn survivor_after(home: &tempfile::TempDir, server: &FakeServer, note: &str) {
    let nv = start_again(home, server).await;
    nv.lua("vim.ui.select = function(_, _, cb) cb(nil) end")
        .await;
    nv.lua("_G.rows = require('zen').list() or {}").await;
    nv.wait_note(note, 5).await;
    let names = nv
        .lua("return vim.tbl_map(function(r) return r.name end, _G.rows)")
        .await;
    assert_eq!(names, serde_json::json!(["survivor"]));
    let aside = std::fs::read_dir(state(home)).unwrap().flatten().any(|e| {
        e.file_name()
            .to_string_lossy()
            .contains("sessions.json.corrupt-")
    });
    assert!(aside, "the bad index is kept aside");
    let index = std::fs::read_to_string(state(home).join("sessions.json")).unwrap();
    assert!(index.contains("\"survivor\""), "{index}");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_index_that_is_not_utf8_is_kept_aside_and_rebuilt() {
    let (server, nv, home) = setup().await;
    nv.exec("ZenNew openrouter model=test/model name=survivor")
        .await;
    nv.quit().await;
    std::fs::write(state(&home).join("sessions.json"), b"[\xff\xfe]").unwrap();
    survivor_after(&home, &server, "was corrupt").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_in_place_of_the_session_index_is_kept_aside_and_rebuilt() {
    let (server, nv, home) = setup().await;
    nv.exec("ZenNew openrouter model=test/model name=survivor")
        .await;
    nv.quit().await;
    let index = state(&home).join("sessions.json");
    std::fs::remove_file(&index).unwrap();
    std::fs::create_dir_all(index.join("inside")).unwrap();
    survivor_after(&home, &server, "is a directory").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_streaming_chat_leaves_no_history_behind() {
    let (server, nv, home) = setup().await;
    server.push(slow("k", 200, 20));
    nv.exec("ZenNew openrouter model=test/model name=doomed")
        .await;
    nv.type_prompt("go").await;
    nv.exec("ZenSubmit").await;
    nv.wait_for("vim.fn.search('k3 ', 'n') > 0", 10).await;
    nv.exec("ZenKill! doomed").await;
    nv.wait_note("killed doomed", 5).await;
    tokio::time::sleep(Duration::from_millis(1500)).await; // the dying turn has ended
    assert!(history_files(&state(&home)).is_empty());
    let index = std::fs::read_to_string(state(&home).join("sessions.json")).unwrap();
    assert!(!index.contains("doomed"), "{index}");
    nv.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_renamed_with_a_dot_is_not_refused_with_the_agents_rule() {
    let (_server, nv, home) = setup().await;
    nv.exec("ZenNew openrouter model=test/model name=chat")
        .await;
    nv.exec("ZenRename v1.2").await;
    assert_eq!(
        nv.lua("return vim.api.nvim_buf_get_name(0)").await,
        "zen://v1.2"
    );
    assert!(nv.text(0).await.starts_with("# zen · v1.2 · test/model"));
    let index = std::fs::read_to_string(state(&home).join("sessions.json")).unwrap();
    assert!(index.contains("\"v1.2\""), "{index}");
    assert!(nv.notes().await.is_empty(), "{:?}", nv.notes().await);
    nv.quit().await;
}
