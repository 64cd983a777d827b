//! The back-end: where locks and release records live.
//!
//! Two traits, [`Lock`] and [`StateStore`], each with a local implementation
//! (files under the repository's `.deployer/`, the default when nothing is
//! configured) and an AWS one (DynamoDB and S3, shared by every team). The
//! compiler does not depend on any of this.

pub mod aws;
pub mod bootstrap;
pub mod config;
pub mod local;
pub mod lock;
pub mod protection;
pub mod releases;

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A lock's record: who holds it, for what, and until when.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LockInfo {
    pub lock_id: String,
    pub who: String,
    pub host: String,
    pub pid: u32,
    pub operation: String,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds; after this anyone may take the lock over.
    pub expires: i64,
}

/// The key of a stack's lock in one environment: `stack:<stack>:env:<environment>`.
pub fn lock_key(stack: &str, environment: &str) -> String {
    format!("stack:{stack}:env:{environment}")
}

/// The stack and environment of a lock key (`stack:S:env:E`).
pub fn parse_lock_key(key: &str) -> Option<(&str, &str)> {
    key.strip_prefix("stack:")?.split_once(":env:")
}

pub enum Acquire {
    Acquired,
    /// Someone else holds it (and it has not expired).
    Held(LockInfo),
}

/// Why a renew or release was refused.
#[derive(Debug)]
pub enum LockRefused {
    /// The lock is not held with this id (someone unlocked it or took it over).
    NotHolder(Option<LockInfo>),
    Backend(Error),
}

impl From<Error> for LockRefused {
    fn from(e: Error) -> Self {
        LockRefused::Backend(e)
    }
}

/// What to do about a lock record that cannot be read.
pub fn damaged_lock(what: String, key: &str) -> Error {
    let (stack, environment) = parse_lock_key(key).unwrap_or((key, "ENV"));
    Error::failed(what).with_help(format!(
        "make sure no deploy of it is running, then remove it: `deployer unlock --stack {stack} --environment {environment} --damaged`"
    ))
}

pub trait Lock: Send + Sync {
    /// One atomic attempt: takes the lock if it is free or expired.
    fn try_acquire(&self, key: &str, info: &LockInfo) -> Result<Acquire>;
    /// Moves the expiry of a lock this id holds.
    fn renew(&self, key: &str, lock_id: &str, expires: i64)
    -> std::result::Result<(), LockRefused>;
    /// Removes a lock this id holds.
    fn release(&self, key: &str, lock_id: &str) -> std::result::Result<(), LockRefused>;
    fn get(&self, key: &str) -> Result<Option<LockInfo>>;
    /// Every lock held, by key.
    fn list(&self) -> Result<Vec<(String, LockInfo)>>;
    /// Removes the lock record at `key` if it is damaged (cannot be read as a
    /// lock), returning what it held; `None`, removing nothing, when it is
    /// absent or readable (then `release` by its id is the way).
    fn remove_damaged(&self, key: &str) -> Result<Option<String>>;
    /// Where the locks are, for messages.
    fn describe(&self) -> String;
}

/// A conditional write that lost.
#[derive(Debug, PartialEq, Eq)]
pub enum Put {
    Done,
    /// `If-None-Match` found the object, or `If-Match` found another version.
    Conflict,
}

pub trait StateStore: Send + Sync {
    /// Writes an object that must not exist yet.
    fn put_new(&self, key: &str, bytes: &[u8]) -> Result<Put>;
    /// Replaces an object only if it is still the version read (`etag`), or
    /// creates it only if it does not exist (`None`).
    fn put_if(&self, key: &str, bytes: &[u8], etag: Option<&str>) -> Result<Put>;
    /// The object and its version tag.
    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String)>>;
    /// Keys under a prefix, sorted.
    fn list(&self, prefix: &str) -> Result<Vec<String>>;
    fn delete(&self, key: &str) -> Result<()>;
    fn describe(&self) -> String;
}

