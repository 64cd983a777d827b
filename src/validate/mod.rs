//! Validation: each expanded document against the JSON Schema of its file kind,
//! errors mapped back to file:line:col, then deserialisation into the typed model
//! and the checks a schema cannot express (each kind's `check`).

pub mod schema_errors;

use crate::diagnostic::{Code, Diagnostic};
use crate::expand::{Expanded, ExpandedComponent, ExpandedStack};
use crate::kinds::{Component, Spec, on_kind, on_spec};
use crate::model::service::ServiceFile;
use crate::model::stack::StackFile;
use crate::node::Node;
use crate::schema::FileKind;
use crate::source::{FileId, Sources, Span};
use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use std::collections::HashMap;
use std::sync::OnceLock;

/// A stack for one environment, every file checked and typed.
#[derive(Debug)]
pub struct TypedStack {
    pub environment: String,
    pub services: Vec<TypedService>,
}

#[derive(Debug)]
pub struct TypedService {
    pub file: ServiceFile,
    pub components: Vec<TypedComponent>,
}

#[derive(Debug)]
pub struct TypedComponent {
    pub service: String,
    pub name: String,
    pub spec: Spec,
    /// The expanded kind file, kept so later stages can point at values.
    pub doc: Expanded,
    pub configs: Vec<Config>,
}

/// A rendered config file, delivered to the container as JSON.
#[derive(Clone, Debug)]
pub struct Config {
    pub name: String,
    pub json: Json,
    /// The expanded document, for pointing at values.
    pub root: Node,
}

/// Largest config, as JSON, that can be delivered (an SSM advanced parameter).
pub const MAX_CONFIG_BYTES: usize = 8192;

struct CompiledSchema {
    schema: Json,
    validator: jsonschema::Validator,
}

/// Schemas are compiled once per process and shared by every thread.
fn compiled(kind: FileKind) -> &'static CompiledSchema {
    static SCHEMAS: OnceLock<HashMap<FileKind, CompiledSchema>> = OnceLock::new();
    let all = SCHEMAS.get_or_init(|| {
        FileKind::all()
            .into_iter()
            .map(|k| {
                let schema = k.schema();
                let validator =
                    jsonschema::validator_for(&schema).expect("generated schemas are valid");
                (k, CompiledSchema { schema, validator })
            })
            .collect()
    });
    &all[&kind]
}

/// The schemas editors use (files as written: templates accepted, a field a
/// preset supplies not required), compiled once per process.
fn compiled_as_written(kind: FileKind) -> &'static CompiledSchema {
    static SCHEMAS: OnceLock<HashMap<FileKind, CompiledSchema>> = OnceLock::new();
    let all = SCHEMAS.get_or_init(|| {
        FileKind::all()
            .into_iter()
            .map(|k| {
                let schema = k.editor_schema();
                let validator =
                    jsonschema::validator_for(&schema).expect("generated schemas are valid");
                (k, CompiledSchema { schema, validator })
            })
            .collect()
    });
    &all[&kind]
}

/// When a stack cannot be expanded (its stack.yaml or its variables are
/// wrong), every other file is still checked as an editor checks it: as
/// written, against the published schema. So `validate` reports everything
/// at once, whatever else is broken. `why` says what stopped the expansion.
pub fn check_as_written(
    loaded: &crate::load::LoadedStack,
    why: &str,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut documents = Vec::new();
    for service in &loaded.services {
        documents.extend(service.file.as_ref().map(|d| (FileKind::Service, d)));
        for component in &service.components {
            documents.extend(
                component
                    .doc
                    .as_ref()
                    .map(|d| (FileKind::Component(component.kind), d)),
            );
            documents.extend(component.infra.as_ref().map(|d| (FileKind::Infra, d)));
        }
    }
    for (kind, doc) in documents {
        let compiled = compiled_as_written(kind);
        let json = doc.root.to_json();
        let mut found = Vec::new();
        for err in compiled.validator.iter_errors(&json) {
            schema_errors::diagnose(&err, &doc.root, &compiled.schema, &mut found);
        }
        for d in found {
            diagnostics.push(d.note(format!(
                "checked as written: {why}, so presets, overlays and templates were not applied"
            )));
        }
    }
}

