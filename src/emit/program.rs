//! A Pulumi YAML program as data, and its writers.
//!
//! Values are typed so nothing can be injected: a literal string is always
//! written quoted (or as a plain scalar only when that cannot be misread) with
//! `$` doubled, so `${...}` in user text stays text; only [`Part::Ref`] produces
//! an interpolation. Output is deterministic: maps keep the order they were built
//! in, and builders sort what came from hash maps.

use serde_json::{Map as JsonMap, Value as Json};

/// One piece of an interpolated string.
#[derive(Clone, Debug, PartialEq, Hash)]
pub enum Part {
    Text(String),
    /// A Pulumi expression: `resource.property`, `variable`, `res.list[0].field`.
    Ref(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// Pulumi YAML numbers are float64 (`NumberExpr`, pulumi-yaml `ast/expr.go`).
    Float(f64),
    Str(String),
    /// A string with references, e.g. `http://${alb.dnsName}/email`.
    Interp(Vec<Part>),
    List(Vec<Value>),
    Map(Vec<(String, Value)>),
    /// A built-in function, e.g. `fn::toJSON`.
    Fn(&'static str, Box<Value>),
}

/// `"text"` as a literal.
// By hand: `f64` has no `Hash`; a float hashes by its bits, which is exact
// (two values that write the same number have the same bits).
impl std::hash::Hash for Value {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Value::Null => {}
            Value::Bool(b) => b.hash(state),
            Value::Int(i) => i.hash(state),
            Value::Float(f) => f.to_bits().hash(state),
            Value::Str(text) => text.hash(state),
            Value::Interp(parts) => parts.hash(state),
            Value::List(items) => items.hash(state),
            Value::Map(entries) => entries.hash(state),
            Value::Fn(name, arg) => (name, arg).hash(state),
        }
    }
}

pub fn s(text: impl Into<String>) -> Value {
    Value::Str(text.into())
}

/// `${name.property}`.
pub fn r(expr: impl Into<String>) -> Value {
    Value::Interp(vec![Part::Ref(expr.into())])
}

pub fn list(items: impl IntoIterator<Item = Value>) -> Value {
    Value::List(items.into_iter().collect())
}

pub fn strings<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Value {
    Value::List(items.into_iter().map(|i| s(i.as_ref())).collect())
}

/// A map from `(key, value)` pairs, in the order given.
pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
    Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

/// An IAM policy statement allowing `actions` on `resources`.
pub fn iam_statement(actions: &[&str], resources: Vec<Value>) -> Value {
    map([
        ("Effect", s("Allow")),
        ("Action", strings(actions)),
        ("Resource", Value::List(resources)),
    ])
}

pub fn to_json(value: Value) -> Value {
    Value::Fn("toJSON", Box::new(value))
}

/// `fn::invoke` of a provider function, pinned to deployer's provider version
/// (`InvokeOptionsDecl.Version`, pulumi-yaml `ast/template.go`).
pub fn invoke(function: &str, arguments: Value, ret: &str) -> Value {
    Value::Fn(
        "invoke",
        Box::new(map([
            ("function", s(function)),
            ("arguments", arguments),
            (
                "options",
                map([("version", s(crate::provider::AWS_VERSION))]),
            ),
            ("return", s(ret)),
        ])),
    )
}

impl Value {
    /// Joins parts, merging adjacent text; a single text part is a plain string.
    pub fn interp(parts: Vec<Part>) -> Value {
        let mut merged: Vec<Part> = Vec::new();
        for part in parts {
            match (merged.last_mut(), part) {
                (Some(Part::Text(prev)), Part::Text(next)) => prev.push_str(&next),
                (_, Part::Text(t)) if t.is_empty() => {}
                (_, part) => merged.push(part),
            }
        }
        match merged.as_slice() {
            [] => s(""),
            [Part::Text(t)] => s(t.clone()),
            _ => Value::Interp(merged),
        }
    }

