//! Turns JSON Schema validation errors into diagnostics that point at the YAML.
//!
//! jsonschema reports an instance path (`/health_check/interval_seconds`) and a
//! schema path; we walk the instance path through the span-carrying tree to find
//! where to point, and read the schema at the schema path for the words: the
//! allowed keys (for "did you mean"), the expected types, a field's description.

use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::node::{Node, Value};
use crate::source::Span;
use jsonschema::ValidationError;
use jsonschema::error::ValidationErrorKind as Violation;
use serde_json::Value as Json;

/// Maps one validation error (which may hold several, for `anyOf`) to diagnostics.
pub fn diagnose(err: &ValidationError, root: &Node, schema: &Json, out: &mut Vec<Diagnostic>) {
    let pointer = err.instance_path().as_str();
    let schema_path = err.schema_path().as_str();
    let field = field_name(pointer);
    let (span, node) = root.locate(pointer);
    let d = match err.kind() {
        Violation::AdditionalProperties { unexpected } => {
            let object_schema = schema.pointer(parent(schema_path));
            let known: Vec<&str> = object_schema
                .and_then(|s| s.get("properties"))
                .and_then(Json::as_object)
                .map(|p| p.keys().map(String::as_str).collect())
                .unwrap_or_default();
            // One lookup table for the mapping, not a search per key: a file
            // with 10,000 unknown keys stays linear.
            let spans: std::collections::HashMap<&str, Span> = node
                .and_then(Node::as_map)
                .map(|m| {
                    m.entries
                        .iter()
                        .map(|(k, _)| (k.name.as_str(), k.span))
                        .collect()
                })
                .unwrap_or_default();
            for key in unexpected {
                let key_span = spans.get(key.as_str()).copied().unwrap_or(span);
                let place = if pointer.is_empty() {
                    String::new()
                } else {
                    format!(" in {field}")
                };
                let mut d =
                    Diagnostic::error(Code::UnknownKey, format!("unknown key `{key}`{place}"))
                        .at(key_span)
                        .with_label("unknown key");
                d = match did_you_mean(key, known.iter().copied()) {
                    Some(help) => d.help(help),
                    None if known.is_empty() => d.help("this mapping takes no keys"),
                    None => d.help(format!("known keys: {}", known.join(", "))),
                };
                out.push(d);
            }
            return;
        }
        Violation::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let place = if pointer.is_empty() {
                String::new()
            } else {
                format!(" in {field}")
            };
            let mut d = Diagnostic::error(
                Code::MissingField,
                format!("missing required field `{name}`{place}"),
            )
            .at(span)
            .with_label(format!("`{name}` is required"));
            let property_schema =
                schema.pointer(&format!("{}/properties/{name}", parent(schema_path)));
            if let Some(description) = property_schema.and_then(|s| description(s, schema)) {
                d = d.note(format!("{name}: {description}"));
            }
            d
        }
        Violation::Type { .. } => {
            let expected = schema
                .pointer(schema_path)
                .map(describe_types)
                .unwrap_or_else(|| "another type".into());
            let found = node.map(describe_value).unwrap_or_default();
            // A list or mapping of the wrong type is pointed at where it
            // starts, as an editor's language server does (not at its key).
            let span = node
                .filter(|n| matches!(n.value, Value::Map(_) | Value::Seq(_)))
                .map_or(span, |n| {
                    Span::new(n.span.file, n.span.start as usize, n.span.start as usize)
                });
            Diagnostic::error(
                Code::WrongType,
                format!("{field} should be {expected}, not {found}"),
            )
            .at(span)
            .with_label(format!("expected {expected}"))
        }
        Violation::Enum { options } => enum_diagnostic(
            &field,
            span,
            node,
            options.as_array().map(Vec::as_slice).unwrap_or(&[]),
        ),
        Violation::Constant { expected_value } => {
            enum_diagnostic(&field, span, node, std::slice::from_ref(&**expected_value))
        }
        Violation::AnyOf { context } | Violation::OneOfNotValid { context } => {
            branch_diagnostics(context, &field, span, node, root, schema, out);
            return;
        }
        Violation::Minimum { limit } | Violation::ExclusiveMinimum { limit } => {
            let strict = matches!(err.kind(), Violation::ExclusiveMinimum { .. });
            let bound = if strict { "more than" } else { "at least" };
            with_description(
                range(&field, span, node, format!("{bound} {limit}")),
                schema_path,
                schema,
            )
        }
        Violation::Maximum { limit } | Violation::ExclusiveMaximum { limit } => {
            let strict = matches!(err.kind(), Violation::ExclusiveMaximum { .. });
            let bound = if strict { "less than" } else { "at most" };
            with_description(
                range(&field, span, node, format!("{bound} {limit}")),
                schema_path,
                schema,
            )
        }
        Violation::MinLength { limit } => range(
            &field,
            span,
            node,
            format!("at least {limit} characters long"),
        ),
        Violation::MaxLength { limit } => range(
            &field,
            span,
            node,
            format!("at most {limit} characters long"),
        ),
        Violation::MinItems { limit } => range(
            &field,
            span,
            node,
            format!("a list of at least {limit} items"),
        ),
        Violation::MaxItems { limit } => range(
            &field,
            span,
            node,
            format!("a list of at most {limit} items"),
        ),
        Violation::MinProperties { limit } => range(
            &field,
            span,
            node,
            format!("a mapping with at least {limit} entries"),
        ),
        Violation::MaxProperties { limit } => range(
            &field,
            span,
            node,
            format!("a mapping with at most {limit} entries"),
        ),
        Violation::Pattern { pattern } => {
            let found = node.map(describe_value).unwrap_or_default();
            let mut d = Diagnostic::error(
                Code::PatternMismatch,
                format!("{field} has an invalid value {found}"),
            )
            .at(span)
            .with_label(format!("does not match `{pattern}`"));
            if let Some(description) = schema
                .pointer(parent(schema_path))
                .and_then(|s| description(s, schema))
            {
                d = d.help(description);
            }
            d
        }
        Violation::PropertyNames { error } => {
            let key = error.instance().as_str().unwrap_or_default().to_string();
            let key_span = node
                .and_then(Node::as_map)
                .and_then(|m| m.key(&key))
                .map_or(span, |k| k.span);
            let rule = match error.kind() {
                Violation::Pattern { pattern } => format!("must match `{pattern}`"),
                Violation::MaxLength { limit } => {
                    format!("must be at most {limit} characters long")
                }
                Violation::MinLength { limit } => {
                    format!("must be at least {limit} characters long")
                }
                _ => error.to_string(),
            };
            Diagnostic::error(Code::InvalidName, format!("invalid key `{key}` in {field}"))
                .at(key_span)
                .with_label(rule)
        }
        _ => Diagnostic::error(Code::SchemaViolation, format!("{field}: {err}")).at(span),
    };
    out.push(d);
}

