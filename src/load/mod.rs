//! Finds the files of a stack and parses them, keeping a span for every node.
//!
//! Layout (DESIGN.md §1):
//! `stacks/<stack>/stack.yaml`, `stacks/<stack>/services/<service>/service.yaml`,
//! `.../components/<component>/<kind>.yaml` (+ `infra.yaml`, `configs/*.yaml`).
//! Everything found wrong is reported, and loading goes on with the rest.

pub mod repo;
pub mod yaml;

use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::kinds::Kind;
use crate::model::names::{self, NameKind};
use crate::node::Node;
use crate::source::{FileId, SourceFile, Sources, Span};
pub use repo::Repo;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A parsed file: where it is and its document.
#[derive(Clone, Debug)]
pub struct Doc {
    pub file: FileId,
    pub root: Node,
}

#[derive(Debug)]
pub struct LoadedStack {
    pub name: String,
    pub dir: PathBuf,
    /// `None` when stack.yaml is missing or could not be parsed (already reported).
    pub stack_file: Option<Doc>,
    pub services: Vec<LoadedService>,
}

#[derive(Debug)]
pub struct LoadedService {
    pub name: String,
    pub dir: PathBuf,
    pub file: Option<Doc>,
    pub components: Vec<LoadedComponent>,
}

#[derive(Debug)]
pub struct LoadedComponent {
    pub name: String,
    pub dir: PathBuf,
    pub kind: Kind,
    pub doc: Option<Doc>,
    pub infra: Option<Doc>,
    /// `configs/<name>.yaml` files, by name without extension, sorted.
    pub configs: Vec<(String, Doc)>,
}

impl LoadedStack {
    pub fn components(&self) -> impl Iterator<Item = (&LoadedService, &LoadedComponent)> {
        self.services
            .iter()
            .flat_map(|s| s.components.iter().map(move |c| (s, c)))
    }
}

/// Files already read, by path, with their bytes, and the folders already
/// listed: what compile's input hash read through the bounded reader
/// (regular files only, never a link) and walked (folders opened without
/// following a link), so that the loader compiles exactly the bytes the
/// hash describes and reads and lists nothing a second time (a tenth of
/// `compile --all` cold each).
#[derive(Clone, Default)]
pub struct Prefetched {
    pub files: HashMap<PathBuf, Vec<u8>>,
    /// Each folder's entries, hidden ones included; a folder that is there
    /// with nothing in it has an empty listing.
    listings: HashMap<PathBuf, Vec<(PathBuf, crate::fs::Entry)>>,
}

impl Prefetched {
    /// Records an entry of a walk in its folder's listing (a folder gets
    /// its own, empty until its entries come).
    pub fn list(&mut self, path: &Path, what: crate::fs::Entry) {
        if what == crate::fs::Entry::Folder {
            self.listings.entry(path.to_path_buf()).or_default();
        }
        if let Some(parent) = path.parent() {
            self.listings
                .entry(parent.to_path_buf())
                .or_default()
                .push((path.to_path_buf(), what));
        }
    }
}

/// The number of files and folders, not their bytes.
impl std::fmt::Debug for Prefetched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Prefetched({} files, {} folders)",
            self.files.len(),
            self.listings.len()
        )
    }
}

/// Reads files into [`Sources`] and collects what is wrong with them.
pub struct Loader<'a> {
    pub repo: &'a Repo,
    pub sources: &'a mut Sources,
    pub diagnostics: Vec<Diagnostic>,
    prefetched: Option<&'a Prefetched>,
    /// The real location of each folder looked at, so that checking a file
    /// costs one `lstat`, not one per component of its path (`realpath`):
    /// that was 8% of `affected` on the benchmark repository.
    real_dirs: HashMap<PathBuf, PathBuf>,
    /// What a listing (or an `lstat`) already showed not to be a link, and
    /// whether it is a folder: its real place is its folder's, and whether
    /// it is there and a folder is known, with no `stat` of its own (three
    /// `statx` per file were a tenth of `validate --all` at 10,000 services).
    not_links: HashMap<PathBuf, bool>,
}

impl<'a> Loader<'a> {
    pub fn new(repo: &'a Repo, sources: &'a mut Sources) -> Self {
        Loader {
            repo,
            sources,
            diagnostics: Vec::new(),
            prefetched: None,
            real_dirs: HashMap::new(),
            not_links: HashMap::new(),
        }
    }

