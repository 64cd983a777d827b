//! YAML text to [`Node`] trees, keeping the span of every value and key.
//!
//! Built on saphyr-parser's event stream rather than a ready-made tree so that we
//! see every key as it is written: duplicate keys are errors (a YAML library's map
//! would silently keep one), and merge keys (`<<: *base`) and aliases are expanded
//! here with a bound on their total size (a "billion laughs" file must not eat the
//! machine).

use crate::diagnostic::{Code, Diagnostic};
use crate::node::{Key, Map, Node, Value};
use crate::source::{FileId, SourceFile, Span};
use saphyr_parser::{Event, Parser, ScalarStyle, SpannedEventReceiver, Tag};
use std::collections::HashMap;

/// Upper bound on nodes produced by alias expansion in one file.
const MAX_NODES: usize = 1_000_000;

/// Upper bound on the bytes of text alias expansion produces in one file (a
/// 100 KB anchor reused 20,000 times is 2 GB with few nodes).
const MAX_ALIAS_BYTES: usize = 16 * 1024 * 1024;

/// Deepest nesting of mappings and lists a file may have. Deeper documents are
/// refused before they are built: trees are walked recursively, so 10,000
/// levels would overflow the stack.
pub const MAX_DEPTH: usize = 100;

/// The result of parsing one file: its single document (`None` when the file is
/// empty or only comments) and every problem found.
pub struct Parsed {
    pub root: Option<Node>,
    pub diagnostics: Vec<Diagnostic>,
}

pub fn parse(id: FileId, file: &SourceFile) -> Parsed {
    // saphyr-parser descends recursively into block collections, so very deep
    // nesting would overflow a thread's stack before the builder can refuse it:
    // such files (rare, and cheap to spot) are parsed on a thread with a stack
    // large enough for any file deployer reads (at most 4 MiB of text).
    // A thread that cannot start (an address-space limit, `ulimit -v`) is
    // an error about the file, not a crash.
    if may_be_deep(&file.text) {
        return std::thread::scope(|scope| {
            match std::thread::Builder::new()
                .stack_size(1 << 30)
                .spawn_scoped(scope, || parse_here(id, file))
            {
                Ok(thread) => thread.join().expect("the parser does not panic"),
                Err(e) => Parsed {
                    root: None,
                    diagnostics: vec![
                        Diagnostic::error(
                            Code::UnsupportedYaml,
                            format!("{} is nested deeply enough to need a parser thread with a large stack, which could not start: {e}", file.display),
                        )
                        .at(Span::file_start(id))
                        .help(format!("nest at most {MAX_DEPTH} levels, or raise the process's memory limits")),
                    ],
                },
            }
        });
    }
    parse_here(id, file)
}

/// Whether some line starts deeper than [`MAX_DEPTH`] could need.
fn may_be_deep(text: &str) -> bool {
    text.lines().any(|line| {
        line.bytes()
            .take_while(|b| matches!(b, b' ' | b'-' | b'\t' | b'[' | b'{'))
            .count()
            > MAX_DEPTH
    })
}

fn parse_here(id: FileId, file: &SourceFile) -> Parsed {
    let mut builder = Builder::new(id, file);
    let mut parser = Parser::new_from_str(&file.text);
    let result = parser.load(&mut builder, true);
    let mut diagnostics = std::mem::take(&mut builder.diagnostics);
    if let Err(err) = result {
        let marker = err.marker();
        let offset = file.offset_of(marker.line(), marker.col());
        diagnostics.push(
            Diagnostic::error(Code::YamlSyntax, format!("invalid YAML: {}", err.info()))
                .at(Span::new(id, offset, offset))
                .help("check the indentation and quoting around this line; a value starting with `{`, `[`, `*`, `&`, `!`, `|`, `>`, `%` or `@` must be quoted"),
        );
        return Parsed {
            root: None,
            diagnostics,
        };
    }
    Parsed {
        // A file over a bound is refused whole: what was built before the
        // bound (up to 16 MiB of aliased text) must not reach later stages.
        root: if builder.refused { None } else { builder.root },
        diagnostics,
    }
}

