//! Reading a repository's folders safely: bounded, never following a link,
//! never opening a FIFO or a device. Used by every walker (the loader, the
//! template loader, compile's input hash, the local back-end).

use std::path::{Path, PathBuf};

/// Largest file deployer reads from a repository (YAML, templates, variables).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Most files one walk of a folder may find.
pub const MAX_FILES: usize = 200_000;

/// Every file below `dir` (none when it does not exist), sorted. Links are
/// listed, never followed (a link to `.` cannot loop, one to `/` cannot walk the
/// machine); FIFOs, sockets and devices are left out (reading one would hang or
/// never end). Errors are returned, not skipped: a hash over a folder that could
/// not be read would lie.
pub fn files_under(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    Ok(entries_under(dir)?
        .into_iter()
        .filter(|(_, what)| matches!(what, Entry::File | Entry::Link))
        .map(|(path, _)| path)
        .collect())
}

/// What an entry of [`entries_under`] is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Entry {
    File,
    Link,
    /// A folder below the one walked (opened without following a link),
    /// whose own entries follow it in the walk.
    Folder,
    /// A FIFO, socket or device: listed, so that what reads the listing
    /// can refuse it by name, and never read (it would hang or never end).
    Special,
}

/// [`files_under`] and the folders, FIFOs, sockets and devices below `dir`
/// (never read), each entry with what it is
/// (from the listing: no `stat`). Each sub-folder is opened relative to its
/// parent's descriptor (`openat`, never following a link), not by its whole
/// path: the kernel looked every path up again from the root, and the walk
/// was a seventh of `compile --all` at 10,000 services.
pub fn entries_under(dir: &Path) -> std::io::Result<Vec<(PathBuf, Entry)>> {
    use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags};
    use std::os::unix::ffi::OsStrExt;
    fn open_dir(at: impl rustix::fd::AsFd, name: &std::ffi::OsStr) -> std::io::Result<Dir> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(at, name, flags, Mode::empty())?;
        Ok(Dir::new(fd)?)
    }
    fn walk(
        dir: &mut Dir,
        path: &Path,
        out: &mut Vec<(PathBuf, Entry)>,
        files: &mut usize,
    ) -> std::io::Result<()> {
        let mut subdirs = Vec::new();
        while let Some(entry) = dir.read() {
            let entry = entry?;
            let name = std::ffi::OsStr::from_bytes(entry.file_name().to_bytes());
            if name == "." || name == ".." {
                continue;
            }
            let kind = match entry.file_type() {
                // A file system that does not say in its listing: asked.
                FileType::Unknown => FileType::from_raw_mode(
                    rustix::fs::statat(dir.fd()?, name, AtFlags::SYMLINK_NOFOLLOW)?.st_mode,
                ),
                kind => kind,
            };
            match kind {
                FileType::Directory => {
                    subdirs.push(name.to_os_string());
                    continue;
                }
                FileType::RegularFile => out.push((path.join(name), Entry::File)),
                FileType::Symlink => out.push((path.join(name), Entry::Link)),
                // Listed, not counted: it is never read.
                _ => {
                    out.push((path.join(name), Entry::Special));
                    continue;
                }
            }
            *files += 1;
            if *files > MAX_FILES {
                return Err(std::io::Error::other(format!(
                    "more than {MAX_FILES} files under {}",
                    path.display()
                )));
            }
        }
        for name in subdirs {
            let mut child = open_dir(dir.fd()?, &name)?;
            let child_path = path.join(&name);
            out.push((child_path.clone(), Entry::Folder));
            walk(&mut child, &child_path, out, files)?;
        }
        Ok(())
    }
    let mut out = Vec::new();
    if std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        let mut top = open_dir(rustix::fs::CWD, dir.as_os_str())?;
        walk(&mut top, dir, &mut out, &mut 0)?;
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// deployer's own folder for this user: `DEPLOYER_HOME`, or `~/.deployer`
/// (the back-end's configuration, the `affected` cache's key).
pub fn deployer_home() -> PathBuf {
    match std::env::var_os("DEPLOYER_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(".deployer"),
    }
}