    /// The loader, taking the files in `prefetched` from there.
    pub fn with_prefetched(
        repo: &'a Repo,
        sources: &'a mut Sources,
        prefetched: &'a Prefetched,
    ) -> Self {
        Loader {
            prefetched: Some(prefetched),
            ..Loader::new(repo, sources)
        }
    }

    fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Loads every file of one stack. The stack must exist (see [`Repo::stack_dir`]).
    pub fn load_stack(&mut self, name: &str) -> LoadedStack {
        let dir = self.repo.root.join("stacks").join(name);
        if let Err(why) = names::check(NameKind::Stack, name) {
            self.report(
                Diagnostic::error(Code::InvalidName, why)
                    .in_path(self.repo.display(&dir))
                    .help(format!(
                        "rename the folder, for example to `{}`",
                        names::suggest(NameKind::Stack, name)
                    )),
            );
        }
        let stack_file = self.required_file(
            &dir.join("stack.yaml"),
            "every stack folder needs a stack.yaml; `deployer stack init` writes one",
        );
        let services_dir = dir.join("services");
        let mut services = Vec::new();
        for service_dir in self.subdirs(&services_dir) {
            services.push(self.load_service(service_dir));
        }
        LoadedStack {
            name: name.to_string(),
            dir,
            stack_file,
            services,
        }
    }

    fn load_service(&mut self, dir: PathBuf) -> LoadedService {
        let name = file_name(&dir);
        if let Err(why) = names::check(NameKind::Service, &name) {
            self.report(
                Diagnostic::error(Code::InvalidName, why)
                    .in_path(self.repo.display(&dir))
                    .help(format!(
                        "rename the folder, for example to `{}`",
                        names::suggest(NameKind::Service, &name)
                    )),
            );
        }
        let file = self.required_file(
            &dir.join("service.yaml"),
            "every service folder needs a service.yaml (it may hold just a description)",
        );
        let mut components = Vec::new();
        let components_dir = dir.join("components");
        for component_dir in self.subdirs(&components_dir) {
            if let Some(component) = self.load_component(component_dir) {
                components.push(component);
            }
        }
        if components.is_empty() && file.is_some() {
            self.report(
                Diagnostic::warning(
                    Code::MissingFile,
                    format!("service `{name}` has no components"),
                )
                .in_path(self.repo.display(&components_dir))
                .help(format!(
                    "add a folder under components/ with a {}",
                    Kind::file_names("or")
                )),
            );
        }
        LoadedService {
            name,
            dir,
            file,
            components,
        }
    }

