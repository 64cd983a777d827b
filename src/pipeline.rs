//! Runs the compiler stages for a stack, one environment at a time:
//! load → stack.yaml → variables → expand → validate (→ resolve → emit).
//!
//! Every stage reports into one list of diagnostics and goes on with what it
//! can, so that one run shows every problem.

use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::emit::Compiled;
use crate::expand::variables::{Inputs, VarFilesShown};
pub use crate::expand::variables::{Missing, Undeclared};
use crate::expand::{Expander, Scope};
use crate::load::{LoadedStack, Loader, Repo};
use crate::model::stack::StackFile;
use crate::resolve::{self, Id};
use crate::source::Sources;
use crate::validate;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

pub use crate::emit::yaml::to_yaml;
use crate::expand::template::{REF_END, REF_START};
pub use crate::resolve::ResolvedStack;
use serde_json::Value as Json;

/// Variables as given on the command line.
#[derive(Clone, Debug, Default)]
pub struct GivenVars {
    pub vars: Vec<(String, String)>,
    pub var_files: Vec<PathBuf>,
}

#[derive(Clone, Debug)]
pub struct Options {
    /// Only this environment; all of the stack's when `None`.
    pub environment: Option<String>,
    pub missing: Missing,
    /// What a `--var` the stack does not declare is.
    pub undeclared: Undeclared,
    /// Whether the programs the name check emits are kept for the caller.
    pub programs: Programs,
    /// Files already read, which the loader takes from here.
    pub prefetched: crate::load::Prefetched,
}

/// What becomes of the programs the name check emits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Programs {
    /// Kept in [`Checked`], for a caller that writes or deploys them.
    Keep,
    /// Dropped as soon as they are checked, while they are still in the
    /// processor's cache (`validate`: a tenth of its time was freeing
    /// programs a stack's environments had kept).
    Drop,
}

/// A stack checked for each of its environments, ready to emit.
pub struct Checked {
    pub loaded: LoadedStack,
    pub stack: Option<StackFile>,
    /// Every variable's value as it may be shown and recorded: a sensitive
    /// one is `(sensitive)`.
    pub variables: BTreeMap<String, String>,
    /// The values of sensitive variables, for Pulumi's encrypted config only.
    pub sensitive: BTreeMap<String, String>,
    /// Templates the stack asked for (`shared/...`, found or not), beside the
    /// files in `sources`: together, every file the stack's programs depend on.
    pub templates_asked: Vec<String>,
    pub environments: Vec<ResolvedStack>,
    /// Each environment's program, when the name check already emitted it
    /// (an environment without errors): see [`Checked::take_compiled`].
    emitted: Vec<Option<Compiled>>,
}

impl Checked {
    /// Environment `index`'s program: the one checking emitted, taken, or
    /// emitted now. (Emission is a tenth of a compile: doing it once matters
    /// when every stack compiles.)
    pub fn take_compiled(&mut self, index: usize) -> Compiled {
        self.emitted
            .get_mut(index)
            .and_then(Option::take)
            .unwrap_or_else(|| crate::emit::emit(&self.environments[index]))
    }
}

/// A stack's stack.yaml, checked, with what is wrong with it.
pub fn read_stack_file(repo: &Repo, stack: &str) -> (Option<StackFile>, Vec<Diagnostic>, Sources) {
    let mut sources = Sources::default();
    let mut loader = Loader::new(repo, &mut sources);
    let doc = loader.parse_file(&repo.root.join("stacks").join(stack).join("stack.yaml"));
    let parsed = doc.and_then(|d| {
        validate::check_stack_file(&d.root, d.file, loader.sources, &mut loader.diagnostics)
    });
    let diagnostics = loader.diagnostics;
    (parsed, diagnostics, sources)
}