    /// The value as Pulumi reads it: literal `$` doubled, references as `${...}`.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::Str(text) => Json::String(escape(text)),
            Value::Interp(parts) => Json::String(
                parts
                    .iter()
                    .map(|p| match p {
                        Part::Text(t) => escape(t),
                        Part::Ref(e) => format!("${{{e}}}"),
                    })
                    .collect(),
            ),
            Value::List(items) => Json::Array(items.iter().map(Value::to_json).collect()),
            Value::Map(entries) => map_to_json(entries),
            Value::Fn(name, arg) => {
                let mut obj = JsonMap::new();
                obj.insert(format!("fn::{name}"), arg.to_json());
                Json::Object(obj)
            }
        }
    }
}

/// Map keys are interpolated too (pulumi-yaml `ast/expr.go` parses keys as
/// expressions), so their `$` is doubled like a value's.
fn map_to_json(entries: &[(String, Value)]) -> Json {
    Json::Object(
        entries
            .iter()
            .map(|(k, v)| (escape(k), v.to_json()))
            .collect(),
    )
}

/// Pulumi YAML reads `${...}` in any string as an interpolation; `$$` is a literal `$`.
fn escape(text: &str) -> String {
    if text.contains('$') {
        text.replace('$', "$$")
    } else {
        text.to_string()
    }
}

/// One resource of the program.
#[derive(Clone, Debug, Hash)]
pub struct Resource {
    pub name: String,
    /// Full type token, e.g. `aws:ecs/service:Service`.
    pub token: &'static str,
    pub properties: Vec<(String, Value)>,
    pub depends_on: Vec<String>,
    pub ignore_changes: Vec<String>,
    pub protect: bool,
    /// `service/component` that owns it, or `None` for stack-wide resources.
    pub component: Option<String>,
}

impl Resource {
    pub fn new(name: impl Into<String>, token: &'static str) -> Resource {
        Resource {
            name: name.into(),
            token,
            properties: Vec::new(),
            depends_on: Vec::new(),
            ignore_changes: Vec::new(),
            protect: false,
            component: None,
        }
    }

    /// Adds a property (builder style).
    pub fn set(mut self, key: &str, value: Value) -> Resource {
        self.properties.push((key.to_string(), value));
        self
    }

    /// Adds a property when there is a value.
    pub fn set_opt(self, key: &str, value: Option<Value>) -> Resource {
        match value {
            Some(v) => self.set(key, v),
            None => self,
        }
    }

    pub fn depends_on(mut self, names: impl IntoIterator<Item = String>) -> Resource {
        self.depends_on.extend(names);
        self
    }

    fn to_json(&self) -> Json {
        let mut obj = JsonMap::new();
        obj.insert("type".into(), Json::String(self.token.into()));
        if !self.properties.is_empty() {
            obj.insert("properties".into(), map_to_json(&self.properties));
        }
        let mut options = JsonMap::new();
        // Every resource pins the provider (`ResourceOptionsDecl.Version`).
        options.insert(
            "version".into(),
            Json::String(crate::provider::AWS_VERSION.into()),
        );
        if !self.depends_on.is_empty() {
            let mut deps = self.depends_on.clone();
            deps.sort();
            deps.dedup();
            options.insert(
                "dependsOn".into(),
                Json::Array(
                    deps.iter()
                        .map(|d| Json::String(format!("${{{d}}}")))
                        .collect(),
                ),
            );
        }
        if !self.ignore_changes.is_empty() {
            options.insert(
                "ignoreChanges".into(),
                Json::Array(
                    self.ignore_changes
                        .iter()
                        .map(|p| Json::String(p.clone()))
                        .collect(),
                ),
            );
        }
        if self.protect {
            options.insert("protect".into(), Json::Bool(true));
        }
        obj.insert("options".into(), Json::Object(options));
        Json::Object(obj)
    }
}

/// A whole program: `Pulumi.yaml` of one stack and environment.
#[derive(Clone, Debug, Default, Hash)]
pub struct Program {
    pub name: String,
    pub description: String,
    /// Secret config values the program reads (sensitive variables), set
    /// encrypted in the Pulumi stack by the engine, never written here.
    pub secret_config: Vec<String>,
    pub variables: Vec<(String, Value)>,
    pub resources: Vec<Resource>,
    pub outputs: Vec<(String, Value)>,
}

