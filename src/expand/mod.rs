//! Expansion: presets from `shared/`, environment overlays, and templates.
//!
//! For one environment, each document becomes what it means there:
//! 1. its own `environments.<env>` overlay is merged over it;
//! 2. its strings are rendered (minijinja);
//! 3. it is merged over the preset it `extends`, itself expanded the same way
//!    with the `with:` parameters as `params`.
//!
//! The file's own values always win over its preset's, in every environment.
//! Spans survive: a value from a preset or overlay points at the line that wrote it.

pub mod budget;
pub mod merge;
pub mod template;
pub mod variables;

use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::load::{Doc, LoadedStack, Loader};
use crate::model::stack::StackFile;
use crate::node::{Node, Value};
use crate::source::{FileId, Span};
use serde_json::{Value as Json, json};
use std::cell::OnceCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;
use template::{Rendered, Templates};

/// A document after expansion for one environment.
#[derive(Clone, Debug)]
pub struct Expanded {
    pub file: FileId,
    pub root: Node,
}

impl Expanded {
    /// Where the value at `pointer` is, for a check on the typed model to
    /// point at (the key of a block, the value of a scalar).
    pub fn span_of(&self, pointer: &str) -> crate::source::Span {
        self.root.locate(pointer).0
    }
}

#[derive(Debug)]
pub struct ExpandedStack {
    pub environment: String,
    pub services: Vec<ExpandedService>,
}

#[derive(Debug)]
pub struct ExpandedService {
    pub name: String,
    /// `None` when service.yaml is missing or failed to expand (already reported).
    pub doc: Option<Expanded>,
    pub components: Vec<ExpandedComponent>,
}

#[derive(Debug)]
pub struct ExpandedComponent {
    pub name: String,
    pub kind: crate::kinds::Kind,
    pub doc: Option<Expanded>,
    pub infra: Option<Expanded>,
    /// Set when infra.yaml exists but failed to expand, so validation does not
    /// fall back to defaults and hide the problem.
    pub infra_failed: bool,
    pub configs: Vec<(String, Expanded)>,
}

/// Expands documents of one stack; keeps loaded presets across environments.
pub struct Expander {
    templates: Templates,
    shared: PathBuf,
    /// Shared by every use: a preset is parsed once per stack.
    presets: HashMap<PathBuf, Option<Rc<Doc>>>,
    environments: Vec<String>,
}

/// What templates see: the environment's names (`stack`, `environment`,
/// `var`), converted for templates once per environment, and what a
/// service, a component or a preset (`params`) adds on top. (Converting the
/// whole scope again for every component was an eighth of rendering.)
pub struct Scope {
    environment: Rc<Names>,
    /// Keys added to the environment's names, each once.
    added: Vec<(&'static str, Json)>,
    /// Templates' view of the whole scope, made by the first render.
    context: OnceCell<minijinja::Value>,
}

/// A scope's names as JSON and as templates read them.
struct Names {
    json: Json,
    context: OnceCell<minijinja::Value>,
}

impl Scope {
    pub fn new(
        stack_name: &str,
        stack: &StackFile,
        environment: &str,
        vars: &BTreeMap<String, String>,
    ) -> Scope {
        let env = &stack.environments[environment];
        let tags: BTreeMap<&str, &str> = stack
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.0.as_str()))
            .collect();
        Scope::of(json!({
            "stack": {"name": stack_name, "tags": tags, "owner": stack.owner},
            "environment": {
                "name": environment,
                "account": env.account,
                "region": env.region,
                "production": env.production,
            },
            "var": vars,
        }))
    }

    fn of(json: Json) -> Scope {
        Scope {
            environment: Rc::new(Names {
                json,
                context: OnceCell::new(),
            }),
            added: Vec::new(),
            context: OnceCell::new(),
        }
    }

    fn with(&self, key: &'static str, value: Json) -> Scope {
        let mut added: Vec<_> = self
            .added
            .iter()
            .filter(|(k, _)| *k != key)
            .cloned()
            .collect();
        added.push((key, value));
        Scope {
            environment: self.environment.clone(),
            added,
            context: OnceCell::new(),
        }
    }

    pub fn for_service(&self, service: &str) -> Scope {
        self.with("service", json!({"name": service}))
    }

    pub fn for_component(&self, component: &str, kind: crate::kinds::Kind) -> Scope {
        self.with("component", json!({"name": component, "kind": kind.name()}))
    }

    /// The scope as templates read it.
    fn context(&self) -> &minijinja::Value {
        self.context.get_or_init(|| {
            let environment = self.environment.context.get_or_init(|| {
                minijinja::Value::from(minijinja::value::Serde(&self.environment.json))
            });
            if self.added.is_empty() {
                return environment.clone();
            }
            let added: BTreeMap<&str, minijinja::Value> = self
                .added
                .iter()
                .map(|(k, v)| (*k, minijinja::Value::from(minijinja::value::Serde(v))))
                .collect();
            minijinja::value::merge_maps([environment.clone(), minijinja::Value::from(added)])
        })
    }

    /// The whole scope as JSON: what an error message names as defined.
    fn json(&self) -> Json {
        let mut json = self.environment.json.clone();
        for (key, value) in &self.added {
            json[*key] = value.clone();
        }
        json
    }
}

