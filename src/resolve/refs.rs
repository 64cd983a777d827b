//! `{{ ref("service/component.output") }}`: templates leave a marker in the
//! string; here the marker is checked against the stack, and emission turns it
//! into a reference in the Pulumi program.
//!
//! References are allowed where a value reaches the running container (`env`,
//! `command`, `entrypoint`, configs), not in places that must be known when the
//! program is written (an image name, a route, a database name).

use super::{Id, ResolvedStack, parse_target, unknown_component};
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::expand::template::{REF_END, REF_START};
use crate::expand::variables::SENSITIVE_PREFIX;
use crate::node::{Node, Value};
use crate::source::Span;
use std::collections::BTreeSet;

/// A piece of a string: literal text or a reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    /// `component.output` or `service/component.output`.
    Ref(&'a str),
    /// A sensitive variable, by name: its value is known to Pulumi only.
    Sensitive(&'a str),
}

/// A `ref()` marker that a filter changed or cut apart.
#[derive(Debug)]
pub struct BrokenMarker;

/// Splits a string into text and references. Fails when a marker is broken (a
/// filter applied to a reference, or `ref()` output cut in half).
pub fn split(text: &str) -> Result<Vec<Piece<'_>>, BrokenMarker> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(REF_START) {
        if start > 0 {
            pieces.push(Piece::Text(&rest[..start]));
        }
        let after = &rest[start + REF_START.len_utf8()..];
        let end = after.find(REF_END).ok_or(BrokenMarker)?;
        let inner = &after[..end];
        if inner.contains(REF_START) {
            return Err(BrokenMarker);
        }
        pieces.push(match inner.strip_prefix(SENSITIVE_PREFIX) {
            Some(name) => Piece::Sensitive(name),
            None => Piece::Ref(inner),
        });
        rest = &after[end + REF_END.len_utf8()..];
    }
    if rest.contains(REF_END) {
        return Err(BrokenMarker);
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

/// Splits `service/component.output` or `component.output`.
pub fn target_and_output(reference: &str) -> (&str, &str) {
    reference.rsplit_once('.').unwrap_or((reference, ""))
}

const ALLOWED: &[&str] = &["/env/", "/command/", "/entrypoint/"];

/// Checks every reference in a component's kind file and configs. Returns the
/// components referred to, with the span of each reference.
pub fn check(
    stack: &ResolvedStack,
    index: usize,
    root: &Node,
    configs: &[Node],
    known: &BTreeSet<Id>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(usize, Span)> {
    let mut found = Vec::new();
    let mut visit = |text: &str, span: Span, allowed: bool, diagnostics: &mut Vec<Diagnostic>| {
        let Ok(pieces) = split(text) else {
            diagnostics.push(
                Diagnostic::error(Code::TemplateError, "a reference or sensitive variable was changed by a filter or cut apart")
                    .at(span)
                    .help("use `{{ ref(\"component.output\") }}` or `{{ var.SECRET }}` on its own; filters cannot change a value that is only known at deploy time"),
            );
            return;
        };
        for piece in pieces {
            let reference = match piece {
                Piece::Text(_) => continue,
                Piece::Sensitive(name) if !allowed => {
                    diagnostics.push(
                        Diagnostic::error(Code::InvalidUse, format!("sensitive variable `{name}` cannot be used here"))
                            .at(span)
                            .help("a sensitive value reaches only the running container: use it in `env`, `command`, `entrypoint` or configs"),
                    );
                    continue;
                }
                Piece::Sensitive(_) => continue,
                Piece::Ref(reference) => reference,
            };
            if !allowed {
                diagnostics.push(
                    Diagnostic::error(Code::InvalidUse, format!("`ref(\"{reference}\")` cannot be used here"))
                        .at(span)
                        .help("references are known only at deploy time; use them in `env`, `command`, `entrypoint` or configs"),
                );
                continue;
            }
            if let Some(target) = check_one(stack, index, reference, span, known, diagnostics) {
                found.push((target, span));
            }
        }
    };
    walk(root, &mut String::new(), &mut |text, span, pointer| {
        let allowed = ALLOWED.iter().any(|p| pointer.starts_with(p));
        visit(text, span, allowed, diagnostics);
    });
    for config in configs {
        walk(config, &mut String::new(), &mut |text, span, _| {
            visit(text, span, true, diagnostics)
        });
    }
    found
}

fn check_one(
    stack: &ResolvedStack,
    index: usize,
    reference: &str,
    span: Span,
    known: &BTreeSet<Id>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<usize> {
    let user = &stack.components[index].id;
    let (target_text, output) = target_and_output(reference);
    let target_id = parse_target(user, target_text)?;
    let Some(target) = stack.index_of(&target_id) else {
        if !known.contains(&target_id) {
            diagnostics.push(unknown_component(stack, known, user, target_text, span));
        }
        return None;
    };
    let spec = &stack.components[target].spec;
    let outputs = spec.kind().outputs();
    if !outputs.iter().any(|(name, _)| *name == output) {
        let names: Vec<&str> = outputs.iter().map(|(n, _)| *n).collect();
        let mut d = Diagnostic::error(
            Code::UnknownOutput,
            format!("{} `{target_id}` has no output `{output}`", spec.kind()),
        )
        .at(span)
        .note(format!(
            "outputs of a {}: {}",
            spec.kind(),
            names.join(", ")
        ));
        if let Some(help) = did_you_mean(output, names) {
            d = d.help(help);
        }
        diagnostics.push(d);
        return None;
    }
    if let Err(why) = spec.output_available(output) {
        diagnostics.push(
            Diagnostic::error(
                Code::UnknownOutput,
                format!("`{target_id}` has no `{output}`: {why}"),
            )
            .at(span),
        );
        return None;
    }
    Some(target)
}

/// Visits every string with its JSON pointer.
fn walk(node: &Node, pointer: &mut String, f: &mut impl FnMut(&str, Span, &str)) {
    match &node.value {
        Value::Str(s) => f(s, node.span, pointer),
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                walk(item, pointer, f);
                pointer.truncate(len);
            }
        }
        Value::Map(map) => {
            for (key, value) in &map.entries {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&key.name);
                walk(value, pointer, f);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting() {
        let s = format!("http://{REF_START}api.url{REF_END}/x");
        assert_eq!(
            split(&s).unwrap(),
            vec![
                Piece::Text("http://"),
                Piece::Ref("api.url"),
                Piece::Text("/x")
            ]
        );
        assert!(split(&format!("{REF_START}api.url")).is_err());
        assert!(split("plain").unwrap() == vec![Piece::Text("plain")]);
    }
}
