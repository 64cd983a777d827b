//! `deployer affected`: the stacks and environments whose compiled program
//! differs between two trees of the deployment repository (two revisions, or
//! a revision and the working tree), with the changed files that reach each.
//!
//! Changed files are found by comparing the two trees' bytes, so uncommitted
//! and untracked files count as git would not. A stack is compiled on both
//! sides only when a changed file could reach it — in its folder, or among the
//! files its compile read at either side (presets, variable files, configs,
//! and every `shared/` template it imported or included, found or not) — and
//! it is listed only when a program or its settings differ: a README, or a
//! shared preset edit that leaves a stack's program alone, lists nothing. A
//! change to `.deployer-version` (the deployer a repository pins) lists every
//! environment: another deployer may compile differently.

use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::expand::variables::Missing;
use crate::load::Repo;
use crate::pipeline::{self, Options, VarArgs};
use crate::source::Sources;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The file a repository pins its deployer version in.
pub const VERSION_PIN: &str = ".deployer-version";

/// One stack and environment whose program differs.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Affected {
    pub stack: String,
    pub environment: String,
    /// `changed`, `added`, `removed`, `no longer compiles`, `compiles again`,
    /// or `deployer version`.
    pub change: &'static str,
    /// The changed files that reach it, relative to the repository.
    pub why: Vec<String>,
}

/// Every stack and environment whose program differs between `base` and
/// `head` (the repository's root in each tree). `vars.var_files` are relative
/// to the repository: each side reads its own version of them.
pub fn affected(base: &Path, head: &Path, vars: &VarArgs) -> Result<Vec<Affected>> {
    let on = |root: &Path| VarArgs {
        vars: vars.vars.clone(),
        var_files: vars.var_files.iter().map(|f| root.join(f)).collect(),
    };
    let (base_vars, head_vars) = (on(base), on(head));
    let changed = changed_files(base, head)?;
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    let (base_repo, head_repo) = (open(base), open(head));
    let stacks: BTreeSet<String> = [&base_repo, &head_repo]
        .into_iter()
        .flatten()
        .flat_map(Repo::stack_names)
        .collect();
    if changed.contains(VERSION_PIN) {
        return every_environment(&stacks, &base_repo, &head_repo, &head_vars);
    }
    let relevant = |stack: &str, read: &BTreeSet<String>| -> Vec<String> {
        let folder = format!("stacks/{stack}/");
        changed
            .iter()
            .filter(|f| f.starts_with(&folder) || read.contains(*f))
            .cloned()
            .collect()
    };
    // Only shared files and files outside stacks/ need a stack's read set.
    let outside_stacks = changed.iter().any(|f| !f.starts_with("stacks/"));
    let mut out = Vec::new();
    for stack in &stacks {
        let in_folder = changed
            .iter()
            .any(|f| f.starts_with(&format!("stacks/{stack}/")));
        if !in_folder && !outside_stacks {
            continue;
        }
        let head_side = has(&head_repo, stack).map(|r| compile(r, stack, &head_vars));
        let head_read = head_side
            .as_ref()
            .map(|c| c.read.clone())
            .unwrap_or_default();
        if !in_folder && relevant(stack, &head_read).is_empty() {
            // Nothing changed reaches it at head; at base it read the same
            // files unless its own folder changed, which it did not.
            continue;
        }
        let base_side = has(&base_repo, stack).map(|r| compile(r, stack, &base_vars));
        let mut read = head_read;
        if let Some(b) = &base_side {
            read.extend(b.read.iter().cloned());
        }
        let why = relevant(stack, &read);
        for (environment, change) in differences(base_side.as_ref(), head_side.as_ref()) {
            out.push(Affected {
                stack: stack.clone(),
                environment,
                change,
                why: why.clone(),
            });
        }
    }
    Ok(out)
}

/// The repository when it has the stack.
fn has<'a>(repo: &'a Option<Repo>, stack: &str) -> Option<&'a Repo> {
    repo.as_ref()
        .filter(|r| r.stack_names().iter().any(|s| s == stack))
}

fn open(root: &Path) -> Option<Repo> {
    Repo::open(Some(root), root).ok()
}

/// What one side compiles to.
struct Compiled {
    /// environment → program and settings as written, or `None` when the
    /// stack does not compile there.
    programs: Option<BTreeMap<String, String>>,
    /// Every file the compile read, relative to the repository.
    read: BTreeSet<String>,
}