impl Expander {
    pub fn new(repo_root: &Path, stack: &StackFile) -> Expander {
        let shared = repo_root.join("shared");
        let repo_real = repo_root
            .canonicalize()
            .unwrap_or_else(|_| repo_root.to_path_buf());
        Expander {
            templates: Templates::new(shared.clone(), repo_real),
            shared,
            presets: HashMap::new(),
            environments: stack.environments.keys().cloned().collect(),
        }
    }

    /// Templates the stack's files asked for, as `shared/...` paths.
    pub fn templates_asked(&self) -> Vec<String> {
        self.templates.asked()
    }

    /// Expands every service and component document of a stack for one environment.
    pub fn expand_stack(
        &mut self,
        loader: &mut Loader,
        stack: &LoadedStack,
        scope: &Scope,
        environment: &str,
    ) -> ExpandedStack {
        let mut services = Vec::new();
        for service in &stack.services {
            let service_scope = scope.for_service(&service.name);
            let doc = service
                .file
                .as_ref()
                .and_then(|d| self.expand(loader, d, environment, &service_scope));
            let mut components = Vec::new();
            for component in &service.components {
                let scope = service_scope.for_component(&component.name, component.kind);
                let doc = component
                    .doc
                    .as_ref()
                    .and_then(|d| self.expand(loader, d, environment, &scope));
                let infra = component
                    .infra
                    .as_ref()
                    .and_then(|d| self.expand(loader, d, environment, &scope));
                let infra_failed = component.infra.is_some() && infra.is_none();
                let configs = component
                    .configs
                    .iter()
                    .filter_map(|(name, d)| {
                        Some((name.clone(), self.expand(loader, d, environment, &scope)?))
                    })
                    .collect();
                components.push(ExpandedComponent {
                    name: component.name.clone(),
                    kind: component.kind,
                    doc,
                    infra,
                    infra_failed,
                    configs,
                });
            }
            services.push(ExpandedService {
                name: service.name.clone(),
                doc,
                components,
            });
        }
        ExpandedStack {
            environment: environment.to_string(),
            services,
        }
    }

    /// Expands one document for one environment. `None` when it cannot be expanded
    /// (the reasons are in the loader's diagnostics).
    pub fn expand(
        &mut self,
        loader: &mut Loader,
        doc: &Doc,
        environment: &str,
        scope: &Scope,
    ) -> Option<Expanded> {
        let mut chain = vec![loader.sources.get(doc.file).path.clone()];
        let mut root = self.expand_node(loader, doc, environment, scope, &mut chain)?;
        merge::strip_nulls(&mut root);
        Some(Expanded {
            file: doc.file,
            root,
        })
    }

