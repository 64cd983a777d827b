//! The few things deployer asks git: who you are and which commit you deploy.

use std::path::Path;
use std::process::Command;

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
