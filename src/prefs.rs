//! Choices the user made in the editor that outlive it: the default model picked outside a chat,
//! and the recently used models the picker lists first. Kept in `prefs.json`, written atomically.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How many recently used models are remembered.
const RECENT: usize = 10;

/// The remembered choices.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Prefs {
    /// `:ZenModel {id}` outside a chat: the model new chats use (over `setup()`'s default).
    #[serde(default)]
    pub default_model: Option<String>,
    /// Most recent first.
    #[serde(default)]
    pub recent_models: Vec<String>,
}

impl Prefs {
    fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("prefs.json")
    }

    /// Reads the file; a missing or unreadable one gives the defaults (and a warning if corrupt).
    pub fn load(state_dir: &Path) -> (Prefs, Option<String>) {
        let path = Prefs::path(state_dir);
        let Ok(text) = std::fs::read_to_string(&path) else {
            return (Prefs::default(), None);
        };
        match serde_json::from_str::<Prefs>(&text) {
            Ok(mut p) => {
                // The file is the user's, but anything may have written it: keep only usable ids.
                let usable = |id: &String| crate::data::model_id::check(id).is_ok();
                p.default_model = p.default_model.filter(usable);
                p.recent_models.retain(usable);
                (p, None)
            }
            Err(e) => {
                let aside = path.with_extension("json.corrupt");
                let _ = std::fs::rename(&path, &aside);
                let warning = format!(
                    "{} was corrupt ({e}); kept it as {} and started afresh",
                    path.display(),
                    aside.display()
                );
                (Prefs::default(), Some(warning))
            }
        }
    }

    /// Writes the file atomically.
    pub fn save(&self, state_dir: &Path) -> anyhow::Result<()> {
        crate::store::write_atomic(&Prefs::path(state_dir), &serde_json::to_vec_pretty(self)?)
    }

    /// Moves `model` to the front of the recent list.
    pub fn used(&mut self, model: &str) {
        self.recent_models.retain(|m| m != model);
        self.recent_models.insert(0, model.to_string());
        self.recent_models.truncate(RECENT);
    }
}
