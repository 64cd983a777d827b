//! The document tree every stage works on: YAML values that remember their span.
//!
//! Maps keep their keys in source order (and their key spans) so that output is
//! deterministic and errors can point at a key rather than at a whole block.

use crate::source::Span;
use serde_json::Value as Json;

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Map),
}

/// A key of a YAML mapping with the span of the key text.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub name: String,
    pub span: Span,
}

/// An ordered mapping with unique keys.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Map {
    pub entries: Vec<(Key, Node)>,
}

impl Map {
    pub fn get(&self, name: &str) -> Option<&Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Node> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k.name == name)
            .map(|(_, v)| v)
    }

    pub fn key(&self, name: &str) -> Option<&Key> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(k, _)| k)
    }

    pub fn remove(&mut self, name: &str) -> Option<(Key, Node)> {
        let i = self.entries.iter().position(|(k, _)| k.name == name)?;
        Some(self.entries.remove(i))
    }

    /// Replaces the value of an existing key in place, or appends a new entry.
    pub fn insert(&mut self, key: Key, value: Node) {
        match self.entries.iter_mut().find(|(k, _)| k.name == key.name) {
            Some(entry) => *entry = (key, value),
            None => self.entries.push((key, value)),
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.name.as_str())
    }
}

impl Node {
    pub fn new(value: Value, span: Span) -> Node {
        Node { value, span }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match &mut self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A short name for the type of this value, as users know it from YAML.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// Converts to JSON for schema validation and deserialisation. Spans are lost;
    /// callers keep the node to map errors back.
    pub fn to_json(&self) -> Json {
        match &self.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::Str(s) => Json::String(s.clone()),
            Value::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(map) => Json::Object(
                map.entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// Builds a node from JSON, giving every part the same span. Used for values
    /// computed by templates, which all come from one source string.
    pub fn from_json(json: &Json, span: Span) -> Node {
        let value = match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Json::String(s) => Value::Str(s.clone()),
            Json::Array(items) => {
                Value::Seq(items.iter().map(|j| Node::from_json(j, span)).collect())
            }
            Json::Object(obj) => Value::Map(Map {
                entries: obj
                    .iter()
                    .map(|(k, v)| {
                        (
                            Key {
                                name: k.clone(),
                                span,
                            },
                            Node::from_json(v, span),
                        )
                    })
                    .collect(),
            }),
        };
        Node { value, span }
    }
}

/// Follows a JSON pointer (`/environments/production/0`) from a root node.
impl Node {
    /// Where to point for a value: the value itself when it is a scalar, the key that
    /// holds it when it is a block (a whole mapping underlined says nothing).
    pub fn locate(&self, pointer: &str) -> (Span, Option<&Node>) {
        match self.lookup_pointer(pointer) {
            Some((node, key_span)) => {
                let span = match (&node.value, key_span) {
                    (Value::Map(_) | Value::Seq(_), Some(key)) => key,
                    (Value::Map(_) | Value::Seq(_), None) => Span::new(
                        node.span.file,
                        node.span.start as usize,
                        node.span.start as usize,
                    ),
                    _ => node.span,
                };
                (span, Some(node))
            }
            None => (
                Span::new(
                    self.span.file,
                    self.span.start as usize,
                    self.span.start as usize,
                ),
                None,
            ),
        }
    }

    /// Returns the node found and the span of the last key on the way: the best
    /// place to point at when the node is a whole block.
    pub fn lookup_pointer(&self, pointer: &str) -> Option<(&Node, Option<Span>)> {
        let mut node = self;
        let mut key_span = None;
        for raw in pointer.split('/').skip(1) {
            let segment = raw.replace("~1", "/").replace("~0", "~");
            match &node.value {
                Value::Seq(items) => {
                    node = items.get(segment.parse::<usize>().ok()?)?;
                    key_span = None;
                }
                Value::Map(map) => {
                    let (k, v) = map.entries.iter().find(|(k, _)| k.name == segment)?;
                    key_span = Some(k.span);
                    node = v;
                }
                _ => return None,
            }
        }
        Some((node, key_span))
    }
}
