//! minijinja on string values.
//!
//! The environment is locked down: strict undefined (a typo is an error, not an
//! empty string), a fuel limit (no endless loops), no auto-escaping (values are
//! escaped when the program is written, not here), and a loader that can only
//! read templates under the repository's `shared/` folder. There are no functions
//! that reach the file system, the process environment or the network.
//!
//! A string that is exactly one expression (`"{{ var.REPLICAS | int }}"`) keeps
//! the type of its result, so templates can produce numbers, booleans and lists.

use crate::diagnostic::{Code, closest};
use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value as JValue};
use serde_json::Value as Json;
use std::path::PathBuf;

/// Instructions a single render may execute before it is stopped.
pub const FUEL: u64 = 100_000;

/// `ref("service/component.output")` renders as this marker around the path; the
/// resolve stage checks the path and turns it into a reference in the program.
pub const REF_START: char = '\u{E000}';
pub const REF_END: char = '\u{E001}';

pub struct Templates {
    env: Environment<'static>,
    /// Every template name asked for (`import`, `include`), found or not: what
    /// a change to `shared/` can reach (`deployer affected`).
    asked: std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
}

/// What a template produced.
#[derive(Debug)]
pub enum Rendered {
    Text(String),
    /// The typed result of a string that was a single expression.
    Native(Json),
}

/// A failed render, with the line inside the template when known.
#[derive(Debug)]
pub struct TemplateError {
    pub code: Code,
    pub message: String,
    pub line: Option<usize>,
    pub help: Option<String>,
}

impl Templates {
    /// `shared` is the repository's `shared/` folder (which may not exist);
    /// `repo_real` the repository's root with links resolved. Templates are read
    /// only from files whose real path is inside both: a `shared/` that is itself
    /// a link out of the repository gives templates nothing.
    pub fn new(shared: PathBuf, repo_real: PathBuf) -> Templates {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build();
        env.set_syntax(syntax.expect("default delimiters are valid"));
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        let shared_real = shared.canonicalize().unwrap_or_else(|_| shared.clone());
        let asked: std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<String>>> =
            Default::default();
        let record = asked.clone();
        env.set_loader(move |name: &str| {
            record
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(name.to_string());
            load_shared(&shared, &shared_real, &repo_real, name)
        });
        env.add_function("ref", reference);
        Templates { env, asked }
    }

