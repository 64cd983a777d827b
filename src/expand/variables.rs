//! Stack variables: declared in stack.yaml, given with `--var` and `--var-file`.
//!
//! Resolved before anything is expanded, because templates read them: an
//! undeclared, missing or malformed variable is an error before any output.

use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::load::{Doc, Loader};
use crate::model::stack::StackFile;
use crate::node::Value;
use crate::source::Span;
use std::collections::BTreeMap;
use std::path::Path;

/// A variable value with where it was given (a span in a var file, or none for
/// `--var` and defaults).
#[derive(Clone, Debug)]
pub struct Given {
    pub value: String,
    pub span: Option<Span>,
}

/// Variables as the user gave them, before checking against a stack.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub values: BTreeMap<String, Given>,
}

/// How diagnostics show a `--var-file`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarFilesShown {
    /// As written: the stack has no sensitive variable.
    AsWritten,
    /// Values masked: a sensitive variable's value may be there.
    Masked,
}

/// How to treat required variables that have no value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// An error: compiling needs every value.
    Error,
    /// Use `<NAME>` as the value: `validate` checks files without real values.
    Placeholder,
}

/// What a `--var` the stack does not declare is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undeclared {
    /// An error: most likely a typo.
    Error,
    /// Ignored: with `--all`, one set of `--var` flags serves stacks that
    /// declare different variables.
    Ignored,
}

impl Inputs {
    /// Reads `--var-file` files (YAML mappings) in order, then `--var NAME=VALUE`
    /// flags, later ones winning. When the stack declares a sensitive
    /// variable, a var file may hold its value: every diagnostic then shows
    /// the file with its values masked (its syntax errors, a wrong type, a
    /// pattern mismatch, a duplicate key alike).
    pub fn collect(
        loader: &mut Loader,
        var_files: &[impl AsRef<Path>],
        vars: &[(String, String)],
        shown: VarFilesShown,
    ) -> Inputs {
        let mut inputs = Inputs::default();
        for path in var_files {
            let path = path.as_ref();
            let first = loader.sources.len();
            let parsed = loader.parse_file(path);
            if shown == VarFilesShown::Masked {
                for id in first..loader.sources.len() {
                    loader.sources.mask_values(crate::source::FileId(id as u32));
                }
            }
            let Some(Doc { root, .. }) = parsed else {
                continue;
            };
            let Some(map) = root.as_map() else {
                loader.diagnostics.push(
                    Diagnostic::error(
                        Code::InvalidVariable,
                        "a variable file must be a mapping of NAME: value",
                    )
                    .at(root.span),
                );
                continue;
            };
            for (key, node) in &map.entries {
                let value = match &node.value {
                    Value::Str(s) => s.clone(),
                    Value::Int(i) => i.to_string(),
                    Value::Float(f) => f.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => {
                        loader.diagnostics.push(
                            Diagnostic::error(
                                Code::InvalidVariable,
                                format!(
                                    "variable `{}` must be a string, number or boolean, not {}",
                                    key.name,
                                    node.type_name()
                                ),
                            )
                            .at(node.span),
                        );
                        continue;
                    }
                };
                inputs.values.insert(
                    key.name.clone(),
                    Given {
                        value,
                        span: Some(key.span),
                    },
                );
            }
        }
        for (name, value) in vars {
            inputs.values.insert(
                name.clone(),
                Given {
                    value: value.clone(),
                    span: None,
                },
            );
        }
        inputs
    }

