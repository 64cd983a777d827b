//! `deployer history`: the releases of a stack in an environment, newest first.

use super::{open_backend, open_repo, resolve_target};
use crate::backend::releases::Release;
use crate::backend::timestamp;
use crate::cli::ExitStatus;
use crate::cli::args::{HistoryArgs, OutputFormat};
use crate::cli::printer::Printer;
use crate::cli::printer::duration;
use crate::error::Result;
use serde_json::json;

pub fn run(args: HistoryArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let target = resolve_target(printer, &repo, &args.target)?;
    let (stack, environment) = (&target.stack, &target.environment);
    let backend = open_backend(printer, &repo)?;
    let mut all = crate::ops::deployed::history(&backend, &repo.root, stack, environment)?;
    all.reverse();
    all.truncate(args.limit);
    match args.output {
        OutputFormat::Json => printer.json(&all.iter().map(as_json).collect::<Vec<_>>()),
        OutputFormat::Text if all.is_empty() => {
            printer.status(format!("no releases of {stack} in {environment} yet"));
            printer.status(format!(
                "  deploy with: deployer apply --stack {stack} --environment {environment}"
            ));
        }
        OutputFormat::Text => {
            let rows: Vec<[String; 7]> = all.iter().map(row).collect();
            let header = [
                "#",
                "STATUS",
                "STARTED",
                "DURATION",
                "WHO",
                "COMMIT",
                "VARIABLES",
            ]
            .map(String::from);
            let widths: Vec<usize> = (0..7)
                .map(|i| {
                    rows.iter()
                        .chain([&header])
                        .map(|r| r[i].chars().count())
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            for r in std::iter::once(&header).chain(rows.iter()) {
                let line: Vec<String> = r
                    .iter()
                    .zip(&widths)
                    .map(|(cell, w)| format!("{cell:<w$}"))
                    .collect();
                printer.out(line.join("  ").trim_end());
            }
        }
    }
    Ok(ExitStatus::Success)
}

fn row(r: &Release) -> [String; 7] {
    let s = &r.start;
    let mut status = r.status().replace('_', " ");
    if s.operation == "rollback" {
        status = format!("{status} (rollback to #{})", s.source_release.unwrap_or(0));
    }
    if let Some(by) = r.result.as_ref().and_then(|x| x.rolled_back_by) {
        status = format!("{status}, rolled back by #{by}");
    }
    let duration = r
        .result
        .as_ref()
        .map_or_else(|| "-".to_string(), |x| duration(x.duration_ms));
    [
        s.number.to_string(),
        status,
        timestamp(s.started),
        duration,
        who(s),
        s.git_commit.clone().unwrap_or_else(|| "-".into()),
        s.variables_line(),
    ]
}

/// The self-declared user, with the AWS identity when it was recorded, and a
/// warning when the two obviously disagree.
fn who(s: &crate::backend::releases::ReleaseStart) -> String {
    match &s.aws_identity {
        Some(arn) if crate::backend::releases::identity_differs(&s.who, arn) => {
            format!("{} (AWS: {arn} ⚠ not the same person?)", s.who)
        }
        Some(arn) => format!("{} (AWS: {arn})", s.who),
        None => s.who.clone(),
    }
}

fn as_json(r: &Release) -> serde_json::Value {
    let s = &r.start;
    let result = r.result.as_ref();
    json!({
        "number": s.number,
        "operation": s.operation,
        "status": r.status(),
        "who": s.who,
        "aws_identity": s.aws_identity,
        "identity_differs": s.aws_identity.as_deref().is_some_and(|arn| crate::backend::releases::identity_differs(&s.who, arn)),
        "approved_by": s.approved_by,
        "started": timestamp(s.started),
        "finished": result.map(|x| timestamp(x.finished)),
        "duration_ms": result.map(|x| x.duration_ms),
        "variables": s.variables,
        "commit": s.git_commit,
        "program_hash": s.program_hash,
        "source_release": s.source_release,
        "plan_hash": s.plan_hash,
        "planned_by": s.planned_by,
        "rolled_back_by": result.and_then(|x| x.rolled_back_by),
        "error": result.and_then(|x| x.error.clone()),
        "changes": result.map(|x| &x.changes),
    })
}
