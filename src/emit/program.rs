//! A Pulumi YAML program as data, and its writers.
//!
//! Values are typed so nothing can be injected: a literal string is always
//! written quoted (or as a plain scalar only when that cannot be misread) with
//! `$` doubled, so `${...}` in user text stays text; only [`Part::Ref`] produces
//! an interpolation. Output is deterministic: maps keep the order they were built
//! in, and builders sort what came from hash maps.

use serde_json::{Map as JsonMap, Value as Json};
use std::borrow::Cow;
use std::sync::Arc;

/// A map key or property name: most are written in the source (`name`,
/// `tags`), so they are borrowed, not allocated for each of a program's
/// 1,200 resources.
pub type Key = Cow<'static, str>;

/// One piece of an interpolated string.
#[derive(Clone, Debug, PartialEq, Hash)]
pub enum Part {
    Text(String),
    /// A Pulumi expression: `resource.property`, `variable`, `res.list[0].field`.
    Ref(String),
}

#[derive(Clone, Debug)]
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
    Map(Vec<(Key, Value)>),
    /// A built-in function, e.g. `fn::toJSON`.
    Fn(&'static str, Box<Value>),
    /// A value many resources hold alike (a component's tags), built once
    /// and shared: it is written, compared and hashed as the value itself.
    Shared(Arc<Value>),
}

/// `"text"` as a literal.
// By hand: `f64` has no `Hash`; a float hashes by its bits, which is exact
// (two values that write the same number have the same bits).
impl std::hash::Hash for Value {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // A shared value hashes as the value it holds, so that sharing
        // never changes a program's digest.
        if let Value::Shared(inner) = self {
            return inner.hash(state);
        }
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
            Value::Shared(_) => unreachable!("seen through above"),
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
/// The value of `key` among `entries` (a map's, a resource's inputs).
fn entry<'a>(entries: &'a [(Key, Value)], key: &str) -> Option<&'a Value> {
    entries
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, value)| value.get())
}

pub fn map<K: Into<Key>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
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
            Value::Str(text) => Json::String(escape(text).into_owned()),
            Value::Interp(parts) => Json::String(interpolated(parts)),
            Value::List(items) => Json::Array(items.iter().map(Value::to_json).collect()),
            Value::Map(entries) => map_to_json(entries),
            Value::Fn(name, arg) => {
                let mut obj = JsonMap::new();
                obj.insert(format!("fn::{name}"), arg.to_json());
                Json::Object(obj)
            }
            Value::Shared(inner) => inner.to_json(),
        }
    }

    /// A map's entry `key`, seen through sharing; `None` for anything but a
    /// map.
    pub fn field(&self, key: &str) -> Option<&Value> {
        match self.get() {
            Value::Map(entries) => entry(entries, key),
            _ => None,
        }
    }

    /// The value itself, seen through sharing.
    pub fn get(&self) -> &Value {
        match self {
            Value::Shared(inner) => inner.get(),
            other => other,
        }
    }

    /// The value, to be held by many resources without copying it.
    pub fn shared(self) -> Value {
        match self {
            Value::Shared(_) => self,
            other => Value::Shared(Arc::new(other)),
        }
    }
}

/// Equal when they write the same: a shared value equals the value it holds.
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self.get(), other.get()) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Interp(a), Value::Interp(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            (Value::Fn(a, x), Value::Fn(b, y)) => a == b && x == y,
            _ => false,
        }
    }
}

/// Map keys are interpolated too (pulumi-yaml `ast/expr.go` parses keys as
/// expressions), so their `$` is doubled like a value's.
fn map_to_json(entries: &[(Key, Value)]) -> Json {
    Json::Object(
        entries
            .iter()
            .map(|(k, v)| (escape(k).into_owned(), v.to_json()))
            .collect(),
    )
}

/// An interpolated string as Pulumi reads it: text escaped, references as `${...}`.
pub(super) fn interpolated(parts: &[Part]) -> String {
    parts
        .iter()
        .map(|p| match p {
            Part::Text(t) => escape(t),
            Part::Ref(e) => Cow::Owned(format!("${{{e}}}")),
        })
        .collect()
}

/// Pulumi YAML reads `${...}` in any string as an interpolation; `$$` is a literal `$`.
pub(super) fn escape(text: &str) -> Cow<'_, str> {
    if text.contains('$') {
        Cow::Owned(text.replace('$', "$$"))
    } else {
        Cow::Borrowed(text)
    }
}

/// One resource of the program.
#[derive(Clone, Debug, Hash)]
pub struct Resource {
    pub name: String,
    /// Full type token, e.g. `aws:ecs/service:Service`.
    pub token: &'static str,
    pub properties: Vec<(Key, Value)>,
    pub depends_on: Vec<String>,
    pub ignore_changes: Vec<String>,
    pub protect: bool,
    /// The id of a live resource this one takes over (Pulumi's `import`
    /// option), from the environment's `adopt:` in stack.yaml.
    pub import: Option<String>,
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
            import: None,
            component: None,
        }
    }

    /// The value the program gives input `key`, seen through sharing.
    pub fn property(&self, key: &str) -> Option<&Value> {
        entry(&self.properties, key)
    }

    /// Adds a property (builder style).
    pub fn set(mut self, key: &'static str, value: Value) -> Resource {
        self.properties.push((Key::Borrowed(key), value));
        self
    }

    /// Adds a property when there is a value.
    pub fn set_opt(self, key: &'static str, value: Option<Value>) -> Resource {
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
        obj.insert("options".into(), self.options());
        Json::Object(obj)
    }

    /// The resource options (`ResourceOptionsDecl`).
    pub(super) fn options(&self) -> Json {
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
        if let Some(id) = &self.import {
            options.insert("import".into(), Json::String(id.clone()));
        }
        Json::Object(options)
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
    pub variables: Vec<(Key, Value)>,
    pub resources: Vec<Resource>,
    pub outputs: Vec<(Key, Value)>,
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
            Json::String(escape(&self.description).into_owned()),
        );
        if let Some(config) = self.config() {
            obj.insert("config".into(), config);
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

    /// The program's `config:` block, when it reads secret config.
    pub(super) fn config(&self) -> Option<Json> {
        // Project config (`ProjectConfigType`, pulumi `sdk/go/common/workspace/project.go`):
        // Pulumi refuses to run without a value, or with one that is not encrypted.
        (!self.secret_config.is_empty()).then(|| {
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
            )
        })
    }
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
        let changed: [&dyn Fn(&mut Resource); 6] = [
            &|r: &mut Resource| r.properties[0].1 = s("orders2"),
            &|r: &mut Resource| r.properties[1].1 = s("5"),
            &|r: &mut Resource| r.properties[1].1 = Value::Float(5.0),
            &|r: &mut Resource| {
                r.properties[0].0 = "nam".into();
                r.properties[0].1 = s("eorders");
            },
            &|r: &mut Resource| r.protect = true,
            &|r: &mut Resource| r.import = Some("orders".into()),
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
}
