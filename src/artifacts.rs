//! What `compile` writes for each stack and environment, and how it knows that
//! nothing changed.
//!
//! `DIR/<stack>/<environment>/` holds `Pulumi.yaml` (the program),
//! `Pulumi.<environment>.yaml` (provider settings) and `manifest.json` (input
//! hash, deployer version, program hash, component → resources). The input hash
//! covers every file the compiler may read for the stack (the stack's folder,
//! `shared/`, variable files), the variables and deployer's version, so a CI
//! cache keyed on it can skip compiling without parsing anything.

use crate::emit::Compiled;
use crate::emit::yaml::to_yaml;
use crate::fs::Entry;
use crate::load::Repo;
use crate::resolve::ResolvedStack;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub deployer_version: String,
    /// The pulumi-aws version the program pins (`crate::provider`).
    #[serde(default)]
    pub provider_version: String,
    pub stack: String,
    pub environment: String,
    pub input_hash: String,
    pub program_hash: String,
    /// The program's CRC-32, which a cache hit checks: see [`up_to_date`].
    #[serde(default)]
    pub program_crc32: Option<u32>,
    pub settings_hash: String,
    pub variables: BTreeMap<String, String>,
    /// Every environment of the stack, so a cache check knows them all without
    /// reading stack.yaml.
    pub environments: Vec<String>,
    pub components: BTreeMap<String, ComponentEntry>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ComponentEntry {
    pub kind: String,
    pub resources: Vec<String>,
}

impl Manifest {
    /// The pulumi-aws version the program pins (a manifest from before it
    /// was recorded was compiled with the version deployer pins today).
    pub fn pinned_provider(&self) -> &str {
        if self.provider_version.is_empty() {
            crate::provider::AWS_VERSION
        } else {
            &self.provider_version
        }
    }
}

/// The files of one compiled program, as bytes ready to write.
pub struct Artifacts {
    pub program: String,
    pub settings: String,
    pub manifest: Manifest,
}

impl Artifacts {
    pub fn new(
        stack: &ResolvedStack,
        compiled: &Compiled,
        input_hash: String,
        variables: &BTreeMap<String, String>,
    ) -> Artifacts {
        let environments = stack.stack.environments.keys().cloned().collect();
        let program = compiled.program.to_yaml();
        let settings = to_yaml(&compiled.settings);
        let by_component = compiled.resources_by_component();
        let mut components = BTreeMap::new();
        for c in &stack.components {
            let id = c.id.to_string();
            components.insert(
                id.clone(),
                ComponentEntry {
                    kind: c.spec.kind().name().into(),
                    resources: by_component.get(&id).cloned().unwrap_or_default(),
                },
            );
        }
        if let Some(shared) = by_component.get("_stack") {
            components.insert(
                "_stack".into(),
                ComponentEntry {
                    kind: "stack".into(),
                    resources: shared.clone(),
                },
            );
        }
        let manifest = Manifest {
            deployer_version: VERSION.into(),
            provider_version: crate::provider::AWS_VERSION.into(),
            stack: stack.name.clone(),
            environment: stack.environment.clone(),
            input_hash,
            program_hash: sha256(program.as_bytes()),
            program_crc32: Some(crc32fast::hash(program.as_bytes())),
            settings_hash: sha256(settings.as_bytes()),
            variables: variables.clone(),
            environments,
            components,
        };
        Artifacts {
            program,
            settings,
            manifest,
        }
    }

