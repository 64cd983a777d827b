//! `drift --all` and `status --all`: every environment of every stack (or of
//! one), read a few at a time by `ops`, a line per target as it finishes,
//! then a summary; `--output json` or `markdown` for an issue or a chat.

use super::open_repo;
use crate::cli::ExitStatus;
use crate::cli::args::{DriftArgs, ReportFormat, StatusArgs};
use crate::cli::printer::{GREEN, Printer, RED, YELLOW};
use crate::cli::ui::QuietUi;
use crate::error::Result;
use crate::load::Repo;
use crate::ops::EveryTarget;
use crate::ops::changes::label;
use crate::ops::drift::{Outcome as DriftOutcome, TargetDrift};
use crate::ops::status::{Health, Outcome as StatusOutcome, TargetStatus};
use serde_json::json;

/// Every environment of `stack`, or of every stack; a stack whose stack.yaml
/// is broken is one target that fails, not a stop.
pub fn targets(printer: &Printer, repo: &Repo, stack: Option<&str>) -> Result<Vec<EveryTarget>> {
    let stacks = match stack {
        Some(stack) => {
            repo.require_stack(stack)?;
            printer.set_target(json!({"stack": stack, "stack_from": "--stack", "all": true}));
            vec![stack.to_string()]
        }
        None => {
            printer.set_target(json!({"all": true}));
            repo.stack_names()
        }
    };
    let mut out = Vec::new();
    for stack in stacks {
        match crate::pipeline::read_stack_file(repo, &stack).0 {
            Some(file) => out.extend(file.environments.into_iter().map(|(environment, env)| {
                EveryTarget {
                    stack: stack.clone(),
                    environment,
                    env: Ok(env),
                }
            })),
            None => out.push(EveryTarget {
                env: Err(format!(
                    "stacks/{stack}/stack.yaml is not valid: `deployer validate --stack {stack}` shows why"
                )),
                stack,
                environment: "*".to_string(),
            }),
        }
    }
    Ok(out)
}

