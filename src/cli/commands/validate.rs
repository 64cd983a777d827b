//! `deployer validate`: every problem in every file, compiler-style.

use super::{open_repo, plural, selected_stacks_in};
use crate::cli::ExitStatus;
use crate::cli::args::{OutputFormat, ValidateArgs};
use crate::cli::printer::Printer;
use crate::diagnostic::{JsonDiagnostic, sort_and_dedup};
use crate::error::Result;
use crate::pipeline::Missing;
use crate::pipeline::{self, GivenVars, Options};
use crate::source::Sources;
use serde::Serialize;
use std::collections::BTreeSet;

/// A diagnostic ready to show, rendered on the worker that found it.
enum Shown {
    Text(String),
    Json(JsonDiagnostic),
}

#[derive(Serialize)]
struct Report {
    valid: bool,
    stacks: Vec<String>,
    files: usize,
    errors: usize,
    warnings: usize,
    diagnostics: Vec<JsonDiagnostic>,
}

pub fn run(args: ValidateArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let (stacks, environment) =
        selected_stacks_in(printer, &repo, &args.selection, args.environment.as_deref())?;
    let vars = GivenVars {
        vars: args.vars.pairs()?,
        var_files: args.vars.var_files,
    };
    let options = Options {
        environment,
        missing: Missing::Placeholder,
        undeclared: if args.selection.all {
            pipeline::Undeclared::Ignored
        } else {
            pipeline::Undeclared::Error
        },
        programs: pipeline::Programs::Drop,
        prefetched: Default::default(),
    };
    let mut report = Report {
        valid: true,
        stacks: stacks.clone(),
        files: 0,
        errors: 0,
        warnings: 0,
        diagnostics: Vec::new(),
    };
    let mut files_with_errors = BTreeSet::new();
    let mut placeholders = BTreeSet::new();
    // Stacks are independent: check them on every core, report in order.
    let results = pipeline::for_each_stack(&stacks, |stack| {
        let mut sources = Sources::default();
        let mut diagnostics = Vec::new();
        let checked = pipeline::compile_stack(
            &repo,
            stack,
            &vars,
            &options,
            &mut sources,
            &mut diagnostics,
        );
        sort_and_dedup(&mut diagnostics, &sources);
        let placeholders: Vec<String> = checked
            .variables
            .iter()
            .filter(|(k, v)| **v == format!("<{k}>"))
            .map(|(k, _)| k.clone())
            .collect();
        let files: Vec<Option<String>> = diagnostics
            .iter()
            .map(|d| {
                d.is_error()
                    .then(|| d.file_display(&sources).unwrap_or_default())
            })
            .collect();
        let shown: Vec<Shown> = match args.output {
            OutputFormat::Text => diagnostics
                .iter()
                .map(|d| Shown::Text(printer.render(d, &sources)))
                .collect(),
            OutputFormat::Json => Printer::json_diagnostics(&diagnostics, &sources)
                .into_iter()
                .map(Shown::Json)
                .collect(),
        };
        (sources.len(), files, placeholders, shown)
    });
    for (file_count, files, names, shown) in results {
        report.files += file_count;
        placeholders.extend(names);
        for file in files {
            match file {
                Some(file) => {
                    report.errors += 1;
                    files_with_errors.insert(file);
                }
                None => report.warnings += 1,
            }
        }
        for item in shown {
            match item {
                Shown::Text(text) => printer.status(text),
                Shown::Json(d) => report.diagnostics.push(d),
            }
        }
    }
    // The repository's policies.yaml, whichever stacks are checked.
    let policies = crate::policy::load(&repo);
    report.files += policies.sources.len();
    for d in &policies.diagnostics {
        if d.is_error() {
            report.errors += 1;
            files_with_errors.insert(d.file_display(&policies.sources).unwrap_or_default());
        } else {
            report.warnings += 1;
        }
        match args.output {
            OutputFormat::Text => printer.status(printer.render(d, &policies.sources)),
            OutputFormat::Json => report.diagnostics.extend(Printer::json_diagnostics(
                std::slice::from_ref(d),
                &policies.sources,
            )),
        }
    }
    report.valid = report.errors == 0;
    match args.output {
        OutputFormat::Json => printer.json(&report),
        OutputFormat::Text => {
            let warnings = if report.warnings > 0 {
                format!(", {}", plural(report.warnings, "warning"))
            } else {
                String::new()
            };
            if report.valid {
                // Named up to a few; 200 names on one line say less than a count.
                let checked = match stacks.len() {
                    0..=3 => stacks.join(", "),
                    n => plural(n, "stack"),
                };
                printer.success(format!(
                    "{checked}: {} valid{warnings}",
                    plural(report.files, "file")
                ));
            } else {
                printer.error(
                    &format!(
                        "{}{warnings} in {}",
                        plural(report.errors, "error"),
                        plural(files_with_errors.len(), "file")
                    ),
                    None,
                );
            }
            if !placeholders.is_empty() {
                let names: Vec<String> = placeholders.into_iter().collect();
                printer.status(format!(
                    "  note: checked without a value for {}; pass --var to check with real values",
                    names.join(", ")
                ));
            }
        }
    }
    Ok(if report.valid {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
