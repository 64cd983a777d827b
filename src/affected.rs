//! `deployer affected`: the stacks and environments whose compiled program
//! differs between two trees of the deployment repository (two revisions, or
//! a revision and the working tree), with the changed files that reach each.
//!
//! Changed files come from git (uncommitted and untracked files count when
//! the head is the working tree), and each side is read from only the folders
//! it needs (`git archive` of those paths). A stack is compiled on both
//! sides only when a changed file could reach it — in its folder, or among the
//! files its compile read at either side (presets, variable files, configs,
//! and every `shared/` template it imported or included, found or not) — and
//! it is listed only when a program or its settings differ: a README, or a
//! shared preset edit that leaves a stack's program alone, lists nothing. A
//! change to `.deployer-version` (the deployer a repository pins) lists every
//! environment: another deployer may compile differently.

use crate::diagnostic::Diagnostic;
use crate::error::Result;
use crate::expand::variables::Missing;
use crate::git::Checkout;
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

/// Every stack and environment whose program differs between revision
/// `base` and revision `head` (or the working tree when `None`).
/// `vars.var_files` are relative to the repository: each side reads its own
/// version of them.
pub fn affected(
    repo: &Repo,
    base: &str,
    head: Option<&str>,
    vars: &VarArgs,
) -> Result<Vec<Affected>> {
    // Both revisions must exist (a usage error otherwise), even when nothing changed.
    Checkout::paths_at(&repo.root, base, Some(&[]))?;
    if let Some(head) = head {
        Checkout::paths_at(&repo.root, head, Some(&[]))?;
    }
    let changed = crate::git::changed_files(&repo.root, base, head)?;
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    let mut stacks: BTreeSet<String> = crate::git::stacks_at(&repo.root, base)?
        .into_iter()
        .collect();
    match head {
        Some(head) => stacks.extend(crate::git::stacks_at(&repo.root, head)?),
        None => stacks.extend(repo.stack_names()),
    }
    let var_files: Vec<String> = vars
        .var_files
        .iter()
        .map(|f| f.to_string_lossy().replace('\\', "/"))
        .collect();
    // What a compile of these stacks can read: their folders, shared/, the
    // variable files given, and the version pin.
    let paths = |stacks: &[String]| -> Vec<String> {
        let mut paths: Vec<String> = stacks.iter().map(|s| format!("stacks/{s}")).collect();
        paths.push("shared".into());
        paths.push(VERSION_PIN.into());
        paths.extend(var_files.iter().cloned());
        paths
    };
    let side =
        |revision: Option<&str>, stacks: &[String]| -> Result<(Option<Checkout>, Option<Repo>)> {
            match revision {
                None => Ok((None, open(&repo.root))),
                Some(revision) => {
                    let checkout = Checkout::paths_at(&repo.root, revision, Some(&paths(stacks)))?;
                    let opened = open(&checkout.root);
                    Ok((Some(checkout), opened))
                }
            }
        };
    let on = |root: &Path| VarArgs {
        vars: vars.vars.clone(),
        var_files: vars.var_files.iter().map(|f| root.join(f)).collect(),
    };
    if changed.contains(VERSION_PIN) {
        let all: Vec<String> = stacks.iter().cloned().collect();
        let (_b, base_repo) = side(Some(base), &all)?;
        let (_h, head_repo) = side(head, &all)?;
        let head_vars = head_repo
            .as_ref()
            .map_or_else(|| vars.clone(), |r| on(&r.root));
        return every_environment(&stacks, &base_repo, &head_repo, &head_vars);
    }
    // Outside stacks/, a compile reads only shared/ and the variable files
    // given: any other change (a README, CI files) reaches no stack.
    let reaches_all = changed
        .iter()
        .any(|f| f.starts_with("shared/") || var_files.contains(f));
    let in_folder = |stack: &str| {
        changed
            .iter()
            .any(|f| f.starts_with(&format!("stacks/{stack}/")))
    };
    let candidates: Vec<String> = stacks
        .iter()
        .filter(|stack| reaches_all || in_folder(stack))
        .cloned()
        .collect();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let relevant = |stack: &str, read: &BTreeSet<String>| -> Vec<String> {
        let folder = format!("stacks/{stack}/");
        changed
            .iter()
            .filter(|f| f.starts_with(&folder) || read.contains(*f))
            .cloned()
            .collect()
    };
    // Head first, on every core: what each candidate reads says which need
    // compiling at base too.
    let (_head_checkout, head_repo) = side(head, &candidates)?;
    let head_vars = head_repo
        .as_ref()
        .map_or_else(|| vars.clone(), |r| on(&r.root));
    let head_side: Vec<Option<Compiled>> = pipeline::for_each_stack(&candidates, |stack| {
        has(&head_repo, stack).map(|r| compile(r, stack, &head_vars))
    });
    let needed: Vec<(String, Option<Compiled>)> = candidates
        .into_iter()
        .zip(head_side)
        .filter(|(stack, compiled)| {
            let read = compiled
                .as_ref()
                .map(|c| c.read.clone())
                .unwrap_or_default();
            // Nothing changed reaches it at head; at base it read the same
            // files unless its own folder changed, which it did not.
            in_folder(stack) || !relevant(stack, &read).is_empty()
        })
        .collect();
    let names: Vec<String> = needed.iter().map(|(s, _)| s.clone()).collect();
    let (_base_checkout, base_repo) = side(Some(base), &names)?;
    let base_vars = base_repo
        .as_ref()
        .map_or_else(|| vars.clone(), |r| on(&r.root));
    let base_side: Vec<Option<Compiled>> = pipeline::for_each_stack(&names, |stack| {
        has(&base_repo, stack).map(|r| compile(r, stack, &base_vars))
    });
    let mut out = Vec::new();
    for ((stack, head_side), base_side) in needed.into_iter().zip(base_side) {
        let mut read = head_side
            .as_ref()
            .map(|c| c.read.clone())
            .unwrap_or_default();
        if let Some(b) = &base_side {
            read.extend(b.read.iter().cloned());
        }
        let why = relevant(&stack, &read);
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