    fn load_component(&mut self, dir: PathBuf) -> Option<LoadedComponent> {
        let name = file_name(&dir);
        if let Err(why) = names::check(NameKind::Component, &name) {
            self.report(
                Diagnostic::error(Code::InvalidName, why)
                    .in_path(self.repo.display(&dir))
                    .help(format!(
                        "rename the folder, for example to `{}`",
                        names::suggest(NameKind::Component, &name)
                    )),
            );
        }
        let mut kinds = Vec::new();
        let mut infra_path = None;
        let entries = self.entries(&dir);
        let configs_dir = dir.join("configs");
        // From the listing: a `stat` of a configs/ most components do not
        // have was a fifth of all `statx` of `validate --all`.
        let has_configs = entries
            .iter()
            .any(|(path, is_dir)| *is_dir && *path == configs_dir);
        let files = entries.into_iter().filter(|(_, is_dir)| !is_dir);
        for (path, _) in files {
            let file = file_name(&path);
            if let Some(kind) = Kind::from_file_name(&file) {
                kinds.push((kind, path));
            } else if file == "infra.yaml" {
                infra_path = Some(path);
            } else if file.ends_with(".yaml") || file.ends_with(".yml") {
                let known = Kind::ALL
                    .iter()
                    .map(|k| k.file_name())
                    .chain(["infra.yaml"]);
                let corrected = file.replace(".yml", ".yaml");
                let help = did_you_mean(&corrected, known).unwrap_or_else(|| {
                    format!("a component folder holds one kind file ({}), an optional infra.yaml and a configs/ folder", Kind::file_names("or"))
                });
                self.report(
                    Diagnostic::error(
                        Code::UnexpectedFile,
                        format!("unexpected file `{file}` in component `{name}`"),
                    )
                    .in_path(self.repo.display(&path))
                    .help(help),
                );
            }
        }
        let (kind, kind_path) = match kinds.len() {
            0 => {
                self.report(
                    Diagnostic::error(
                        Code::NoKindFile,
                        format!("component `{name}` has no kind file"),
                    )
                    .in_path(self.repo.display(&dir))
                    .help(format!(
                        "add exactly one of {}; the file's name says what the component is",
                        Kind::file_names("or")
                    )),
                );
                return None;
            }
            1 => kinds.pop().expect("one"),
            _ => {
                let found: Vec<_> = kinds.iter().map(|(k, _)| k.file_name()).collect();
                self.report(
                    Diagnostic::error(
                        Code::MultipleKindFiles,
                        format!(
                            "component `{name}` has {} kind files: {}",
                            found.len(),
                            found.join(", ")
                        ),
                    )
                    .in_path(self.repo.display(&dir))
                    .help("a component is one thing; move the others into components of their own"),
                );
                return None;
            }
        };
        let doc = self.parse_file(&kind_path);
        let infra = infra_path.and_then(|p| {
            if !kind.runs_containers() {
                self.report(
                    Diagnostic::error(
                        Code::UnexpectedFile,
                        format!("infra.yaml does not apply to a {kind} component"),
                    )
                    .in_path(self.repo.display(&p))
                    .help("infra.yaml sizes containers; set sizes in the kind file instead"),
                );
                return None;
            }
            self.parse_file(&p)
        });
        let mut configs = Vec::new();
        if has_configs {
            if !kind.runs_containers() {
                self.report(
                    Diagnostic::error(
                        Code::UnexpectedFile,
                        format!("configs/ does not apply to a {kind} component"),
                    )
                    .in_path(self.repo.display(&configs_dir)),
                );
            } else {
                for path in self.files(&configs_dir) {
                    let file = file_name(&path);
                    let Some(stem) = file
                        .strip_suffix(".yaml")
                        .or_else(|| file.strip_suffix(".yml"))
                    else {
                        self.report(
                            Diagnostic::error(Code::UnexpectedFile, format!("config `{file}` is not a .yaml file"))
                                .in_path(self.repo.display(&path))
                                .help("configs are YAML files; they are rendered per environment and delivered to the container as JSON"),
                        );
                        continue;
                    };
                    if let Err(why) = names::check(NameKind::Component, stem) {
                        self.report(
                            Diagnostic::error(
                                Code::InvalidName,
                                why.replace("component", "config"),
                            )
                            .in_path(self.repo.display(&path)),
                        );
                        continue;
                    }
                    if let Some(doc) = self.parse_file(&path) {
                        configs.push((stem.to_string(), doc));
                    }
                }
            }
        }
        Some(LoadedComponent {
            name,
            dir,
            kind,
            doc,
            infra,
            configs,
        })
    }

    /// Parses a file that must exist; reports it missing otherwise.
    fn required_file(&mut self, path: &Path, help: &str) -> Option<Doc> {
        // Read already (from git, for `affected`'s base): a regular file.
        if self.prefetched.is_some_and(|p| p.files.contains_key(path)) {
            self.not_links.insert(path.to_path_buf(), false);
            return self.parse_file(path);
        }
        // There when `lstat` finds it: a link that leads nowhere is there,
        // and reading it says why it cannot be read.
        let meta = path.symlink_metadata();
        if let Ok(meta) = &meta
            && !meta.file_type().is_symlink()
        {
            self.not_links.insert(path.to_path_buf(), meta.is_dir());
        }
        if meta.is_err() {
            let name = file_name(path);
            self.report(
                Diagnostic::error(Code::MissingFile, format!("missing {name}"))
                    .in_path(self.repo.display(path))
                    .help(help.to_string()),
            );
            return None;
        }
        self.parse_file(path)
    }

    /// Reads and parses one YAML file. Returns `None` when it could not be read or
    /// parsed, after reporting why.
    pub fn parse_file(&mut self, path: &Path) -> Option<Doc> {
        let id = self.read(path)?;
        let parsed = yaml::parse(id, self.sources.get(id));
        // A file that could not be read into a tree (a syntax error, a parser
        // that could not start) is not an empty one.
        let syntax_error = parsed
            .diagnostics
            .iter()
            .any(|d| d.code == Code::YamlSyntax || (parsed.root.is_none() && d.is_error()));
        // Other problems (a duplicate key, an unsupported tag) leave a usable tree:
        // keep checking it so that one run shows every error.
        self.diagnostics.extend(parsed.diagnostics);
        if syntax_error {
            return None;
        }
        match parsed.root {
            Some(root) => Some(Doc { file: id, root }),
            None => {
                self.report(
                    Diagnostic::error(Code::EmptyFile, format!("{} is empty", file_name(path)))
                        .at(Span::file_start(id))
                        .help("write `{}` for a file that takes every default"),
                );
                None
            }
        }
    }