/// Validates a document against its kind's schema and deserialises it. Reports
/// every schema error; returns `None` when there was any.
pub fn check<T: DeserializeOwned>(
    kind: FileKind,
    root: &Node,
    file: FileId,
    sources: &Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<T> {
    let compiled = compiled(kind);
    let json = root.to_json();
    let mut found = Vec::new();
    for err in compiled.validator.iter_errors(&json) {
        schema_errors::diagnose(&err, root, &compiled.schema, &mut found);
    }
    if !found.is_empty() {
        for d in &mut found {
            d.note_origin(file, sources);
        }
        diagnostics.extend(found);
        return None;
    }
    match serde_json::from_value(json) {
        Ok(value) => Some(value),
        Err(err) => {
            diagnostics.push(
                Diagnostic::error(
                    Code::SchemaViolation,
                    format!("{}: {err}", kind.file_name()),
                )
                .at(Span::file_start(file)),
            );
            None
        }
    }
}

/// What validation asks of every kind, implemented in `kinds/<k>/check.rs` by
/// the kind's spec type and called through the registry's `on_kind!`.
pub trait CheckKind: Component + Sized {
    /// Reads the component's documents into the kind's spec and checks what
    /// the schema cannot say, reporting every problem; `None` when there was an
    /// error.
    fn check(input: &KindInput<'_>, diagnostics: &mut Vec<Diagnostic>) -> Option<Self>;

    /// What the kind checks in the component's `configs/` (read and checked
    /// for size and reserved keys already), for kinds that run containers.
    fn check_configs(&self, _configs: &[Config], _diagnostics: &mut Vec<Diagnostic>) {}
}

/// What a kind's check is given: the component and its expanded kind file.
pub struct KindInput<'a> {
    pub component: &'a ExpandedComponent,
    pub doc: &'a Expanded,
    pub production: bool,
    pub sources: &'a Sources,
}

impl KindInput<'_> {
    /// The kind file, checked against its schema and read into its model.
    pub fn read<K: Component>(&self, diagnostics: &mut Vec<Diagnostic>) -> Option<K::File> {
        check(
            FileKind::Component(self.component.kind),
            &self.doc.root,
            self.doc.file,
            self.sources,
            diagnostics,
        )
    }
}

/// Validates stack.yaml (which is not expanded) and what its schema cannot say.
pub fn check_stack_file(
    root: &Node,
    file: FileId,
    sources: &Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<StackFile> {
    let stack: StackFile = check(FileKind::Stack, root, file, sources, diagnostics)?;
    let before = diagnostics.len();
    for (name, variable) in &stack.variables {
        if let Some(pattern) = &variable.pattern
            && let Err(err) = regex::Regex::new(pattern)
        {
            let (span, _) = root.locate(&format!("/variables/{name}/pattern"));
            diagnostics.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("the pattern of variable `{name}` is not a valid regular expression"),
                )
                .at(span)
                .note(
                    err.to_string()
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .to_string(),
                ),
            );
        }
        if variable.sensitive && variable.default.is_some() {
            let (span, _) = root.locate(&format!("/variables/{name}/default"));
            diagnostics.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("sensitive variable `{name}` has a default, written in plain text in the repository"),
                )
                .at(span)
                .help(format!("remove the default and pass the value when deploying (`--var {name}=...`, from your CI's secret store)")),
            );
        }
        if variable.required && variable.default.is_some() {
            let (span, _) = root.locate(&format!("/variables/{name}/required"));
            diagnostics.push(
                Diagnostic::warning(
                    Code::InvalidValue,
                    format!(
                        "variable `{name}` is required and has a default; the default is never used"
                    ),
                )
                .at(span),
            );
        }
    }
    let mut tag_sets = vec![("/tags".to_string(), &stack.tags)];
    tag_sets.extend(
        stack
            .environments
            .iter()
            .map(|(n, e)| (format!("/environments/{n}/tags"), &e.tags)),
    );
    for (pointer, tags) in tag_sets {
        for key in tags.keys() {
            if key.starts_with("aws:") || key.starts_with("deployer:") || key.starts_with("fn::") {
                let span = root
                    .lookup_pointer(&pointer)
                    .and_then(|(n, _)| n.as_map()?.key(key).map(|k| k.span))
                    .unwrap_or(root.span);
                diagnostics.push(
                    Diagnostic::error(Code::InvalidName, format!("tag key `{key}` uses a reserved prefix"))
                        .at(span)
                        .help("`aws:` tags belong to AWS, `deployer:` tags are set by deployer itself, and `fn::` starts a function call in Pulumi programs; choose another key"),
                );
            }
        }
    }
    let errors = diagnostics[before..].iter().any(Diagnostic::is_error);
    (!errors).then_some(stack)
}