/// Loads, checks and emits one stack, each environment's program kept in
/// the result; problems go to `diagnostics`.
pub fn compile_stack(
    repo: &Repo,
    name: &str,
    vars: &GivenVars,
    options: &Options,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Checked {
    crate::expand::budget::begin_stack();
    let mut loader = Loader::with_prefetched(repo, sources, &options.prefetched);
    let loaded = loader.load_stack(name);
    let stack = loaded.stack_file.as_ref().and_then(|doc| {
        validate::check_stack_file(&doc.root, doc.file, loader.sources, &mut loader.diagnostics)
    });
    let mut checked = Checked {
        loaded,
        stack: None,
        variables: BTreeMap::new(),
        sensitive: BTreeMap::new(),
        templates_asked: Vec::new(),
        environments: Vec::new(),
        emitted: Vec::new(),
    };
    let Some(stack) = stack else {
        if checked.loaded.stack_file.is_some() {
            validate::check_as_written(
                &checked.loaded,
                "stack.yaml has errors",
                &mut loader.diagnostics,
            );
        }
        diagnostics.append(&mut loader.diagnostics);
        return checked;
    };
    let shown = if stack.variables.values().any(|v| v.sensitive) {
        VarFilesShown::Masked
    } else {
        VarFilesShown::AsWritten
    };
    let inputs = Inputs::collect(&mut loader, &vars.var_files, &vars.vars, shown);
    let variables = inputs.resolve(
        name,
        &stack,
        options.missing,
        options.undeclared,
        &mut loader.diagnostics,
    );
    let variables = crate::expand::variables::split_sensitive(&stack, variables);
    let environments: Vec<String> = match &options.environment {
        Some(env) if stack.environments.contains_key(env) => vec![env.clone()],
        Some(env) => {
            loader
                .diagnostics
                .push(unknown_environment(name, env, &stack));
            Vec::new()
        }
        None => stack.environments.keys().cloned().collect(),
    };
    let variables_ok = !loader.diagnostics.iter().any(|d| {
        matches!(
            d.code,
            Code::UndeclaredVariable | Code::MissingVariable | Code::InvalidVariable
        )
    });
    if !variables_ok {
        validate::check_as_written(
            &checked.loaded,
            "the variables have errors",
            &mut loader.diagnostics,
        );
    }
    if variables_ok {
        // Every component the stack has, valid or not: a reference to a broken
        // component is not reported a second time.
        let known: BTreeSet<Id> = checked
            .loaded
            .components()
            .map(|(s, c)| Id {
                service: s.name.clone(),
                component: c.name.clone(),
            })
            .collect();
        let mut expander = Expander::new(&repo.root, &stack);
        for environment in environments {
            let scope = Scope::new(name, &stack, &environment, &variables.for_templates);
            let expanded =
                expander.expand_stack(&mut loader, &checked.loaded, &scope, &environment);
            let production = stack.environments[&environment].production;
            let typed = validate::validate_stack(
                expanded,
                production,
                loader.sources,
                &mut loader.diagnostics,
            );
            let resolved = resolve::resolve(name, &stack, typed, &known, &mut loader.diagnostics);
            let emitted = (!loader.diagnostics.iter().any(Diagnostic::is_error)).then(|| {
                let compiled = crate::emit::emit(&resolved);
                check_names(&checked.loaded, &compiled, &mut loader.diagnostics);
                check_adopted(
                    &checked.loaded,
                    &environment,
                    &resolved,
                    &compiled,
                    &mut loader.diagnostics,
                );
                compiled
            });
            let emitted = emitted.filter(|_| options.programs == Programs::Keep);
            checked.environments.push(resolved);
            checked.emitted.push(emitted);
        }
        checked.templates_asked = expander.templates_asked();
    }
    diagnostics.append(&mut loader.diagnostics);
    checked.stack = Some(stack);
    crate::failpoint::point("compile.checked");
    checked.variables = variables.shown;
    checked.sensitive = variables.sensitive;
    checked
}

pub fn unknown_environment(stack_name: &str, env: &str, stack: &StackFile) -> Diagnostic {
    let names: Vec<&str> = stack.environments.keys().map(String::as_str).collect();
    let d = Diagnostic::error(
        Code::UnknownEnvironment,
        format!("stack `{stack_name}` has no environment `{env}`"),
    )
    .note(format!(
        "environments of `{stack_name}`: {}",
        names.join(", ")
    ));
    match did_you_mean(env, names.iter().copied()) {
        Some(help) => d.help(help),
        None => d,
    }
}

/// Runs `f` on every stack, on as many threads as there are cores, and returns
/// the results in the order of `stacks`. Each thread holds one stack at a time, so
/// memory follows the largest stacks, not the repository.
pub fn for_each_stack<R: Send>(stacks: &[String], f: impl Fn(&str) -> R + Sync) -> Vec<R> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    crate::parallel::in_parallel(stacks, cores, |stack| f(stack), |_, _| {})
}

