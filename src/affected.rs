//! `deployer affected`: the stacks and environments whose compiled program
//! differs between two trees of the deployment repository (two revisions, or
//! a revision and the working tree), with the changed files that reach each.
//!
//! Changed files come from git (uncommitted and untracked files count when
//! the head is the working tree), and a revision is read from only the
//! folders it needs: its stacks' from git's objects into memory (or, where a
//! link could lead from one folder into another, `git archive` of them all),
//! `shared/` and the variable files into a checkout. A stack is compiled on both
//! sides only when a changed file could reach it — in its folder, or among the
//! files its compile read at either side (presets, variable files, configs,
//! and every `shared/` template it imported or included, found or not) — and
//! it is listed only when a program or its settings differ: a README, or a
//! shared preset edit that leaves a stack's program alone, lists nothing. A
//! change to `.deployer-version` (the deployer a repository pins) lists every
//! environment: another deployer may compile differently.

use crate::diagnostic::Diagnostic;
use crate::error::{Context, Result};
use crate::expand::variables::Missing;
use crate::fs::MAX_FILE_BYTES;
use crate::git::Checkout;
use crate::git::TreeEntry;
use crate::load::Prefetched;
use crate::load::Repo;
use crate::pipeline::{self, GivenVars, Options};
use crate::source::Sources;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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

/// A CI job's share of the affected targets (`affected --max-jobs`).
#[derive(Debug, Serialize)]
pub struct Job {
    /// What a matrix shows for the job: its first target, and how many more.
    pub name: String,
    pub targets: Vec<Affected>,
}

/// The targets in at most `max_jobs` jobs (GitHub Actions takes at most 256
/// per matrix), in their order, each job the same size but for the last, so
/// that a stack's environments, which follow each other, share a job where
/// the sizes allow. Every target is in exactly one job; none is empty.
pub fn into_jobs(targets: Vec<Affected>, max_jobs: usize) -> Vec<Job> {
    let size = targets.len().div_ceil(max_jobs.max(1)).max(1);
    let mut jobs: Vec<Job> = Vec::new();
    let mut targets = targets.into_iter().peekable();
    while targets.peek().is_some() {
        let chunk: Vec<Affected> = targets.by_ref().take(size).collect();
        let first = format!("{} / {}", chunk[0].stack, chunk[0].environment);
        let name = match chunk.len() {
            1 => first,
            n => format!("{first} and {} more", n - 1),
        };
        jobs.push(Job {
            name,
            targets: chunk,
        });
    }
    jobs
}

