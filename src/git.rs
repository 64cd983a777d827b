//! The few things deployer asks git: who you are and which commit you deploy.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Runs `git -C dir ARGS` and returns its trimmed output, or `None` when git is
/// missing or the command fails.
pub fn output(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

pub fn user_email(dir: &Path) -> Option<String> {
    output(dir, &["config", "user.email"])
}

/// The commit being deployed, with `-dirty` when the work tree has changes.
pub fn commit(dir: &Path) -> Option<String> {
    let head = output(dir, &["rev-parse", "--short=12", "HEAD"])?;
    let dirty = output(
        dir,
        &["status", "--porcelain", "--untracked-files=no", "--", "."],
    )
    .is_some();
    Some(if dirty { format!("{head}-dirty") } else { head })
}

/// Who is acting: `DEPLOYER_USER`, else git's `user.email`, else the AWS caller
/// identity, else `user@host`.
pub fn who(dir: &Path, aws_identity: impl FnOnce() -> Option<String>) -> String {
    if let Some(user) = std::env::var("DEPLOYER_USER")
        .ok()
        .filter(|u| !u.is_empty())
    {
        return user;
    }
    if let Some(email) = user_email(dir) {
        return email;
    }
    if let Some(arn) = aws_identity() {
        return arn;
    }
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    format!("{user}@{}", gethostname::gethostname().to_string_lossy())
}

/// The deployment repository as it was at a git revision, in a temporary folder.
pub struct Checkout {
    _dir: tempfile::TempDir,
    /// The deployment repository's folder in the checkout.
    pub root: PathBuf,
}

impl Checkout {
    /// `repo_root` at `revision` (the repository may be a folder of a larger git
    /// work tree: the same folder is taken).
    pub fn at(repo_root: &Path, revision: &str) -> Result<Checkout> {
        let git = |args: &[&str]| -> Result<String> {
            let out = Command::new("git")
                .arg("-C")
                .arg(repo_root)
                .args(args)
                .output()
                .map_err(|e| {
                    Error::failed(format!("cannot run git: {e}"))
                        .with_help("comparing with a git revision needs git on PATH")
                })?;
            if !out.status.success() {
                let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
                return Err(Error::failed(format!("git {}: {msg}", args.join(" "))));
            }
            Ok(String::from_utf8_lossy(&out.stdout)
                .trim_end_matches('\n')
                .to_string())
        };
        git(&["rev-parse", "--show-toplevel"]).map_err(|e| {
            e.with_help("comparing with a git revision needs the repository to be a git work tree")
        })?;
        git(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{revision}^{{commit}}"),
        ])
        .map_err(|_| {
            Error::usage(format!("unknown git revision `{revision}`")).with_help(
                "give a branch, tag or commit, e.g. `--against main` or `--against HEAD~1`",
            )
        })?;
        let prefix = git(&["rev-parse", "--show-prefix"])?;
        let dir = tempfile::tempdir()
            .map_err(|e| Error::failed(format!("cannot create a temporary folder: {e}")))?;
        let top = git(&["rev-parse", "--show-toplevel"])?;
        let mut archive = Command::new("git")
            .arg("-C")
            .arg(&top)
            .args(["archive", "--format=tar", revision])
            .args(if prefix.is_empty() {
                vec![]
            } else {
                vec![prefix.clone()]
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::failed(format!("cannot run git archive: {e}")))?;
        let stdout = archive.stdout.take().expect("piped");
        let status = Command::new("tar")
            .arg("-x")
            .arg("-C")
            .arg(dir.path())
            .stdin(stdout)
            .status()
            .map_err(|e| Error::failed(format!("cannot run tar: {e}")))?;
        let archived = archive
            .wait()
            .map_err(|e| Error::failed(format!("git archive failed: {e}")))?;
        if !status.success() || !archived.success() {
            // The folder may not exist at that revision; an empty checkout means "nothing there".
            std::fs::create_dir_all(dir.path().join(&prefix)).ok();
        }
        let root = dir.path().join(Path::new(&prefix));
        Ok(Checkout { _dir: dir, root })
    }
}
