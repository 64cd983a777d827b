//! The few things deployer asks git: who you are and which commit you deploy.

mod tree;
pub use tree::{Entry as TreeEntry, Folder as TreeFolder, read_folders};

use crate::error::{Context, Error, Result};
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
    /// Removes the folder when dropped, or however the process ends
    /// (declared first: the folder is gone before `_dir` is dropped).
    _on_exit: crate::interrupt::OnExit,
    _dir: tempfile::TempDir,
    /// The deployment repository's folder in the checkout.
    pub root: PathBuf,
}

impl Checkout {
    /// `repo_root` at `revision` (the repository may be a folder of a larger git
    /// work tree: the same folder is taken).
    pub fn at(repo_root: &Path, revision: &str) -> Result<Checkout> {
        Checkout::paths_at(repo_root, revision, None)
    }

    /// Only `paths` (relative to `repo_root`; those missing at `revision` are
    /// left out) of `repo_root` at `revision`: a few folders of a large
    /// repository cost a few files, not all of them.
    pub fn paths_at(
        repo_root: &Path,
        revision: &str,
        paths: Option<&[String]>,
    ) -> Result<Checkout> {
        let git = |args: &[&str]| -> Result<String> {
            let out = Command::new("git")
                .arg("-C")
                .arg(repo_root)
                .args(args)
                .output()
                .map_err(|e| {
                    Error::failed(format!("cannot run git: {e}"))
                        .with_source(e)
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
                "give a branch, tag or commit this clone has, e.g. `main`, `origin/main` or `HEAD~1` (a shallow CI clone may need `git fetch origin main` first)",
            )
        })?;
        let prefix = git(&["rev-parse", "--show-prefix"])?;
        let (dir, on_exit) = crate::interrupt::OnExit::create_folder(scratch_dir, |d| d.path())
            .context(|| "cannot create a temporary folder".to_string())?;
        let top = git(&["rev-parse", "--show-toplevel"])?;
        let pathspecs: Vec<String> = match paths {
            None if prefix.is_empty() => Vec::new(),
            None => vec![prefix.clone()],
            Some(paths) => {
                let wanted: Vec<String> = paths.to_vec();
                if wanted.is_empty() {
                    let root = dir.path().join(Path::new(&prefix));
                    make_root(&root);
                    return Ok(Checkout {
                        _on_exit: on_exit,
                        _dir: dir,
                        root,
                    });
                }
                // `git archive` refuses a path the revision does not have.
                let mut args = vec!["ls-tree", "--name-only", revision, "--"];
                args.extend(wanted.iter().map(String::as_str));
                let present = git(&args)?;
                // Listed relative to the repository; archived from the top level.
                let present: Vec<String> =
                    present.lines().map(|p| format!("{prefix}{p}")).collect();
                if present.is_empty() {
                    let root = dir.path().join(Path::new(&prefix));
                    make_root(&root);
                    return Ok(Checkout {
                        _on_exit: on_exit,
                        _dir: dir,
                        root,
                    });
                }
                present
            }
        };
        let mut archive = Command::new("git")
            .arg("-C")
            .arg(&top)
            .args(["archive", "--format=tar", revision, "--"])
            .args(&pathspecs)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context(|| "cannot run git archive".to_string())?;
        let _archiving = crate::interrupt::OnExit::kill_child(&archive);
        let stdout = archive.stdout.take().expect("piped");
        let mut tar = Command::new("tar")
            .arg("-x")
            .arg("-C")
            .arg(dir.path())
            .stdin(stdout)
            .spawn()
            .context(|| "cannot run tar".to_string())?;
        let extracting = crate::interrupt::OnExit::kill_child(&tar);
        let status = tar.wait().context(|| "cannot run tar".to_string())?;
        drop(extracting);
        let archived = archive
            .wait()
            .context(|| "git archive failed".to_string())?;
        if !status.success() || !archived.success() {
            // The folder may not exist at that revision; an empty checkout means "nothing there".
            make_root(&dir.path().join(&prefix));
        }
        let root = dir.path().join(Path::new(&prefix));
        Ok(Checkout {
            _on_exit: on_exit,
            _dir: dir,
            root,
        })
    }
}