/// Every stack and environment whose program differs between revision
/// `base` and revision `head` (or the working tree when `None`).
/// `vars.var_files` are relative to the repository: each side reads its own
/// version of them.
pub fn affected(
    repo: &Repo,
    base: &str,
    head: Option<&str>,
    vars: &GivenVars,
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
    let sides = Sides {
        repo,
        vars,
        var_files: &var_files,
        cache: Cache::open(repo, vars),
    };
    if changed.contains(VERSION_PIN) {
        let all: Vec<String> = stacks.into_iter().collect();
        let base_side = sides.compile(Some(base), &all, None)?;
        let head_side = sides.compile(head, &all, None)?;
        return Ok(every_environment(&all, &base_side, &head_side));
    }
    // Outside stacks/, a compile reads only shared/ and the variable files
    // given (and where links inside the repository lead): any other change
    // (a README, CI files) reaches no stack.
    let var_targets: Vec<String> = var_files
        .iter()
        .filter_map(|f| std::fs::canonicalize(repo.root.join(f)).ok())
        .filter_map(|real| {
            real.strip_prefix(&repo.real_root)
                .ok()
                .map(|r| r.to_string_lossy().replace('\\', "/"))
        })
        .collect();
    // An untracked folder (`stacks/new/`, ending in `/`) is a change of
    // everything in it (`git::covers`).
    use crate::git::{covers, is_folder, reaches_folder};
    let reaches_all = changed.iter().any(|f| {
        reaches_folder(f, "shared/") || var_files.iter().chain(&var_targets).any(|v| covers(f, v))
    });
    let in_folder = |stack: &str| {
        let folder = format!("stacks/{stack}/");
        changed.iter().any(|f| reaches_folder(f, &folder))
    };
    // A stack holding a link may read any file of the repository through it:
    // it is compiled whenever anything under stacks/ changed.
    let elsewhere = changed.iter().any(|f| f.starts_with("stacks/"));
    let linking = match elsewhere {
        true => crate::git::stacks_with_links(&repo.root)?,
        false => BTreeSet::new(),
    };
    let candidates: Vec<String> = stacks
        .iter()
        .filter(|stack| reaches_all || in_folder(stack) || linking.contains(*stack))
        .cloned()
        .collect();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let relevant = |stack: &str, read: &BTreeSet<String>| -> Vec<String> {
        let folder = format!("stacks/{stack}/");
        changed
            .iter()
            .filter(|f| {
                reaches_folder(f, &folder)
                    || read.contains(*f)
                    || (is_folder(f) && read.iter().any(|r| covers(f, r)))
            })
            .cloned()
            .collect()
    };
    // Head first: what each candidate reads says which need compiling at base
    // too. Meanwhile the base's candidates are read from git.
    let (head_side, prepared) = std::thread::scope(|scope| {
        let prepared = scope.spawn(|| sides.prepare(base, &candidates));
        let head_side = sides.compile(head, &candidates, None);
        (
            head_side,
            prepared.join().expect("reading the base from git"),
        )
    });
    let (head_side, prepared) = (head_side?, prepared?);
    let needed: Vec<(String, Option<StackHashes>)> = candidates
        .into_iter()
        .zip(head_side)
        .filter(|(stack, compiled)| {
            let read = compiled
                .as_ref()
                .map(|c| c.read.clone())
                .unwrap_or_default();
            // Nothing changed reaches it at head; at base it read the same
            // files unless its own folder changed, which it did not (a
            // retargeted link is a change of its folder).
            in_folder(stack) || !relevant(stack, &read).is_empty()
        })
        .collect();
    let names: Vec<String> = needed.iter().map(|(s, _)| s.clone()).collect();
    let base_side = sides.compile(Some(base), &names, Some(prepared))?;
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

/// One revision's side before compiling: its cache keys (a stack without
/// one is not there), the compiles kept from earlier runs, and for the
/// stacks not kept (when any) a checkout with their folders read into memory
/// from git (`read`), or, where git cannot give a folder as a checkout would
/// hold it (a link, say), written into the checkout.
struct Prepared {
    keys: BTreeMap<String, String>,
    kept: BTreeMap<String, StackHashes>,
    checkout: Option<Checkout>,
    read: BTreeMap<String, Mutex<Prefetched>>,
}

/// Compiles stacks on one side of the comparison.
struct Sides<'a> {
    repo: &'a Repo,
    vars: &'a GivenVars,
    /// `vars.var_files`, relative to the repository, with `/`.
    var_files: &'a [String],
    cache: Cache,
}