    fn expand_node(
        &mut self,
        loader: &mut Loader,
        doc: &Doc,
        environment: &str,
        scope: &Scope,
        chain: &mut Vec<PathBuf>,
    ) -> Option<Node> {
        let Some(source) = doc.root.as_map() else {
            let file = loader.sources.get(doc.file).display.clone();
            loader.diagnostics.push(
                Diagnostic::error(
                    Code::WrongType,
                    format!(
                        "{file} must hold a mapping (`key: value` lines), not {}",
                        doc.root.type_name()
                    ),
                )
                .at(doc.root.span),
            );
            return None;
        };
        // Copied without `extends` and `environments`: of the overlays only
        // this environment's is copied, when it is merged (copying every
        // environment's for each was a fifth of expanding).
        let (mut extends, mut overlays) = (None, None);
        let mut entries = Vec::with_capacity(source.entries.len());
        for (key, value) in &source.entries {
            match key.name.as_str() {
                "extends" if extends.is_none() => extends = Some(value),
                "environments" if overlays.is_none() => overlays = Some((key, value)),
                _ => entries.push((key.clone(), value.clone())),
            }
        }
        let mut root = Node {
            value: Value::Map(crate::node::Map { entries }),
            span: doc.root.span,
        };
        // A bad overlay is reported but does not stop the rest of the file from
        // being checked; a template that fails does (its value is unknown).
        if let Some((key, overlays)) = overlays {
            self.apply_overlay(loader, &mut root, key.span, overlays, environment);
        }
        let before = loader.diagnostics.len();
        let ok = self.render(loader, &mut root, scope);
        if chain.len() > 1 {
            // A preset serves many files: say which one was being expanded.
            let user = loader.repo.display(&chain[0]);
            for d in &mut loader.diagnostics[before..] {
                d.notes.push(format!("in a preset extended by {user}"));
            }
        }
        if let Some(extends) = extends {
            let mut preset = self.expand_preset(loader, extends, environment, scope, chain)?;
            let own_span = root.span;
            merge::merge(&mut preset, root);
            // The document is still this file: a missing field is missing here.
            preset.span = own_span;
            root = preset;
        }
        ok.then_some(root)
    }

    /// Checks `environments:` and merges the block for `environment` over `root`.
    /// Returns false when something was wrong (and reported).
    fn apply_overlay(
        &mut self,
        loader: &mut Loader,
        root: &mut Node,
        key_span: Span,
        overlays: &Node,
        environment: &str,
    ) -> bool {
        let Value::Map(overlays) = &overlays.value else {
            loader.diagnostics.push(
                Diagnostic::error(
                    Code::WrongType,
                    format!(
                        "`environments` must be a mapping of environment name to overrides, not {}",
                        overlays.type_name()
                    ),
                )
                .at(key_span),
            );
            return false;
        };
        let mut ok = true;
        let mut chosen = None;
        for (key, overlay) in &overlays.entries {
            if !self.environments.contains(&key.name) {
                let mut d = Diagnostic::error(
                    Code::UnknownEnvironment,
                    format!(
                        "overlay for environment `{}`, which the stack does not declare",
                        key.name
                    ),
                )
                .at(key.span)
                .note(format!(
                    "declared environments: {}",
                    self.environments.join(", ")
                ));
                d = match did_you_mean(&key.name, self.environments.iter().map(String::as_str)) {
                    Some(help) => d.help(help),
                    None => d.help(
                        "declare it under `environments:` in stack.yaml, or remove this overlay",
                    ),
                };
                loader.diagnostics.push(d);
                ok = false;
                continue;
            }
            if !matches!(overlay.value, Value::Map(_)) {
                loader.diagnostics.push(
                    Diagnostic::error(
                        Code::WrongType,
                        format!(
                            "the overlay for `{}` must be a mapping, not {}",
                            key.name,
                            overlay.type_name()
                        ),
                    )
                    .at(overlay.span),
                );
                ok = false;
                continue;
            }
            if key.name == environment {
                chosen = Some(overlay);
            }
        }
        if let Some(overlay) = chosen {
            if let Some(map) = overlay.as_map() {
                for forbidden in ["extends", "environments"] {
                    if let Some(key) = map.key(forbidden) {
                        loader.diagnostics.push(
                            Diagnostic::error(
                                Code::UnknownKey,
                                format!("`{forbidden}` cannot be set in an environment overlay"),
                            )
                            .at(key.span)
                            .help("set it at the top level of the file"),
                        );
                        return false;
                    }
                }
            }
            merge::merge(root, overlay.clone());
        }
        ok
    }