    /// Reads a file into [`Sources`] after checking that it stays inside the repository.
    pub fn read(&mut self, path: &Path) -> Option<FileId> {
        let real = self.inside_repo(path, false)?;
        let display = self.repo.display(path);
        // A FIFO or device would hang or never end; a huge file is no config.
        // One open, checked on its descriptor (`fs::read_back`).
        let read = match self.prefetched.and_then(|p| p.files.get(path)) {
            Some(bytes) => Ok(bytes.clone()),
            None => crate::fs::read_back(path, crate::fs::ReadBack::Repository),
        };
        let bytes =
            match read {
                Ok(bytes) => bytes,
                Err(err) => {
                    let why = err
                        .to_string()
                        .replace(&path.display().to_string(), &display);
                    let message = if why.starts_with(&display) {
                        why
                    } else {
                        format!("cannot read {display}: {why}")
                    };
                    self.report(Diagnostic::error(Code::Io, message).in_path(display).help(
                        "deployer reads regular files of at most 4 MiB; replace it with one",
                    ));
                    return None;
                }
            };
        match String::from_utf8(bytes) {
            Ok(text) => {
                let text = text
                    .strip_prefix('\u{feff}')
                    .map(str::to_string)
                    .unwrap_or(text);
                let mut file = SourceFile::new(display, path.to_path_buf(), text);
                file.real = self.linked_to(path, real);
                Some(self.sources.add(file))
            }
            Err(err) => {
                let at = err.utf8_error().valid_up_to();
                let bytes = err.into_bytes();
                let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
                self.report(
                    Diagnostic::error(
                        Code::NotUtf8,
                        format!(
                            "{display} is not UTF-8 text (invalid byte at offset {at}, line {line})"
                        ),
                    )
                    .in_path(display)
                    .help("save the file as UTF-8; deployer files are text"),
                );
                None
            }
        }
    }

    /// Refuses paths whose real location (after following symbolic links) is
    /// outside the repository, so a link cannot make deployer read `/etc/passwd`
    /// or another team's files into a program. Gives where `path` really is.
    fn inside_repo(&mut self, path: &Path, is_dir: bool) -> Option<PathBuf> {
        match self.real_path(path, is_dir) {
            Ok(real) if real.starts_with(&self.repo.real_root) => Some(real),
            Ok(real) => {
                let linked = std::fs::symlink_metadata(path)
                    .is_ok_and(|m| m.file_type().is_symlink())
                    || path.starts_with(&self.repo.root);
                let message = if linked {
                    format!(
                        "{} is a link to {}, outside the repository",
                        self.repo.display(path),
                        real.display()
                    )
                } else {
                    format!(
                        "{} is outside the repository; deployer reads files inside it only",
                        path.display()
                    )
                };
                self.report(
                    Diagnostic::error(Code::SymlinkEscape, message)
                        .in_path(self.repo.display(path))
                        .help("copy the file into the repository instead of linking to it"),
                );
                None
            }
            Err(err) => {
                let display = self.repo.display(path);
                self.report(
                    Diagnostic::error(Code::Io, format!("cannot read {display}: {err}"))
                        .in_path(display),
                );
                None
            }
        }
    }

    /// Where a file read through a link (itself or a folder on its path)
    /// really is in the repository (`real`); `None` when it is where it is
    /// named.
    fn linked_to(&self, path: &Path, real: PathBuf) -> Option<PathBuf> {
        let named = path.strip_prefix(&self.repo.root).ok();
        let really = real.strip_prefix(&self.repo.real_root).ok();
        (named != really).then_some(real)
    }

    /// Where `path` really is, links followed: its folder's real location
    /// (remembered) joined with its name, unless it is a link itself. A
    /// folder's is remembered for the files in it.
    fn real_path(&mut self, path: &Path, is_dir: bool) -> std::io::Result<PathBuf> {
        let is_link = match self.not_links.contains_key(path) {
            true => false,
            false => std::fs::symlink_metadata(path)?.file_type().is_symlink(),
        };
        let real = match (path.parent(), path.file_name()) {
            (Some(parent), Some(name)) if !is_link && !parent.as_os_str().is_empty() => {
                self.real_dir(parent)?.join(name)
            }
            _ => path.canonicalize()?,
        };
        if is_dir {
            self.real_dirs.insert(path.to_path_buf(), real.clone());
        }
        Ok(real)
    }