impl Sides<'_> {
    /// Each stack as compiled at `revision` (the working tree when `None`), or
    /// `None` where the side does not have it. At a revision, a stack whose
    /// inputs were compiled before comes from the cache; the others are read
    /// from git (their folders into memory, `shared/` and the variable files
    /// into a checkout) and compiled, on every core.
    fn compile(
        &self,
        revision: Option<&str>,
        stacks: &[String],
        prepared: Option<Prepared>,
    ) -> Result<Vec<Option<StackHashes>>> {
        let Some(revision) = revision else {
            let working_tree = open(&self.repo.root);
            let vars = self.vars_at(&self.repo.root);
            return Ok(pipeline::for_each_stack(stacks, |stack| {
                has(&working_tree, stack).map(|r| compile(r, stack, &vars, Prefetched::default()))
            }));
        };
        let Prepared {
            keys,
            mut kept,
            checkout,
            read,
        } = match prepared {
            Some(prepared) => prepared,
            None => self.prepare(revision, stacks)?,
        };
        // Not kept and there: in the checkout (`prepare` was given these
        // stacks, or more).
        let missing: Vec<String> = stacks
            .iter()
            .filter(|stack| keys.contains_key(*stack) && !kept.contains_key(*stack))
            .cloned()
            .collect();
        if let Some(checkout) = checkout.filter(|_| !missing.is_empty()) {
            let opened = open(&checkout.root);
            let vars = self.vars_at(&checkout.root);
            // Each compile is kept as soon as it is done, and its folder of
            // the checkout removed, on its thread: a checkout's thousands of
            // files (when a link made `prepare` write them) are not all
            // removed at the end on one.
            let compiled = pipeline::for_each_stack(&missing, |stack| {
                let prefetched = read
                    .get(stack)
                    .map(|r| std::mem::take(&mut *r.lock().expect("taken once")))
                    .unwrap_or_default();
                let compiled = has(&opened, stack).map(|r| compile(r, stack, &vars, prefetched));
                if let Some(compiled) = &compiled {
                    self.cache.put(&keys[stack], revision, compiled);
                }
                let _ = std::fs::remove_dir_all(checkout.root.join("stacks").join(stack));
                compiled
            });
            for (stack, compiled) in missing.into_iter().zip(compiled) {
                if let Some(compiled) = compiled {
                    kept.insert(stack, compiled);
                }
            }
        }
        Ok(stacks.iter().map(|stack| kept.remove(stack)).collect())
    }

    /// Reads, ahead of [`Sides::compile`], what compiling `stacks` at
    /// `revision` needs: the compiles kept from earlier runs, and from git
    /// the folders of the others. Done on another thread while the head
    /// compiles, it costs the base side nothing but its compile.
    fn prepare(&self, revision: &str, stacks: &[String]) -> Result<Prepared> {
        let keys = self.cache.keys(&self.repo.root, revision, self.var_files)?;
        let kept: BTreeMap<String, StackHashes> = stacks
            .iter()
            .filter_map(|stack| Some((stack.clone(), self.cache.get(keys.get(stack)?, stack)?)))
            .collect();
        let missing: Vec<String> = stacks
            .iter()
            .filter(|stack| keys.contains_key(*stack) && !kept.contains_key(*stack))
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(Prepared {
                keys,
                kept,
                checkout: None,
                read: BTreeMap::new(),
            });
        }
        let folders: Vec<String> = missing.iter().map(|s| format!("stacks/{s}")).collect();
        // shared/ is asked for only to know whether it holds a link.
        let mut asked = folders.clone();
        asked.push("shared".into());
        let mut in_git =
            crate::git::read_folders(&self.repo.root, revision, &asked, MAX_FILE_BYTES)?;
        // A link (in a stack or in shared/) may lead into any stack's folder,
        // which must then be a checkout's files: all are written, as before.
        if in_git.values().any(Option::is_none) {
            in_git.clear();
        }
        let written: Vec<String> = missing
            .iter()
            .zip(&folders)
            .filter(|(_, folder)| !in_git.contains_key(*folder))
            .map(|(stack, _)| stack.clone())
            .collect();
        let checkout = self.checkout(revision, &written)?;
        let mut read = BTreeMap::new();
        for (stack, folder) in missing.iter().zip(&folders) {
            let Some(Some(listed)) = in_git.remove(folder) else {
                continue;
            };
            // The folder is there, empty: the repository lists the stack,
            // and the loader finds it is no link.
            std::fs::create_dir_all(checkout.root.join(folder))
                .context(|| format!("cannot write {}", checkout.root.display()))?;
            read.insert(
                stack.clone(),
                Mutex::new(prefetched(&checkout.root, listed)),
            );
        }
        Ok(Prepared {
            keys,
            kept,
            checkout: Some(checkout),
            read,
        })
    }

    /// `revision`'s folders of `stacks`, with `shared/`, the version pin and
    /// the variable files.
    fn checkout(&self, revision: &str, stacks: &[String]) -> Result<Checkout> {
        let mut paths: Vec<String> = stacks.iter().map(|s| format!("stacks/{s}")).collect();
        paths.push("shared".into());
        paths.push(VERSION_PIN.into());
        paths.extend(self.var_files.iter().cloned());
        // A variable file that is a link needs what it points to at that
        // revision.
        paths.extend(crate::git::link_targets(
            &self.repo.root,
            revision,
            self.var_files,
        )?);
        Checkout::paths_at(&self.repo.root, revision, Some(&paths))
    }

    /// The variables, with the variable files read from the tree at `root`.
    fn vars_at(&self, root: &Path) -> GivenVars {
        GivenVars {
            vars: self.vars.vars.clone(),
            var_files: self.vars.var_files.iter().map(|f| root.join(f)).collect(),
        }
    }
}

/// The repository when it has the stack.
fn has<'a>(repo: &'a Option<Repo>, stack: &str) -> Option<&'a Repo> {
    repo.as_ref()
        .filter(|r| r.stack_names().iter().any(|s| s == stack))
}

fn open(root: &Path) -> Option<Repo> {
    Repo::open(Some(root), root).ok()
}

/// What one side compiles a stack to: its programs' hashes and what it read.
#[derive(Clone, Serialize, Deserialize)]
struct StackHashes {
    /// environment → hash of its program and settings, or `None` when the
    /// stack does not compile there.
    programs: Option<BTreeMap<String, String>>,
    /// Every file the compile read, relative to the repository.
    read: BTreeSet<String>,
}

