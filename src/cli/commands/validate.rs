//! `deployer validate`: every problem in every file, compiler-style.

use super::{open_repo, plural, selected_stacks};
use crate::cli::ExitStatus;
use crate::cli::args::{OutputFormat, ValidateArgs};
use crate::cli::printer::Printer;
use crate::diagnostic::{JsonDiagnostic, sort_and_dedup};
use crate::error::Result;
use crate::expand::variables::Missing;
use crate::pipeline::{self, Options, VarArgs};
use crate::source::Sources;
use serde::Serialize;
use std::collections::BTreeSet;

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
    let stacks = selected_stacks(&repo, &args.selection.stack)?;
    let vars = VarArgs {
        vars: args.vars.vars,
        var_files: args.vars.var_files,
    };
    let options = Options {
        environment: args.environment,
        missing: Missing::Placeholder,
        ignore_undeclared: args.selection.all,
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
    // One stack at a time, so memory follows the largest stack, not the repository.
    for stack in &stacks {
        let mut sources = Sources::default();
        let mut diagnostics = Vec::new();
        let checked = pipeline::check_stack(
            &repo,
            stack,
            &vars,
            &options,
            &mut sources,
            &mut diagnostics,
        );
        placeholders.extend(
            checked
                .variables
                .iter()
                .filter(|(k, v)| **v == format!("<{k}>"))
                .map(|(k, _)| k.clone()),
        );
        sort_and_dedup(&mut diagnostics, &sources);
        report.files += sources.len();
        for d in &diagnostics {
            if d.is_error() {
                report.errors += 1;
                files_with_errors.insert(d.file_display(&sources).unwrap_or_default());
            } else {
                report.warnings += 1;
            }
        }
        match args.output {
            OutputFormat::Text => diagnostics
                .iter()
                .for_each(|d| printer.diagnostic(d, &sources)),
            OutputFormat::Json => report
                .diagnostics
                .extend(Printer::json_diagnostics(&diagnostics, &sources)),
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
                printer.success(format!(
                    "{}: {} valid{warnings}",
                    stacks.join(", "),
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