    /// Writes the three files into `dir`, each through a temporary file and a
    /// rename so a reader never sees half a program, the manifest last (it is
    /// what says the folder is complete, and records the others' hashes), and
    /// all three under an exclusive lock on `dir/.lock`, so two compiles into one
    /// folder never leave a manifest describing another compile's program.
    ///
    /// Nothing waits for the disk (as cargo never syncs `target/`): a compile's
    /// output is made again from the repository, and a file a power loss left
    /// empty or torn no longer has the hash its manifest records, so
    /// [`up_to_date`] finds the folder stale and it is compiled again. (Three
    /// `fsync`s per environment were 900 at 1,000 services.)
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let guard = std::fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".lock"))?;
        guard.lock()?;
        write_atomic_unsynced(&dir.join("Pulumi.yaml"), self.program.as_bytes())?;
        write_atomic_unsynced(
            &dir.join(format!("Pulumi.{}.yaml", self.manifest.environment)),
            self.settings.as_bytes(),
        )?;
        let manifest =
            serde_json::to_string_pretty(&self.manifest).expect("manifest serialises") + "\n";
        write_atomic_unsynced(&dir.join("manifest.json"), manifest.as_bytes())
    }
}

/// `DIR/<stack>/<environment>`.
pub fn output_dir(out: &Path, stack: &str, environment: &str) -> PathBuf {
    out.join(stack).join(environment)
}

/// The manifest in `dir` when it records these inputs and the files it lists
/// are there, untouched. The program is checked by its CRC-32, which notices
/// a file a crash left torn or zeroed, or that someone edited: the manifest
/// beside it is no better kept than the program, so a cryptographic hash
/// would stop no deliberate edit — and hashing 500 MB of programs was 40% of
/// a cache hit at 10,000 services. What is deployed never comes from here
/// unchecked: a deploy compiles afresh and checks the program's SHA-256.
pub fn up_to_date(dir: &Path, input_hash: &str) -> Option<Manifest> {
    let text = crate::fs::read_back_text(
        &dir.join("manifest.json"),
        crate::fs::ReadBack::CompileOutput,
    )
    .ok()?;
    let manifest = serde_json::from_str::<Manifest>(&text).ok()?;
    let same_file = |name: &str, hash: &str| {
        crate::fs::hash_back(&dir.join(name), crate::fs::ReadBack::CompileOutput)
            .is_ok_and(|found| found == hash)
    };
    let same_program = manifest.program_crc32.is_some_and(|crc| {
        crate::fs::crc32_back(&dir.join("Pulumi.yaml"), crate::fs::ReadBack::CompileOutput)
            .is_ok_and(|found| found == crc)
    });
    let fresh = manifest.input_hash == input_hash
        && manifest.deployer_version == VERSION
        && same_program
        && same_file(
            &format!("Pulumi.{}.yaml", manifest.environment),
            &manifest.settings_hash,
        );
    fresh.then_some(manifest)
}

/// The environments of a stack whose output in `out` is current: all of them
/// (or the one asked for), or `None` if any must be compiled.
pub fn cached_stack(
    out: &Path,
    stack: &str,
    environment: Option<&str>,
    input_hash: &str,
) -> Option<Vec<Manifest>> {
    let stack_dir = out.join(stack);
    let first = match environment {
        Some(env) => up_to_date(&stack_dir.join(env), input_hash)?,
        None => std::fs::read_dir(&stack_dir)
            .ok()?
            .filter_map(|e| e.ok())
            .find_map(|e| up_to_date(&e.path(), input_hash))?,
    };
    let wanted: Vec<String> = match environment {
        Some(env) => vec![env.to_string()],
        None => first.environments.clone(),
    };
    wanted
        .iter()
        .map(|env| up_to_date(&stack_dir.join(env), input_hash))
        .collect()
}

mod inputs;
pub use inputs::{InputHash, input_hash_recorded};

/// Hash of everything that can change a stack's programs.
pub fn input_hash(
    repo: &Repo,
    stack: &str,
    variables: &[(String, String)],
    var_files: &[PathBuf],
) -> std::io::Result<String> {
    let inputs = inputs::files(repo, stack, var_files)?;
    Ok(hash_files(repo, stack, variables, &inputs)?.hash)
}

