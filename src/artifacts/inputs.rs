//! Knowing a stack's input hash without reading its files, as git's index
//! and cargo's fingerprints do: `DIR/<stack>/inputs.json` records, beside the
//! input hash, a fingerprint of the files it was taken from — each one's
//! path, size, inode, modification and change times (a change time cannot be
//! set back by a user) — with the variables. When a later compile finds the
//! same fingerprint, the recorded hash stands; otherwise every file is read.
//!
//! A file changed within the same clock tick as the hash was taken could keep
//! its times (the kernel stamps files at a coarse granularity: git's "racily
//! clean" entries), so the record is only trusted when every file is older
//! than [`SETTLED`]; a repository just edited is read in full, as before.
//! Reading 50,000 files for a cache hit was most of its 0.9 s at 10,000
//! services (a profile of `compile --all`).

use crate::fs::{Entry, MAX_FILES, ReadBack, entries_under};
use crate::load::Repo;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How much older than now every file must be for its times to be trusted.
const SETTLED: Duration = Duration::from_secs(2);

const RECORD: &str = "inputs.json";

#[derive(Serialize, Deserialize)]
struct Record {
    deployer_version: String,
    fingerprint: String,
    input_hash: String,
}

/// The files a stack's programs may read, in a stable order: its folder,
/// `shared/`, the variable files, and what a link among them leads to inside
/// the repository (a file, or a folder's files; the loader reads through
/// links there and refuses the others), so an edit to a file a stack reads
/// through a link is a change of its inputs.
pub(super) fn files(
    repo: &Repo,
    stack: &str,
    var_files: &[PathBuf],
) -> std::io::Result<Vec<PathBuf>> {
    let mut entries = entries_under(&repo.root.join("stacks").join(stack))?;
    entries.extend(entries_under(&repo.root.join("shared"))?);
    entries.extend(var_files.iter().map(|f| {
        let what = match std::fs::symlink_metadata(f) {
            Ok(m) if m.file_type().is_symlink() => Entry::Link,
            _ => Entry::File,
        };
        (f.clone(), what)
    }));
    let mut followed = BTreeSet::new();
    let mut next = 0;
    while let Some((path, what)) = entries.get(next).cloned() {
        next += 1;
        if what != Entry::Link {
            continue;
        }
        // A link that leads nowhere, or out of the repository, is the
        // loader's to report; its text is hashed as it is.
        let Ok(target) = std::fs::canonicalize(&path) else {
            continue;
        };
        if !target.starts_with(&repo.real_root) || !followed.insert(target.clone()) {
            continue;
        }
        if target.is_dir() {
            entries.extend(entries_under(&target)?);
        } else {
            entries.push((target, Entry::File));
        }
        if entries.len() > MAX_FILES {
            return Err(std::io::Error::other(format!(
                "more than {MAX_FILES} files read by stack `{stack}` through its links"
            )));
        }
    }
    Ok(entries.into_iter().map(|(path, _)| path).collect())
}

/// The fingerprint of `files` with `variables`, or `None` when a file is
/// too recent for its times to say it is unchanged.
fn fingerprint(
    repo: &Repo,
    stack: &str,
    variables: &[(String, String)],
    files: &[PathBuf],
) -> std::io::Result<Option<String>> {
    let settled = SystemTime::now() - SETTLED;
    let mut hasher = super::hasher_for(stack, variables);
    for file in files {
        let meta = std::fs::symlink_metadata(file)?;
        let changed = UNIX_EPOCH + Duration::new(meta.ctime() as u64, meta.ctime_nsec() as u32);
        if meta.modified()? > settled || changed > settled {
            return Ok(None);
        }
        hasher.update(format!(
            "file {}\0{} {} {} {}.{} {}.{}\0",
            repo.display(file),
            meta.file_type().is_symlink(),
            meta.len(),
            meta.ino(),
            meta.mtime(),
            meta.mtime_nsec(),
            meta.ctime(),
            meta.ctime_nsec()
        ));
    }
    Ok(Some(format!("sha256:{:x}", hasher.finalize())))
}

/// A stack's input hash, and the record to keep of it once its programs
/// are written ([`InputHash::record`]).
pub struct InputHash {
    pub hash: String,
    /// The files read to take the hash (none when it came from the
    /// record), for the loader.
    pub read: crate::load::Prefetched,
    unrecorded: Option<(PathBuf, Record)>,
}

impl InputHash {
    /// Keeps the record beside the stack's programs, when the hash was read
    /// from the files; one that cannot be written only costs the next
    /// compile a read.
    pub fn record(self) {
        if let Some((path, record)) = self.unrecorded {
            let text = serde_json::to_string(&record).expect("a record serialises");
            let _ = super::write_atomic_unsynced(&path, text.as_bytes());
        }
    }
}

/// The input hash of `stack` (see [`super::input_hash`]), from the record
/// in `out` when the files are as they were, else read.
pub fn input_hash_recorded(
    repo: &Repo,
    stack: &str,
    variables: &[(String, String)],
    var_files: &[PathBuf],
    out: &Path,
) -> std::io::Result<InputHash> {
    let files = files(repo, stack, var_files)?;
    let fingerprint = fingerprint(repo, stack, variables, &files)?;
    let path = out.join(stack).join(RECORD);
    if let Some(fingerprint) = &fingerprint
        && let Ok(text) = crate::fs::read_back_text(&path, ReadBack::CompileOutput)
        && let Ok(record) = serde_json::from_str::<Record>(&text)
        && record.deployer_version == super::VERSION
        && record.fingerprint == *fingerprint
    {
        return Ok(InputHash {
            hash: record.input_hash,
            read: crate::load::Prefetched::default(),
            unrecorded: None,
        });
    }
    let (hash, read) = super::hash_files(repo, stack, variables, &files)?;
    let unrecorded = fingerprint.map(|fingerprint| {
        let record = Record {
            deployer_version: super::VERSION.into(),
            fingerprint,
            input_hash: hash.clone(),
        };
        (path, record)
    });
    Ok(InputHash {
        hash,
        read,
        unrecorded,
    })
}