/// The back-end in use.
#[derive(Clone)]
pub struct Backend {
    pub lock: Arc<dyn Lock>,
    pub store: Arc<dyn StateStore>,
    pub kind: BackendKind,
    /// The AWS clients, for the AWS back-end.
    pub clients: Option<aws::Clients>,
}

#[derive(Clone, Debug)]
pub enum BackendKind {
    /// Files under this folder.
    Local(std::path::PathBuf),
    Aws(aws::Settings),
}

impl Backend {
    /// Who is acting, for locks and release records.
    pub fn who(&self, repo_root: &std::path::Path) -> String {
        crate::git::who(repo_root, || match &self.kind {
            BackendKind::Aws(_) => self.clients.as_ref().and_then(aws::Clients::caller_arn),
            BackendKind::Local(_) => None,
        })
    }

    /// The back-end the configuration names, or the local one in `repo_root`.
    pub fn open(settings: &config::Resolved, repo_root: &std::path::Path) -> Result<Backend> {
        match settings {
            config::Resolved::Aws(aws) => {
                let clients = aws::Clients::connect(aws)?;
                Ok(Backend {
                    lock: Arc::new(aws::DynamoLock::new(clients.clone(), aws)),
                    store: Arc::new(aws::S3Store::new(clients.clone(), aws)),
                    kind: BackendKind::Aws(aws.clone()),
                    clients: Some(clients),
                })
            }
            config::Resolved::Local => {
                // Nothing there belongs in git: `git add -A` would commit
                // programs and state (`fs::deployer_folder` writes its
                // `.gitignore`; `git clean -fdx` still removes it, which the
                // README warns about).
                let root = crate::fs::deployer_folder(repo_root).map_err(|e| {
                    Error::failed(format!("cannot prepare the local back-end: {e}")).with_source(e)
                })?;
                Ok(Backend {
                    lock: Arc::new(local::LocalLock::new(root.join("locks"))),
                    store: Arc::new(local::LocalStore::new(root.join("state"))),
                    kind: BackendKind::Local(root),
                    clients: None,
                })
            }
        }
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// "2 minutes ago", "in 58 minutes".
pub fn relative(timestamp: i64, now: i64) -> String {
    let delta = now - timestamp;
    let amount = |secs: i64| -> String {
        let secs = secs.abs();
        let (n, unit) = if secs < 60 {
            (secs, "second")
        } else if secs < 3600 {
            (secs / 60, "minute")
        } else if secs < 86400 {
            (secs / 3600, "hour")
        } else {
            (secs / 86400, "day")
        };
        format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
    };
    if delta >= 0 {
        format!("{} ago", amount(delta))
    } else {
        format!("in {}", amount(delta))
    }
}

/// Unix seconds as `2026-11-27 10:05:23 UTC`.
pub fn timestamp(secs: i64) -> String {
    jiff::Timestamp::from_second(secs).map_or_else(
        |_| secs.to_string(),
        |t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

/// Parses `30s`, `10m`, `1h`, `1h30m`, `2d` or plain seconds.
pub fn parse_duration(text: &str) -> std::result::Result<std::time::Duration, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(secs));
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not a duration like 30s, 10m or 1h"))?;
        number.clear();
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return Err(format!("`{text}` is not a duration like 30s, 10m or 1h")),
        };
    }
    if !number.is_empty() {
        return Err(format!(
            "`{text}` is not a duration like 30s, 10m or 1h (add a unit)"
        ));
    }
    Ok(std::time::Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap().as_secs(), 90);
        assert_eq!(parse_duration("10m").unwrap().as_secs(), 600);
        assert_eq!(parse_duration("1h30m").unwrap().as_secs(), 5400);
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("1h30").is_err());
    }

    #[test]
    fn relative_times() {
        assert_eq!(relative(100, 220), "2 minutes ago");
        assert_eq!(relative(3700, 100), "in 1 hour");
        assert_eq!(relative(100, 101), "1 second ago");
    }
}