/// Parses YAML text that deployer itself wrote (a stored program) into JSON.
pub fn to_json(text: &str) -> Result<serde_json::Value, String> {
    let file = SourceFile::new(
        "<stored>".into(),
        std::path::PathBuf::new(),
        text.to_string(),
    );
    let parsed = parse(FileId(0), &file);
    if let Some(d) = parsed.diagnostics.iter().find(|d| d.is_error()) {
        return Err(d.message.clone());
    }
    Ok(parsed.root.map_or(serde_json::Value::Null, |n| n.to_json()))
}

enum Frame {
    Seq {
        items: Vec<Node>,
        start: usize,
        anchor: usize,
    },
    Map {
        map: Map,
        start: usize,
        anchor: usize,
        key: Option<Key>,
        /// Key name → entry, once the mapping is large (a hostile file with
        /// thousands of keys): each duplicate check stays constant time.
        index: Option<HashMap<String, usize>>,
    },
}

/// Mappings with more keys than this get an index for duplicate checks.
const INDEXED_KEYS: usize = 32;

struct Builder<'a> {
    id: FileId,
    file: &'a SourceFile,
    stack: Vec<Frame>,
    /// Anchored values with their size in nodes.
    anchors: HashMap<usize, (Node, usize)>,
    root: Option<Node>,
    documents: usize,
    /// The last position converted to a byte offset: `(line, column, offset)`.
    cursor: std::cell::Cell<(usize, usize, usize)>,
    /// A bound (depth, aliases) was crossed: the file is refused.
    refused: bool,
    nodes: usize,
    alias_bytes: usize,
    /// Levels being skipped below [`MAX_DEPTH`] (reported once).
    skipping: usize,
    too_deep: bool,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Builder<'a> {
    fn new(id: FileId, file: &'a SourceFile) -> Self {
        Builder {
            id,
            file,
            stack: Vec::new(),
            anchors: HashMap::new(),
            root: None,
            documents: 0,
            refused: false,
            cursor: std::cell::Cell::new((0, 0, 0)),
            nodes: 0,
            alias_bytes: 0,
            skipping: 0,
            too_deep: false,
            diagnostics: Vec::new(),
        }
    }

    /// Byte offset of a scanner position. Positions mostly move forward, so
    /// the last one is the starting point: a long line with many events
    /// (20,000 aliases on one line) costs linear time, not quadratic.
    fn offset(&self, marker: saphyr_parser::Marker) -> usize {
        let (line, col) = (marker.line(), marker.col());
        let (last_line, last_col, last_offset) = self.cursor.get();
        let offset = if line == last_line && col >= last_col && last_offset <= self.file.text.len()
        {
            match self.file.text[last_offset..]
                .char_indices()
                .nth(col - last_col)
            {
                Some((i, _)) => last_offset + i,
                None => self.file.text.len(),
            }
        } else {
            self.file.offset_of(line, col)
        };
        self.cursor.set((line, col, offset));
        offset
    }

    fn span(&self, span: saphyr_parser::Span) -> Span {
        Span::new(self.id, self.offset(span.start), self.offset(span.end))
    }

    fn error(&mut self, code: Code, message: String, span: Span) {
        self.diagnostics
            .push(Diagnostic::error(code, message).at(span));
    }

    /// Places a finished value: as a key, as a map value, as a list item, or as the root.
    fn push_value(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size(&node)));
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                key: key @ None, ..
            }) => {
                let name = match node.value {
                    Value::Str(s) => s,
                    Value::Int(i) => i.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Float(f) => f.to_string(),
                    Value::Null => "null".to_string(),
                    Value::Seq(_) | Value::Map(_) => {
                        self.diagnostics.push(
                            Diagnostic::error(
                                Code::UnsupportedYaml,
                                "a list or mapping cannot be used as a key",
                            )
                            .at(node.span),
                        );
                        "<complex key>".to_string()
                    }
                };
                *key = Some(Key {
                    name,
                    span: node.span,
                });
            }
            Some(Frame::Map {
                map,
                key: key @ Some(_),
                index,
                ..
            }) => {
                let key = key.take().expect("checked above");
                if index.is_none() && map.entries.len() >= INDEXED_KEYS {
                    *index = Some(
                        map.entries
                            .iter()
                            .enumerate()
                            .map(|(i, (k, _))| (k.name.clone(), i))
                            .collect(),
                    );
                }
                let first = match index {
                    Some(index) => index.get(&key.name).map(|&i| &map.entries[i].0),
                    None => map.key(&key.name),
                };
                if let Some(first) = first {
                    let first_span = first.span;
                    let message = format!("duplicate key `{}`", key.name);
                    self.diagnostics.push(
                        Diagnostic::error(Code::DuplicateKey, message)
                            .at(key.span)
                            .with_label("defined again here")
                            .also(first_span, "first defined here")
                            .help("remove one of the two; YAML keeps only one of them and deployer will not guess which"),
                    );
                    return;
                }
                if let Some(index) = index {
                    index.insert(key.name.clone(), map.entries.len());
                }
                map.entries.push((key, node));
            }
        }
    }

    fn scalar(&mut self, text: &str, style: ScalarStyle, tag: Option<&Tag>, span: Span) -> Value {
        let plain = style == ScalarStyle::Plain;
        match tag {
            None if plain => resolve_plain(text),
            None => Value::Str(text.to_string()),
            Some(tag) if tag.is_yaml_core_schema() => match tag.suffix.as_str() {
                "str" => Value::Str(text.to_string()),
                "null" | "bool" | "int" | "float" => {
                    let value = resolve_plain(text);
                    let ok = matches!(
                        (tag.suffix.as_str(), &value),
                        ("null", Value::Null)
                            | ("bool", Value::Bool(_))
                            | ("int", Value::Int(_))
                            | ("float", Value::Float(_) | Value::Int(_))
                    );
                    if !ok {
                        self.error(
                            Code::UnsupportedYaml,
                            format!("`{text}` is not a valid !!{}", tag.suffix),
                            span,
                        );
                    }
                    match value {
                        Value::Int(i) if tag.suffix == "float" => Value::Float(i as f64),
                        v => v,
                    }
                }
                other => {
                    self.error(
                        Code::UnsupportedYaml,
                        format!("unsupported tag `!!{other}`"),
                        span,
                    );
                    Value::Str(text.to_string())
                }
            },
            Some(tag) => {
                self.error(
                    Code::UnsupportedYaml,
                    format!("unsupported tag `{tag}`: deployer files are plain YAML; use a template (`{{{{ ... }}}}`) for computed values"),
                    span,
                );
                Value::Str(text.to_string())
            }
        }
    }
}

