//! JSON Schemas for every file kind, generated from the model.
//!
//! The same schemas serve editors (published in `schemas/`, with `extends` and
//! `environments` overlays described) and validation (run on expanded documents,
//! where those two keys are already gone).

use crate::kinds::{Component, Kind, microservice, on_kind};
use crate::model::{names::NAME_PATTERN, service::ServiceFile, stack::StackFile};
use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

/// Every kind of file deployer reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    Stack,
    Service,
    Infra,
    Component(Kind),
    /// `policies.yaml` at the repository's root.
    Policies,
}

impl FileKind {
    /// Every file kind: stack.yaml, service.yaml, then each component kind's
    /// file in the registry's order (infra.yaml after the first kind that runs
    /// containers).
    pub fn all() -> Vec<FileKind> {
        let mut all = vec![FileKind::Stack, FileKind::Service];
        for &kind in Kind::ALL {
            all.push(FileKind::Component(kind));
            if kind.runs_containers() && !all.contains(&FileKind::Infra) {
                all.push(FileKind::Infra);
            }
        }
        all.push(FileKind::Policies);
        all
    }

    /// The file name as users write it.
    pub fn file_name(self) -> &'static str {
        match self {
            FileKind::Stack => "stack.yaml",
            FileKind::Service => "service.yaml",
            FileKind::Infra => "infra.yaml",
            FileKind::Component(kind) => kind.file_name(),
            FileKind::Policies => "policies.yaml",
        }
    }

    /// Name of the published schema file, e.g. `microservice.schema.json`.
    pub fn schema_file_name(self) -> String {
        format!("{}.schema.json", self.file_name().trim_end_matches(".yaml"))
    }

    /// The schema for this file kind, ready to publish and to validate with.
    pub fn schema(self) -> Value {
        let generator = SchemaSettings::draft2020_12()
            .for_deserialize()
            .into_generator();
        let mut schema = match self {
            FileKind::Stack => generator.into_root_schema_for::<StackFile>(),
            FileKind::Service => generator.into_root_schema_for::<ServiceFile>(),
            FileKind::Infra => generator.into_root_schema_for::<microservice::Infra>(),
            FileKind::Component(kind) => {
                on_kind!(kind, K => generator.into_root_schema_for::<<K as Component>::File>())
            }
            FileKind::Policies => {
                generator.into_root_schema_for::<crate::model::policy::PolicyFile>()
            }
        }
        .to_value();
        // Neither stack.yaml nor policies.yaml is templated or extends a preset.
        if !matches!(self, FileKind::Stack | FileKind::Policies) {
            add_presets_and_overlays(&mut schema);
        }
        schema
    }
}

impl FileKind {
    /// The schema published for editors (`deployer schema`): files as they are
    /// written, before expansion. A field the file's preset may supply is
    /// required only when there is no `extends`; wherever a template may stand,
    /// a string holding one (`"{{ params.port }}"`) is accepted, since its value
    /// is known only once rendered. (Validation runs the strict [`FileKind::schema`]
    /// on the expanded document, so nothing is checked less.) stack.yaml is not
    /// templated and has no `extends`: its schema is the strict one.
    pub fn editor_schema(self) -> Value {
        let mut schema = self.schema();
        if !matches!(self, FileKind::Stack | FileKind::Policies) {
            accept_templates(&mut schema);
        }
        describe_for_editors(&mut schema);
        schema
    }
}

/// A file as written, before expansion: a field its preset may supply is
/// required only without `extends`, and a template may stand for any value.
fn accept_templates(schema: &mut Value) {
    let Some(root) = schema.as_object_mut() else {
        return;
    };
    if let Some(required) = root.remove("required") {
        root.insert("if".into(), json!({"not": {"required": ["extends"]}}));
        root.insert("then".into(), json!({"required": required}));
    }
    for key in ["properties", "$defs"] {
        if let Some(Value::Object(children)) = root.get_mut(key) {
            for (name, child) in children.iter_mut() {
                if name != "extends" && name != "environments" && name != "Extends" {
                    allow_templates(child);
                }
            }
        }
    }
}

/// Every `description` as editors show it: doc comments arrive hard-wrapped
/// at 80 columns, and a language server renders each wrap as a line break
/// (a plain `description` is escaped as text, so its backticks show as
/// `\``). Lines are joined within a paragraph, and the same text goes into
/// `markdownDescription`, which yaml-language-server and VS Code render as
/// Markdown (`code` as code).
fn describe_for_editors(schema: &mut Value) {
    match schema {
        Value::Object(obj) => {
            if let Some(Value::String(text)) = obj.get("description") {
                let text = unwrap_paragraphs(text);
                obj.insert("description".into(), Value::String(text.clone()));
                obj.insert("markdownDescription".into(), Value::String(text));
            }
            obj.values_mut().for_each(describe_for_editors);
        }
        Value::Array(items) => items.iter_mut().for_each(describe_for_editors),
        _ => {}
    }
}

