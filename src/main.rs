//! zen-portal backend: started by the Neovim plugin with `jobstart(..., {rpc = true})`.
//!
//! stdout carries msgpack-RPC only, so everything else (logs, panics) goes to a file.

mod acp;
mod agents;
mod app;
mod chats;
mod config;
mod data;
mod edit;
mod models;
mod nvim;
mod openrouter;
mod prefs;
mod refs;
mod rpc;
mod send;
mod spend;
mod store;

use std::path::PathBuf;

use clap::Parser;

/// Command line of the backend; Neovim passes these, people rarely do.
#[derive(Parser, Debug)]
#[command(
    name = "zen-portal",
    version,
    about = "Backend of the zen-portal Neovim plugin"
)]
struct Cli {
    /// Where to write the log (never stdout: it carries RPC).
    #[arg(long)]
    log_file: Option<PathBuf>,
    /// Log filter, e.g. `info` or `zen_portal=debug`.
    #[arg(long, default_value = "info")]
    log_level: String,
    /// Print the RPC protocol version and exit.
    #[arg(long)]
    protocol: bool,
    /// Print the settings schema (defaults and option types) as JSON and exit (for tests).
    #[arg(long, hide = true)]
    schema: bool,
    /// Print the defaults block of `:help zen-options` and exit.
    #[arg(long, hide = true)]
    defaults_doc: bool,
    /// Check the project file that applies to this directory, print a JSON report and exit
    /// (for `:checkhealth zen`).
    #[arg(long, hide = true, value_name = "DIR")]
    check_project: Option<PathBuf>,
    /// Run the program after `--` with the variables read from this fifo (an agent started
    /// with a secret in its environment, see `agents::handoff`).
    #[arg(long = "agent-env", hide = true, value_name = "FIFO")]
    agent_env: Option<PathBuf>,
    /// The agent's command line (with --agent-env).
    #[arg(last = true, hide = true)]
    agent_argv: Vec<String>,
}

fn main() {
    let cli = Cli::parse();
    if let Some(fifo) = &cli.agent_env {
        // Only returns when the agent could not be started.
        eprintln!("{}", agents::handoff::exec(fifo, &cli.agent_argv));
        std::process::exit(1);
    }
    run(cli);
}

#[tokio::main]
async fn run(cli: Cli) {
    if cli.protocol {
        println!("{}", rpc::PROTOCOL);
        return;
    }
    if cli.schema {
        println!("{}", config::schema_json());
        return;
    }
    if cli.defaults_doc {
        print!("{}", config::defaults_doc());
        return;
    }
    if let Some(dir) = &cli.check_project {
        let (file, problems) = config::project_problems(dir);
        println!(
            "{}",
            serde_json::json!({"file": file, "problems": problems})
        );
        return;
    }
    init_logging(&cli);
    // reqwest is built without a default TLS provider; pick ring (no C toolchain surprises).
    let _ = rustls::crypto::ring::default_provider().install_default();
    if let Err(err) = rpc::serve().await {
        tracing::error!("backend stopped: {err:#}");
        std::process::exit(1);
    }
    // Everything is saved; do not wait for the blocking stdin reader (after a signal, Neovim may
    // still hold the pipe open, and it waits for us before quitting).
    std::process::exit(0);
}

fn init_logging(cli: &Cli) {
    let Some(path) = &cli.log_file else { return };
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .init();
    std::panic::set_hook(Box::new(|info| tracing::error!("panic: {info}")));
}