/// A folder read from git, as the loader takes files already read, below
/// the checkout's `root`.
fn prefetched(root: &Path, folder: crate::git::TreeFolder) -> Prefetched {
    let mut read = Prefetched::default();
    for (path, entry) in folder.entries {
        let path = root.join(path);
        match entry {
            TreeEntry::Folder => read.list(&path, crate::fs::Entry::Folder),
            TreeEntry::File(bytes) => {
                read.list(&path, crate::fs::Entry::File);
                read.files.insert(path, bytes);
            }
        }
    }
    read
}

/// `stack` compiled, its files taken from `prefetched` where they are there.
fn compile(repo: &Repo, stack: &str, vars: &GivenVars, prefetched: Prefetched) -> StackHashes {
    let mut sources = Sources::default();
    let mut diagnostics = Vec::new();
    let options = Options {
        environment: None,
        missing: Missing::Placeholder,
        undeclared: crate::pipeline::Undeclared::Ignored,
        programs: crate::pipeline::Programs::Keep,
        prefetched,
    };
    let mut checked =
        pipeline::compile_stack(repo, stack, vars, &options, &mut sources, &mut diagnostics);
    // Each file as it was named and where it really is: a file reached
    // through a link inside the repository (a config, an infra.yaml or a
    // folder linked to a shared or another stack's file) is read from its
    // target, and a change there must reach this stack. The loader says
    // where (a `realpath` of every file was most of `affected`'s system
    // time: nine failing `readlink`s each).
    let mut read = BTreeSet::new();
    for i in 0..sources.len() {
        let file = sources.get(crate::source::FileId(i as u32));
        if let Ok(named) = file.path.strip_prefix(&repo.root) {
            read.insert(named.to_string_lossy().replace('\\', "/"));
        }
        if let Some(real) = file
            .real
            .as_ref()
            .and_then(|real| real.strip_prefix(&repo.real_root).ok())
        {
            read.insert(real.to_string_lossy().replace('\\', "/"));
        }
    }
    read.extend(checked.templates_asked.iter().cloned());
    read.insert(format!("stacks/{stack}/stack.yaml"));
    let programs = (!diagnostics.iter().any(Diagnostic::is_error)).then(|| {
        (0..checked.environments.len())
            .map(|index| {
                // The program written is a function of the program's
                // content: comparing digests compares the programs, without
                // writing them or keeping 150 of them in memory.
                let compiled = checked.take_compiled(index);
                let settings = crate::artifacts::sha256(compiled.settings.to_string().as_bytes());
                let hash = format!("{} {settings}", compiled.program.digest());
                (checked.environments[index].environment.clone(), hash)
            })
            .collect()
    });
    StackHashes { programs, read }
}

/// Environments whose program differs, with how (`None`: the stack is not
/// there on that side).
fn differences(
    base: Option<&StackHashes>,
    head: Option<&StackHashes>,
) -> Vec<(String, &'static str)> {
    let programs = |c: Option<&StackHashes>| c.and_then(|c| c.programs.clone());
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
    stacks: &[String],
    base: &[Option<StackHashes>],
    head: &[Option<StackHashes>],
) -> Vec<Affected> {
    let mut out = Vec::new();
    for ((stack, base), head) in stacks.iter().zip(base).zip(head) {
        let environments: BTreeSet<&String> = [base, head]
            .into_iter()
            .flatten()
            .filter_map(|c| c.programs.as_ref())
            .flat_map(|p| p.keys())
            .collect();
        for environment in environments {
            out.push(Affected {
                stack: stack.clone(),
                environment: environment.clone(),
                change: "deployer version",
                why: vec![VERSION_PIN.to_string()],
            });
        }
    }
    out
}

/// Compiles at committed revisions, kept between runs in
/// `.deployer/cache/affected/` (deleting it is always safe). An entry is named
/// by a hash of everything a compile of the stack reads — git's ids of the
/// stack's folder, `shared/`, the version pin and the variable files at that
/// revision — and of this deployer build (its version and commit, and for a
/// build from changed sources its executable's size and time). An entry
/// holds hashes of programs and the paths read, never a program or a value.
///
/// Not used when `--var` values are given: a value given on the command line
/// may be a secret, and is never written anywhere, not even as a hash.
///
/// An entry is trusted only when it authenticates: it carries an HMAC-SHA256
/// of its key and content under a secret that never lives in the repository
/// ([`cache_secret`]), so one committed into `.deployer/cache/` (or swapped
/// for another stack's, or another revision's) is ignored and the stack is
/// compiled. Entries are read through [`crate::fs::read_back`]: bounded, and
/// never through a link.
struct Cache {
    dir: Option<PathBuf>,
    build: String,
    secret: Vec<u8>,
    /// The variable files given, relative to the repository, with `/`.
    var_files: Vec<String>,
}

