//! The typed model of a deployment repository's files.
//!
//! These structs are the single source of truth for the file formats: the JSON
//! Schemas in `schemas/` are generated from them (with their doc comments as
//! descriptions), and documents are deserialised into them after expansion and
//! schema validation. Component kinds live in [`crate::kinds`], one module each.

pub mod names;
pub mod policy;
pub mod service;
pub mod stack;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// A scalar written where a string is meant (an environment variable value, a
/// tag): YAML turns `8080` or `true` into numbers and booleans, and nobody should
/// have to quote them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(s) => Ok(Text(s)),
            serde_json::Value::Number(n) => Ok(Text(n.to_string())),
            serde_json::Value::Bool(b) => Ok(Text(b.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "expected a string, got {other}"
            ))),
        }
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl JsonSchema for Text {
    fn schema_name() -> Cow<'static, str> {
        "Text".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A string; numbers and booleans are accepted and used as written.",
            "type": ["string", "number", "boolean"]
        })
    }
}

/// Tags as AWS accepts them: up to 128-character keys and 256-character values.
pub type Tags = BTreeMap<String, Text>;

/// Schema fragment for tag maps, used with `#[schemars(schema_with = "tags_schema")]`.
pub fn tags_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "propertyNames": {
            "minLength": 1,
            "maxLength": 128,
            "pattern": "^[A-Za-z0-9 _.:/=+@-]+$"
        },
        "additionalProperties": {
            "type": ["string", "number", "boolean"],
            "maxLength": 256
        }
    })
}
