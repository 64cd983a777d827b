//! Block-style YAML, written from JSON-like data: a `serde_json` value, or a
//! program's own values ([`Program::to_yaml`]) without building JSON first.
//!
//! Strings are plain only when YAML cannot read them as anything else;
//! otherwise double-quoted with JSON escapes (valid YAML), so no value can
//! change the document's structure. Everything is appended to one string: a
//! program of 1,200 resources is 800 KB of text, and building it as a JSON
//! tree first was a third of `compile --all` (a profile at 10,000 services).
//! Writing is a fifth of `compile --all` cold still, so nothing is built to
//! be written: a map's entries are walked where they are, a resource's
//! options written as they are read, and a value many resources share (a
//! component's tags) is written once per indent and copied after.

use super::program::{Key, Part, Program, Resource, Value, escape, interpolated};
use serde_json::Value as Json;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;

/// Writes `value` as a YAML document.
pub fn to_yaml(value: &Json) -> String {
    let mut w = Writer::default();
    match value.shape() {
        Shape::Map(entries) if entries.len() > 0 => write_map(entries, 0, Start::NewLine, &mut w),
        Shape::List(items) if !items.is_empty() => write_list(items, 0, &mut w),
        _ => {
            value.write_scalar(&mut w.out);
            w.out.push('\n');
        }
    }
    w.out
}

impl Program {
    /// `Pulumi.yaml`: the same text as `to_yaml(&self.to_json())` (a test
    /// holds them together), written straight from the program.
    pub fn to_yaml(&self) -> String {
        let mut w = Writer {
            out: String::with_capacity(1024 * (self.resources.len() + 1)),
            ..Writer::default()
        };
        entry("name", &Json::String(self.name.clone()), 0, &mut w);
        entry("runtime", &Json::String("yaml".into()), 0, &mut w);
        let description = Json::String(escape(&self.description).into_owned());
        entry("description", &description, 0, &mut w);
        if let Some(config) = self.config() {
            entry("config", &config, 0, &mut w);
        }
        if !self.variables.is_empty() {
            w.out.push_str("variables:\n");
            write_map(value_entries(&self.variables), 2, Start::NewLine, &mut w);
        }
        if self.resources.is_empty() {
            w.out.push_str("resources: {}\n");
        } else {
            w.out.push_str("resources:\n");
        }
        for resource in &self.resources {
            indent_to(&mut w.out, 2);
            write_key(&resource.name, &mut w.out);
            w.out.push_str(":\n");
            entry("type", &Json::String(resource.token.into()), 4, &mut w);
            if !resource.properties.is_empty() {
                w.out.push_str("    properties:\n");
                write_map(
                    value_entries(&resource.properties),
                    6,
                    Start::NewLine,
                    &mut w,
                );
            }
            write_options(resource, &mut w.out);
        }
        if !self.outputs.is_empty() {
            w.out.push_str("outputs:\n");
            write_map(value_entries(&self.outputs), 2, Start::NewLine, &mut w);
        }
        w.out
    }
}

/// `options:` of a resource, as `Resource::options` would be written,
/// without building it (a JSON map per resource was a twentieth of writing).
fn write_options(resource: &Resource, out: &mut String) {
    out.push_str("    options:\n      version: ");
    write_str(crate::provider::AWS_VERSION, out);
    out.push('\n');
    if !resource.depends_on.is_empty() {
        let mut deps: Vec<&String> = resource.depends_on.iter().collect();
        deps.sort();
        deps.dedup();
        out.push_str("      dependsOn:\n");
        for dep in deps {
            out.push_str("        - ");
            write_str(&format!("${{{dep}}}"), out);
            out.push('\n');
        }
    }
    if !resource.ignore_changes.is_empty() {
        out.push_str("      ignoreChanges:\n");
        for path in &resource.ignore_changes {
            out.push_str("        - ");
            write_str(path, out);
            out.push('\n');
        }
    }
    if resource.protect {
        out.push_str("      protect: true\n");
    }
    if let Some(id) = &resource.import {
        out.push_str("      import: ");
        write_str(id, out);
        out.push('\n');
    }
}

/// The text so far, and where the text of each shared value already
/// written lies in it (by the value, its indent and where it started).
#[derive(Default)]
struct Writer {
    out: String,
    shared: HashMap<(usize, usize, Start), Range<usize>>,
}