/// Every AWS name the program would use must fit its type's limit, or the
/// preview would fail (`emit::names`). Reported at the component whose names
/// they are (its kind file), or at stack.yaml for the stack's own resources.
fn check_names(loaded: &LoadedStack, compiled: &Compiled, diagnostics: &mut Vec<Diagnostic>) {
    let program = &compiled.program;
    for problem in crate::emit::names::check(program) {
        let owner = program
            .resources
            .iter()
            .find(|r| r.name == problem.resource)
            .and_then(|r| r.component.clone());
        let file = owner
            .as_ref()
            .and_then(|id| {
                loaded
                    .components()
                    .find(|(s, c)| format!("{}/{}", s.name, c.name) == *id)
                    .and_then(|(_, c)| c.doc.as_ref())
            })
            .or(loaded.stack_file.as_ref())
            .map(|d| d.file);
        let mut d = Diagnostic::error(Code::NameTooLong, problem.message()).help(format!(
            "shorten the names of the stack, environment, service or component{}",
            owner.map(|o| format!(" (`{o}`)")).unwrap_or_default()
        ));
        if let Some(file) = file {
            d = d.at(crate::source::Span::file_start(file));
        }
        diagnostics.push(d);
    }
}

/// Every resource an environment adopts (stack.yaml's `adopt:`) must be one
/// the program declares, or its import would silently never happen.
fn check_adopted(
    loaded: &LoadedStack,
    environment: &str,
    resolved: &ResolvedStack,
    compiled: &Compiled,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let Some(doc) = &loaded.stack_file else {
        return;
    };
    let names: Vec<&str> = compiled
        .program
        .resources
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    for name in resolved.env.adopt.keys() {
        if names.contains(&name.as_str()) {
            continue;
        }
        let (span, _) = doc
            .root
            .locate(&format!("/environments/{environment}/adopt/{name}"));
        let d = Diagnostic::error(
            Code::InvalidAdoption,
            format!("`{environment}` adopts `{name}`, which its program does not declare"),
        )
        .at(span)
        .note("a resource is adopted by the name deployer gives it in the compiled program (`deployer compile` writes it)");
        diagnostics.push(match did_you_mean(name, names.iter().copied()) {
            Some(help) => d.help(help),
            None => d.help("remove the line, or name the resource as the program does"),
        });
    }
}

/// Writes `ref()` markers the way the user wrote them, and sensitive
/// variables as `{{ var.NAME }} (sensitive)`, never their value.
pub fn references_as_written(value: &mut Json) {
    match value {
        Json::String(text) if text.contains(REF_START) => {
            let sensitive = format!("{REF_START}{}", crate::expand::variables::SENSITIVE_PREFIX);
            let mut out = String::new();
            for (i, piece) in text.split(REF_START).enumerate() {
                if i == 0 {
                    out.push_str(piece);
                    continue;
                }
                let (inner, rest) = piece.split_once(REF_END).unwrap_or((piece, ""));
                match format!("{REF_START}{inner}").strip_prefix(&sensitive) {
                    Some(name) => out.push_str(&format!("{{{{ var.{name} }}}} (sensitive)")),
                    None => out.push_str(&format!("{{{{ ref(\"{inner}\") }}}}")),
                }
                out.push_str(rest);
            }
            *text = out;
        }
        Json::Array(items) => items.iter_mut().for_each(references_as_written),
        Json::Object(map) => map.values_mut().for_each(references_as_written),
        _ => {}
    }
}
