//! What a developer or a manual install meets before any chat: `make run` (scripts/run.sh) on
//! top of the user's own config, and `:help zen` without anyone running `:helptags`.

mod support;

use std::path::Path;
use std::process::Command;

use support::repo_root;

fn nvim_binary() -> String {
    std::env::var("ZEN_TEST_NVIM").unwrap_or_else(|_| "nvim".into())
}

/// A headless Neovim with its XDG directories under `home`.
fn nvim_in(home: &Path, program: &str) -> Command {
    let mut cmd = Command::new(program);
    for (var, dir) in [
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
    ] {
        cmd.env(var, home.join(dir));
    }
    cmd.env_remove("NVIM").env_remove("NVIM_LISTEN_ADDRESS");
    cmd
}

/// Runs `make run`'s script headless with `init.lua` as the user's config; returns the layout
/// zen ended up with and whether it counts as configured.
fn make_run_with_user_config(init_lua: &str) -> String {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config/nvim");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("init.lua"), init_lua).unwrap();
    let out = home.path().join("out");
    let report = format!(
        "lua vim.fn.writefile({{ require('zen.config').get().layout .. ' ' .. tostring(require('zen').configured) }}, {:?})",
        out.display().to_string()
    );
    let status = nvim_in(home.path(), "bash")
        .arg(repo_root().join("scripts/run.sh"))
        .args(["--headless", "-i", "NONE", "-c", &report, "-c", "qa!"])
        .env("ZEN_NVIM", nvim_binary())
        .status()
        .unwrap();
    assert!(status.success(), "scripts/run.sh failed: {status}");
    std::fs::read_to_string(out).unwrap().trim().to_string()
}

#[test]
fn make_run_keeps_the_users_setup() {
    let got = make_run_with_user_config(r#"require("zen").setup({ layout = "split" })"#);
    assert_eq!(got, "split true", "make run replaced the user's setup()");
}

#[test]
fn make_run_sets_zen_up_when_the_users_config_did_not() {
    let got = make_run_with_user_config("vim.o.number = true");
    assert_eq!(got, "vsplit true");
}

#[test]
fn help_zen_works_without_running_helptags() {
    // A manual install: the checkout on the runtimepath, nobody ran :helptags.
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    let status = nvim_in(home.path(), &nvim_binary())
        .args(["--headless", "-u", "NONE", "-i", "NONE", "--cmd"])
        .arg(format!("set rtp^={}", repo_root().display()))
        .args(["-c", "help zen", "-c"])
        .arg(format!(
            "lua vim.fn.writefile({{ vim.fn.expand('%:t') .. ' ' .. vim.v.errmsg }}, {:?})",
            out.display().to_string()
        ))
        .args(["-c", "qa!"])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(out).unwrap().trim(), "zen.txt");
}

#[test]
fn committed_help_tags_are_current() {
    let tmp = tempfile::tempdir().unwrap();
    let doc = tmp.path().join("doc");
    std::fs::create_dir_all(&doc).unwrap();
    std::fs::copy(repo_root().join("doc/zen.txt"), doc.join("zen.txt")).unwrap();
    let status = nvim_in(tmp.path(), &nvim_binary())
        .args(["--headless", "-u", "NONE", "-i", "NONE", "-c"])
        .arg(format!("helptags {}", doc.display()))
        .args(["-c", "qa!"])
        .status()
        .unwrap();
    assert!(status.success());
    let fresh = std::fs::read_to_string(doc.join("tags")).unwrap();
    let committed = std::fs::read_to_string(repo_root().join("doc/tags")).unwrap_or_default();
    assert!(
        fresh == committed,
        "doc/tags is out of date with doc/zen.txt: run `make helptags` and commit doc/tags"
    );
}