impl Program {
    /// A SHA-256 of the program's content, taken from its structure as it is
    /// (no JSON tree, no text): two programs with the same content have the
    /// same digest, so `affected` compares programs by it. Every field is fed
    /// to the hash with its length or a terminator (`Hash` for strings, lists
    /// and enums), so two different programs do not run together into the
    /// same bytes. Building the JSON and its text to hash them took more time
    /// than compiling (a profile of `affected` on the benchmark repository).
    pub fn digest(&self) -> String {
        use sha2::Digest;
        use std::hash::Hash;
        // `Hash` writes a few bytes at a time; they are gathered before
        // hashing, which halves the digest's time.
        struct Sha(sha2::Sha256, Vec<u8>);
        impl std::hash::Hasher for Sha {
            fn write(&mut self, bytes: &[u8]) {
                self.1.extend_from_slice(bytes);
                if self.1.len() >= 16 * 1024 {
                    self.0.update(&self.1);
                    self.1.clear();
                }
            }
            fn finish(&self) -> u64 {
                unreachable!("the digest is read from the SHA-256, not from Hasher::finish")
            }
        }
        let mut sha = Sha(sha2::Sha256::new(), Vec::with_capacity(17 * 1024));
        self.hash(&mut sha);
        sha.0.update(&sha.1);
        format!("sha256:{:x}", sha.0.finalize())
    }

    pub fn to_json(&self) -> Json {
        let mut obj = JsonMap::new();
        obj.insert("name".into(), Json::String(self.name.clone()));
        obj.insert("runtime".into(), Json::String("yaml".into()));
        obj.insert(
            "description".into(),
            Json::String(escape(&self.description)),
        );
        if !self.secret_config.is_empty() {
            // Project config (`ProjectConfigType`, pulumi `sdk/go/common/workspace/project.go`):
            // Pulumi refuses to run without a value, or with one that is not encrypted.
            obj.insert(
                "config".into(),
                Json::Object(
                    self.secret_config
                        .iter()
                        .map(|name| {
                            (
                                name.clone(),
                                serde_json::json!({"type": "string", "secret": true}),
                            )
                        })
                        .collect(),
                ),
            );
        }
        if !self.variables.is_empty() {
            obj.insert("variables".into(), map_to_json(&self.variables));
        }
        obj.insert(
            "resources".into(),
            Json::Object(
                self.resources
                    .iter()
                    .map(|r| (r.name.clone(), r.to_json()))
                    .collect(),
            ),
        );
        if !self.outputs.is_empty() {
            obj.insert("outputs".into(), map_to_json(&self.outputs));
        }
        Json::Object(obj)
    }
}

/// Writes JSON-like data as block-style YAML. Strings are plain only when YAML
/// cannot read them as anything else; otherwise double-quoted with JSON escapes
/// (valid YAML), so no value can change the document's structure.
pub fn to_yaml(value: &Json) -> String {
    let mut out = String::new();
    match value {
        Json::Object(map) if !map.is_empty() => write_map(map, 0, &mut out),
        Json::Array(items) if !items.is_empty() => write_list(items, 0, &mut out),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn write_map(map: &JsonMap<String, Json>, indent: usize, out: &mut String) {
    for (key, value) in map {
        indent_to(out, indent);
        out.push_str(&yaml_key(key));
        out.push(':');
        write_nested(value, indent, out);
    }
}

fn write_list(items: &[Json], indent: usize, out: &mut String) {
    for item in items {
        indent_to(out, indent);
        out.push('-');
        match item {
            Json::Object(map) if !map.is_empty() => {
                // First entry on the dash line, the rest aligned under it.
                let mut inner = String::new();
                write_map(map, indent + 2, &mut inner);
                out.push(' ');
                out.push_str(&inner[indent + 2..]);
            }
            Json::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                write_list(inner, indent + 2, out);
            }
            scalar_value => {
                out.push(' ');
                out.push_str(&scalar(scalar_value));
                out.push('\n');
            }
        }
    }
}

fn indent_to(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn write_nested(value: &Json, indent: usize, out: &mut String) {
    match value {
        Json::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(map, indent + 2, out);
        }
        Json::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_list(items, indent + 2, out);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn scalar(value: &Json) -> String {
    match value {
        Json::String(text) if plain_ok(text) => text.clone(),
        Json::Object(_) => "{}".into(),
        Json::Array(_) => "[]".into(),
        other => other.to_string(),
    }
}

fn yaml_key(key: &str) -> String {
    let simple = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if simple && !is_special_word(key) {
        key.to_string()
    } else {
        Json::String(key.into()).to_string()
    }
}

/// A string can be written plain when it starts with a letter, `_` or `/`, holds
/// only letters, digits and `_ . / : -`, does not end with `:`, and is not a word
/// some YAML reader takes for a boolean or null.
fn plain_ok(text: &str) -> bool {
    text.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '/')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | ':' | '-'))
        && !text.ends_with(':')
        && !text.contains("://")
        && !is_special_word(text)
}