impl<'input> SpannedEventReceiver<'input> for Builder<'_> {
    fn on_event(&mut self, event: Event<'input>, span: saphyr_parser::Span) {
        let at = self.span(span);
        if self.skipping > 0 {
            match event {
                Event::SequenceStart(..) | Event::MappingStart(..) => self.skipping += 1,
                Event::SequenceEnd | Event::MappingEnd => self.skipping -= 1,
                _ => {}
            }
            return;
        }
        if matches!(event, Event::SequenceStart(..) | Event::MappingStart(..))
            && self.stack.len() >= MAX_DEPTH
        {
            self.skipping = 1;
            self.refused = true;
            if !self.too_deep {
                self.too_deep = true;
                self.error(
                    Code::UnsupportedYaml,
                    format!("mappings and lists are nested more than {MAX_DEPTH} levels deep; this file is refused"),
                    at,
                );
            }
            return;
        }
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents == 2 {
                    self.error(
                        Code::UnsupportedYaml,
                        "a file may hold only one YAML document; remove the `---` separator and everything after it or split the file".to_string(),
                        at,
                    );
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                if self.documents > 1 {
                    return;
                }
                let value = self.scalar(&text, style, tag.as_deref(), at);
                self.push_value(Node::new(value, at), anchor);
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    start: at.start as usize,
                    anchor,
                });
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map {
                    map: Map::default(),
                    start: at.start as usize,
                    anchor,
                    key: None,
                    index: None,
                });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq {
                    items,
                    start,
                    anchor,
                }) = self.stack.pop()
                {
                    let end = items
                        .last()
                        .map_or(at.end as usize, |n| n.span.end as usize);
                    let node = Node::new(Value::Seq(items), Span::new(self.id, start, end));
                    if self.documents <= 1 {
                        self.push_value(node, anchor);
                    }
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    map, start, anchor, ..
                }) = self.stack.pop()
                {
                    let map = apply_merge_keys(map, &mut self.diagnostics);
                    let end = map
                        .entries
                        .last()
                        .map_or(at.end as usize, |(_, n)| n.span.end as usize);
                    let node = Node::new(Value::Map(map), Span::new(self.id, start, end));
                    if self.documents <= 1 {
                        self.push_value(node, anchor);
                    }
                }
            }
            Event::Alias(id) => {
                let Some(&(_, node_size)) = self.anchors.get(&id) else {
                    self.error(
                        Code::YamlSyntax,
                        "alias to an unknown anchor".to_string(),
                        at,
                    );
                    return;
                };
                let was_within = self.nodes <= MAX_NODES && self.alias_bytes <= MAX_ALIAS_BYTES;
                self.nodes += node_size;
                self.alias_bytes += text_bytes(&self.anchors[&id].0);
                if self.nodes > MAX_NODES || self.alias_bytes > MAX_ALIAS_BYTES {
                    self.refused = true;
                    if was_within {
                        self.error(
                            Code::UnsupportedYaml,
                            format!("aliases expand to more than {MAX_NODES} values or {MAX_ALIAS_BYTES} bytes; this file is refused"),
                            at,
                        );
                    }
                    return;
                }
                let node = self.anchors[&id].0.clone();
                self.push_value(node, 0);
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
    }
}

