//! A fake ACP agent (`fake_acp_agent.js`, run with node) scripted per test, and a Neovim whose
//! `agents.claude.acp_cmd` points at it.

use std::path::{Path, PathBuf};

use serde_json::{json, Value as Json};

use super::{FakeServer, Nvim, Start};

/// A scenario written for the fake agent, and where it logs what it received.
pub struct FakeAcp {
    pub script: PathBuf,
    pub log: PathBuf,
}

impl FakeAcp {
    /// Writes `scenario` (see fake_acp_agent.js) under `home`.
    pub fn new(home: &Path, mut scenario: Json) -> FakeAcp {
        let log = home.join("acp-log.jsonl");
        scenario["log"] = json!(log);
        let script = home.join("acp-scenario.json");
        std::fs::write(&script, scenario.to_string()).unwrap();
        FakeAcp { script, log }
    }

    /// Settings and environment that make `claude` (mode=chat) this fake.
    pub fn start(&self, home: &Path, base_url: &str) -> Start {
        let js = super::repo_root().join("tests/support/fake_acp_agent.js");
        let mut start = Start::new(home, base_url);
        start.setup = format!(
            "agents = {{ claude = {{ acp_cmd = {{ \"node\", {:?} }} }} }},",
            js.display().to_string()
        );
        start
            .env
            .push(("ZEN_FAKE_ACP".into(), self.script.display().to_string()));
        start
    }

    /// Every message the agent received (and its start records), in order.
    pub fn received(&self) -> Vec<Json> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The received messages calling `method`.
    pub fn calls(&self, method: &str) -> Vec<Json> {
        self.received()
            .into_iter()
            .filter(|m| m["method"] == method)
            .collect()
    }

    /// The reply the agent got to its own request `id` (its ids count from 1000).
    pub fn reply(&self, id: u64) -> Json {
        let found = self
            .received()
            .into_iter()
            .find(|m| m.get("method").is_none() && m["id"] == id);
        found.unwrap_or_else(|| panic!("no reply to {id}: {:?}", self.received()))
    }
}

/// A Neovim with an agent chat (`:ZenNew claude mode=chat`) on the fake agent running
/// `scenario`; the chat is the current buffer.
pub async fn acp_chat(scenario: Json) -> (FakeServer, Nvim, tempfile::TempDir, FakeAcp) {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let fake = FakeAcp::new(home.path(), scenario);
    let nv = Nvim::start(fake.start(home.path(), &server.base_url())).await;
    nv.install_event_counter().await;
    nv.exec("ZenNew claude mode=chat").await;
    (server, nv, home, fake)
}

/// A text chunk update.
pub fn say(text: &str) -> Json {
    json!({"update": {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": text}}})
}
