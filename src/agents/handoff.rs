//! Handing secret environment variables (the OpenRouter key of `:ZenNew claude via=openrouter`)
//! to one agent's process only. An argv is readable by everyone (`/proc/*/cmdline`, and tmux's
//! `-e VAR=value` is argv), tmux's environment is shared by its sessions, and a tmux server
//! that is already running starts a new pane with *its own* environment, not ours. So the pane
//! runs `zen-portal --agent-env <fifo> -- <argv>`: the backend puts the variables into a 0600
//! fifo in a 0700 directory (a pipe: the bytes live in the kernel, never on disk), the wrapper
//! reads them, removes the fifo and `exec`s the agent with them. The same works in a plain
//! Neovim terminal, so the key never passes through Lua.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long the variables wait in the fifo for the wrapper to read them.
const WAIT: Duration = Duration::from_secs(60);
/// How long the wrapper waits for the variables.
const READ_WAIT: Duration = Duration::from_secs(10);

/// The flag that makes `zen-portal` the wrapper.
pub const FLAG: &str = "--agent-env";

/// Puts `vars` into a new fifo under `run_dir` and answers the wrapped argv that starts `argv`
/// with them. The fifo is held open (so the bytes wait in the pipe) until the wrapper has
/// removed it, at most a minute; then it is removed anyway.
pub async fn prepare(
    run_dir: &Path,
    vars: &[(&str, &str)],
    argv: &[String],
) -> Result<Vec<String>, String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(run_dir)
        .map_err(|e| format!("making {}: {e}", run_dir.display()))?;
    let fifo = run_dir.join(format!("{}.fifo", uuid::Uuid::new_v4()));
    let made = tokio::process::Command::new("mkfifo")
        .arg("-m")
        .arg("600")
        .arg(&fifo)
        .status()
        .await
        .map_err(|e| format!("running mkfifo: {e}"))?;
    if !made.success() {
        return Err(format!("mkfifo {} failed", fifo.display()));
    }
    // Read and write: opening does not wait for a reader, and the pipe stays alive meanwhile.
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo);
    let mut pipe = match opened {
        Ok(p) => p,
        Err(e) => {
            let _ = std::fs::remove_file(&fifo);
            return Err(format!("opening {}: {e}", fifo.display()));
        }
    };
    if let Err(e) = pipe.write_all(&encode(vars)) {
        let _ = std::fs::remove_file(&fifo);
        return Err(format!("writing to {}: {e}", fifo.display()));
    }
    let held = fifo.clone();
    tokio::spawn(async move {
        let deadline = Instant::now() + WAIT;
        while held.exists() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = std::fs::remove_file(&held);
        drop(pipe);
    });
    let exe = std::env::current_exe().map_err(|e| format!("finding zen-portal: {e}"))?;
    let mut wrapped = vec![
        exe.to_string_lossy().into_owned(),
        FLAG.into(),
        fifo.to_string_lossy().into_owned(),
        "--".into(),
    ];
    wrapped.extend(argv.iter().cloned());
    Ok(wrapped)
}

/// `NAME=VALUE\0` per variable, then one more `\0`: the reader stops there (the pipe has no
/// end of file while the backend holds it).
fn encode(vars: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in vars {
        out.extend_from_slice(format!("{k}={v}").as_bytes());
        out.push(0);
    }
    out.push(0);
    out
}

fn decode(input: impl Read) -> Result<Vec<(String, String)>, String> {
    let mut reader = BufReader::new(input);
    let mut vars = Vec::new();
    loop {
        let mut record = Vec::new();
        let n = reader
            .read_until(0, &mut record)
            .map_err(|e| e.to_string())?;
        if n == 0 || record.last() != Some(&0) {
            return Err("the variables ended early".into());
        }
        record.pop();
        if record.is_empty() {
            return Ok(vars);
        }
        let text = String::from_utf8(record).map_err(|_| "a variable is not UTF-8")?;
        let (k, v) = text.split_once('=').ok_or("a variable has no '='")?;
        vars.push((k.to_string(), v.to_string()));
    }
}

/// The wrapper (`zen-portal --agent-env <fifo> -- <argv>`): reads the variables, removes the
/// fifo and becomes the agent. Returns only on failure, with the line to print.
pub fn exec(fifo: &Path, argv: &[String]) -> String {
    let Some(program) = argv.first() else {
        return "zen: no program to run after --. This is zen-portal's agent wrapper.".into();
    };
    let path = PathBuf::from(fifo);
    let (tx, rx) = std::sync::mpsc::channel();
    // Opening blocks while nobody holds the other end: wait on a thread, bounded.
    std::thread::spawn(move || {
        let _ = tx.send(
            std::fs::File::open(&path)
                .map_err(|e| e.to_string())
                .and_then(decode),
        );
    });
    let vars = match rx.recv_timeout(READ_WAIT) {
        Ok(Ok(vars)) => vars,
        Ok(Err(e)) => return unreadable(&e),
        Err(_) => return unreadable("nothing came"),
    };
    let _ = std::fs::remove_file(fifo);
    let err = std::process::Command::new(program)
        .args(&argv[1..])
        .envs(vars)
        .exec();
    format!("zen: could not start {program}: {err}. Check agents.claude.cmd.")
}

fn unreadable(why: &str) -> String {
    format!("zen: this agent's environment could not be read ({why}). Open it again from :ZenList.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_survive_the_round_trip_with_empty_values_and_equals_signs() {
        let vars = [("A", "x=y"), ("EMPTY", ""), ("C", "sk-or-1")];
        let back = decode(&encode(&vars)[..]).unwrap();
        let want: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(back, want);
    }

    #[test]
    fn a_cut_off_stream_is_an_error_not_fewer_variables() {
        let bytes = encode(&[("A", "1"), ("B", "2")]);
        assert!(decode(&bytes[..bytes.len() - 3]).is_err());
    }
}