    /// A folder's real place: its parent's and its name, unless it is a link
    /// (one `stat`, where `canonicalize` asks `readlink` of every component
    /// of the path, each time), remembered.
    fn real_dir(&mut self, dir: &Path) -> std::io::Result<PathBuf> {
        if let Some(real) = self.real_dirs.get(dir) {
            return Ok(real.clone());
        }
        let real = if dir == self.repo.root.as_path() {
            self.repo.real_root.clone()
        } else {
            match (dir.parent(), dir.file_name()) {
                (Some(parent), Some(name))
                    if !parent.as_os_str().is_empty()
                        && dir.starts_with(&self.repo.root)
                        && (self.not_links.contains_key(dir)
                            || !std::fs::symlink_metadata(dir)?.file_type().is_symlink()) =>
                {
                    self.real_dir(parent)?.join(name)
                }
                _ => dir.canonicalize()?,
            }
        };
        self.real_dirs.insert(dir.to_path_buf(), real.clone());
        Ok(real)
    }

    /// Sub-folders of `dir`, sorted, skipping hidden ones. A missing `dir` has none.
    fn subdirs(&mut self, dir: &Path) -> Vec<PathBuf> {
        self.entries(dir)
            .into_iter()
            .filter(|(_, is_dir)| *is_dir)
            .map(|(path, _)| path)
            .collect()
    }

    /// Files of `dir`, sorted, skipping hidden ones.
    fn files(&mut self, dir: &Path) -> Vec<PathBuf> {
        self.entries(dir)
            .into_iter()
            .filter(|(_, is_dir)| !is_dir)
            .map(|(path, _)| path)
            .collect()
    }

    /// The entries of `dir`, sorted, and whether each is a folder: from the
    /// listing (compile's input walk's, or its own; no `stat` an entry), but
    /// for a link, which is followed.
    fn entries(&mut self, dir: &Path) -> Vec<(PathBuf, bool)> {
        use crate::fs::Entry;
        // From compile's input walk when it listed the folder: it opened it
        // without following a link.
        let walked = self.prefetched.and_then(|p| p.listings.get(dir));
        if walked.is_some() {
            self.not_links.insert(dir.to_path_buf(), true);
        } else if !self.not_links.contains_key(dir) {
            // One `lstat` says whether it is there and whether it is a link;
            // a link is followed to see whether it leads anywhere.
            match std::fs::symlink_metadata(dir) {
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
                Ok(meta) if !meta.file_type().is_symlink() => {
                    self.not_links.insert(dir.to_path_buf(), meta.is_dir());
                }
                Ok(_) if !dir.exists() => return Vec::new(),
                _ => {}
            }
        }
        if self.inside_repo(dir, true).is_none() {
            return Vec::new();
        }
        let listing: std::borrow::Cow<[(PathBuf, Entry)]> = match walked {
            Some(listing) => listing.into(),
            None => match std::fs::read_dir(dir) {
                // What the listing says; an entry whose type it does not
                // say is followed, as a link is.
                Ok(read) => read
                    .filter_map(|e| e.ok())
                    .map(|e| {
                        let what = match e.file_type() {
                            Ok(t) if t.is_dir() => Entry::Folder,
                            Ok(t) if !t.is_symlink() => Entry::File,
                            _ => Entry::Link,
                        };
                        (e.path(), what)
                    })
                    .collect::<Vec<_>>()
                    .into(),
                Err(err) => {
                    let display = self.repo.display(dir);
                    self.report(
                        Diagnostic::error(Code::Io, format!("cannot list {display}: {err}"))
                            .in_path(display),
                    );
                    return Vec::new();
                }
            },
        };
        let mut paths: Vec<(PathBuf, bool)> = listing
            .iter()
            .filter(|(path, _)| {
                !path
                    .file_name()
                    .is_some_and(|name| name.as_encoded_bytes().starts_with(b"."))
            })
            .map(|(path, what)| {
                let is_dir = match what {
                    Entry::Link => path.is_dir(),
                    // A FIFO, socket or device is a file here: reading
                    // it refuses it, by name.
                    Entry::File | Entry::Folder | Entry::Special => {
                        let is_dir = *what == Entry::Folder;
                        self.not_links.insert(path.clone(), is_dir);
                        is_dir
                    }
                };
                (path.clone(), is_dir)
            })
            .collect();
        paths.sort();
        paths
    }
}

pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
