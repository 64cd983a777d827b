//! Block-style YAML, written from JSON-like data: a `serde_json` value, or a
//! program's own values ([`Program::to_yaml`]) without building JSON first.
//!
//! Strings are plain only when YAML cannot read them as anything else;
//! otherwise double-quoted with JSON escapes (valid YAML), so no value can
//! change the document's structure. Everything is appended to one string: a
//! program of 1,200 resources is 800 KB of text, and building it as a JSON
//! tree first was a third of `compile --all` (a profile at 10,000 services).

use super::program::{Key, Program, Value, escape, interpolated};
use serde_json::Value as Json;
use std::borrow::Cow;
use std::fmt::Write as _;

/// Writes `value` as a YAML document.
pub fn to_yaml(value: &Json) -> String {
    let mut out = String::new();
    match value.shape() {
        Shape::Map(entries) if !entries.is_empty() => {
            write_map(&entries, 0, Start::NewLine, &mut out)
        }
        Shape::List(items) if !items.is_empty() => write_list(items, 0, &mut out),
        _ => {
            value.write_scalar(&mut out);
            out.push('\n');
        }
    }
    out
}

impl Program {
    /// `Pulumi.yaml`: the same text as `to_yaml(&self.to_json())` (a test
    /// holds them together), written straight from the program.
    pub fn to_yaml(&self) -> String {
        let mut out = String::with_capacity(1024 * (self.resources.len() + 1));
        entry("name", &Json::String(self.name.clone()), 0, &mut out);
        entry("runtime", &Json::String("yaml".into()), 0, &mut out);
        let description = Json::String(escape(&self.description).into_owned());
        entry("description", &description, 0, &mut out);
        if let Some(config) = self.config() {
            entry("config", &config, 0, &mut out);
        }
        if !self.variables.is_empty() {
            out.push_str("variables:\n");
            write_map(&value_entries(&self.variables), 2, Start::NewLine, &mut out);
        }
        if self.resources.is_empty() {
            out.push_str("resources: {}\n");
        } else {
            out.push_str("resources:\n");
        }
        for resource in &self.resources {
            indent_to(&mut out, 2);
            write_key(&resource.name, &mut out);
            out.push_str(":\n");
            entry("type", &Json::String(resource.token.into()), 4, &mut out);
            if !resource.properties.is_empty() {
                out.push_str("    properties:\n");
                let properties = value_entries(&resource.properties);
                write_map(&properties, 6, Start::NewLine, &mut out);
            }
            entry("options", &resource.options(), 4, &mut out);
        }
        if !self.outputs.is_empty() {
            out.push_str("outputs:\n");
            write_map(&value_entries(&self.outputs), 2, Start::NewLine, &mut out);
        }
        out
    }
}

/// A node of a tree, as the writer sees it.
enum Shape<'a, T> {
    Map(Vec<(Cow<'a, str>, &'a T)>),
    List(&'a [T]),
    Scalar,
}

trait Tree: Sized {
    fn shape(&self) -> Shape<'_, Self>;
    /// A scalar on the rest of its line (an empty map or list: `{}`, `[]`).
    fn write_scalar(&self, out: &mut String);
}

impl Tree for Json {
    fn shape(&self) -> Shape<'_, Json> {
        match self {
            Json::Object(map) => Shape::Map(map.iter().map(|(k, v)| (Cow::from(k), v)).collect()),
            Json::Array(items) => Shape::List(items),
            _ => Shape::Scalar,
        }
    }

    fn write_scalar(&self, out: &mut String) {
        match self {
            Json::String(text) => write_str(text, out),
            Json::Object(_) => out.push_str("{}"),
            Json::Array(_) => out.push_str("[]"),
            other => write!(out, "{other}").expect("writing to a String"),
        }
    }
}

/// A value as Pulumi reads it (`Value::to_json`): literal `$` doubled,
/// references as `${...}`, map keys escaped like values.
impl Tree for Value {
    fn shape(&self) -> Shape<'_, Value> {
        match self.get() {
            Value::List(items) => Shape::List(items),
            Value::Map(entries) => Shape::Map(value_entries(entries)),
            Value::Fn(name, arg) => Shape::Map(vec![(Cow::Owned(format!("fn::{name}")), arg)]),
            _ => Shape::Scalar,
        }
    }

    fn write_scalar(&self, out: &mut String) {
        match self.get() {
            Value::Str(text) => write_str(&escape(text), out),
            Value::Interp(parts) => write_str(&interpolated(parts), out),
            Value::List(_) => out.push_str("[]"),
            Value::Map(_) => out.push_str("{}"),
            other => other.to_json().write_scalar(out),
        }
    }
}

fn value_entries(entries: &[(Key, Value)]) -> Vec<(Cow<'_, str>, &Value)> {
    entries.iter().map(|(k, v)| (escape(k), v)).collect()
}

/// Where a map's first entry goes.
#[derive(Clone, Copy, PartialEq)]
enum Start {
    /// On a line of its own, indented like the others.
    NewLine,
    /// On the line of a list item's dash, already written.
    AfterDash,
}

fn entry<T: Tree>(key: &str, value: &T, indent: usize, out: &mut String) {
    indent_to(out, indent);
    write_entry(key, value, indent, out);
}

/// `key: value`, the value on the same line or nested under the key.
fn write_entry<T: Tree>(key: &str, value: &T, indent: usize, out: &mut String) {
    write_key(key, out);
    out.push(':');
    write_nested(value, indent, Start::NewLine, out);
}

