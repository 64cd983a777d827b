//! Release records: deployer's own history of what was applied.
//!
//! Under `stacks/<stack>/<environment>/` in the state store:
//! `releases/000007/release.json` (written when the release starts),
//! `releases/000007/result.json` (when it ends), the program it applied beside
//! them, and `latest.json`, a pointer to the newest release. Every object is
//! written once with `If-None-Match: *`, the pointer with `If-Match`, so two
//! writers can never overwrite each other's record — the loser fails loudly.

use super::{Put, StateStore};
use crate::artifacts::{Artifacts, sha256};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// What a release is about, written when it starts.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ReleaseStart {
    pub number: u32,
    /// `apply` or `rollback`.
    pub operation: String,
    pub stack: String,
    pub environment: String,
    pub who: String,
    pub host: String,
    /// Unix seconds.
    pub started: i64,
    pub variables: BTreeMap<String, String>,
    pub git_commit: Option<String>,
    pub program_hash: String,
    pub deployer_version: String,
    /// Who AWS says is acting (the caller's STS ARN), beside the self-declared
    /// `who` (DEPLOYER_USER or git's user.email), for the shared back-end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_identity: Option<String>,
    /// The pulumi-aws version the program pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_version: Option<String>,
    pub lock_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// For a rollback: the release whose program was applied again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_release: Option<u32>,
    /// For `apply --plan`: the hash of the reviewed plan it applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_hash: Option<String>,
    /// For `apply --plan`: who made the reviewed plan (`who` applied it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_by: Option<String>,
    /// The hash of every file stored beside this record (`Pulumi.yaml`,
    /// `Pulumi.<environment>.yaml`, `manifest.json`), checked whenever one is
    /// read: a stored program edited afterwards, with or without its
    /// manifest, is never applied again. (Empty in records written before
    /// deployer kept them: then the manifest's program hash is checked.)
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Succeeded,
    Failed,
    Cancelled,
    /// Its process stopped (killed, crashed, lost its machine) before recording
    /// how it ended; written by the next apply, which recovers.
    Interrupted,
    /// `deployer destroy` removed every resource: nothing is deployed after it.
    Destroyed,
}

/// How a release ended, written when it ends.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ReleaseResult {
    pub number: u32,
    pub status: Status,
    /// Unix seconds.
    pub finished: i64,
    pub duration_ms: u64,
    #[serde(default)]
    pub outputs: BTreeMap<String, Json>,
    /// Per component: what happened and how long it took.
    #[serde(default)]
    pub components: BTreeMap<String, ComponentResult>,
    /// Resource operations by kind (`create`, `update`, ...).
    #[serde(default)]
    pub changes: BTreeMap<String, u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Set on a failed release when deployer rolled back: the release that did it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back_by: Option<u32>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ComponentResult {
    /// `create`, `update`, `replace`, `delete`, `same`.
    pub operation: String,
    pub duration_ms: u64,
    pub failed: bool,
}

/// A release as read back: its start, and its end if it has one.
#[derive(Clone, Debug, PartialEq)]
pub struct Release {
    pub start: ReleaseStart,
    pub result: Option<ReleaseResult>,
}

impl ReleaseStart {
    /// `LOG_LEVEL=info VERSION=v1.0.0`: the variables as history, status and
    /// rollback show them.
    pub fn variables_line(&self) -> String {
        let pairs: Vec<String> = self
            .variables
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        pairs.join(" ")
    }
}

impl Release {
    /// `succeeded`, `failed`, `cancelled`, or `in_progress` when it never ended
    /// (still running, or its process died).
    pub fn status(&self) -> &'static str {
        match self.result.as_ref().map(|r| r.status) {
            Some(Status::Succeeded) => "succeeded",
            Some(Status::Failed) => "failed",
            Some(Status::Cancelled) => "cancelled",
            Some(Status::Interrupted) => "interrupted",
            Some(Status::Destroyed) => "destroyed",
            None => "in_progress",
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Pointer {
    number: u32,
}

/// The releases of one stack and environment.
pub struct Releases<'a> {
    store: &'a dyn StateStore,
    prefix: String,
}

fn number_dir(n: u32) -> String {
    format!("releases/{n:06}")
}

fn conflict(what: String) -> Error {
    Error::failed(what).with_help("another deployer process wrote the same release: is someone deploying without the lock (a broken lock)? Run `deployer history` and try again")
}

impl<'a> Releases<'a> {
    pub fn new(store: &'a dyn StateStore, stack: &str, environment: &str) -> Releases<'a> {
        Releases {
            store,
            prefix: format!("stacks/{stack}/{environment}/"),
        }
    }

    fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }

    /// Numbers of every release, ascending.
    pub fn numbers(&self) -> Result<Vec<u32>> {
        let keys = self.store.list(&self.key("releases/"))?;
        let mut numbers: Vec<u32> = keys
            .iter()
            .filter_map(|k| {
                k.strip_prefix(&self.key("releases/"))?
                    .split('/')
                    .next()?
                    .parse()
                    .ok()
            })
            .collect();
        // Keys sort as text ("1000000" before "999999"): sort as numbers.
        numbers.sort_unstable();
        numbers.dedup();
        Ok(numbers)
    }

    /// Records the start of a release and the program it applies, as the next
    /// number. Returns the number.
    pub fn begin(&self, mut start: ReleaseStart, files: &Artifacts) -> Result<u32> {
        let last = self.numbers()?.last().copied().unwrap_or(0);
        let number = last.checked_add(1).ok_or_else(|| {
            Error::failed(format!(
                "{} has a release numbered {last}, the largest there can be; no release can follow it",
                self.prefix.trim_end_matches('/')
            ))
            .with_help("remove or rename that release folder if it was not made by deployer")
        })?;
        start.number = number;
        let dir = number_dir(number);
        let env = start.environment.clone();
        let manifest = serde_json::to_vec_pretty(&files.manifest).expect("manifest serialises");
        start.files = [
            ("Pulumi.yaml".to_string(), sha256(files.program.as_bytes())),
            (
                format!("Pulumi.{env}.yaml"),
                sha256(files.settings.as_bytes()),
            ),
            ("manifest.json".to_string(), sha256(&manifest)),
        ]
        .into();
        let record = serde_json::to_vec_pretty(&start).expect("release serialises");
        // The record first: written with If-None-Match, it claims the number, and
        // a release folder without one can then only be damage (reported, never
        // skipped). A process killed before the program is written leaves a
        // release in progress, which the next apply marks interrupted.
        let objects: [(String, &[u8]); 4] = [
            (self.key(&format!("{dir}/release.json")), &record),
            (
                self.key(&format!("{dir}/Pulumi.yaml")),
                files.program.as_bytes(),
            ),
            (
                self.key(&format!("{dir}/Pulumi.{env}.yaml")),
                files.settings.as_bytes(),
            ),
            (self.key(&format!("{dir}/manifest.json")), &manifest),
        ];
        let mut written: Vec<&str> = Vec::new();
        for (key, bytes) in &objects {
            let failure = match self.store.put_new(key, bytes) {
                Ok(Put::Done) => {
                    written.push(key);
                    crate::failpoint::point("release.object-written");
                    continue;
                }
                Ok(Put::Conflict) => conflict(format!(
                    "release {number} of {}/{env} was just written by someone else; nothing of ours was recorded",
                    start.stack
                )),
                Err(e) => e,
            };
            // Leave nothing half-written behind.
            for key in written {
                let _ = self.store.delete(key);
            }
            return Err(failure);
        }
        self.point_to(number)?;
        crate::failpoint::point("release.begun");
        Ok(number)
    }

    /// Moves `latest.json` forward (never back) with `If-Match`.
    fn point_to(&self, number: u32) -> Result<()> {
        let key = self.key("latest.json");
        let current = self.store.get(&key)?;
        if let Some((bytes, _)) = &current
            && serde_json::from_slice::<Pointer>(bytes).is_ok_and(|p| p.number >= number)
        {
            return Ok(());
        }
        let body = serde_json::to_vec(&Pointer { number }).expect("pointer serialises");
        match self
            .store
            .put_if(&key, &body, current.as_ref().map(|(_, etag)| etag.as_str()))?
        {
            Put::Done => Ok(()),
            Put::Conflict => Err(conflict(format!(
                "latest.json of {} moved while release {number} was being recorded (release {number} itself is recorded)",
                self.prefix.trim_end_matches('/')
            ))),
        }
    }