    /// Checks the inputs against a stack's declarations and returns every
    /// variable's value.
    pub fn resolve(
        &self,
        stack_name: &str,
        stack: &StackFile,
        missing: Missing,
        undeclared: Undeclared,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> BTreeMap<String, String> {
        let mut values = BTreeMap::new();
        if undeclared == Undeclared::Error {
            for (name, given) in &self.values {
                if stack.variables.contains_key(name) {
                    continue;
                }
                let mut d = Diagnostic::error(
                    Code::UndeclaredVariable,
                    format!("variable `{name}` is not declared by stack `{stack_name}`"),
                );
                if let Some(span) = given.span {
                    d = d.at(span);
                }
                d = match did_you_mean(name, stack.variables.keys().map(String::as_str)) {
                    Some(help) => d.help(help),
                    None if stack.variables.is_empty() => d.help(format!("stack `{stack_name}` declares no variables; declare it under `variables:` in stack.yaml")),
                    None => d.help(format!("declared variables: {}", stack.variables.keys().cloned().collect::<Vec<_>>().join(", "))),
                };
                diagnostics.push(d);
            }
        }
        for (name, spec) in &stack.variables {
            let value = match (self.values.get(name), &spec.default) {
                (Some(given), _) => given.clone(),
                (None, Some(default)) => Given {
                    value: default.0.clone(),
                    span: None,
                },
                (None, None) if !spec.required => Given {
                    value: String::new(),
                    span: None,
                },
                (None, None) => {
                    if missing == Missing::Placeholder {
                        values.insert(name.clone(), format!("<{name}>"));
                        continue;
                    }
                    let mut d = Diagnostic::error(
                        Code::MissingVariable,
                        format!("stack `{stack_name}` needs variable `{name}`"),
                    )
                    .help(format!("pass `--var {name}=VALUE`"));
                    if let Some(description) = &spec.description {
                        d = d.note(format!("{name}: {description}"));
                    }
                    diagnostics.push(d);
                    continue;
                }
            };
            if let Some(pattern) = &spec.pattern {
                match regex::Regex::new(&format!("^(?:{pattern})$")) {
                    Ok(re) if !re.is_match(&value.value) => {
                        let mut d = Diagnostic::error(
                            Code::InvalidVariable,
                            if spec.sensitive {
                                format!(
                                    "sensitive variable `{name}` does not match `{pattern}` (its value is not shown)"
                                )
                            } else {
                                format!(
                                    "variable `{name}` is `{}`, which does not match `{pattern}`",
                                    value.value
                                )
                            },
                        );
                        if let Some(span) = value.span {
                            d = d.at(span);
                        }
                        if let Some(description) = &spec.description {
                            d = d.note(format!("{name}: {description}"));
                        }
                        let commit = !spec.sensitive
                            && value.value.len() >= 7
                            && value.value.len() <= 40
                            && value.value.bytes().all(|b| b.is_ascii_hexdigit());
                        d = d.help(if commit {
                            format!("`{}` looks like a git commit (CI's `${{{{ github.sha }}}}`): pass a release tag instead, or let stack `{stack_name}` accept commits too, in its stack.yaml: `pattern: '{pattern}|^[0-9a-f]{{7,40}}$'`", value.value)
                        } else {
                            format!("pass a value that matches, or change `pattern:` of `{name}` in stacks/{stack_name}/stack.yaml")
                        });
                        diagnostics.push(d);
                        continue;
                    }
                    Ok(_) => {}
                    // An invalid pattern is reported where stack.yaml is checked.
                    Err(_) => {}
                }
            }
            values.insert(name.clone(), value.value);
        }
        values
    }
}

/// How a sensitive variable's value is shown and recorded.
pub const SENSITIVE: &str = "(sensitive)";

/// What starts a sensitive variable's marker (no component name has a `:`).
pub const SENSITIVE_PREFIX: &str = "var:";

/// What templates see instead of a sensitive variable's value: a marker that
/// emission turns into a reference to the encrypted Pulumi config value
/// ([`crate::resolve::refs`] checks where it may stand).
pub fn sensitive_marker(name: &str) -> String {
    use crate::expand::template::{REF_END, REF_START};
    format!("{REF_START}{SENSITIVE_PREFIX}{name}{REF_END}")
}

/// Variables split for the rest of the pipeline: what templates see (markers
/// for sensitive ones), what may be shown and recorded (`(sensitive)`), and
/// the sensitive values themselves, which go to Pulumi only.
#[derive(Clone, Debug, Default)]
pub struct Split {
    pub for_templates: BTreeMap<String, String>,
    pub shown: BTreeMap<String, String>,
    pub sensitive: BTreeMap<String, String>,
}

pub fn split_sensitive(stack: &StackFile, values: BTreeMap<String, String>) -> Split {
    let mut split = Split::default();
    for (name, value) in values {
        if stack.variables.get(&name).is_some_and(|v| v.sensitive) {
            split
                .for_templates
                .insert(name.clone(), sensitive_marker(&name));
            split.shown.insert(name.clone(), SENSITIVE.to_string());
            split.sensitive.insert(name, value);
        } else {
            split.for_templates.insert(name.clone(), value.clone());
            split.shown.insert(name, value);
        }
    }
    split
}
