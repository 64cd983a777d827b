//! One module per command.

pub mod schema;
pub mod stack_init;
pub mod validate;
pub mod version;

use crate::error::Result;
use crate::load::Repo;

/// Opens the repository from `--repo` or the current folder.
pub fn open_repo(repo: &Option<std::path::PathBuf>) -> Result<Repo> {
    let cwd = std::env::current_dir()
        .map_err(|e| crate::error::Error::failed(format!("cannot read the current folder: {e}")))?;
    Repo::open(repo.as_deref(), &cwd)
}

/// The stacks a command works on: `--stack S` (checked to exist) or `--all`.
pub fn selected_stacks(repo: &Repo, stack: &Option<String>) -> Result<Vec<String>> {
    match stack {
        Some(name) => {
            repo.check_stack(name)?;
            Ok(vec![name.clone()])
        }
        None => Ok(repo.stack_names()),
    }
}

/// "1 error", "2 errors".
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}
