//! Knowing a stack's input hash without reading its files, as git's index
//! and cargo's fingerprints do: `DIR/<stack>/inputs.json` records, beside the
//! input hash, a fingerprint of the files it was taken from — each one's
//! path, size, inode, modification and change times (a change time cannot be
//! set back by a user), and the path of each folder walked — with the
//! variables. When a later compile finds the same fingerprint, the recorded
//! hash stands; otherwise every file is read.
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
/// through a link is a change of its inputs. The folders walked are listed
/// too ([`Entry::Folder`]), with what is never read ([`Entry::Special`]):
/// the loader lists from here, and one made or removed is a change (an empty
/// component folder, or a FIFO where a config should be, is an error).
pub(super) fn files(repo: &Repo, stack: &str, var_files: &[PathBuf]) -> std::io::Result<Inputs> {
    let mut entries = entries_under(&repo.root.join("stacks").join(stack))?;
    let stack_walk = entries.len();
    entries.extend(entries_under(&repo.root.join("shared"))?);
    entries.extend(var_files.iter().map(|f| {
        let what = match std::fs::symlink_metadata(f) {
            Ok(m) if m.file_type().is_symlink() => Entry::Link,
            _ => Entry::File,
        };
        (f.clone(), what)
    }));
    let is_file = |(_, what): &(PathBuf, Entry)| matches!(what, Entry::File | Entry::Link);
    let mut files = entries.iter().filter(|e| is_file(e)).count();
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
            let below = entries_under(&target)?;
            files += below.iter().filter(|e| is_file(e)).count();
            entries.extend(below);
        } else {
            entries.push((target, Entry::File));
            files += 1;
        }
        if files > MAX_FILES {
            return Err(std::io::Error::other(format!(
                "more than {MAX_FILES} files read by stack `{stack}` through its links"
            )));
        }
    }
    Ok(Inputs {
        entries,
        stack_walk,
    })
}

/// What [`files`] found.
pub(super) struct Inputs {
    pub entries: Vec<(PathBuf, Entry)>,
    /// How many of `entries`, from the first, are the walk of the stack's
    /// own folder: each of its folders listed whole and once, which is all
    /// the loader lists (a variable file or a link's target may be an
    /// entry again, further on).
    pub stack_walk: usize,
}

/// The fingerprint of a stack's files (with its variables), taken from each
/// file's metadata: `None` when a file is too recent for its times to say
/// it is unchanged.
pub(super) struct Fingerprint {
    hasher: sha2::Sha256,
    settled: SystemTime,
    recent: bool,
}

impl Fingerprint {
    pub(super) fn new(stack: &str, variables: &[(String, String)]) -> Fingerprint {
        Fingerprint {
            hasher: super::hasher_for(stack, variables),
            settled: SystemTime::now() - SETTLED,
            recent: false,
        }
    }

    /// Adds a file as `meta` describes it (its `lstat`, or the `fstat` of
    /// the descriptor it was read through: the same for a file that is not
    /// a link).
    pub(super) fn add(&mut self, repo: &Repo, file: &Path, meta: &std::fs::Metadata) {
        let changed = UNIX_EPOCH + Duration::new(meta.ctime() as u64, meta.ctime_nsec() as u32);
        let modified = UNIX_EPOCH + Duration::new(meta.mtime() as u64, meta.mtime_nsec() as u32);
        if modified > self.settled || changed > self.settled {
            self.recent = true;
        }
        if self.recent {
            return;
        }
        self.hasher.update(format!(
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

    /// Adds a folder, or a FIFO, socket or device, by its path alone: the
    /// walk that listed it is taken afresh each time, so one made or
    /// removed is seen without a `stat` of each.
    pub(super) fn add_by_path(&mut self, repo: &Repo, path: &Path) {
        self.hasher
            .update(format!("entry {}\0", repo.display(path)));
    }

    pub(super) fn finish(self) -> Option<String> {
        (!self.recent).then(|| format!("sha256:{:x}", self.hasher.finalize()))
    }
}

/// The fingerprint of `entries` as they are now (one `lstat` each).
fn fingerprint(
    repo: &Repo,
    stack: &str,
    variables: &[(String, String)],
    entries: &[(PathBuf, Entry)],
) -> std::io::Result<Option<String>> {
    let mut fingerprint = Fingerprint::new(stack, variables);
    for (path, what) in entries {
        match what {
            Entry::Folder | Entry::Special => fingerprint.add_by_path(repo, path),
            Entry::File | Entry::Link => {
                fingerprint.add(repo, path, &std::fs::symlink_metadata(path)?)
            }
        }
        if fingerprint.recent {
            break;
        }
    }
    Ok(fingerprint.finish())
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
/// in `out` when the files are as they were, else read. Only a record makes
/// a `stat` of every file worth it: without one (a cold compile), the
/// fingerprint to record is taken from the descriptors the files are read
/// through.
pub fn input_hash_recorded(
    repo: &Repo,
    stack: &str,
    variables: &[(String, String)],
    var_files: &[PathBuf],
    out: &Path,
) -> std::io::Result<InputHash> {
    let inputs = files(repo, stack, var_files)?;
    let path = out.join(stack).join(RECORD);
    let record = crate::fs::read_back_text(&path, ReadBack::CompileOutput)
        .ok()
        .and_then(|text| serde_json::from_str::<Record>(&text).ok())
        .filter(|record| record.deployer_version == super::VERSION);
    if let Some(record) = record
        && fingerprint(repo, stack, variables, &inputs.entries)?.as_ref()
            == Some(&record.fingerprint)
    {
        return Ok(InputHash {
            hash: record.input_hash,
            read: crate::load::Prefetched::default(),
            unrecorded: None,
        });
    }
    let hashed = super::hash_files(repo, stack, variables, &inputs)?;
    let unrecorded = hashed.fingerprint.map(|fingerprint| {
        let record = Record {
            deployer_version: super::VERSION.into(),
            fingerprint,
            input_hash: hashed.hash.clone(),
        };
        (path, record)
    });
    Ok(InputHash {
        hash: hashed.hash,
        read: hashed.read,
        unrecorded,
    })
}