fn write_map<T: Tree>(
    entries: &[(Cow<'_, str>, &T)],
    indent: usize,
    start: Start,
    out: &mut String,
) {
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 || start == Start::NewLine {
            indent_to(out, indent);
        }
        write_entry(key, *value, indent, out);
    }
}

fn write_list<T: Tree>(items: &[T], indent: usize, out: &mut String) {
    for item in items {
        indent_to(out, indent);
        out.push('-');
        write_nested(item, indent, Start::AfterDash, out);
    }
}

/// A value after its key or its dash: a map (under it, or its first entry
/// on the dash line, the rest aligned under it), a list under it, or a
/// scalar on the same line.
fn write_nested<T: Tree>(value: &T, indent: usize, start: Start, out: &mut String) {
    match value.shape() {
        Shape::Map(entries) if !entries.is_empty() => {
            out.push(match start {
                Start::NewLine => '\n',
                Start::AfterDash => ' ',
            });
            write_map(&entries, indent + 2, start, out);
        }
        Shape::List(items) if !items.is_empty() => {
            out.push('\n');
            write_list(items, indent + 2, out);
        }
        _ => {
            out.push(' ');
            value.write_scalar(out);
            out.push('\n');
        }
    }
}

fn indent_to(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn write_str(text: &str, out: &mut String) {
    if plain_ok(text) {
        out.push_str(text);
    } else {
        write_quoted(text, out);
    }
}

/// `text` as a JSON string (valid YAML), written in place: the escapes
/// `serde_json` writes (`\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, other
/// control characters as `\u00XX`), the rest as it is. A test holds the two
/// together.
fn write_quoted(text: &str, out: &mut String) {
    out.reserve(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => write!(out, "\\u{:04x}", c as u32).expect("writing to a String"),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_key(key: &str, out: &mut String) {
    let simple = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if simple && !is_special_word(key) {
        out.push_str(key);
    } else {
        write_quoted(key, out);
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
    text.len() <= 5
        && [
            "true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", "inf",
        ]
        .iter()
        .any(|w| text.eq_ignore_ascii_case(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::program::{Part, Resource, map, r, s};
    use serde_json::json;

    #[test]
    fn yaml_quotes_anything_ambiguous() {
        let doc = json!({"a": "plain-text", "b": "yes", "c": "has: colon space", "d": "12", "e": "line\nbreak", "deployer:stack": "x", "f": "key: [inject]"});
        let text = to_yaml(&doc);
        assert_eq!(
            text,
            "a: plain-text\nb: \"yes\"\nc: \"has: colon space\"\nd: \"12\"\ne: \"line\\nbreak\"\n\"deployer:stack\": x\nf: \"key: [inject]\"\n"
        );
    }

    /// Quoting writes what `serde_json` writes, for every character that
    /// needs an escape and for text that needs none.
    #[test]
    fn quoted_strings_are_json_strings() {
        let mut every: String = (0u8..0x80).map(char::from).collect();
        every.push_str("é ü 日本 \u{2028} \u{7f} ${x} $$");
        for text in [every.as_str(), "", "plain", "a \"quote\" and \\ back"] {
            let mut out = String::new();
            write_quoted(text, &mut out);
            assert_eq!(out, serde_json::to_string(text).unwrap());
        }
    }

    #[test]
    fn yaml_lists_of_maps() {
        let doc = json!({"l": [{"a": 1, "b": [1, 2]}, "x", []], "m": {}});
        assert_eq!(
            to_yaml(&doc),
            "l:\n  - a: 1\n    b:\n      - 1\n      - 2\n  - x\n  - []\nm: {}\n"
        );
    }

    /// The program's own writer gives the text of its JSON, for every shape
    /// a program holds: escapes, references, functions, empty maps and
    /// lists, lists of maps, options, config and outputs.
    #[test]
    fn a_program_writes_the_text_of_its_json() {
        let program = Program {
            name: "shop".into(),
            description: "costs $5".into(),
            secret_config: vec!["db_password".into()],
            variables: vec![(
                "subnets".into(),
                Value::Fn(
                    "invoke",
                    Box::new(map([("function", s("aws:ec2:getSubnets"))])),
                ),
            )],
            resources: vec![
                Resource::new("queue", "aws:sqs/queue:Queue")
                    .set("name", s("orders-$x"))
                    .set("delaySeconds", Value::Int(5))
                    .set("ratio", Value::Float(0.5))
                    .set("fifo", Value::Bool(false))
                    .set("empty", Value::Map(vec![]))
                    .set("none", Value::List(vec![]))
                    .set(
                        "tags",
                        map([("deployer:stack", s("yes")), ("${k}", Value::Null)]),
                    )
                    .set(
                        "policy",
                        Value::Fn(
                            "toJSON",
                            Box::new(map([(
                                "Statement",
                                Value::List(vec![map([
                                    ("Effect", s("Allow")),
                                    (
                                        "Resource",
                                        Value::List(vec![
                                            r("queue.arn"),
                                            Value::List(vec![s("a")]),
                                        ]),
                                    ),
                                ])]),
                            )])),
                        ),
                    )
                    .depends_on(["b".to_string(), "a".to_string()]),
                Resource::new("bare", "aws:sqs/queue:Queue"),
            ],
            outputs: vec![(
                "url".into(),
                Value::interp(vec![
                    Part::Text("http://".into()),
                    Part::Ref("alb.dnsName".into()),
                ]),
            )],
        };
        assert_eq!(program.to_yaml(), to_yaml(&program.to_json()));
        let empty = Program::default();
        assert_eq!(empty.to_yaml(), to_yaml(&empty.to_json()));
    }
}
