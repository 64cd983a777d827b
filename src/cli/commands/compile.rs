//! `deployer compile`: every stack × environment into
//! `DIR/<stack>/<environment>/`, skipping stacks whose inputs have not changed
//! (what CI caches).

use super::{check_quietly, open_repo, plural, selected_stacks, var_args};
use crate::artifacts::{self, Artifacts};
use crate::cli::ExitStatus;
use crate::cli::args::{CompileArgs, OutputFormat};
use crate::cli::printer::Printer;
use crate::error::{Error, Result};
use crate::load::Repo;
use crate::pipeline::Undeclared;
use crate::pipeline::{self, GivenVars};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::Path;

#[derive(Serialize)]
struct Entry {
    stack: String,
    environment: String,
    dir: String,
    program_hash: String,
}

#[derive(Default, Serialize)]
struct Report {
    compiled: Vec<Entry>,
    cached: Vec<Entry>,
}

/// What happened to one stack.
enum Outcome {
    Cached(Vec<artifacts::Manifest>),
    Compiled {
        rendered: Vec<String>,
        manifests: Vec<artifacts::Manifest>,
        declared: Vec<String>,
    },
    Failed(Error, Vec<String>),
}

pub fn run(args: CompileArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let stacks = selected_stacks(printer, &repo, &args.selection)?;
    let vars = var_args(args.vars)?;
    // Stacks are independent: compile them on every core, report in order.
    let outcomes = pipeline::for_each_stack(&stacks, |stack| {
        compile_stack(
            printer,
            &repo,
            stack,
            &args.out,
            args.environment.as_deref(),
            &vars,
            if args.selection.all {
                Undeclared::Ignored
            } else {
                Undeclared::Error
            },
        )
    });
    let mut report = Report::default();
    let mut declared: BTreeSet<String> = BTreeSet::new();
    let mut failed = Vec::new();
    for outcome in outcomes {
        match outcome {
            Outcome::Cached(manifests) => {
                for m in manifests {
                    declared.extend(m.variables.keys().cloned());
                    report.cached.push(entry(&args.out, &m));
                }
            }
            Outcome::Compiled {
                rendered,
                manifests,
                declared: names,
            } => {
                rendered.iter().for_each(|text| printer.status(text));
                declared.extend(names);
                report
                    .compiled
                    .extend(manifests.iter().map(|m| entry(&args.out, m)));
            }
            Outcome::Failed(err, rendered) => {
                rendered.iter().for_each(|text| printer.status(text));
                failed.push(err);
            }
        }
    }
    if stacks.len() == 1
        && let Some(err) = failed.pop()
    {
        return Err(err);
    }
    for err in &failed {
        printer.error(&err.to_string(), None);
    }
    if args.selection.all && failed.is_empty() {
        let unknown: Vec<&str> = vars
            .vars
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !declared.contains(*k))
            .collect();
        if !unknown.is_empty() {
            return Err(Error::usage(format!("no stack declares {}", unknown.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")))
                .with_help("check the variable's name; stacks declare their variables under `variables:` in stack.yaml"));
        }
    }
    match args.output {
        OutputFormat::Json => printer.json(&report),
        OutputFormat::Text => {
            for e in &report.compiled {
                printer.success(format!(
                    "compiled {} / {} → {}",
                    e.stack, e.environment, e.dir
                ));
            }
            let (compiled, cached) = (report.compiled.len(), report.cached.len());
            if compiled == 0 && cached > 0 && failed.is_empty() {
                printer.success(format!(
                    "nothing changed: {} up to date in {} (cache hit)",
                    plural(cached, "program"),
                    args.out.display()
                ));
            } else {
                printer.status(format!(
                    "{} compiled, {} up to date",
                    plural(compiled, "program"),
                    cached
                ));
            }
        }
    }
    if !failed.is_empty() {
        printer.error(
            &format!(
                "{} of {} failed to compile",
                plural(failed.len(), "stack"),
                stacks.len()
            ),
            None,
        );
        return Ok(ExitStatus::Failure);
    }
    Ok(ExitStatus::Success)
}

/// Compiles one stack unless its output is current.
fn compile_stack(
    printer: &Printer,
    repo: &Repo,
    stack: &str,
    out: &Path,
    environment: Option<&str>,
    vars: &GivenVars,
    undeclared: Undeclared,
) -> Outcome {
    let mut inputs =
        match artifacts::input_hash_recorded(repo, stack, &vars.vars, &vars.var_files, out) {
            Ok(hash) => hash,
            Err(e) => {
                return Outcome::Failed(
                    Error::failed(format!("cannot read the files of stack `{stack}`: {e}"))
                        .with_source(e),
                    Vec::new(),
                );
            }
        };
    if let Some(manifests) = artifacts::cached_stack(out, stack, environment, &inputs.hash) {
        inputs.record();
        return Outcome::Cached(manifests);
    }
    let input_hash = inputs.hash.clone();
    // The loader compiles the bytes the hash was taken of, not a second
    // reading of the files.
    let mut check = check_quietly(
        printer,
        repo,
        stack,
        environment.map(str::to_string),
        vars,
        undeclared,
        std::mem::take(&mut inputs.read),
    );
    if let Some(err) = check.failure() {
        return Outcome::Failed(err, check.rendered);
    }
    let mut manifests = Vec::new();
    for index in 0..check.checked.environments.len() {
        let compiled = check.checked.take_compiled(index);
        let resolved = &check.checked.environments[index];
        let files = Artifacts::new(
            resolved,
            &compiled,
            input_hash.clone(),
            &check.checked.variables,
        );
        let dir = artifacts::output_dir(out, stack, &resolved.environment);
        if let Err(e) = files.write(&dir) {
            return Outcome::Failed(
                Error::failed(format!("cannot write {}: {e}", dir.display())).with_source(e),
                check.rendered,
            );
        }
        manifests.push(files.manifest);
    }
    inputs.record();
    Outcome::Compiled {
        rendered: check.rendered,
        manifests,
        declared: check.checked.variables.keys().cloned().collect(),
    }
}

fn entry(out: &std::path::Path, m: &artifacts::Manifest) -> Entry {
    Entry {
        stack: m.stack.clone(),
        environment: m.environment.clone(),
        dir: artifacts::output_dir(out, &m.stack, &m.environment)
            .display()
            .to_string(),
        program_hash: m.program_hash.clone(),
    }
}
