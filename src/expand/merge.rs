//! Deep merge of documents: maps merge key by key, anything else (lists
//! included) is replaced, and `null` removes what is under it.
//!
//! Merging keeps the overriding node's span, so a value that came from an overlay
//! or a preset still points at the line that wrote it.

use crate::node::{Node, Value};

/// Merges `over` into `base`. A `null` in `over` is kept as a removal marker (so
/// that it can still remove a key a preset sets further down); [`strip_nulls`]
/// drops the markers when expansion is done.
pub fn merge(base: &mut Node, over: Node) {
    match (&mut base.value, over.value) {
        (Value::Map(base_map), Value::Map(over_map)) => {
            for (key, value) in over_map.entries {
                match base_map.get_mut(&key.name) {
                    Some(existing)
                        if matches!(existing.value, Value::Map(_))
                            && matches!(value.value, Value::Map(_)) =>
                    {
                        merge(existing, value);
                    }
                    _ => base_map.insert(key, value),
                }
            }
        }
        (_, value) => {
            *base = Node {
                value,
                span: over.span,
            };
        }
    }
}

/// Removes map entries whose value is `null`, at every depth.
pub fn strip_nulls(node: &mut Node) {
    match &mut node.value {
        Value::Map(map) => {
            map.entries.retain(|(_, v)| v.value != Value::Null);
            map.entries.iter_mut().for_each(|(_, v)| strip_nulls(v));
        }
        Value::Seq(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::yaml::parse;
    use crate::source::{FileId, SourceFile};
    use std::path::PathBuf;

    fn node(text: &str) -> Node {
        let file = SourceFile::new("t".into(), PathBuf::from("t"), text.into());
        parse(FileId(0), &file).root.unwrap()
    }

    #[test]
    fn maps_merge_lists_replace_nulls_remove() {
        let mut base = node("a: {x: 1, y: 2}\nl: [1, 2]\nz: 3\n");
        merge(&mut base, node("a: {y: 5}\nl: [9]\nz: null\n"));
        strip_nulls(&mut base);
        assert_eq!(
            base.to_json(),
            serde_json::json!({"a": {"x": 1, "y": 5}, "l": [9]})
        );
    }

    #[test]
    fn a_null_removes_a_key_set_further_down() {
        let mut preset = node("autoscaling: {min: 1, max: 3}\nport: 80\n");
        let mut file = node("port: 8080\n");
        merge(&mut file, node("autoscaling: null\n"));
        merge(&mut preset, file);
        strip_nulls(&mut preset);
        assert_eq!(preset.to_json(), serde_json::json!({"port": 8080}));
    }
}
