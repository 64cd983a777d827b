//! The deployment repository: where it is and which stacks it has.

use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::error::Result;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Repo {
    /// The root as given or found (used for display).
    pub root: PathBuf,
    /// The root with symbolic links resolved (used to keep reads inside it).
    pub real_root: PathBuf,
}

impl Repo {
    /// Opens the repository at `explicit` (`--repo`), or the git root above `cwd`,
    /// or failing that the nearest folder above `cwd` that has a `stacks/` folder.
    pub fn open(explicit: Option<&Path>, cwd: &Path) -> Result<Repo> {
        let root = match explicit {
            Some(dir) => cwd.join(dir),
            None => find_root(cwd).ok_or_else(|| {
                Diagnostic::error(Code::NotARepository, format!("{} is not inside a deployment repository", cwd.display()))
                    .help("run deployer inside a repository that has a `stacks/` folder, or pass `--repo DIR`")
            })?,
        };
        if !root.is_dir() {
            return Err(Diagnostic::error(
                Code::NotARepository,
                format!("{} is not a folder", root.display()),
            )
            .help("pass the deployment repository's root to `--repo`")
            .into());
        }
        if !root.join("stacks").is_dir() {
            return Err(Diagnostic::error(Code::NotARepository, format!("{} has no stacks/ folder", root.display()))
                .help("a deployment repository keeps its stacks in `stacks/<name>/stack.yaml`; create one with `deployer stack init` inside `stacks/<name>/`")
            .into());
        }
        let real_root = root.canonicalize().map_err(|e| {
            Diagnostic::error(Code::Io, format!("cannot open {}: {e}", root.display()))
        })?;
        Ok(Repo { root, real_root })
    }

    /// Names of the stacks, sorted.
    pub fn stack_names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.root.join("stacks"))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Checks that a stack exists; the error lists the ones that do.
    pub fn require_stack(&self, name: &str) -> Result<()> {
        let names = self.stack_names();
        if names.iter().any(|n| n == name) {
            return Ok(());
        }
        let mut d = Diagnostic::error(Code::UnknownStack, format!("no stack named `{name}`"))
            .in_path(self.display(&self.root.join("stacks")));
        d = if names.is_empty() {
            d.note("this repository has no stacks yet")
                .help("create one: `mkdir -p stacks/NAME && cd stacks/NAME && deployer stack init`")
        } else {
            d = d.note(format!("stacks in this repository: {}", names.join(", ")));
            match did_you_mean(name, names.iter().map(String::as_str)) {
                Some(help) => d.help(help),
                None => d,
            }
        };
        Err(d.into())
    }

    /// Path relative to the repository root with `/` separators, for messages.
    pub fn display(&self, path: &Path) -> String {
        let relative = path.strip_prefix(&self.root).unwrap_or(path);
        let text = relative.to_string_lossy().replace('\\', "/");
        if text.is_empty() { ".".into() } else { text }
    }
}

fn find_root(cwd: &Path) -> Option<PathBuf> {
    let git_root = cwd.ancestors().find(|d| d.join(".git").exists());
    if let Some(root) = git_root
        && root.join("stacks").is_dir()
    {
        return Some(root.to_path_buf());
    }
    cwd.ancestors()
        .find(|d| d.join("stacks").is_dir())
        .map(Path::to_path_buf)
        .or(git_root.map(Path::to_path_buf))
}