    /// Records how a release ended.
    pub fn finish(&self, result: &ReleaseResult) -> Result<()> {
        let key = self.key(&format!("{}/result.json", number_dir(result.number)));
        let body = serde_json::to_vec_pretty(result).expect("result serialises");
        match self.store.put_new(&key, &body)? {
            Put::Done => {
                crate::failpoint::point("release.finished");
                Ok(())
            }
            Put::Conflict => Err(conflict(format!(
                "release {} already has a recorded outcome",
                result.number
            ))),
        }
    }

    pub fn get(&self, number: u32) -> Result<Option<Release>> {
        let dir = number_dir(number);
        let read = |name: &str| -> Result<Option<Vec<u8>>> {
            Ok(self
                .store
                .get(&self.key(&format!("{dir}/{name}")))?
                .map(|(b, _)| b))
        };
        let Some(start) = read("release.json")? else {
            return Ok(None);
        };
        let damaged = |e: serde_json::Error| {
            Error::failed(format!(
                "release record {}{dir} is damaged: {e}",
                self.prefix
            ))
        };
        let start: ReleaseStart = serde_json::from_slice(&start).map_err(damaged)?;
        let result = match read("result.json")? {
            Some(bytes) => Some(serde_json::from_slice(&bytes).map_err(damaged)?),
            None => None,
        };
        Ok(Some(Release { start, result }))
    }

    /// A release whose folder exists must have its record: a missing one is an
    /// error naming it, never a release quietly left out.
    fn existing(&self, number: u32) -> Result<Release> {
        self.get(number)?.ok_or_else(|| {
            let key = self.key(&format!("{}/release.json", number_dir(number)));
            Error::failed(format!(
                "the record of release #{number} ({key}) is missing, though the release's files are there"
            ))
            .with_help("restore it from the bucket's versions (S3 versioning keeps every record), or remove the release's folder if it never ran")
        })
    }

    /// The release numbers, checked against each other: they run from 1
    /// without a gap, and `latest.json` points to the newest (or, while a
    /// release is being begun, the one before). A release folder deleted —
    /// the newest, one in the middle, or all of them with the pointer left —
    /// is an error naming it, never a shorter history.
    fn checked_numbers(&self) -> Result<Vec<u32>> {
        let numbers = self.numbers()?;
        let pointer = match self.store.get(&self.key("latest.json"))? {
            Some((bytes, _)) => Some(
                serde_json::from_slice::<Pointer>(&bytes)
                    .map_err(|e| {
                        Error::failed(format!("{} is damaged: {e}", self.key("latest.json")))
                            .with_source(e)
                    })?
                    .number,
            ),
            None => None,
        };
        let newest = numbers.last().copied().unwrap_or(0);
        let missing =
            (1..=newest.max(pointer.unwrap_or(0))).find(|n| numbers.binary_search(n).is_err());
        if let Some(n) = missing {
            let why = if pointer.is_some_and(|p| p > newest) && n > newest {
                "latest.json points to it"
            } else {
                "later releases follow it"
            };
            return Err(Error::failed(format!(
                "release #{n} of {} is missing ({why}): its folder {} is gone",
                self.prefix.trim_end_matches('/'),
                self.key(&number_dir(n))
            ))
            .with_help("restore it from the bucket's versions (S3 versioning keeps every object); the history would otherwise be shorter than what was deployed"));
        }
        Ok(numbers)
    }

    /// Every release, oldest first.
    pub fn list(&self) -> Result<Vec<Release>> {
        self.checked_numbers()?
            .into_iter()
            .map(|n| self.existing(n))
            .collect()
    }