/// The repository's `.deployer/` folder — local state, locks, workspaces,
/// caches — created when missing, always with its `.gitignore` of `*`, so
/// `git add -A` never stages it, whoever creates it (a local back-end, a
/// deploy's workspace, `affected`'s cache). A link there is refused: what
/// deployer writes in it must not land elsewhere.
pub fn deployer_folder(repo_root: &Path) -> std::io::Result<PathBuf> {
    let dir = repo_root.join(".deployer");
    match std::fs::symlink_metadata(&dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(std::io::Error::other(format!(
                "{} is {}, not deployer's folder; remove it",
                dir.display(),
                if meta_is_link(&dir) {
                    "a symbolic link"
                } else {
                    "a file"
                }
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(&dir)?,
        Err(e) => return Err(e),
    }
    let ignore = dir.join(".gitignore");
    if std::fs::symlink_metadata(&ignore).is_err() {
        std::fs::write(
            &ignore,
            "# deployer's own folder: local state, locks, releases, Pulumi checkpoints,\n# workspaces and caches. Never commit it; never delete it while environments\n# are deployed on the local back-end.\n*\n",
        )?;
    }
    Ok(dir)
}

fn meta_is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// What deployer reads back of what it (or someone next to it) wrote, each
/// with its own bound: every such read goes through [`read_back`], so a FIFO
/// cannot hang it, a link to `/dev/zero` cannot fill memory, and a link
/// planted in `.deployer/` is not followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadBack {
    /// A saved plan (`deployer plan --out`).
    Plan,
    /// A list of targets (`deployer plan --targets`).
    TargetList,
    /// A release record, a stored program or its settings (local back-end).
    Record,
    /// A lock file: deployer's on the local back-end, or Pulumi's.
    Lock,
    /// A compile output's `manifest.json`, or a file it lists.
    CompileOutput,
    /// An `affected` cache entry.
    CacheEntry,
    /// A `--var-file` (a link is followed: the loader checks where it leads).
    VarFile,
    /// A file of the repository (YAML, a template); links are the loader's
    /// to check.
    Repository,
    /// A file of the repository read for compile's input hash: a link is
    /// hashed by where it points, so one found where a file was listed is
    /// refused, not followed.
    InputFile,
    /// A price table (`DEPLOYER_PRICES`).
    PriceTable,
}

impl ReadBack {
    /// The largest such file deployer reads.
    pub fn limit(self) -> u64 {
        match self {
            ReadBack::Plan => 16 * 1024 * 1024,
            ReadBack::TargetList => 1024 * 1024,
            ReadBack::Record => 64 * 1024 * 1024,
            ReadBack::Lock => 64 * 1024,
            ReadBack::CompileOutput => 64 * 1024 * 1024,
            ReadBack::CacheEntry => 16 * 1024 * 1024,
            ReadBack::PriceTable => 4 * 1024 * 1024,
            ReadBack::VarFile | ReadBack::Repository | ReadBack::InputFile => MAX_FILE_BYTES,
        }
    }

    /// Whether a symbolic link may stand for the file.
    fn follows_links(self) -> bool {
        matches!(self, ReadBack::VarFile | ReadBack::Repository)
    }

    fn what(self) -> &'static str {
        match self {
            ReadBack::Plan => "a plan file",
            ReadBack::TargetList => "a list of targets",
            ReadBack::Record => "a release record",
            ReadBack::Lock => "a lock file",
            ReadBack::CompileOutput => "a compile output",
            ReadBack::CacheEntry => "a cache entry",
            ReadBack::VarFile => "a variable file",
            ReadBack::Repository | ReadBack::InputFile => "a repository file",
            ReadBack::PriceTable => "a price table",
        }
    }
}

/// Reads a file deployer relies on, refusing what it must not be: anything
/// but a regular file (a FIFO, a device, a folder), a symbolic link where
/// `kind` allows none, and more than `kind`'s limit. The file is opened once
/// (`O_NONBLOCK`, so opening a FIFO does not wait for a writer; `O_NOFOLLOW`
/// where links are refused) and checked on that descriptor, so it cannot be
/// swapped between the check and the read; at most the limit is read even if
/// it grows meanwhile.
pub fn read_back(path: &Path, kind: ReadBack) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let (file, meta) = open_back(path, kind)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(kind.limit() + 1).read_to_end(&mut bytes)?;
    check_not_grown(path, kind, bytes.len() as u64)?;
    Ok(bytes)
}

/// The SHA-256 (`sha256:<hex>`) of a file [`read_back`] would read, taken
/// as it is read, a block at a time.
pub fn hash_back(path: &Path, kind: ReadBack) -> std::io::Result<String> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    stream_back(path, kind, |block| hasher.update(block))?;
    Ok(format!("sha256:{:x}", hasher.finalize()))
}