fn is_special_word(text: &str) -> bool {
    [
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", "inf",
    ]
    .iter()
    .any(|w| text.eq_ignore_ascii_case(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The digest follows the content: equal programs agree, and a change
    /// anywhere — a value, a value's type, where a string is cut between two
    /// properties, a resource option — gives another digest.
    #[test]
    fn the_digest_changes_with_any_content_and_only_with_it() {
        let program = |edit: &dyn Fn(&mut Resource)| {
            let mut r = Resource::new("queue", "aws:sqs/queue:Queue")
                .set("name", s("orders"))
                .set("delaySeconds", Value::Int(5));
            edit(&mut r);
            Program {
                name: "p".into(),
                resources: vec![r],
                ..Program::default()
            }
        };
        let base = program(&|_| {}).digest();
        assert_eq!(base, program(&|_| {}).digest());
        let changed: [&dyn Fn(&mut Resource); 5] = [
            &|r: &mut Resource| r.properties[0].1 = s("orders2"),
            &|r: &mut Resource| r.properties[1].1 = s("5"),
            &|r: &mut Resource| r.properties[1].1 = Value::Float(5.0),
            &|r: &mut Resource| {
                r.properties[0].0 = "nam".into();
                r.properties[0].1 = s("eorders");
            },
            &|r: &mut Resource| r.protect = true,
        ];
        for (i, edit) in changed.iter().enumerate() {
            assert_ne!(base, program(edit).digest(), "change {i} went unseen");
        }
    }

    #[test]
    fn literal_dollars_are_escaped_and_references_are_not() {
        let v = Value::interp(vec![
            Part::Text("price: $5 ${not.a.ref}".into()),
            Part::Ref("q.url".into()),
        ]);
        assert_eq!(v.to_json(), json!("price: $$5 $${not.a.ref}${q.url}"));
        let keyed = map([("${x}", s("v")), ("plain", Value::Float(0.5))]);
        assert_eq!(keyed.to_json(), json!({"$${x}": "v", "plain": 0.5}));
    }

    #[test]
    fn yaml_quotes_anything_ambiguous() {
        let doc = json!({"a": "plain-text", "b": "yes", "c": "has: colon space", "d": "12", "e": "line\nbreak", "deployer:stack": "x", "f": "key: [inject]"});
        let text = to_yaml(&doc);
        assert_eq!(
            text,
            "a: plain-text\nb: \"yes\"\nc: \"has: colon space\"\nd: \"12\"\ne: \"line\\nbreak\"\n\"deployer:stack\": x\nf: \"key: [inject]\"\n"
        );
    }

    #[test]
    fn yaml_lists_of_maps() {
        let doc = json!({"l": [{"a": 1, "b": [1, 2]}, "x", []], "m": {}});
        assert_eq!(
            to_yaml(&doc),
            "l:\n  - a: 1\n    b:\n      - 1\n      - 2\n  - x\n  - []\nm: {}\n"
        );
    }
}
