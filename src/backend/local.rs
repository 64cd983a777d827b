//! The local back-end: the same layout as S3 and DynamoDB, as files under the
//! repository's `.deployer/`. Every change goes through a temporary file and a
//! rename (or a hard link, which fails when the target exists, for
//! "create only if absent"), under an exclusive file lock where a
//! read-compare-write must be atomic.

use super::{Acquire, Lock, LockInfo, LockRefused, Put, StateStore, now};
use crate::artifacts::{sha256, write_atomic};
use crate::error::{Error, Result};
use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

fn io(action: &str, path: &Path, e: std::io::Error) -> Error {
    Error::failed(format!("cannot {action} {}: {e}", path.display())).with_source(e)
}

/// A new file in `dir` holding `bytes`, created exclusively under a random name
/// (never through a planted link), removed when dropped.
fn exclusive_temp(dir: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".new.")
        .tempfile_in(dir)
        .map_err(|e| io("create a file in", dir, e))?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(|e| io("write", tmp.path(), e))?;
    Ok(tmp)
}

/// Holds an exclusive lock on `dir/.guard` for as long as it lives.
struct Guard(#[allow(dead_code)] File);

fn guard(dir: &Path) -> Result<Guard> {
    std::fs::create_dir_all(dir).map_err(|e| io("create", dir, e))?;
    let path = dir.join(".guard");
    // Never through a link planted there (`O_NOFOLLOW`): it would create a
    // file wherever it points.
    use std::os::unix::fs::OpenOptionsExt;
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| io("open", &path, e))?;
    file.lock().map_err(|e| io("lock", &path, e))?;
    Ok(Guard(file))
}

pub struct LocalLock {
    dir: PathBuf,
}

impl LocalLock {
    pub fn new(dir: PathBuf) -> LocalLock {
        LocalLock { dir }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    fn read(&self, key: &str) -> Result<Option<LockInfo>> {
        let path = self.path(key);
        match crate::fs::read_back(&path, crate::fs::ReadBack::Lock) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                super::damaged_lock(format!("lock file {} is damaged: {e}", path.display()), key)
            }),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("read", &path, e)),
        }
    }

    fn write(&self, key: &str, info: &LockInfo) -> Result<()> {
        let path = self.path(key);
        write_atomic(
            &path,
            &serde_json::to_vec_pretty(info).expect("lock info serialises"),
        )
        .map_err(|e| io("write", &path, e))
    }
}

impl Lock for LocalLock {
    fn try_acquire(&self, key: &str, info: &LockInfo) -> Result<Acquire> {
        let _guard = guard(&self.dir)?;
        match self.read(key)? {
            Some(held) if held.expires > now() => Ok(Acquire::Held(held)),
            Some(_expired) => {
                self.write(key, info)?;
                Ok(Acquire::Acquired)
            }
            None => {
                // O_EXCL: even without the guard, two processes cannot both create it.
                let path = self.path(key);
                let tmp = exclusive_temp(
                    &self.dir,
                    &serde_json::to_vec_pretty(info).expect("lock info serialises"),
                )?;
                let linked = std::fs::hard_link(tmp.path(), &path);
                match linked {
                    Ok(()) => Ok(Acquire::Acquired),
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                        Ok(self.read(key)?.map_or(Acquire::Acquired, Acquire::Held))
                    }
                    Err(e) => Err(io("create", &path, e)),
                }
            }
        }
    }

    fn renew(
        &self,
        key: &str,
        lock_id: &str,
        expires: i64,
    ) -> std::result::Result<(), LockRefused> {
        let _guard = guard(&self.dir)?;
        match self.read(key)? {
            Some(mut held) if held.lock_id == lock_id => {
                held.expires = expires;
                Ok(self.write(key, &held)?)
            }
            other => Err(LockRefused::NotHolder(other)),
        }
    }

    fn release(&self, key: &str, lock_id: &str) -> std::result::Result<(), LockRefused> {
        let _guard = guard(&self.dir)?;
        match self.read(key)? {
            Some(held) if held.lock_id == lock_id => {
                let path = self.path(key);
                std::fs::remove_file(&path)
                    .map_err(|e| LockRefused::Backend(io("remove", &path, e)))
            }
            other => Err(LockRefused::NotHolder(other)),
        }
    }

    fn get(&self, key: &str) -> Result<Option<LockInfo>> {
        self.read(key)
    }

    fn list(&self) -> Result<Vec<(String, LockInfo)>> {
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(out);
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(key) = name
                .strip_suffix(".json")
                .filter(|_| !name.starts_with('.'))
                && let Some(info) = self.read(key)?
            {
                out.push((key.to_string(), info));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    fn describe(&self) -> String {
        format!("local lock files in {}", self.dir.display())
    }

    fn remove_damaged(&self, key: &str) -> Result<Option<String>> {
        let path = self.path(key);
        let bytes = match crate::fs::read_back(&path, crate::fs::ReadBack::Lock) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            // A FIFO, a link, a huge file: no lock deployer wrote. Removing
            // the name removes only the name.
            Err(_) => format!("(not a lock file: {})", path.display()).into_bytes(),
        };
        if serde_json::from_slice::<LockInfo>(&bytes).is_ok() {
            return Ok(None);
        }
        std::fs::remove_file(&path).map_err(|e| io("remove", &path, e))?;
        Ok(Some(
            String::from_utf8_lossy(&bytes).chars().take(500).collect(),
        ))
    }
}

pub struct LocalStore {
    dir: PathBuf,
}

impl LocalStore {
    pub fn new(dir: PathBuf) -> LocalStore {
        LocalStore { dir }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(key)
    }
}

impl StateStore for LocalStore {
    fn put_new(&self, key: &str, bytes: &[u8]) -> Result<Put> {
        let path = self.path(key);
        let dir = path.parent().unwrap_or(&self.dir).to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| io("create", &dir, e))?;
        let tmp = exclusive_temp(&dir, bytes)?;
        let linked = std::fs::hard_link(tmp.path(), &path);
        match linked {
            Ok(()) => Ok(Put::Done),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(Put::Conflict),
            Err(e) => Err(io("write", &path, e)),
        }
    }

    fn put_if(&self, key: &str, bytes: &[u8], etag: Option<&str>) -> Result<Put> {
        let _guard = guard(&self.dir)?;
        let current = self.get(key)?.map(|(_, tag)| tag);
        if current.as_deref() != etag {
            return Ok(Put::Conflict);
        }
        let path = self.path(key);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io("create", dir, e))?;
        }
        write_atomic(&path, bytes).map_err(|e| io("write", &path, e))?;
        Ok(Put::Done)
    }

    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String)>> {
        let path = self.path(key);
        match crate::fs::read_back(&path, crate::fs::ReadBack::Record) {
            Ok(bytes) => {
                let tag = sha256(&bytes);
                Ok(Some((bytes, tag)))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("read", &path, e)),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let start = match prefix.rsplit_once('/') {
            Some((dir, _)) => self.dir.join(dir),
            None => self.dir.clone(),
        };
        let mut out: Vec<String> = crate::fs::files_under(&start)
            .map_err(|e| io("list", &start, e))?
            .into_iter()
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
            })
            .map(|p| {
                p.strip_prefix(&self.dir)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        out.retain(|k| k.starts_with(prefix));
        out.sort();
        Ok(out)
    }

    fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(io("remove", &path, e)),
            _ => Ok(()),
        }
    }

    fn describe(&self) -> String {
        format!("local state in {}", self.dir.display())
    }
}