/// Bytes of text in a node (its strings and keys).
fn text_bytes(node: &Node) -> usize {
    match &node.value {
        Value::Str(s) => s.len(),
        Value::Seq(items) => items.iter().map(text_bytes).sum(),
        Value::Map(map) => map
            .entries
            .iter()
            .map(|(k, n)| k.name.len() + text_bytes(n))
            .sum(),
        _ => 8,
    }
}

fn size(node: &Node) -> usize {
    match &node.value {
        Value::Seq(items) => 1 + items.iter().map(size).sum::<usize>(),
        Value::Map(map) => 1 + map.entries.iter().map(|(_, n)| size(n)).sum::<usize>(),
        _ => 1,
    }
}

/// Expands YAML merge keys: `<<: *base` (or a list of them) adds the base's entries
/// that the mapping does not set itself.
fn apply_merge_keys(mut map: Map, diagnostics: &mut Vec<Diagnostic>) -> Map {
    let Some((key, value)) = map.remove("<<") else {
        return map;
    };
    let sources: Vec<Node> = match value.value {
        Value::Map(_) => vec![value],
        Value::Seq(items) => items,
        _ => {
            diagnostics.push(
                Diagnostic::error(
                    Code::UnsupportedYaml,
                    "a merge key `<<` needs a mapping or a list of mappings",
                )
                .at(key.span),
            );
            return map;
        }
    };
    for source in sources {
        match source.value {
            Value::Map(base) => {
                for (k, v) in base.entries {
                    if map.get(&k.name).is_none() {
                        map.entries.push((k, v));
                    }
                }
            }
            _ => diagnostics.push(
                Diagnostic::error(
                    Code::UnsupportedYaml,
                    "a merge key `<<` can only merge mappings",
                )
                .at(source.span),
            ),
        }
    }
    map
}