/// The CRC-32 of a file [`read_back`] would read, taken as it is read: what
/// tells a compile's 800 KB program from one a crash or an edit changed, at
/// a tenth of SHA-256's cost.
pub fn crc32_back(path: &Path, kind: ReadBack) -> std::io::Result<u32> {
    let mut hasher = crc32fast::Hasher::new();
    stream_back(path, kind, |block| hasher.update(block))?;
    Ok(hasher.finalize())
}

/// Reads a file as [`read_back`] would, giving it to `take` a block at a
/// time: nothing is allocated per file.
pub fn stream_back(path: &Path, kind: ReadBack, take: impl FnMut(&[u8])) -> std::io::Result<()> {
    stream_back_described(path, kind, take).map(|_| ())
}

/// [`stream_back`], returning the metadata of the descriptor read (the
/// file read, whatever its path leads to now).
pub fn stream_back_described(
    path: &Path,
    kind: ReadBack,
    mut take: impl FnMut(&[u8]),
) -> std::io::Result<std::fs::Metadata> {
    use std::io::Read;
    let (file, meta) = open_back(path, kind)?;
    let mut file = file.take(kind.limit() + 1);
    let mut block = [0u8; 64 * 1024];
    let mut read = 0u64;
    loop {
        let n = file.read(&mut block)?;
        if n == 0 {
            break;
        }
        read += n as u64;
        take(&block[..n]);
    }
    check_not_grown(path, kind, read)?;
    Ok(meta)
}

/// Opens a file to read back, checked on its descriptor: see [`read_back`].
fn open_back(path: &Path, kind: ReadBack) -> std::io::Result<(std::fs::File, std::fs::Metadata)> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
    if !kind.follows_links() {
        flags |= libc::O_NOFOLLOW;
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                std::io::Error::other(format!(
                    "{} is a symbolic link, and {} may not be one",
                    path.display(),
                    kind.what()
                ))
            } else {
                e
            }
        })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other(format!(
            "{} is not a regular file ({}), so it is not read as {}",
            path.display(),
            describe_type(&meta),
            kind.what()
        )));
    }
    let limit = kind.limit();
    if meta.len() > limit {
        return Err(std::io::Error::other(format!(
            "{} is {} bytes; {} is at most {limit}",
            path.display(),
            meta.len(),
            kind.what()
        )));
    }
    Ok((file, meta))
}

fn check_not_grown(path: &Path, kind: ReadBack, read: u64) -> std::io::Result<()> {
    let limit = kind.limit();
    if read > limit {
        return Err(std::io::Error::other(format!(
            "{} grew past {limit} bytes while it was read; {} is at most that",
            path.display(),
            kind.what()
        )));
    }
    Ok(())
}

/// [`read_back`] as UTF-8 text.
pub fn read_back_text(path: &Path, kind: ReadBack) -> std::io::Result<String> {
    String::from_utf8(read_back(path, kind)?).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is not UTF-8 text: {e}", path.display()),
        )
    })
}

/// "a FIFO", "a folder", ... for messages.
pub fn describe_type(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_dir() {
        "a folder"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else {
        "a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_back_refuses_links_fifos_devices_and_size() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plan.json");
        std::fs::write(&file, b"{}").unwrap();
        assert_eq!(read_back(&file, ReadBack::Plan).unwrap(), b"{}");
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let err = read_back(&link, ReadBack::Plan).unwrap_err().to_string();
        assert!(err.contains("is a symbolic link"), "{err}");
        assert_eq!(read_back(&link, ReadBack::VarFile).unwrap(), b"{}");
        let zero = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let err = read_back(&zero, ReadBack::VarFile).unwrap_err().to_string();
        assert!(err.contains("a device"), "{err}");
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = read_back(&fifo, ReadBack::Lock).unwrap_err().to_string();
        assert!(err.contains("a FIFO"), "{err}");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b' '; 70 * 1024]).unwrap();
        let err = read_back(&big, ReadBack::Lock).unwrap_err().to_string();
        assert!(err.contains("is at most 65536"), "{err}");
        // Compile's input hash reads what a listing showed as a file: a
        // link or a FIFO found there instead is refused, at once.
        let hashed = |path: &Path| stream_back(path, ReadBack::InputFile, |_| {});
        assert!(hashed(&file).is_ok());
        let err = hashed(&link).unwrap_err().to_string();
        assert!(err.contains("is a symbolic link"), "{err}");
        let err = hashed(&fifo).unwrap_err().to_string();
        assert!(err.contains("a FIFO"), "{err}");
    }
}