/// A SHA-256 begun with what every stack's input hash covers besides its
/// files: deployer's version, the stack and the variables, sorted.
fn hasher_for(stack: &str, variables: &[(String, String)]) -> Sha256 {
    let mut hasher = Sha256::new();
    hasher.update(format!("deployer {VERSION}\0stack {stack}\0"));
    let mut vars: Vec<&(String, String)> = variables.iter().collect();
    vars.sort();
    for (k, v) in vars {
        hasher.update(format!("var {k}={v}\0"));
    }
    hasher
}

/// What reading a stack's files gave.
struct HashedFiles {
    hash: String,
    /// The bytes of the regular files, as they were hashed, and the
    /// listing of every folder walked, for the loader.
    read: crate::load::Prefetched,
    /// The fingerprint of the files as they were read (see [`inputs`]).
    fingerprint: Option<String>,
}

/// Hash of the files among `inputs`, read, with the variables and
/// deployer's version.
fn hash_files(
    repo: &Repo,
    stack: &str,
    variables: &[(String, String)],
    inputs: &inputs::Inputs,
) -> std::io::Result<HashedFiles> {
    let mut read = crate::load::Prefetched::default();
    let mut hasher = hasher_for(stack, variables);
    let mut fingerprint = inputs::Fingerprint::new(stack, variables);
    for (index, (path, what)) in inputs.entries.iter().enumerate() {
        if index < inputs.stack_walk {
            read.list(path, *what);
        }
        let meta = match what {
            // A folder, FIFO, socket or device counts by being there: an
            // empty component folder or a FIFO for a config makes a stack
            // invalid, and a cache hit would hide it. Neither is read.
            Entry::Folder | Entry::Special => {
                hasher.update(format!("entry {}\0", repo.display(path)));
                fingerprint.add_by_path(repo, path);
                continue;
            }
            Entry::Link => {
                hasher.update(format!("file {}\0", repo.display(path)));
                // A link counts by where it points; the loader decides
                // whether it may be read (inside the repository only), and
                // reports it.
                hasher.update(std::fs::read_link(path)?.to_string_lossy().as_bytes());
                std::fs::symlink_metadata(path)?
            }
            Entry::File => {
                hasher.update(format!("file {}\0", repo.display(path)));
                // Through the bounded reader: a file swapped for a FIFO or a
                // link after the listing is refused, not waited on or
                // followed; its metadata is its descriptor's.
                let mut bytes = Vec::new();
                let meta = crate::fs::stream_back_described(
                    path,
                    crate::fs::ReadBack::InputFile,
                    |block| {
                        hasher.update(block);
                        bytes.extend_from_slice(block);
                    },
                )?;
                read.files.insert(path.clone(), bytes);
                meta
            }
        };
        hasher.update([0]);
        fingerprint.add(repo, path, &meta);
    }
    Ok(HashedFiles {
        hash: format!("sha256:{:x}", hasher.finalize()),
        read,
        fingerprint: fingerprint.finish(),
    })
}

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// Writes through a temporary file in the same folder and renames it into place.
/// The temporary file is created exclusively (`O_EXCL`) under a random name, so a
/// planted link cannot redirect the write; the rename replaces `path` itself
/// (a link there is replaced, never followed).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_replacing(path, bytes, Durability::Synced)
}

/// Whether a write waits until the disk has it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Durability {
    Synced,
    /// Left to the kernel: what reads it back checks it.
    Unsynced,
}

/// [`write_atomic`] without waiting for the disk (`fsync`): for caches, where
/// an entry a crash left empty or torn is found damaged and rebuilt, and
/// fifty waits for the disk cost more than what the cache saves.
pub fn write_atomic_unsynced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_replacing(path, bytes, Durability::Unsynced)
}

fn write_replacing(path: &Path, bytes: &[u8], durability: Durability) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(
            ".{}.",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    if durability == Durability::Synced {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(path).map(|_| ()).map_err(|e| e.error)
}