    /// Renders every string under `node`; reports every failing one.
    fn render(&self, loader: &mut Loader, node: &mut Node, scope: &Scope) -> bool {
        match &mut node.value {
            Value::Str(text) => {
                let name = &loader.sources.get(node.span.file).display;
                match self.templates.render(text, name, scope) {
                    None => true,
                    Some(Ok(Rendered::Text(out))) => {
                        *text = out;
                        true
                    }
                    Some(Ok(Rendered::Native(json))) => {
                        *node = Node::from_json(&json, node.span);
                        true
                    }
                    Some(Err(err)) => {
                        let span = template_line_span(loader, node.span, err.line);
                        let mut d = Diagnostic::error(err.code, err.message).at(span);
                        if let Some(help) = err.help {
                            d = d.help(help);
                        }
                        loader.diagnostics.push(d);
                        false
                    }
                }
            }
            Value::Seq(items) => items
                .iter_mut()
                .fold(true, |ok, item| self.render(loader, item, scope) & ok),
            Value::Map(map) => map
                .entries
                .iter_mut()
                .fold(true, |ok, (_, v)| self.render(loader, v, scope) & ok),
            _ => true,
        }
    }

    fn expand_preset(
        &mut self,
        loader: &mut Loader,
        extends: &Node,
        environment: &str,
        scope: &Scope,
        chain: &mut Vec<PathBuf>,
    ) -> Option<Node> {
        let (path_node, mut params) = match &extends.value {
            Value::Str(_) => (extends, None),
            Value::Map(map) => {
                let Some(preset) = map.get("preset") else {
                    loader.diagnostics.push(
                        Diagnostic::error(Code::MissingField, "`extends` needs a `preset` path")
                            .at(extends.span)
                            .help(
                                "write `extends: {preset: shared/presets/NAME.yaml, with: {...}}`",
                            ),
                    );
                    return None;
                };
                if let Some(key) = map.keys().find(|k| *k != "preset" && *k != "with") {
                    let span = map.key(key).map_or(extends.span, |k| k.span);
                    loader.diagnostics.push(
                        Diagnostic::error(
                            Code::UnknownKey,
                            format!("unknown key `{key}` in `extends`"),
                        )
                        .at(span)
                        .help("`extends` takes `preset` and `with`"),
                    );
                    return None;
                }
                (preset, map.get("with").cloned())
            }
            _ => {
                loader.diagnostics.push(
                    Diagnostic::error(
                        Code::WrongType,
                        format!(
                            "`extends` must be a preset path or `{{preset, with}}`, not {}",
                            extends.type_name()
                        ),
                    )
                    .at(extends.span),
                );
                return None;
            }
        };
        let Some(relative) = path_node.as_str() else {
            loader.diagnostics.push(
                Diagnostic::error(Code::WrongType, "the preset path must be a string")
                    .at(path_node.span),
            );
            return None;
        };
        if let Some(p) = &mut params {
            if !matches!(p.value, Value::Map(_)) {
                loader.diagnostics.push(
                    Diagnostic::error(
                        Code::WrongType,
                        format!(
                            "`with` must be a mapping of parameters, not {}",
                            p.type_name()
                        ),
                    )
                    .at(p.span),
                );
                return None;
            }
            if !self.render(loader, p, scope) {
                return None;
            }
        }
        let path = self.preset_path(loader, relative, path_node.span)?;
        if let Some(start) = chain.iter().position(|p| *p == path) {
            let cycle: Vec<String> = chain[start..]
                .iter()
                .chain([&path])
                .map(|p| loader.repo.display(p))
                .collect();
            loader.diagnostics.push(
                Diagnostic::error(
                    Code::PresetCycle,
                    format!(
                        "presets extend each other in a cycle: {}",
                        cycle.join(" → ")
                    ),
                )
                .at(path_node.span)
                .help("a preset may extend another, but never, through others, itself"),
            );
            return None;
        }
        let doc = match self.presets.get(&path) {
            Some(doc) => doc.clone(),
            None => {
                let doc = loader.parse_file(&path).map(Rc::new);
                self.presets.insert(path.clone(), doc.clone());
                doc
            }
        }?;
        let params_json = params.map_or(json!({}), |p| {
            let mut p = p;
            merge::strip_nulls(&mut p);
            p.to_json()
        });
        let preset_scope = scope.with("params", params_json);
        chain.push(path);
        let result = self.expand_node(loader, &doc, environment, &preset_scope, chain);
        chain.pop();
        result
    }