/// Validates every document of an expanded stack. Components with errors are
/// left out of the result (their errors are reported).
pub fn validate_stack(
    stack: ExpandedStack,
    production: bool,
    sources: &Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> TypedStack {
    let mut services = Vec::new();
    for service in stack.services {
        let file = service
            .doc
            .as_ref()
            .and_then(|d| {
                check::<ServiceFile>(FileKind::Service, &d.root, d.file, sources, diagnostics)
            })
            .unwrap_or_default();
        let mut components = Vec::new();
        for mut component in service.components {
            let Some(doc) = component.doc.take() else {
                continue;
            };
            let input = KindInput {
                component: &component,
                doc: &doc,
                production,
                sources,
            };
            let spec = on_kind!(component.kind, K => K::check(&input, diagnostics).map(Spec::from));
            let configs = check_configs(&component.configs, sources, diagnostics);
            if let (Some(spec), Some(configs)) = (&spec, &configs) {
                on_spec!(spec, s => s.check_configs(configs, diagnostics));
            }
            if let (Some(spec), Some(configs)) = (spec, configs) {
                components.push(TypedComponent {
                    service: service.name.clone(),
                    name: component.name,
                    spec,
                    doc,
                    configs,
                });
            }
        }
        services.push(TypedService { file, components });
    }
    TypedStack {
        environment: stack.environment,
        services,
    }
}

/// Configs are free-form, but must be mappings small enough to deliver.
fn check_configs(
    configs: &[(String, Expanded)],
    sources: &Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Vec<Config>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (name, doc) in configs {
        if doc.root.as_map().is_none() {
            diagnostics.push(
                Diagnostic::error(
                    Code::InvalidConfig,
                    format!(
                        "config `{name}` must be a mapping, not {}",
                        doc.root.type_name()
                    ),
                )
                .at(doc.root.span),
            );
            ok = false;
            continue;
        }
        if !reserved_keys(&doc.root, name, diagnostics) {
            ok = false;
            continue;
        }
        let json = doc.root.to_json();
        let size = go_json_len(&json);
        if size > MAX_CONFIG_BYTES {
            diagnostics.push(
                Diagnostic::error(Code::InvalidConfig, format!("config `{name}` is {size} bytes as JSON; at most {MAX_CONFIG_BYTES} can be delivered"))
                    .at(Span::file_start(doc.file))
                    .note(format!("configs are stored as SSM parameters ({})", sources.get(doc.file).display))
                    .help("keep large or binary configuration in S3 and pass its location in a config value"),
            );
            ok = false;
            continue;
        }
        out.push(Config {
            name: name.clone(),
            json,
            root: doc.root.clone(),
        });
    }
    ok.then_some(out)
}

/// The length of a value as Pulumi's `fn::toJSON` writes it: Go's
/// `json.Marshal`, which writes `<`, `>` and `&` as `\u003c`... (six characters
/// each) and U+2028, U+2029 as `\u2028` (six instead of three bytes).
pub fn go_json_len(json: &Json) -> usize {
    let text = serde_json::to_string(json).unwrap_or_default();
    let extra: usize = text
        .chars()
        .map(|c| match c {
            '<' | '>' | '&' => 5,
            '\u{2028}' | '\u{2029}' => 3,
            _ => 0,
        })
        .sum();
    text.len() + extra
}

/// A key starting with `fn::` is a function call in Pulumi YAML, whatever
/// follows (pulumi-yaml `ast/expr.go`): such a key cannot be delivered as data.
fn reserved_keys(node: &Node, config: &str, diagnostics: &mut Vec<Diagnostic>) -> bool {
    let mut ok = true;
    match &node.value {
        crate::node::Value::Map(map) => {
            for (key, value) in &map.entries {
                if key.name.starts_with("fn::") {
                    diagnostics.push(
                        Diagnostic::error(
                            Code::InvalidConfig,
                            format!("config `{config}` has a key `{}`: keys starting with `fn::` are function calls in Pulumi programs", key.name),
                        )
                        .at(key.span)
                        .help("rename the key"),
                    );
                    ok = false;
                }
                ok &= reserved_keys(value, config, diagnostics);
            }
        }
        crate::node::Value::Seq(items) => {
            for item in items {
                ok &= reserved_keys(item, config, diagnostics);
            }
        }
        _ => {}
    }
    ok
}