/// A node of a tree, as the writer sees it.
enum Shape<'a, T: Tree + 'a> {
    Map(T::Entries<'a>),
    List(&'a [T]),
    Scalar,
}

trait Tree: Sized {
    /// A map's entries, walked where they are.
    type Entries<'a>: ExactSizeIterator<Item = (Cow<'a, str>, &'a Self)>
    where
        Self: 'a;
    fn shape(&self) -> Shape<'_, Self>;
    /// A scalar on the rest of its line (an empty map or list: `{}`, `[]`).
    fn write_scalar(&self, out: &mut String);
    /// Who a value is when many hold it alike, so its text is written once.
    fn shared_id(&self) -> Option<usize> {
        None
    }
}

type JsonEntries<'a> = std::iter::Map<
    serde_json::map::Iter<'a>,
    fn((&'a String, &'a Json)) -> (Cow<'a, str>, &'a Json),
>;

fn json_entry<'a>((key, value): (&'a String, &'a Json)) -> (Cow<'a, str>, &'a Json) {
    (Cow::Borrowed(key.as_str()), value)
}

impl Tree for Json {
    type Entries<'a> = JsonEntries<'a>;

    fn shape(&self) -> Shape<'_, Json> {
        match self {
            Json::Object(map) => Shape::Map(map.iter().map(json_entry as fn(_) -> _)),
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

/// A program's map, or a function's one entry (`fn::toJSON: …`).
enum ValueEntries<'a> {
    Map(std::slice::Iter<'a, (Key, Value)>),
    Fn(Option<(&'static str, &'a Value)>),
}

impl<'a> Iterator for ValueEntries<'a> {
    type Item = (Cow<'a, str>, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            ValueEntries::Map(entries) => entries.next().map(|(k, v)| (escape(k), v)),
            ValueEntries::Fn(entry) => entry
                .take()
                .map(|(name, arg)| (Cow::Owned(format!("fn::{name}")), arg)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = match self {
            ValueEntries::Map(entries) => entries.len(),
            ValueEntries::Fn(entry) => usize::from(entry.is_some()),
        };
        (left, Some(left))
    }
}

impl ExactSizeIterator for ValueEntries<'_> {}

/// A value as Pulumi reads it (`Value::to_json`): literal `$` doubled,
/// references as `${...}`, map keys escaped like values.
impl Tree for Value {
    type Entries<'a> = ValueEntries<'a>;

    fn shape(&self) -> Shape<'_, Value> {
        match self.get() {
            Value::List(items) => Shape::List(items),
            Value::Map(entries) => Shape::Map(value_entries(entries)),
            Value::Fn(name, arg) => Shape::Map(ValueEntries::Fn(Some((name, arg)))),
            _ => Shape::Scalar,
        }
    }

    fn write_scalar(&self, out: &mut String) {
        match self.get() {
            Value::Str(text) => write_str(&escape(text), out),
            // A reference makes it `${…}`, never plain: quoted as it is
            // joined, with no string built for it (a tenth of writing).
            Value::Interp(parts) if parts.iter().any(|p| matches!(p, Part::Ref(_))) => {
                out.push('"');
                for part in parts {
                    match part {
                        Part::Text(text) => push_escaped(&escape(text), out),
                        Part::Ref(expression) => {
                            out.push_str("${");
                            push_escaped(expression, out);
                            out.push('}');
                        }
                    }
                }
                out.push('"');
            }
            Value::Interp(parts) => write_str(&interpolated(parts), out),
            Value::List(_) => out.push_str("[]"),
            Value::Map(_) => out.push_str("{}"),
            other => other.to_json().write_scalar(out),
        }
    }

    fn shared_id(&self) -> Option<usize> {
        match self {
            Value::Shared(inner) => Some(std::sync::Arc::as_ptr(inner) as usize),
            _ => None,
        }
    }
}

fn value_entries(entries: &[(Key, Value)]) -> ValueEntries<'_> {
    ValueEntries::Map(entries.iter())
}

/// Where a map's first entry goes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Start {
    /// On a line of its own, indented like the others.
    NewLine,
    /// On the line of a list item's dash, already written.
    AfterDash,
}

fn entry<T: Tree>(key: &str, value: &T, indent: usize, w: &mut Writer) {
    indent_to(&mut w.out, indent);
    write_entry(key, value, indent, w);
}

/// `key: value`, the value on the same line or nested under the key.
fn write_entry<T: Tree>(key: &str, value: &T, indent: usize, w: &mut Writer) {
    write_key(key, &mut w.out);
    w.out.push(':');
    write_nested(value, indent, Start::NewLine, w);
}

fn write_map<'a, T: Tree + 'a>(
    entries: impl Iterator<Item = (Cow<'a, str>, &'a T)>,
    indent: usize,
    start: Start,
    w: &mut Writer,
) {
    for (i, (key, value)) in entries.enumerate() {
        if i > 0 || start == Start::NewLine {
            indent_to(&mut w.out, indent);
        }
        write_entry(&key, value, indent, w);
    }
}

fn write_list<T: Tree>(items: &[T], indent: usize, w: &mut Writer) {
    for item in items {
        indent_to(&mut w.out, indent);
        w.out.push('-');
        write_nested(item, indent, Start::AfterDash, w);
    }
}

/// A value after its key or its dash: a map (under it, or its first entry
/// on the dash line, the rest aligned under it), a list under it, or a
/// scalar on the same line. A shared value written before at the same
/// place is copied from where it was written.
fn write_nested<T: Tree>(value: &T, indent: usize, start: Start, w: &mut Writer) {
    let shared = value.shared_id().map(|id| (id, indent, start));
    if let Some(written) = shared.and_then(|key| w.shared.get(&key)) {
        w.out.extend_from_within(written.clone());
        return;
    }
    let begin = w.out.len();
    match value.shape() {
        Shape::Map(entries) if entries.len() > 0 => {
            w.out.push(match start {
                Start::NewLine => '\n',
                Start::AfterDash => ' ',
            });
            write_map(entries, indent + 2, start, w);
        }
        Shape::List(items) if !items.is_empty() => {
            w.out.push('\n');
            write_list(items, indent + 2, w);
        }
        _ => {
            w.out.push(' ');
            value.write_scalar(&mut w.out);
            w.out.push('\n');
        }
    }
    if let Some(key) = shared {
        w.shared.insert(key, begin..w.out.len());
    }
}

fn indent_to(out: &mut String, indent: usize) {
    const SPACES: &str = "                                ";
    let mut left = indent;
    while left > 0 {
        let n = left.min(SPACES.len());
        out.push_str(&SPACES[..n]);
        left -= n;
    }
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
    out.push('"');
    push_escaped(text, out);
    out.push('"');
}

/// The inside of [`write_quoted`], a run of bytes at a time: every byte to
/// escape is ASCII, so the runs between them are whole characters.
fn push_escaped(text: &str, out: &mut String) {
    out.reserve(text.len() + 2);
    let mut run = 0;
    for (i, byte) in text.bytes().enumerate() {
        let escaped = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            byte if byte < b' ' => {
                out.push_str(&text[run..i]);
                write!(out, "\\u{byte:04x}").expect("writing to a String");
                run = i + 1;
                continue;
            }
            _ => continue,
        };
        out.push_str(&text[run..i]);
        out.push_str(escaped);
        run = i + 1;
    }
    out.push_str(&text[run..]);
}