/// The checkout's folder of the repository, which the revision may not have.
/// Not once the process is being interrupted: its checkout is being removed
/// then (a `tar` killed on the way out fails, and must not bring it back).
fn make_root(root: &Path) {
    if !crate::interrupt::interrupted() {
        let _ = std::fs::create_dir_all(root);
    }
}

/// A temporary folder for a checkout: in `$TMPDIR` when it is set, otherwise
/// in memory (`/dev/shm`) where there is one. Writing a revision's few thousand
/// small files took 2–5 s on a disk-backed /tmp and 0.4 s in memory (the
/// 1,000-service benchmark repository).
fn scratch_dir() -> std::io::Result<tempfile::TempDir> {
    let in_memory = Path::new("/dev/shm");
    if std::env::var_os("TMPDIR").is_none()
        && in_memory.is_dir()
        && let Ok(dir) = tempfile::Builder::new()
            .prefix("deployer-")
            .tempdir_in(in_memory)
    {
        return Ok(dir);
    }
    tempfile::Builder::new().prefix("deployer-").tempdir()
}

/// Runs `git -C repo_root ARGS` and returns its output; a failure is an error
/// with git's own message.
fn run(repo_root: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo_root)
        .args(args)
        .output()
        .context(|| "cannot run git".to_string())?;
    if !out.status.success() {
        return Err(Error::failed(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Files that differ between `base` and `head` (or the working tree,
/// untracked files included, when `head` is `None`), relative to `repo_root`
/// and limited to it. Renames count as both paths. An untracked folder is
/// one entry ending in `/` (`stacks/new/`): everything in it changed
/// ([`covers`]).
///
/// Against the working tree this is what changed from `base` to `HEAD`
/// (trees only, nothing on disk looked at) and what `git status` shows,
/// found side by side: a file changed and changed back counts, and
/// `affected` then finds its programs alike.
pub fn changed_files(
    repo_root: &Path,
    base: &str,
    head: Option<&str>,
) -> Result<std::collections::BTreeSet<String>> {
    let diff = [
        "-c",
        "core.quotePath=false",
        "diff",
        "--name-only",
        "--relative",
        "--no-renames",
        base,
        head.unwrap_or("HEAD"),
        "--",
    ];
    let (committed, working) = std::thread::scope(|scope| {
        let working = head
            .is_none()
            .then(|| scope.spawn(|| working_tree(repo_root)));
        let committed = run(repo_root, &diff);
        let working = working.map(|t| t.join().expect("reading git status"));
        (committed, working)
    });
    let mut changed: std::collections::BTreeSet<String> =
        committed?.lines().map(str::to_string).collect();
    if let Some(working) = working {
        changed.extend(working?);
    }
    Ok(changed)
}

/// What `git status` shows under `repo_root`, relative to it: files changed
/// since `HEAD` (staged or not), and untracked files and folders. One look
/// at every file (0.2 s of 50,000): listing untracked files alone took a
/// walk of the whole tree (0.5 s) before git's untracked cache, which
/// remembers each folder's untracked entries by its modification time. The
/// cache is used unless the repository's configuration says
/// `core.untrackedCache = false` (it trusts folder times; git's own
/// `update-index --test-untracked-cache` tells where they cannot be
/// trusted); `git status` keeps it in the index, as it does for anyone who
/// turned it on.
fn working_tree(repo_root: &Path) -> Result<Vec<String>> {
    let turned_off = output(
        repo_root,
        &["config", "--type=bool", "--get", "core.untrackedCache"],
    )
    .is_some_and(|v| v == "false");
    let mut args = vec!["-c", "core.quotePath=false"];
    if !turned_off {
        args.extend(["-c", "core.untrackedCache=true"]);
    }
    // No pathspec: git does not use the cache with one (0.6 s instead of
    // 0.2 s). With `-z` (names unquoted) git gives paths from the top of
    // its tree: the repository's own prefix is taken off them, and what
    // lies outside the repository is left out.
    args.extend([
        "status",
        "--porcelain",
        "-z",
        "--no-renames",
        "--untracked-files=normal",
        "--ignore-submodules=all",
    ]);
    let prefix = output(repo_root, &["rev-parse", "--show-prefix"]).unwrap_or_default();
    Ok(run(repo_root, &args)?
        .split('\0')
        .filter_map(|entry| {
            // `XY path`: X staged, Y in the working tree, `??` untracked.
            let path = entry.get(3..).filter(|_| entry.len() > 3)?;
            match path.strip_prefix(prefix.as_str()) {
                Some(inside) => Some(inside.to_string()),
                // An untracked folder that holds the whole repository: `""`.
                None if path.ends_with('/') && prefix.starts_with(path) => Some(String::new()),
                None => None,
            }
        })
        .collect())
}

/// Whether `changed` is an untracked folder: `dir/`, or `""` for a
/// repository git does not track at all.
pub fn is_folder(changed: &str) -> bool {
    changed.is_empty() || changed.ends_with('/')
}

/// Whether `changed` (a file, or an untracked folder: [`is_folder`]) is
/// `path` or holds it.
pub fn covers(changed: &str, path: &str) -> bool {
    changed == path || (is_folder(changed) && path.starts_with(changed))
}

/// Whether `changed` lies in `folder` (ending in `/`) or holds it.
pub fn reaches_folder(changed: &str, folder: &str) -> bool {
    changed.starts_with(folder) || covers(changed, folder)
}

/// The stacks whose folder holds a symbolic link git tracks (mode 120000
/// in the index): read from the index, not by walking every stack's files.
/// An untracked link is a changed file of its own folder.
pub fn stacks_with_links(repo_root: &Path) -> Result<std::collections::BTreeSet<String>> {
    let listed = run(
        repo_root,
        &[
            "-c",
            "core.quotePath=false",
            "ls-files",
            "-s",
            "--",
            "stacks/",
        ],
    )?;
    Ok(listed
        .lines()
        .filter(|line| line.starts_with("120000 "))
        .filter_map(|line| line.split_once('\t').map(|(_, path)| path))
        .filter_map(|path| path.strip_prefix("stacks/")?.split_once('/'))
        .map(|(stack, _)| stack.to_string())
        .collect())
}

/// The stacks (folders of `stacks/`) a revision has.
pub fn stacks_at(repo_root: &Path, revision: &str) -> Result<Vec<String>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo_root)
        .args(["ls-tree", "--name-only", &format!("{revision}:./stacks")])
        .output()
        .context(|| "cannot run git".to_string())?;
    // No stacks/ at that revision: no stacks.
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect())
}

/// The object id of each path at `revision` (`git ls-tree`): a folder's tree,
/// a file's blob. A path ending in `/` lists what the folder holds instead.
/// Paths the revision does not have are left out. Paths are relative to
/// `repo_root`, in and out.
/// Where the symbolic links among `paths` point at `revision`, as paths of
/// the repository (links leaving it are left out): a checkout of a link needs
/// its target too.
pub fn link_targets(repo_root: &Path, revision: &str, paths: &[String]) -> Result<Vec<String>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let mut args = vec!["ls-tree", "-z", revision, "--"];
    args.extend(paths.iter().map(String::as_str));
    let listing = run(repo_root, &args)?;
    let mut targets = Vec::new();
    for entry in listing.split('\0') {
        let Some((meta, path)) = entry.split_once('\t') else {
            continue;
        };
        let mut fields = meta.split(' ');
        let (Some("120000"), Some(_), Some(id)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let target = run(repo_root, &["cat-file", "blob", id])?;
        let mut resolved: Vec<&str> = path.split('/').collect();
        resolved.pop();
        let mut inside = true;
        for part in target.split('/') {
            match part {
                "" | "." => {}
                ".." => inside &= resolved.pop().is_some(),
                other => resolved.push(other),
            }
        }
        if inside && !target.starts_with('/') {
            targets.push(resolved.join("/"));
        }
    }
    Ok(targets)
}

pub fn object_ids(
    repo_root: &Path,
    revision: &str,
    paths: &[String],
) -> Result<std::collections::BTreeMap<String, String>> {
    let mut args = vec!["ls-tree", "-z", revision, "--"];
    args.extend(paths.iter().map(String::as_str));
    // Each entry: `<mode> <type> <object>\t<path>\0`.
    Ok(run(repo_root, &args)?
        .split('\0')
        .filter_map(|entry| {
            let (meta, path) = entry.split_once('\t')?;
            let id = meta.split(' ').nth(2)?;
            Some((path.to_string(), id.to_string()))
        })
        .collect())
}
