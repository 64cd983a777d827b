//! Validation: each expanded document against the JSON Schema of its file kind,
//! errors mapped back to file:line:col, then deserialisation into the typed model
//! and the checks a schema cannot express (each kind's `check`).

pub mod schema_errors;

use crate::diagnostic::{Code, Diagnostic};
use crate::expand::{Expanded, ExpandedStack};
use crate::kinds::{Kind, Spec, cache, microservice, rds, sqs};
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
    pub name: String,
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

impl TypedComponent {
    /// `service/component`, the name used in references and messages.
    pub fn id(&self) -> String {
        format!("{}/{}", self.service, self.name)
    }
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

struct Compiled {
    schema: Json,
    validator: jsonschema::Validator,
}

/// Schemas are compiled once per process and shared by every thread.
fn compiled(kind: FileKind) -> &'static Compiled {
    static SCHEMAS: OnceLock<HashMap<FileKind, Compiled>> = OnceLock::new();
    let all = SCHEMAS.get_or_init(|| {
        FileKind::ALL
            .iter()
            .map(|&k| {
                let schema = k.schema();
                let validator =
                    jsonschema::validator_for(&schema).expect("generated schemas are valid");
                (k, Compiled { schema, validator })
            })
            .collect()
    });
    &all[&kind]
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
pub fn check_stack(
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
        for component in service.components {
            let Some(doc) = component.doc else { continue };
            let spec = match component.kind {
                Kind::Microservice => {
                    let spec = check::<microservice::Microservice>(
                        FileKind::Component(Kind::Microservice),
                        &doc.root,
                        doc.file,
                        sources,
                        diagnostics,
                    );
                    let infra = match &component.infra {
                        Some(d) => check::<microservice::Infra>(
                            FileKind::Infra,
                            &d.root,
                            d.file,
                            sources,
                            diagnostics,
                        ),
                        None if component.infra_failed => None,
                        None => Some(microservice::Infra::default()),
                    };
                    match (spec, infra) {
                        (Some(spec), Some(infra)) => {
                            let ok = microservice::check::check(
                                &spec,
                                &infra,
                                &doc,
                                component.infra.as_ref(),
                                sources,
                                diagnostics,
                            );
                            ok.then(|| Spec::Microservice(Box::new(spec), infra))
                        }
                        _ => None,
                    }
                }
                Kind::Rds => check::<rds::Rds>(
                    FileKind::Component(Kind::Rds),
                    &doc.root,
                    doc.file,
                    sources,
                    diagnostics,
                )
                .filter(|spec| rds::check::check(spec, &doc, diagnostics))
                .map(Spec::Rds),
                Kind::Sqs => check::<sqs::Sqs>(
                    FileKind::Component(Kind::Sqs),
                    &doc.root,
                    doc.file,
                    sources,
                    diagnostics,
                )
                .filter(|spec| sqs::check::check(spec, &doc, diagnostics))
                .map(Spec::Sqs),
                Kind::Cache => check::<cache::Cache>(
                    FileKind::Component(Kind::Cache),
                    &doc.root,
                    doc.file,
                    sources,
                    diagnostics,
                )
                .filter(|spec| cache::check::check(spec, production, &doc, diagnostics))
                .map(Spec::Cache),
            };
            let configs = check_configs(&component.configs, sources, diagnostics);
            if let (Some(Spec::Microservice(service, _)), Some(configs)) = (&spec, &configs) {
                for config in configs {
                    plain_secrets_in_config(&config.root, &service.not_secrets, diagnostics);
                }
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
        services.push(TypedService {
            name: service.name,
            file,
            components,
        });
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

/// Config keys that look like secrets and hold literal text (see
/// `microservice::looks_secret`): a warning each, at the key.
fn plain_secrets_in_config(node: &Node, allowed: &[String], diagnostics: &mut Vec<Diagnostic>) {
    match &node.value {
        crate::node::Value::Map(map) => {
            for (key, value) in &map.entries {
                if microservice::check::looks_secret(&key.name)
                    && !allowed.contains(&key.name)
                    && matches!(&value.value, crate::node::Value::Str(s) if !s.is_empty() && !s.contains(crate::expand::template::REF_START))
                {
                    diagnostics.push(
                        Diagnostic::warning(
                            Code::PlainSecret,
                            format!("config key `{}` looks like a secret, and its value is written here in plain text: it would be in the program, the state and every diff", key.name),
                        )
                        .at(key.span)
                        .help(format!("deliver it from Secrets Manager with `secrets:` in microservice.yaml instead; if it is no secret, add `{}` to `not_secrets:`", key.name)),
                    );
                }
                plain_secrets_in_config(value, allowed, diagnostics);
            }
        }
        crate::node::Value::Seq(items) => {
            for item in items {
                plain_secrets_in_config(item, allowed, diagnostics);
            }
        }
        _ => {}
    }
}