/// What an entry's file holds.
#[derive(Serialize, Deserialize)]
struct Entry {
    /// The key it is kept under (its file's name), authenticated with it.
    key: String,
    /// The revision it was computed at, for whoever reads it.
    revision: String,
    hashes: StackHashes,
    /// HMAC-SHA256 of `key`, `revision` and `hashes`, in hex.
    mac: String,
}

/// The cache's secret: `DEPLOYER_CACHE_KEY` (a CI secret, so that CI's
/// restored cache is trusted and a committed entry is not), else a random key
/// kept in `DEPLOYER_HOME` (`~/.deployer/cache.key`, created readable by its
/// owner only). `None` when neither can be had: the cache is then not used.
fn cache_secret() -> Option<Vec<u8>> {
    if let Some(key) = std::env::var_os("DEPLOYER_CACHE_KEY").filter(|k| !k.is_empty()) {
        return Some(key.as_encoded_bytes().to_vec());
    }
    let path = crate::fs::deployer_home().join("cache.key");
    if let Ok(key) = crate::fs::read_back(&path, crate::fs::ReadBack::Lock)
        && key.len() >= 32
    {
        return Some(key);
    }
    // Written whole under another name and linked into place, which fails
    // when another process got there first: then its key is the one.
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent()?;
    std::fs::create_dir_all(dir).ok()?;
    let key = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let staged = dir.join(format!(".cache.key.{}", uuid::Uuid::new_v4().simple()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&staged)
        .and_then(|mut f| f.write_all(key.as_bytes()));
    let linked = written.and_then(|()| std::fs::hard_link(&staged, &path));
    let _ = std::fs::remove_file(&staged);
    match linked {
        Ok(()) => Some(key.into_bytes()),
        Err(_) => crate::fs::read_back(&path, crate::fs::ReadBack::Lock)
            .ok()
            .filter(|k| k.len() >= 32),
    }
}

fn mac(secret: &[u8], key: &str, revision: &str, hashes: &StackHashes) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(key.as_bytes());
    mac.update(b"\0");
    mac.update(revision.as_bytes());
    mac.update(b"\0");
    mac.update(&serde_json::to_vec(hashes).expect("hashes serialise"));
    format!("{:x}", mac.finalize().into_bytes())
}

impl Cache {
    fn open(repo: &Repo, vars: &GivenVars) -> Cache {
        // A build from a commit's own sources is named by the commit, so a CI
        // job that installs the same release each run keeps its cache; any
        // other build by its executable's size and time.
        let exe = if env!("DEPLOYER_GIT_CLEAN") == "true" {
            String::new()
        } else {
            std::env::current_exe()
                .and_then(std::fs::metadata)
                .map(|m| format!("{} {:?}", m.len(), m.modified().ok()))
                .unwrap_or_else(|_| format!("{:?}", std::time::SystemTime::now()))
        };
        let secret = cache_secret();
        Cache {
            dir: (vars.vars.is_empty() && secret.is_some())
                .then(|| repo.root.join(".deployer").join("cache").join("affected")),
            build: format!(
                "deployer {} {} {exe}",
                crate::artifacts::VERSION,
                env!("DEPLOYER_GIT_COMMIT")
            ),
            secret: secret.unwrap_or_default(),
            var_files: vars
                .var_files
                .iter()
                .map(|f| f.to_string_lossy().replace('\\', "/"))
                .collect(),
        }
    }