    /// Template names asked for so far, as paths under `shared/`.
    pub fn asked(&self) -> Vec<String> {
        self.asked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|name| format!("shared/{name}"))
            .collect()
    }

    /// Renders `text` if it holds template syntax; `None` when it holds none.
    pub fn render(
        &self,
        text: &str,
        name: &str,
        scope: &super::Scope,
    ) -> Option<Result<Rendered, TemplateError>> {
        if !has_template_syntax(text) {
            return None;
        }
        let context = scope.context();
        Some(super::budget::watched(name, || {
            self.render_watched(text, name, context)
                .map_err(|err| self.explain(err, text, &scope.json()))
        }))
    }

    /// Renders `text` in `context`, the scope as minijinja reads it.
    fn render_watched(
        &self,
        text: &str,
        name: &str,
        context: &JValue,
    ) -> Result<Rendered, minijinja::Error> {
        let ctx = context.clone();
        if let Some(expr) = single_expression(text)
            && let Ok(compiled) = self.env.compile_expression(expr)
        {
            let value = compiled.eval(ctx)?;
            if value.is_undefined() {
                return Err(minijinja::Error::new(
                    ErrorKind::UndefinedError,
                    "undefined value",
                ));
            }
            return serde_json::to_value(&value)
                .map(Rendered::Native)
                .map_err(|e| minijinja::Error::new(ErrorKind::BadSerialization, e.to_string()));
        }
        self.env
            .render_named_str(name, text, ctx)
            .map(Rendered::Text)
    }

    /// Turns a minijinja error into a message that names the culprit.
    fn explain(&self, err: minijinja::Error, text: &str, scope: &Json) -> TemplateError {
        let line = err.line();
        let detail = err.detail().map(str::to_string);
        let (code, message, help) = match err.kind() {
            ErrorKind::SyntaxError => (
                Code::TemplateSyntax,
                format!("template syntax error: {}", detail.unwrap_or_else(|| err.to_string())),
                Some("template expressions are written `{{ var.NAME }}`; blocks `{% if ... %}...{% endif %}`".to_string()),
            ),
            ErrorKind::UndefinedError => {
                let missing = self.undefined_names(text, scope);
                match missing.first() {
                    Some(name) => {
                        let (parent, missing, known) = known_siblings(name, scope);
                        let help = match closest(&missing, known.iter().map(String::as_str)) {
                            Some(c) => Some(format!("did you mean `{}{c}`?", parent)),
                            None if known.is_empty() => None,
                            None => Some(format!("defined here: {}", known.iter().map(|k| format!("{parent}{k}")).collect::<Vec<_>>().join(", "))),
                        };
                        (Code::UndefinedName, format!("undefined name `{name}` in template"), help)
                    }
                    None => (Code::UndefinedName, format!("undefined value in template: {}", detail.unwrap_or_else(|| err.to_string())), None),
                }
            }
            ErrorKind::OutOfFuel => (
                Code::FuelExhausted,
                "template ran too long and was stopped (fuel exhausted)".to_string(),
                Some(format!("templates may run at most {FUEL} instructions; look for a loop that does not end or grows too large")),
            ),
            ErrorKind::TemplateNotFound => (
                Code::TemplateAccess,
                format!("template not found: {}", detail.unwrap_or_else(|| err.to_string())),
                Some("templates can import macros only from files under `shared/`, by path relative to it: `{% import \"macros/naming.j2\" as naming %}`".to_string()),
            ),
            ErrorKind::InvalidOperation if detail.as_deref().is_some_and(|d| d.contains("outside shared/")) => (
                Code::TemplateAccess,
                detail.unwrap_or_default(),
                Some("templates can read only files under `shared/`".to_string()),
            ),
            _ => (Code::TemplateError, format!("template error: {}", detail.unwrap_or_else(|| err.kind().to_string())), None),
        };
        TemplateError {
            code,
            message,
            line,
            help,
        }
    }

    /// Dotted names the template uses that the scope does not define.
    fn undefined_names(&self, text: &str, scope: &Json) -> Vec<String> {
        let names = match single_expression(text).and_then(|e| self.env.compile_expression(e).ok())
        {
            Some(expr) => expr.undeclared_variables(true),
            None => match self.env.template_from_str(text) {
                Ok(t) => t.undeclared_variables(true),
                Err(_) => return Vec::new(),
            },
        };
        let mut missing: Vec<String> = names
            .into_iter()
            .filter(|n| lookup(scope, n).is_none() && n != "ref")
            .collect();
        missing.sort();
        missing
    }
}

fn lookup<'a>(scope: &'a Json, dotted: &str) -> Option<&'a Json> {
    dotted
        .split('.')
        .try_fold(scope, |node, part| node.get(part))
}

/// The first undefined segment of a dotted name, with what is defined beside
/// it: for `var.VERSON`, (`var.`, `VERSON`, keys under `var`); for `servce.name`,
/// ("", `servce`, top-level names).
fn known_siblings(name: &str, scope: &Json) -> (String, String, Vec<String>) {
    let mut node = scope;
    let mut parent = String::new();
    for part in name.split('.') {
        match node.get(part) {
            Some(next) => {
                node = next;
                parent.push_str(part);
                parent.push('.');
            }
            None => {
                let keys = node
                    .as_object()
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default();
                return (parent, part.to_string(), keys);
            }
        }
    }
    (parent, String::new(), Vec::new())
}

pub fn has_template_syntax(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// The inside of `{{ ... }}` when the whole string is that one expression.
fn single_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner
        .strip_prefix('-')
        .unwrap_or(inner)
        .strip_suffix('-')
        .unwrap_or(inner);
    if inner.contains("{{") || inner.contains("}}") || inner.contains("{%") || inner.contains("{#")
    {
        return None;
    }
    Some(inner.trim())
}