/// The YAML 1.2 core schema for unquoted scalars.
pub fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Value::Int(i);
    }
    if let Some(oct) = text.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Value::Int(i);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(i) = text.parse::<i64>()
    {
        return Value::Int(i);
    }
    if is_float(digits)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::Str(text.to_string())
}

/// `[0-9]*(\.[0-9]*)?([eE][-+]?[0-9]+)?` with at least one digit before the exponent.
fn is_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let has_digit = !int.is_empty() || frac.is_some_and(|f| !f.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    has_digit
        && digits(int)
        && frac.is_none_or(digits)
        && exponent_ok
        && (frac.is_some() || exponent.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn parse_str(text: &str) -> Parsed {
        let file = SourceFile::new("t.yaml".into(), PathBuf::from("t.yaml"), text.to_string());
        parse(FileId(0), &file)
    }

    #[test]
    fn plain_scalars_follow_the_core_schema() {
        assert_eq!(resolve_plain("12"), Value::Int(12));
        assert_eq!(resolve_plain("-3"), Value::Int(-3));
        assert_eq!(resolve_plain("1.5"), Value::Float(1.5));
        assert_eq!(resolve_plain("1e3"), Value::Float(1000.0));
        assert_eq!(resolve_plain("true"), Value::Bool(true));
        assert_eq!(resolve_plain("~"), Value::Null);
        assert_eq!(resolve_plain("v1.0.0"), Value::Str("v1.0.0".into()));
        assert_eq!(resolve_plain("1.2.3"), Value::Str("1.2.3".into()));
        assert_eq!(resolve_plain("yes"), Value::Str("yes".into()));
        assert_eq!(resolve_plain("."), Value::Str(".".into()));
        assert_eq!(resolve_plain("0x1F"), Value::Int(31));
    }

    #[test]
    fn spans_point_at_keys_and_values() {
        let parsed = parse_str("a: 1\nbb:\n  c: \"x\"\n");
        assert!(parsed.diagnostics.is_empty());
        let root = parsed.root.unwrap();
        let map = root.as_map().unwrap();
        let (key, value) = &map.entries[1];
        assert_eq!(
            (key.name.as_str(), key.span.start, key.span.end),
            ("bb", 5, 7)
        );
        let (ckey, cval) = &value.as_map().unwrap().entries[0];
        assert_eq!(ckey.span.start, 11);
        assert_eq!(cval.as_str(), Some("x"));
        assert_eq!(cval.span.start, 14);
    }

    #[test]
    fn duplicate_keys_are_reported_with_both_places() {
        let parsed = parse_str("a: 1\nb: 2\na: 3\n");
        assert_eq!(parsed.diagnostics.len(), 1);
        let d = &parsed.diagnostics[0];
        assert_eq!(d.code, Code::DuplicateKey);
        assert_eq!(d.span.unwrap().start, 10);
        assert_eq!(d.labels[0].span.start, 0);
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let parsed = parse_str("a: 1\nb: [1, 2\nc: 3\n");
        assert_eq!(parsed.diagnostics[0].code, Code::YamlSyntax);
        assert!(parsed.root.is_none());
    }

    #[test]
    fn merge_keys_and_aliases_expand() {
        let parsed = parse_str("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n");
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let root = parsed.root.unwrap();
        let other = root.as_map().unwrap().get("other").unwrap();
        let other = other.as_map().unwrap();
        assert_eq!(other.get("x").unwrap().value, Value::Int(1));
        assert_eq!(other.get("y").unwrap().value, Value::Int(3));
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let prev = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
        }
        let parsed = parse_str(&text);
        assert!(
            parsed
                .diagnostics
                .iter()
                .any(|d| d.code == Code::UnsupportedYaml)
        );
    }

    #[test]
    fn empty_and_comment_only_files_have_no_root() {
        assert!(parse_str("").root.is_none());
        assert!(parse_str("# nothing\n").root.is_none());
    }
}