    /// Resolves a preset path: relative to the repository root, inside `shared/`.
    fn preset_path(&self, loader: &mut Loader, relative: &str, span: Span) -> Option<PathBuf> {
        let rel = Path::new(relative);
        let clean = rel.components().all(|c| matches!(c, Component::Normal(_)));
        if !clean || !relative.starts_with("shared/") {
            loader.diagnostics.push(
                Diagnostic::error(Code::PresetOutsideShared, format!("preset `{relative}` is not under shared/"))
                    .at(span)
                    .help("presets live in the repository's shared/ folder and are named from the repository root: `shared/presets/NAME.yaml`"),
            );
            return None;
        }
        let path = loader.repo.root.join(rel);
        // Checked once: a preset every component uses is not looked up again
        // for each (two `stat`s a use were a third of `validate`'s).
        if self.presets.contains_key(&path) {
            return Some(path);
        }
        if let Ok(meta) = std::fs::metadata(&path)
            && !meta.is_file()
        {
            loader.diagnostics.push(
                Diagnostic::error(
                    Code::MissingPreset,
                    format!(
                        "preset `{relative}` is {}, not a file",
                        crate::fs::describe_type(&meta)
                    ),
                )
                .at(span)
                .help("a preset is a YAML file under shared/"),
            );
            return None;
        }
        if !path.is_file() {
            let known = list_yaml_files(&self.shared, &loader.repo.root);
            let mut d = Diagnostic::error(
                Code::MissingPreset,
                format!("preset `{relative}` does not exist"),
            )
            .at(span);
            d = match did_you_mean(relative, known.iter().map(String::as_str)) {
                Some(help) => d.help(help),
                None if known.is_empty() => {
                    d.help("the repository has no presets; add them under shared/presets/")
                }
                None => d.note(format!("presets in this repository: {}", known.join(", "))),
            };
            loader.diagnostics.push(d);
            return None;
        }
        Some(path)
    }
}

/// Points at the line of a multi-line template where rendering failed.
fn template_line_span(loader: &Loader, span: Span, line: Option<usize>) -> Span {
    let Some(line) = line.filter(|l| *l > 1) else {
        return span;
    };
    let file = loader.sources.get(span.file);
    let (start_line, _) = file.line_col(span.start as usize);
    // Block scalars (`|`, `>`) start their content on the next line.
    let block = matches!(
        file.text.as_bytes().get(span.start as usize),
        Some(b'|' | b'>')
    );
    let target = start_line + line - 1 + usize::from(block);
    let start = file.offset_of(target, 0);
    let end = file.text[start..]
        .find('\n')
        .map_or(file.text.len(), |i| start + i);
    let start = start + (file.text[start..end].len() - file.text[start..end].trim_start().len());
    if start as u32 >= span.end {
        span
    } else {
        Span::new(span.file, start, end)
    }
}

/// Repository-relative paths of every YAML file under `shared/`, sorted.
fn list_yaml_files(shared: &Path, root: &Path) -> Vec<String> {
    crate::fs::files_under(shared)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .map(|p| {
            p.strip_prefix(root)
                .unwrap_or(&p)
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect()
}
