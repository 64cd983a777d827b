//! `deployer status`: one line per component of the latest successful release,
//! from live AWS. Exit 1 when anything is unhealthy, so CI can gate on it.

use super::{open_repo, resolve_target, stack_file};
use crate::backend::timestamp;
use crate::cli::ExitStatus;
use crate::cli::args::StackEnv;
use crate::cli::args::{ReportFormat, StatusArgs};
use crate::cli::printer::{BOLD, GREEN, Printer, RED, YELLOW};
use crate::cli::ui::CliUi;
use crate::error::Result;
use crate::ops::Scope;
use crate::ops::status::{ComponentStatus, Health};
use serde_json::json;

pub fn run(args: StatusArgs, printer: &Printer) -> Result<ExitStatus> {
    if args.all {
        return super::every::status(args, printer);
    }
    let repo = open_repo(&args.repo.repo)?;
    let target = resolve_target(
        printer,
        &repo,
        &StackEnv {
            stack: args.stack.clone(),
            environment: args.environment.clone(),
        },
    )?;
    let stack = stack_file(printer, &repo, &target.stack)?;
    let (stack_name, environment) = (target.stack, target.environment);
    let scope = Scope {
        repo: &repo,
        stack: stack_name.clone(),
        environment: environment.clone(),
    };
    let report = crate::ops::status::status(
        scope,
        &stack.environments[&environment],
        &CliUi::new(printer),
    )?;
    let reports = [(environment, report.release, report.components)];
    let unhealthy = reports
        .iter()
        .flat_map(|(_, _, c)| c)
        .any(|c| c.health == Health::Unhealthy);
    match args.output {
        ReportFormat::Markdown => {
            let (env, release, components) = reports.into_iter().next().expect("one report");
            let outcome = if unhealthy {
                crate::ops::status::Outcome::Unhealthy
            } else {
                crate::ops::status::Outcome::Healthy
            };
            printer.out_raw(&super::every::status_markdown(&[
                crate::ops::status::TargetStatus {
                    stack: stack_name.clone(),
                    environment: env,
                    outcome,
                    release: Some(release.start.number),
                    components,
                    detail: None,
                },
            ]));
        }
        ReportFormat::Json => {
            let (env, release, components) = &reports[0];
            printer.json(&json!({
                "stack": stack_name,
                "environment": env,
                "release": release.start.number,
                "variables": release.start.variables,
                "healthy": components.iter().all(|c| c.health != Health::Unhealthy),
                "components": components,
            }))
        }
        ReportFormat::Text => {
            for (i, (env, release, components)) in reports.iter().enumerate() {
                if i > 0 {
                    printer.out("");
                }
                printer.out(format!(
                    "{BOLD}{} / {env}{BOLD:#} — release #{} ({}), applied {} by {}",
                    stack_name,
                    release.start.number,
                    release.start.variables_line(),
                    timestamp(release.start.started),
                    release.start.who
                ));
                print_table(printer, components);
            }
        }
    }
    Ok(if unhealthy {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

fn print_table(printer: &Printer, components: &[ComponentStatus]) {
    let width = |f: fn(&ComponentStatus) -> &str| {
        components
            .iter()
            .map(|c| f(c).chars().count())
            .max()
            .unwrap_or(0)
    };
    let (wc, wk, ws) = (
        width(|c| &c.component),
        width(|c| &c.kind),
        width(|c| &c.state),
    );
    for c in components {
        let (mark, style) = match c.health {
            Health::Healthy => ("✓", GREEN),
            Health::Warning => ("⚠", YELLOW),
            Health::Unhealthy => ("✗", RED),
        };
        let health = if c.reasons.is_empty() {
            "Healthy".to_string()
        } else {
            c.reasons.join("; ")
        };
        printer.out(format!(
            "{style}{mark}{style:#} {:<wc$}  {:<wk$}  {:<ws$}  {health}",
            c.component, c.kind, c.state
        ));
    }
}
