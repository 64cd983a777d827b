//! `deployer compile`: every stack × environment into
//! `DIR/<stack>/<environment>/`, skipping stacks whose inputs have not changed
//! (what CI caches).

use super::{check_for_compile, open_repo, plural, selected_stacks, var_args};
use crate::artifacts::{self, Artifacts};
use crate::cli::ExitStatus;
use crate::cli::args::{CompileArgs, OutputFormat};
use crate::cli::printer::Printer;
use crate::emit;
use crate::error::{Error, Result};
use serde::Serialize;
use std::collections::BTreeSet;

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

pub fn run(args: CompileArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let stacks = selected_stacks(&repo, &args.selection.stack)?;
    let vars = var_args(args.vars);
    let mut report = Report::default();
    let mut declared: BTreeSet<String> = BTreeSet::new();
    for stack in &stacks {
        let input_hash = artifacts::input_hash(&repo, stack, &vars.vars, &vars.var_files)
            .map_err(|e| Error::failed(format!("cannot read the files of stack `{stack}`: {e}")))?;
        if let Some(manifests) =
            artifacts::cached_stack(&args.out, stack, args.environment.as_deref(), &input_hash)
        {
            for m in manifests {
                declared.extend(m.variables.keys().cloned());
                report.cached.push(entry(&args.out, &m));
            }
            continue;
        }
        let checked = check_for_compile(
            printer,
            &repo,
            stack,
            args.environment.clone(),
            &vars,
            args.selection.all,
        )?;
        declared.extend(checked.variables.keys().cloned());
        for resolved in &checked.environments {
            let compiled = emit::emit(resolved);
            let files = Artifacts::new(resolved, &compiled, input_hash.clone(), &checked.variables);
            let dir = artifacts::output_dir(&args.out, stack, &resolved.environment);
            files
                .write(&dir)
                .map_err(|e| Error::failed(format!("cannot write {}: {e}", dir.display())))?;
            report.compiled.push(entry(&args.out, &files.manifest));
        }
    }
    if args.selection.all {
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
            if compiled == 0 && cached > 0 {
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
    Ok(ExitStatus::Success)
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