fn write_key(key: &str, out: &mut String) {
    // By bytes: every character allowed is ASCII.
    let simple = key
        .bytes()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && key
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'));
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
    text.bytes()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_' || c == b'/')
        && text
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'/' | b':' | b'-'))
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
    /// lists, lists of maps, every option, shared values, config and outputs.
    #[test]
    fn a_program_writes_the_text_of_its_json() {
        // Shared, so written once and copied: at another indent, and after
        // a dash, it is written again.
        let tags = map([("team", s("a")), ("cost", s("$1"))]).shared();
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
                Resource {
                    ignore_changes: vec!["tags".into(), "desiredCount".into()],
                    protect: true,
                    import: Some("https://sqs.eu-west-1.amazonaws.com/1/q$x".into()),
                    ..Resource::new("adopted", "aws:sqs/queue:Queue")
                        .set("tags", tags.clone())
                        .depends_on(["bare".to_string()])
                },
                Resource::new("same-tags", "aws:sqs/queue:Queue")
                    .set("tags", tags.clone())
                    .set("nested", Value::List(vec![tags.clone(), tags])),
            ],
            outputs: vec![
                (
                    "url".into(),
                    Value::interp(vec![
                        Part::Text("http://".into()),
                        Part::Ref("alb.dnsName".into()),
                    ]),
                ),
                (
                    "escaped".into(),
                    Value::interp(vec![
                        Part::Text("say \"hi\" for $5\t".into()),
                        Part::Ref("db.endpoints[0]".into()),
                        Part::Text("\n".into()),
                    ]),
                ),
            ],
        };
        assert_eq!(program.to_yaml(), to_yaml(&program.to_json()));
        let empty = Program::default();
        assert_eq!(empty.to_yaml(), to_yaml(&empty.to_json()));
    }
}
