//! `deployer affected --base REV [--head REV]`: which stacks and environments
//! a change reaches, for CI to plan and deploy only those (see
//! [`crate::affected`]). Reads git and the repository only: no AWS.

use super::{open_repo, var_args};
use crate::cli::ExitStatus;
use crate::cli::args::{AffectedArgs, OutputFormat};
use crate::cli::printer::Printer;
use crate::error::{Error, Result};

pub fn run(args: AffectedArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let mut vars = var_args(args.vars)?;
    // Each side reads its own version of a variable file: by its place in the repository.
    let root = repo
        .root
        .canonicalize()
        .unwrap_or_else(|_| repo.root.clone());
    for file in &mut vars.var_files {
        // Its folder's real place, and its own name: a variable file that is
        // a link stays that link, so that retargeting it is a change of it.
        let real = match (file.parent(), file.file_name()) {
            (Some(parent), Some(name)) => {
                let parent = if parent.as_os_str().is_empty() {
                    std::path::Path::new(".")
                } else {
                    parent
                };
                parent
                    .canonicalize()
                    .map(|p| p.join(name))
                    .unwrap_or_else(|_| file.clone())
            }
            _ => file.clone(),
        };
        *file = real
            .strip_prefix(&root)
            .map(std::path::Path::to_path_buf)
            .map_err(|_| {
                Error::usage(format!(
                    "variable file {} is outside the repository",
                    file.display()
                ))
                .with_help("`affected` compares the repository at two revisions: give variable files that are part of it")
            })?;
    }
    let affected = crate::affected::affected(&repo, &args.base, args.head.as_deref(), &vars)?;
    let head_name = args.head.as_deref().unwrap_or("the working tree");
    if let Some(max_jobs) = args.max_jobs {
        let jobs = crate::affected::into_jobs(affected, max_jobs.into());
        match args.output {
            OutputFormat::Json => printer.json(&jobs),
            OutputFormat::Text => {
                for (i, job) in jobs.iter().enumerate() {
                    let targets: Vec<String> = job
                        .targets
                        .iter()
                        .map(|a| format!("{} / {} ({})", a.stack, a.environment, a.change))
                        .collect();
                    printer.out(format!("job {}: {}", i + 1, targets.join(", ")));
                }
                printer.status(format!(
                    "{} jobs between {} and {head_name}",
                    jobs.len(),
                    args.base
                ));
            }
        }
        return Ok(ExitStatus::Success);
    }
    match args.output {
        OutputFormat::Json => printer.json(&affected),
        OutputFormat::Text if affected.is_empty() => printer.status(format!(
            "No stack or environment is affected between {} and {head_name}",
            args.base
        )),
        OutputFormat::Text => {
            for a in &affected {
                printer.out(format!("{} / {} ({})", a.stack, a.environment, a.change));
                if args.why {
                    for file in &a.why {
                        printer.out(format!("    {file}"));
                    }
                }
            }
            printer.status(format!(
                "{} affected between {} and {head_name}",
                match affected.len() {
                    1 => "1 stack environment".to_string(),
                    n => format!("{n} stack environments"),
                },
                args.base
            ));
        }
    }
    Ok(ExitStatus::Success)
}
