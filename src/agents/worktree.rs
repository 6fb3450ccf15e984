//! A git worktree per agent session (`worktree=true`), on branch `zen/<name>`, so agents can
//! change code without stepping on each other or on the user's checkout.

use std::path::{Path, PathBuf};

use tokio::process::Command;

/// Why a worktree could not be made, checked or removed.
#[derive(Debug, thiserror::Error)]
pub enum WorktreeError {
    #[error("running git: {0}")]
    Run(std::io::Error),
    /// git ran and refused: what it said.
    #[error("{0}")]
    Git(String),
    #[error("zen: worktree=true needs a git repository, and {0} is not in one.")]
    NotARepository(String),
    #[error("zen: '{0}' is not a valid git branch name. Pick another session name.")]
    BadBranch(String),
    #[error("zen: creating {0}: {1}.")]
    Create(String, std::io::Error),
    #[error("zen: git worktree add failed: {0}.")]
    Add(Box<WorktreeError>),
}

async fn git(dir: &Path, args: &[&str]) -> Result<String, WorktreeError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .await
        .map_err(WorktreeError::Run)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(WorktreeError::Git(said))
    }
}

/// Whether `name` makes a valid branch `zen/<name>` (git check-ref-format).
pub async fn branch_ok(dir: &Path, name: &str) -> bool {
    git(
        dir,
        &["check-ref-format", "--branch", &format!("zen/{name}")],
    )
    .await
    .is_ok()
}

/// Creates the worktree of session `name` for the repository at `dir`, beside the others under
/// `base`. Returns its path and branch.
pub async fn add(dir: &Path, name: &str, base: &Path) -> Result<(PathBuf, String), WorktreeError> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])
        .await
        .map_err(|_| WorktreeError::NotARepository(dir.display().to_string()))?;
    let top = PathBuf::from(top.trim());
    let repo = top.file_name().and_then(|n| n.to_str()).unwrap_or("repo");
    let path = base.join(format!("{repo}-{name}"));
    let branch = format!("zen/{name}");
    if !branch_ok(&top, name).await {
        return Err(WorktreeError::BadBranch(branch));
    }
    std::fs::create_dir_all(base)
        .map_err(|e| WorktreeError::Create(base.display().to_string(), e))?;
    let path_text = path.to_string_lossy().to_string();
    // A branch left by an earlier session of this name is reused, with its commits.
    let exists = git(
        &top,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ],
    )
    .await
    .is_ok();
    let args: Vec<&str> = if exists {
        vec!["worktree", "add", &path_text, &branch]
    } else {
        vec!["worktree", "add", "-b", &branch, &path_text]
    };
    git(&top, &args)
        .await
        .map_err(|e| WorktreeError::Add(Box::new(e)))?;
    Ok((path, branch))
}

/// How many files in the worktree have uncommitted changes (untracked included).
pub async fn dirty_files(path: &Path) -> Result<usize, WorktreeError> {
    let out = git(path, &["status", "--porcelain"]).await?;
    Ok(out.lines().filter(|l| !l.trim().is_empty()).count())
}

/// Removes the worktree (its branch stays, with any commits on it).
pub async fn remove(path: &Path) -> Result<(), WorktreeError> {
    let path_text = path.to_string_lossy().to_string();
    git(path, &["worktree", "remove", "--force", &path_text])
        .await
        .map(drop)
}