/// The `ref()` template function: checks the shape of the path and marks it.
fn reference(path: &str) -> Result<String, minijinja::Error> {
    let well_formed = path.split_once('.').is_some_and(|(component, output)| {
        !output.is_empty()
            && !output.contains(['.', '/'])
            && !component.is_empty()
            && component.split('/').count() <= 2
            && component.split('/').all(|p| !p.is_empty())
    });
    if !well_formed {
        return Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "ref(\"{path}\"): write ref(\"component.output\") or ref(\"service/component.output\")"
            ),
        ));
    }
    Ok(format!("{REF_START}{path}{REF_END}"))
}

/// Loads `name` from `shared/` only: no absolute paths, no `..`, and no symbolic
/// link that leads out of it.
fn load_shared(
    shared: &std::path::Path,
    shared_real: &std::path::Path,
    repo_real: &std::path::Path,
    name: &str,
) -> Result<Option<String>, minijinja::Error> {
    let outside = || {
        minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("template `{name}` is outside shared/"),
        )
    };
    if !shared_real.starts_with(repo_real) {
        return Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "template `{name}` is outside shared/: shared/ is a link to {}, outside the repository",
                shared_real.display()
            ),
        ));
    }
    let path = std::path::Path::new(name);
    if path.is_absolute()
        || name.contains('\\')
        || path
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(outside());
    }
    let full = shared.join(path);
    if !full.exists() {
        return Ok(None);
    }
    let real = full.canonicalize().map_err(|_| outside())?;
    if !real.starts_with(shared_real) || !real.starts_with(repo_real) {
        return Err(outside());
    }
    // A FIFO or a device in `shared/` would hang or never end.
    crate::fs::read_back_text(&real, crate::fs::ReadBack::Repository)
        .map(Some)
        .map_err(|e| {
            minijinja::Error::new(
                ErrorKind::InvalidOperation,
                format!("cannot read template `{name}`: {e}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn templates() -> Templates {
        Templates::new(
            PathBuf::from("/nonexistent/shared"),
            PathBuf::from("/nonexistent"),
        )
    }

    fn render(text: &str) -> Result<Rendered, TemplateError> {
        let scope = super::super::Scope::of(
            json!({"var": {"VERSION": "v1", "REPLICAS": "3"}, "environment": {"name": "production"}}),
        );
        templates().render(text, "t", &scope).expect("has syntax")
    }

    #[test]
    fn strings_render_and_single_expressions_keep_types() {
        assert!(matches!(render("img:{{ var.VERSION }}"), Ok(Rendered::Text(t)) if t == "img:v1"));
        assert!(
            matches!(render("{{ var.REPLICAS | int }}"), Ok(Rendered::Native(j)) if j == json!(3))
        );
        assert!(
            matches!(render("{{ environment.name == 'production' }}"), Ok(Rendered::Native(j)) if j == json!(true))
        );
    }

    #[test]
    fn undefined_names_are_named_with_a_suggestion() {
        let err = render("img:{{ var.VERSON }}").unwrap_err();
        assert_eq!(err.code, Code::UndefinedName);
        assert!(err.message.contains("var.VERSON"), "{}", err.message);
        assert_eq!(err.help.as_deref(), Some("did you mean `var.VERSION`?"));
    }

    #[test]
    fn syntax_errors_and_fuel() {
        assert_eq!(
            render("{{ var.VERSION ").unwrap_err().code,
            Code::TemplateSyntax
        );
        let err = render(
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        )
        .unwrap_err();
        assert_eq!(err.code, Code::FuelExhausted);
    }

    #[test]
    fn templates_cannot_leave_shared() {
        let err = render("{% import '../../etc/passwd' as x %}").unwrap_err();
        assert_eq!(err.code, Code::TemplateAccess, "{}", err.message);
        let err = render("{% include '/etc/passwd' %}").unwrap_err();
        assert_eq!(err.code, Code::TemplateAccess, "{}", err.message);
    }

    #[test]
    fn references_are_marked() {
        assert!(
            matches!(render("{{ ref('queue.url') }}"), Ok(Rendered::Native(j)) if j == json!("\u{E000}queue.url\u{E001}"))
        );
        assert_eq!(
            render("{{ ref('queue') }}").unwrap_err().code,
            Code::TemplateError
        );
    }
}