fn compile(repo: &Repo, stack: &str, vars: &VarArgs) -> Compiled {
    let mut sources = Sources::default();
    let mut diagnostics = Vec::new();
    let options = Options {
        environment: None,
        missing: Missing::Placeholder,
        ignore_undeclared: true,
    };
    let checked =
        pipeline::check_stack(repo, stack, vars, &options, &mut sources, &mut diagnostics);
    let mut read: BTreeSet<String> = (0..sources.len())
        .map(|i| sources.get(crate::source::FileId(i as u32)).path.clone())
        .filter_map(|p| {
            p.strip_prefix(&repo.root)
                .ok()
                .map(|r| r.to_string_lossy().replace('\\', "/"))
        })
        .collect();
    read.extend(checked.templates_asked.iter().cloned());
    read.insert(format!("stacks/{stack}/stack.yaml"));
    let programs = (!diagnostics.iter().any(Diagnostic::is_error)).then(|| {
        checked
            .environments
            .iter()
            .map(|resolved| {
                let compiled = crate::emit::emit(resolved);
                let text = format!(
                    "{}\n---\n{}",
                    crate::emit::program::to_yaml(&compiled.program.to_json()),
                    crate::emit::program::to_yaml(&compiled.settings)
                );
                (resolved.environment.clone(), text)
            })
            .collect()
    });
    Compiled { programs, read }
}

/// Environments whose program differs, with how (`None`: the stack is not
/// there on that side).
fn differences(base: Option<&Compiled>, head: Option<&Compiled>) -> Vec<(String, &'static str)> {
    let programs = |c: Option<&Compiled>| c.and_then(|c| c.programs.clone());
    match (programs(base), programs(head)) {
        (Some(b), Some(h)) => {
            let environments: BTreeSet<&String> = b.keys().chain(h.keys()).collect();
            environments
                .into_iter()
                .filter_map(|env| match (b.get(env), h.get(env)) {
                    (Some(x), Some(y)) if x == y => None,
                    (Some(_), Some(_)) => Some((env.clone(), "changed")),
                    (None, Some(_)) => Some((env.clone(), "added")),
                    (Some(_), None) => Some((env.clone(), "removed")),
                    (None, None) => None,
                })
                .collect()
        }
        (Some(b), None) if head.is_none() => b.into_keys().map(|e| (e, "removed")).collect(),
        (Some(b), None) => b.into_keys().map(|e| (e, "no longer compiles")).collect(),
        (None, Some(h)) if base.is_none() => h.into_keys().map(|e| (e, "added")).collect(),
        (None, Some(h)) => h.into_keys().map(|e| (e, "compiles again")).collect(),
        // Broken on both sides: what it would deploy is unknown on both.
        (None, None) => Vec::new(),
    }
}

/// `.deployer-version` changed: every environment of every stack.
fn every_environment(
    stacks: &BTreeSet<String>,
    base: &Option<Repo>,
    head: &Option<Repo>,
    vars: &VarArgs,
) -> Result<Vec<Affected>> {
    let mut out = Vec::new();
    for stack in stacks {
        let environments: BTreeSet<String> = [base, head]
            .into_iter()
            .flatten()
            .filter_map(|r| compile(r, stack, vars).programs)
            .flat_map(|p| p.into_keys())
            .collect();
        for environment in environments {
            out.push(Affected {
                stack: stack.clone(),
                environment,
                change: "deployer version",
                why: vec![VERSION_PIN.to_string()],
            });
        }
    }
    Ok(out)
}

/// Files whose bytes differ between the trees (or exist in one only),
/// relative to the repository; `.git` and `.deployer` are not the
/// repository's content.
fn changed_files(base: &Path, head: &Path) -> Result<BTreeSet<String>> {
    let (b, h) = (hashes(base)?, hashes(head)?);
    let mut changed: BTreeSet<String> = b
        .iter()
        .filter(|(path, hash)| h.get(*path) != Some(hash))
        .map(|(path, _)| path.clone())
        .collect();
    changed.extend(h.keys().filter(|path| !b.contains_key(*path)).cloned());
    Ok(changed)
}

fn hashes(root: &Path) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| Error::failed(format!("cannot read {}: {e}", dir.display())))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name();
            if dir == root && (name == ".git" || name == ".deployer") {
                continue;
            }
            if kind.is_dir() {
                pending.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .map(|r| r.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_default();
                // A link is compared by where it points, never followed.
                let bytes = if kind.is_symlink() {
                    std::fs::read_link(&path)
                        .map(|t| t.to_string_lossy().into_owned().into_bytes())
                        .unwrap_or_default()
                } else {
                    std::fs::read(&path).unwrap_or_default()
                };
                out.insert(rel, crate::artifacts::sha256(&bytes));
                if out.len() > crate::artifacts::MAX_FILES {
                    return Err(Error::failed(format!(
                        "more than {} files under {}",
                        crate::artifacts::MAX_FILES,
                        root.display()
                    )));
                }
            }
        }
    }
    Ok(out)
}