    pub fn latest(&self) -> Result<Option<Release>> {
        match self.checked_numbers()?.last() {
            Some(n) => self.existing(*n).map(Some),
            None => Ok(None),
        }
    }

    /// The newest release that succeeded, unless the environment was destroyed
    /// since: then nothing is deployed.
    pub fn last_success(&self) -> Result<Option<Release>> {
        for n in self.checked_numbers()?.into_iter().rev() {
            let r = self.existing(n)?;
            match r.result.as_ref().map(|x| x.status) {
                Some(Status::Succeeded) => return Ok(Some(r)),
                Some(Status::Destroyed) => return Ok(None),
                _ => {}
            }
        }
        Ok(None)
    }

    /// A file stored with release `number`, checked against the hash its
    /// record keeps.
    fn stored(&self, number: u32, name: &str) -> Result<Vec<u8>> {
        let key = self.key(&format!("{}/{name}", number_dir(number)));
        let (bytes, _) = self
            .store
            .get(&key)?
            .ok_or_else(|| Error::failed(format!("release #{number} has no {name} ({key})")))?;
        let record = self.existing(number)?;
        if let Some(recorded) = record.start.files.get(name)
            && *recorded != sha256(&bytes)
        {
            return Err(Error::failed(format!(
                "{key} does not match the hash release #{number} recorded when it was applied; it was changed afterwards, so it is not used"
            ))
            .with_help("restore it from the bucket's versions, or roll back to another release with --to N"));
        }
        Ok(bytes)
    }

    /// Everything a release applied, to apply it again.
    pub fn artifacts(&self, number: u32, environment: &str) -> Result<Artifacts> {
        let (program, settings) = self.program(number, environment)?;
        let bytes = self.stored(number, "manifest.json")?;
        let manifest: crate::artifacts::Manifest = serde_json::from_slice(&bytes).map_err(|e| {
            Error::failed(format!("the manifest of release {number} is damaged: {e}"))
                .with_source(e)
        })?;
        // A stored program is applied again only as it was recorded.
        if crate::artifacts::sha256(program.as_bytes()) != manifest.program_hash {
            return Err(Error::failed(format!(
                "the stored program of release #{number} ({}) does not match the hash recorded when it was applied; it was changed afterwards",
                self.key(&format!("{}/Pulumi.yaml", number_dir(number)))
            ))
            .with_help("restore it from the bucket's versions, or roll back to another release with --to N"));
        }
        Ok(Artifacts {
            program,
            settings,
            manifest,
        })
    }

    /// The program a release applied: `Pulumi.yaml` and `Pulumi.<env>.yaml`,
    /// each checked against its recorded hash.
    pub fn program(&self, number: u32, environment: &str) -> Result<(String, String)> {
        let read = |name: String| -> Result<String> {
            let bytes = self.stored(number, &name)?;
            String::from_utf8(bytes)
                .map_err(|_| Error::failed(format!("{name} of release {number} is not text")))
        };
        Ok((
            read("Pulumi.yaml".into())?,
            read(format!("Pulumi.{environment}.yaml"))?,
        ))
    }
}

/// Whether a self-declared `who` obviously disagrees with the AWS identity: an
/// email whose name is nowhere in the ARN's user or session name.
pub fn identity_differs(who: &str, arn: &str) -> bool {
    let Some((name, _)) = who.split_once('@') else {
        return false;
    };
    let principal = arn.rsplit(['/', ':']).next().unwrap_or(arn).to_lowercase();
    !name.is_empty() && !principal.contains(&name.to_lowercase())
}

#[cfg(test)]
mod tests {
    #[test]
    fn identities_that_obviously_differ() {
        use super::identity_differs;
        let role = "arn:aws:sts::123456789012:assumed-role/deployer/alice@company.com";
        assert!(!identity_differs("alice@company.com", role));
        assert!(identity_differs("cto@company.com", role));
        assert!(!identity_differs(
            "Alice@company.com",
            "arn:aws:iam::1:user/alice"
        ));
        assert!(
            !identity_differs("ci-bot", role),
            "not an email: nothing to compare"
        );
    }
}