    /// The cache key of each stack `revision` has; a stack without one is not
    /// there.
    fn keys(
        &self,
        root: &Path,
        revision: &str,
        var_files: &[String],
    ) -> Result<BTreeMap<String, String>> {
        let mut inputs: Vec<String> = vec!["shared".into(), VERSION_PIN.into()];
        inputs.extend(var_files.iter().cloned());
        let mut paths = vec!["stacks/".to_string()];
        paths.extend(inputs.iter().cloned());
        let ids = crate::git::object_ids(root, revision, &paths)?;
        let mut common = Sha256::new();
        common.update(format!("{}\0", self.build));
        for input in &inputs {
            let id = ids.get(input).map_or("none", String::as_str);
            common.update(format!("{input} {id}\0"));
        }
        Ok(ids
            .iter()
            .filter_map(|(path, id)| {
                let stack = path.strip_prefix("stacks/")?;
                let mut key = common.clone();
                key.update(format!("stack {stack} {id}\0"));
                Some((stack.to_string(), format!("{:x}", key.finalize())))
            })
            .collect())
    }

    /// The entry kept under `key` for `stack`, when it authenticates.
    fn get(&self, key: &str, stack: &str) -> Option<StackHashes> {
        let path = self.dir.as_ref()?.join(format!("{key}.json"));
        let bytes = crate::fs::read_back(&path, crate::fs::ReadBack::CacheEntry).ok()?;
        let entry: Entry = serde_json::from_slice(&bytes).ok()?;
        let expected = mac(&self.secret, key, &entry.revision, &entry.hashes);
        // A compile that read through a link outside its own folder, shared/
        // and the variable files depends on files its key does not name:
        // not kept.
        let folder = format!("stacks/{stack}/");
        let own = |p: &String| {
            p.starts_with(&folder)
                || p.starts_with("shared/")
                || p == VERSION_PIN
                || self.var_files.contains(p)
        };
        if !entry.hashes.read.iter().all(own) {
            return None;
        }
        let authentic: bool = entry.key == key
            && expected.len() == entry.mac.len()
            && expected
                .bytes()
                .zip(entry.mac.bytes())
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0;
        authentic.then_some(entry.hashes)
    }

    /// Best effort: a cache that cannot be written only costs time.
    fn put(&self, key: &str, revision: &str, compiled: &StackHashes) {
        let Some(dir) = &self.dir else { return };
        let Some(root) = dir.parent().and_then(Path::parent).and_then(Path::parent) else {
            return;
        };
        let entry = Entry {
            key: key.to_string(),
            revision: revision.to_string(),
            hashes: compiled.clone(),
            mac: mac(&self.secret, key, revision, compiled),
        };
        if crate::fs::deployer_folder(root).is_ok()
            && std::fs::create_dir_all(dir).is_ok()
            && let Ok(bytes) = serde_json::to_vec(&entry)
        {
            let path = dir.join(format!("{key}.json"));
            let _ = crate::artifacts::write_atomic_unsynced(&path, &bytes);
        }
    }
}

#[cfg(test)]
mod jobs_tests {
    use super::{Affected, into_jobs};

    fn targets(stacks: usize, environments: usize) -> Vec<Affected> {
        (0..stacks)
            .flat_map(|s| {
                (0..environments).map(move |e| Affected {
                    stack: format!("stack-{s:03}"),
                    environment: format!("env-{e}"),
                    change: "changed",
                    why: Vec::new(),
                })
            })
            .collect()
    }

    #[test]
    fn six_hundred_targets_fit_github_s_matrix_and_none_is_lost() {
        let jobs = into_jobs(targets(200, 3), 256);
        assert!(jobs.len() <= 256, "{} jobs", jobs.len());
        let flat: Vec<(String, String)> = jobs
            .iter()
            .flat_map(|j| {
                j.targets
                    .iter()
                    .map(|t| (t.stack.clone(), t.environment.clone()))
            })
            .collect();
        let expected: Vec<(String, String)> = targets(200, 3)
            .into_iter()
            .map(|t| (t.stack, t.environment))
            .collect();
        assert_eq!(flat, expected, "every target once, in order");
        assert!(
            jobs.iter()
                .all(|j| !j.targets.is_empty() && j.targets.len() <= 3)
        );
        // Three environments a stack, three targets a job: a stack's stay together.
        assert!(
            jobs.iter()
                .all(|j| j.targets.iter().all(|t| t.stack == j.targets[0].stack))
        );
        assert_eq!(jobs[0].name, "stack-000 / env-0 and 2 more");
    }

    #[test]
    fn fewer_targets_than_jobs_are_a_job_each() {
        let jobs = into_jobs(targets(2, 2), 256);
        assert_eq!(jobs.len(), 4);
        assert_eq!(jobs[3].name, "stack-001 / env-1");
        assert!(into_jobs(Vec::new(), 256).is_empty());
        assert_eq!(into_jobs(targets(5, 3), 1).len(), 1);
    }
}
