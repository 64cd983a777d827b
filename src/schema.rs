//! JSON Schemas for every file kind, generated from the model.
//!
//! The same schemas serve editors (published in `schemas/`, with `extends` and
//! `environments` overlays described) and validation (run on expanded documents,
//! where those two keys are already gone).

use crate::kinds::{Kind, cache, microservice, rds, sqs};
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
}

impl FileKind {
    pub const ALL: &'static [FileKind] = &[
        FileKind::Stack,
        FileKind::Service,
        FileKind::Component(Kind::Microservice),
        FileKind::Infra,
        FileKind::Component(Kind::Rds),
        FileKind::Component(Kind::Sqs),
        FileKind::Component(Kind::Cache),
    ];

    /// The file name as users write it.
    pub fn file_name(self) -> &'static str {
        match self {
            FileKind::Stack => "stack.yaml",
            FileKind::Service => "service.yaml",
            FileKind::Infra => "infra.yaml",
            FileKind::Component(kind) => kind.file_name(),
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
            FileKind::Component(Kind::Microservice) => {
                generator.into_root_schema_for::<microservice::Microservice>()
            }
            FileKind::Component(Kind::Rds) => generator.into_root_schema_for::<rds::Rds>(),
            FileKind::Component(Kind::Sqs) => generator.into_root_schema_for::<sqs::Sqs>(),
            FileKind::Component(Kind::Cache) => generator.into_root_schema_for::<cache::Cache>(),
        }
        .to_value();
        if self != FileKind::Stack {
            add_presets_and_overlays(&mut schema);
        }
        schema
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
    for kind in FileKind::ALL {
        let name = kind.schema_file_name();
        let text = serde_json::to_string_pretty(&kind.schema()).expect("schemas serialise") + "\n";
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
        for kind in FileKind::ALL {
            let schema = kind.schema();
            jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        }
    }
}