/// Joins the lines of each paragraph (paragraphs are separated by a blank line).
fn unwrap_paragraphs(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| {
            paragraph
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// A string that holds a template (`{{ ... }}` or `{% ... %}`).
fn template_string() -> Value {
    json!({"type": "string", "pattern": "\\{\\{|\\{%", "description": "A template, rendered per environment."})
}

/// Accepts a template wherever a constrained value stands: every typed,
/// enumerated or patterned schema below gets "or a template" beside it.
fn allow_templates(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    for key in ["properties", "$defs", "patternProperties"] {
        if let Some(Value::Object(children)) = obj.get_mut(key) {
            children.values_mut().for_each(allow_templates);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = obj.get_mut(key)
            && child.is_object()
        {
            allow_templates(child);
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(options)) = obj.get_mut(key) {
            options.iter_mut().for_each(allow_templates);
        }
    }
    let constrained = ["type", "enum", "const", "pattern", "$ref"]
        .iter()
        .any(|k| obj.contains_key(*k));
    let plain_string = obj.get("type") == Some(&json!("string"))
        && ![
            "enum",
            "const",
            "pattern",
            "format",
            "minLength",
            "maxLength",
        ]
        .iter()
        .any(|k| obj.contains_key(*k));
    if constrained && !plain_string {
        let description = obj.remove("description");
        let inner = std::mem::take(obj);
        obj.insert(
            "anyOf".into(),
            json!([Value::Object(inner), template_string()]),
        );
        if let Some(d) = description {
            obj.insert("description".into(), d);
        }
    }
}

/// Describes the two keys every file but stack.yaml may have: `extends` (start
/// from a preset) and `environments` (per-environment overlays, each a partial
/// copy of the file).
fn add_presets_and_overlays(schema: &mut Value) {
    let Some(root) = schema.as_object_mut() else {
        return;
    };
    let mut overlay = json!({
        "description": "Values for one environment, deep-merged over the rest of the file (maps merge, lists replace, `null` removes a key).",
        "type": "object",
        "additionalProperties": false,
        "properties": root.get("properties").cloned().unwrap_or_else(|| json!({})),
    });
    if let Some(props) = overlay["properties"].as_object_mut() {
        for value in props.values_mut() {
            allow_null(value);
        }
    }
    let defs = root.entry("$defs").or_insert_with(|| json!({}));
    defs["Overlay"] = overlay;
    defs["Extends"] = json!({
        "description": "A preset under `shared/` this file starts from; the file's own values are merged over it.",
        "anyOf": [
            {"type": "string", "pattern": "^shared/.+\\.ya?ml$"},
            {
                "type": "object",
                "additionalProperties": false,
                "required": ["preset"],
                "properties": {
                    "preset": {"type": "string", "pattern": "^shared/.+\\.ya?ml$", "description": "Path of the preset from the repository root."},
                    "with": {"type": "object", "description": "Parameters, available in the preset as `{{ params.NAME }}`."}
                }
            }
        ]
    });
    let props = root.entry("properties").or_insert_with(|| json!({}));
    props["extends"] = json!({"$ref": "#/$defs/Extends"});
    props["environments"] = json!({
        "description": "Per-environment overlays, keyed by environment name.",
        "type": "object",
        "propertyNames": {"pattern": NAME_PATTERN},
        "additionalProperties": {"$ref": "#/$defs/Overlay"}
    });
}

/// In an overlay any value may be `null` (which removes the key).
fn allow_null(schema: &mut Value) {
    if let Some(obj) = schema.as_object_mut() {
        let inner = std::mem::take(obj);
        obj.insert(
            "anyOf".into(),
            json!([Value::Object(inner), {"type": "null"}]),
        );
    }
}

/// Writes every schema into `dir`, one file per kind, pretty-printed with a final
/// newline so the checked-in copies diff cleanly.
pub fn write_all(dir: &std::path::Path) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for kind in FileKind::all() {
        let name = kind.schema_file_name();
        let text =
            serde_json::to_string_pretty(&kind.editor_schema()).expect("schemas serialise") + "\n";
        std::fs::write(dir.join(&name), text)?;
        written.push(name);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_compiles() {
        for kind in FileKind::all() {
            let schema = kind.schema();
            jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        }
    }
}