pub fn drift(args: DriftArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let targets = targets(printer, &repo, args.target.stack.as_deref())?;
    let text = args.output == ReportFormat::Text;
    let results = crate::ops::drift::drift_every(
        &repo,
        &targets,
        args.jobs.into(),
        args.lock.lock_ttl,
        &QuietUi,
        |t| {
            if text {
                printer.out(drift_line(t));
            }
        },
    )?;
    let count = |o: DriftOutcome| results.iter().filter(|t| t.outcome == o).count();
    let summary = json!({
        "targets": results.len(),
        "drift": count(DriftOutcome::Drift),
        "no_drift": count(DriftOutcome::NoDrift),
        "not_deployed": count(DriftOutcome::NotDeployed),
        "busy": count(DriftOutcome::Busy),
        "error": count(DriftOutcome::Error),
    });
    match args.output {
        ReportFormat::Json => printer.json(&json!({"targets": results, "summary": summary})),
        ReportFormat::Markdown => printer.out_raw(&drift_markdown(&results)),
        ReportFormat::Text => {
            for t in results.iter().filter(|t| t.outcome == DriftOutcome::Drift) {
                printer.out(format!("{} / {}:", t.stack, t.environment));
                for (component, drifted) in &t.components {
                    let resources: Vec<String> = drifted
                        .iter()
                        .map(|d| {
                            if d.properties.is_empty() {
                                format!("{} {}", d.resource, d.change)
                            } else {
                                format!("{} {} ({})", d.resource, d.change, d.properties.join(", "))
                            }
                        })
                        .collect();
                    printer.out(format!("  {}: {}", label(component), resources.join("; ")));
                }
            }
            printer.out(format!(
                "{} targets: {} drifted, {} without drift, {} not deployed, {} busy (skipped), {} errors",
                results.len(),
                summary["drift"],
                summary["no_drift"],
                summary["not_deployed"],
                summary["busy"],
                summary["error"]
            ));
        }
    }
    Ok(if count(DriftOutcome::Error) > 0 {
        ExitStatus::Error
    } else if count(DriftOutcome::Drift) > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

fn drift_line(t: &TargetDrift) -> String {
    let name = format!("{} / {}", t.stack, t.environment);
    let release = t
        .release
        .map(|n| format!(" (release #{n})"))
        .unwrap_or_default();
    let detail = t.detail.as_deref().unwrap_or_default();
    match t.outcome {
        DriftOutcome::NoDrift => format!("{GREEN}✓{GREEN:#} {name}: no drift{release}"),
        DriftOutcome::Drift => format!(
            "{YELLOW}~{YELLOW:#} {name}: drift in {} component{}{release}",
            t.components.len(),
            if t.components.len() == 1 { "" } else { "s" }
        ),
        DriftOutcome::NotDeployed => format!("- {name}: nothing deployed"),
        DriftOutcome::Busy => format!("{YELLOW}⚠{YELLOW:#} {name}: skipped, {detail}"),
        DriftOutcome::Error => format!("{RED}✗{RED:#} {name}: {detail}"),
    }
}

pub fn drift_markdown(results: &[TargetDrift]) -> String {
    let drifted = results
        .iter()
        .filter(|t| t.outcome == DriftOutcome::Drift)
        .count();
    targets_table(
        format!(
            "Drift: {drifted} of {} targets differ from their release",
            results.len()
        ),
        "what differs",
        results.iter().map(|t| {
            let what = match t.outcome {
                DriftOutcome::Drift => t
                    .components
                    .iter()
                    .map(|(c, d)| format!("{} ({})", label(c), d.len()))
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => t.detail.clone().unwrap_or_default(),
            };
            (
                &t.stack,
                &t.environment,
                t.release,
                outcome_word(t.outcome),
                what,
            )
        }),
    )
}

/// A markdown table of targets under a heading: each row the target, its
/// release, how it ended and the `last` column.
fn targets_table<'a>(
    title: String,
    last: &str,
    rows: impl Iterator<Item = (&'a String, &'a String, Option<u32>, String, String)>,
) -> String {
    let mut out =
        format!("### {title}\n\n| target | release | result | {last} |\n|---|---|---|---|\n");
    for (stack, environment, release, outcome, what) in rows {
        out.push_str(&format!(
            "| {stack} / {environment} | {} | {outcome} | {} |\n",
            release.map_or("-".to_string(), |n| format!("#{n}")),
            what.replace('|', "\\|")
        ));
    }
    out
}

/// `not_deployed` → `not deployed`: an outcome as its JSON names it, in words.
fn outcome_word(outcome: impl serde::Serialize) -> String {
    serde_json::to_value(outcome)
        .ok()
        .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
        .unwrap_or_default()
}

pub fn status(args: StatusArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let targets = targets(printer, &repo, args.stack.as_deref())?;
    let text = args.output == ReportFormat::Text;
    let results =
        crate::ops::status::status_every(&repo, &targets, args.jobs.into(), &QuietUi, |t| {
            if text {
                printer.out(status_line(t));
            }
        })?;
    let count = |o: StatusOutcome| results.iter().filter(|t| t.outcome == o).count();
    let summary = json!({
        "targets": results.len(),
        "healthy": count(StatusOutcome::Healthy),
        "unhealthy": count(StatusOutcome::Unhealthy),
        "not_deployed": count(StatusOutcome::NotDeployed),
        "error": count(StatusOutcome::Error),
    });
    match args.output {
        ReportFormat::Json => printer.json(&json!({"targets": results, "summary": summary})),
        ReportFormat::Markdown => printer.out_raw(&status_markdown(&results)),
        ReportFormat::Text => printer.out(format!(
            "{} targets: {} healthy, {} unhealthy, {} not deployed, {} errors",
            results.len(),
            summary["healthy"],
            summary["unhealthy"],
            summary["not_deployed"],
            summary["error"]
        )),
    }
    Ok(
        if count(StatusOutcome::Unhealthy) + count(StatusOutcome::Error) > 0 {
            ExitStatus::Failure
        } else {
            ExitStatus::Success
        },
    )
}

pub fn status_markdown(results: &[TargetStatus]) -> String {
    let unhealthy = results
        .iter()
        .filter(|t| t.outcome == StatusOutcome::Unhealthy)
        .count();
    targets_table(
        format!("Status: {unhealthy} of {} targets unhealthy", results.len()),
        "what is wrong",
        results.iter().map(|t| {
            (
                &t.stack,
                &t.environment,
                t.release,
                outcome_word(t.outcome),
                problems(t),
            )
        }),
    )
}

/// What is wrong with a target: its unhealthy components, or why it could not be read.
fn problems(t: &TargetStatus) -> String {
    match &t.detail {
        Some(detail) => detail.clone(),
        None => t
            .components
            .iter()
            .filter(|c| c.health == Health::Unhealthy)
            .map(|c| format!("{}: {}", c.component, c.reasons.join("; ")))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn status_line(t: &TargetStatus) -> String {
    let name = format!("{} / {}", t.stack, t.environment);
    let release = t
        .release
        .map(|n| format!(" (release #{n})"))
        .unwrap_or_default();
    match t.outcome {
        StatusOutcome::Healthy => format!(
            "{GREEN}✓{GREEN:#} {name}: {} components healthy{release}",
            t.components.len()
        ),
        StatusOutcome::Unhealthy => format!("{RED}✗{RED:#} {name}: {}{release}", problems(t)),
        StatusOutcome::NotDeployed => format!("- {name}: nothing deployed"),
        StatusOutcome::Error => format!("{RED}✗{RED:#} {name}: {}", problems(t)),
    }
}