/// For `anyOf`/`oneOf`: an enum written as `oneOf` consts gets an enum message;
/// otherwise report the errors of the branch whose type matched (a secret given
/// as a mapping is checked as the mapping form), or the list of accepted types.
fn branch_diagnostics(
    branches: &[Vec<ValidationError<'static>>],
    field: &str,
    span: Span,
    node: Option<&Node>,
    root: &Node,
    schema: &Json,
    out: &mut Vec<Diagnostic>,
) {
    let all_constants = branches.iter().all(|b| {
        b.iter().all(|e| {
            matches!(
                e.kind(),
                Violation::Constant { .. } | Violation::Type { .. }
            )
        })
    }) && branches.iter().any(|b| {
        b.iter()
            .any(|e| matches!(e.kind(), Violation::Constant { .. }))
    });
    if all_constants {
        let options: Vec<Json> = branches
            .iter()
            .flat_map(|b| b.iter())
            .filter_map(|e| match e.kind() {
                Violation::Constant { expected_value } => Some((**expected_value).clone()),
                _ => None,
            })
            .collect();
        out.push(enum_diagnostic(field, span, node, &options));
        return;
    }
    let own_type_error = |e: &ValidationError| {
        matches!(e.kind(), Violation::Type { .. })
            && e.instance_path().as_str() == branches_path(branches)
    };
    let matching: Vec<&Vec<ValidationError>> = branches
        .iter()
        .filter(|b| !b.iter().any(own_type_error))
        .collect();
    if let Some(branch) = matching.first() {
        for e in branch.iter() {
            diagnose(e, root, schema, out);
        }
        return;
    }
    let mut expected: Vec<String> = branches
        .iter()
        .flat_map(|b| b.iter())
        .filter_map(|e| schema.pointer(e.schema_path().as_str()).map(describe_types))
        .filter(|t| t != "null")
        .collect();
    expected.dedup();
    let found = node.map(describe_value).unwrap_or_default();
    let expected = join_or(&expected);
    out.push(
        Diagnostic::error(
            Code::WrongType,
            format!("{field} should be {expected}, not {found}"),
        )
        .at(span)
        .with_label(format!("expected {expected}")),
    );
}

fn branches_path<'a>(branches: &'a [Vec<ValidationError<'static>>]) -> &'a str {
    branches
        .iter()
        .flat_map(|b| b.iter())
        .map(|e| e.instance_path().as_str())
        .min_by_key(|p| p.len())
        .unwrap_or("")
}

fn enum_diagnostic(field: &str, span: Span, node: Option<&Node>, options: &[Json]) -> Diagnostic {
    let names: Vec<String> = options
        .iter()
        .map(|o| o.as_str().map_or_else(|| o.to_string(), str::to_string))
        .collect();
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    let found = node.map(describe_value).unwrap_or_default();
    let mut d = Diagnostic::error(
        Code::InvalidValue,
        format!(
            "{field} must be one of {}; found {found}",
            quoted.join(", ")
        ),
    )
    .at(span)
    .with_label("not an allowed value");
    if let Some(help) = node
        .and_then(Node::as_str)
        .and_then(|s| did_you_mean(s, names.iter().map(String::as_str)))
    {
        d = d.help(help);
    }
    d
}

fn range(field: &str, span: Span, node: Option<&Node>, rule: String) -> Diagnostic {
    let found = node.map(describe_value).unwrap_or_default();
    Diagnostic::error(
        Code::OutOfRange,
        format!("{field} must be {rule}; found {found}"),
    )
    .at(span)
    .with_label(format!("must be {rule}"))
}

/// `/health_check/interval_seconds` → "`health_check.interval_seconds`";
/// `/uses/1` → "`uses[1]`"; the root → "the file".
pub fn field_name(pointer: &str) -> String {
    if pointer.is_empty() {
        return "the file".into();
    }
    let mut out = String::new();
    for raw in pointer.split('/').skip(1) {
        let segment = raw.replace("~1", "/").replace("~0", "~");
        if segment.parse::<usize>().is_ok() {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    format!("`{out}`")
}

/// A range is explained by the field's description (where the limits come
/// from: a rollout's say which AWS page sets them).
fn with_description(d: Diagnostic, schema_path: &str, schema: &Json) -> Diagnostic {
    match schema
        .pointer(parent(schema_path))
        .and_then(|s| description(s, schema))
    {
        Some(description) => d.help(description),
        None => d,
    }
}

fn parent(pointer: &str) -> &str {
    pointer.rsplit_once('/').map_or("", |(p, _)| p)
}

/// The first sentence of a schema's description, following a `$ref` if needed.
fn description(s: &Json, root: &Json) -> Option<String> {
    let text = s.get("description").and_then(Json::as_str).or_else(|| {
        let target = s.get("$ref")?.as_str()?.strip_prefix('#')?;
        root.pointer(target)?.get("description")?.as_str()
    })?;
    let flat = text.replace('\n', " ");
    Some(match flat.find(". ") {
        Some(i) => flat[..=i].to_string(),
        None => flat,
    })
}

fn describe_types(type_value: &Json) -> String {
    let name = |t: &str| match t {
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "a boolean (true or false)",
        "object" => "a mapping",
        "array" => "a list",
        "null" => "null",
        _ => "a value",
    };
    match type_value {
        Json::String(t) => name(t).to_string(),
        Json::Array(types) => {
            let names: Vec<String> = types
                .iter()
                .filter_map(Json::as_str)
                .filter(|t| *t != "null")
                .map(|t| name(t).to_string())
                .collect();
            join_or(&names)
        }
        _ => "another type".into(),
    }
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => "another type".into(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// "a string (`\"8080\"`)", "a mapping", "`5000`".
fn describe_value(node: &Node) -> String {
    match &node.value {
        Value::Str(s) if s.chars().count() <= 60 => format!("the string `{s}`"),
        Value::Int(i) => format!("`{i}`"),
        Value::Float(f) => format!("`{f}`"),
        Value::Bool(b) => format!("`{b}`"),
        _ => node.type_name().to_string(),
    }
}
