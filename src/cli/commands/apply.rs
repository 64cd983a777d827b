//! `deployer apply`, `rollback` and `destroy`: read the arguments, compile
//! (or read stack.yaml), call the flow in `ops` (`ops::apply`,
//! `ops::rollback`, `ops::destroy`), and say how it ended. What the user sees
//! during it is [`CliUi`].

use super::{compile_one, lock_wait, open_repo, plural, resolve_target, var_args};
use crate::backend::releases::Status;
use crate::cli::ExitStatus;
use crate::cli::args::{ApplyArgs, DestroyArgs, RollbackArgs};
use crate::cli::printer::duration;
use crate::cli::printer::{GREEN, Printer, RED};
use crate::cli::ui::CliUi;
use crate::error::{Error, Result};
use crate::ops::Scope;
use crate::ops::apply::Apply;
use crate::ops::deploy::Summary;
use crate::ops::destroy::{Confirmation, Destroyed};
use crate::ops::plan_file::PlanFile;
use crate::ops::rollback::{Rollback, RolledBack};
use std::path::{Path, PathBuf};

pub fn run(args: ApplyArgs, printer: &Printer) -> Result<ExitStatus> {
    match args.plan.as_slice() {
        [] => apply_one(&args, None, printer),
        [plan] => apply_one(&args, Some(plan), printer),
        plans => apply_plans(&args, plans, printer),
    }
}

/// `apply --plan A --plan B ...`: each plan in turn, stopping at the first
/// that does not succeed (what comes after it may depend on it), with one
/// summary naming what was not applied.
fn apply_plans(args: &ApplyArgs, plans: &[PathBuf], printer: &Printer) -> Result<ExitStatus> {
    for (i, path) in plans.iter().enumerate() {
        printer.status(format!("[{}/{}] {}", i + 1, plans.len(), path.display()));
        let outcome = apply_one(args, Some(path), printer);
        if matches!(outcome, Ok(ExitStatus::Success)) {
            continue;
        }
        let rest: Vec<String> = plans[i + 1..]
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let stopped = format!(
            "Applied {i} of {}; stopped at {}{}",
            plural(plans.len(), "plan"),
            path.display(),
            match rest.is_empty() {
                true => String::new(),
                false => format!("; not applied: {}", rest.join(", ")),
            }
        );
        // The plan's own error first, then where the group stopped.
        let status = match outcome {
            Err(e) => crate::cli::report(
                printer,
                &e,
                crate::cli::Shown {
                    json: false,
                    causes: false,
                },
            ),
            Ok(status) => status,
        };
        printer.failure(stopped);
        return Ok(status);
    }
    printer.success(format!("Applied {}", plural(plans.len(), "plan")));
    Ok(ExitStatus::Success)
}

fn apply_one(args: &ApplyArgs, plan: Option<&Path>, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let planned = match plan {
        Some(path) => Some(PlanFile::read(path)?),
        None => None,
    };
    let mut target = args.target.clone();
    if let Some(plan) = &planned {
        // The plan says what is deployed where, with which variables.
        for (given, planned, flag) in [
            (&mut target.stack, &plan.stack, "--stack"),
            (&mut target.environment, &plan.environment, "--environment"),
        ] {
            if given.as_ref().is_some_and(|g| g != planned) {
                return Err(Error::usage(format!(
                    "the plan is for {} / {}, not {flag} {}",
                    plan.stack,
                    plan.environment,
                    given.as_deref().unwrap_or_default()
                )));
            }
            *given = Some(planned.clone());
        }
    }
    let mut vars = var_args(args.vars.clone())?;
    if let Some(plan) = &planned {
        vars.vars = plan.given_again(&vars.vars)?;
    }
    let target = resolve_target(printer, &repo, &target)?;
    let (stack, environment) = (target.stack, target.environment);
    let (checked, files) = compile_one(printer, &repo, &stack, &environment, &vars)?;
    let env = checked.environments[0].env.clone();
    let apply = Apply {
        files,
        variables: checked.variables,
        sensitive: checked.sensitive,
        planned,
        auto_approve: args.auto_approve,
        rollback_on_failure: !args.no_rollback,
        accept_protection_downgrade: args.accept_protection_downgrade,
        recreate_lost_state: args.recreate_lost_state,
        overrides: args
            .override_policy
            .iter()
            .map(|name| (name.clone(), args.reason.clone().unwrap_or_default()))
            .collect(),
    };
    let scope = Scope {
        repo: &repo,
        stack,
        environment,
    };
    let (stack, environment) = (scope.stack.clone(), scope.environment.clone());
    let summary = crate::ops::apply::apply(
        scope,
        env,
        apply,
        &lock_wait(&args.lock),
        &CliUi::new(printer),
    )?;
    report(printer, &stack, &environment, summary)
}

pub fn rollback(args: RollbackArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let target = resolve_target(printer, &repo, &args.target)?;
    let (stack, environment) = (target.stack, target.environment);
    let env = super::stack_file(printer, &repo, &stack)?.environments[&environment].clone();
    let scope = Scope {
        repo: &repo,
        stack: stack.clone(),
        environment: environment.clone(),
    };
    let done = crate::ops::rollback::rollback(
        scope,
        env,
        Rollback {
            to: args.to,
            auto_approve: args.auto_approve,
        },
        &lock_wait(&args.lock),
        &CliUi::new(printer),
    )?;
    match done {
        RolledBack::Redeployed(summary) => report(printer, &stack, &environment, summary),
        RolledBack::StoppedRollouts(stopped) => {
            for (component, _) in &stopped {
                printer.success(format!(
                    "ECS stops the rollout of {component} and brings back the revision that ran before"
                ));
            }
            printer.status(format!(
                "  `deployer status --stack {stack} --environment {environment}` shows the rollback as ECS runs it"
            ));
            Ok(ExitStatus::Success)
        }
    }
}

pub fn destroy(args: DestroyArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let target = resolve_target(printer, &repo, &args.target)?;
    let (stack, environment) = (target.stack, target.environment);
    let env = super::stack_file(printer, &repo, &stack)?.environments[&environment].clone();
    let scope = Scope {
        repo: &repo,
        stack: stack.clone(),
        environment: environment.clone(),
    };
    let confirmation = Confirmation {
        auto_approve: args.auto_approve,
        production_confirmed: args.yes_destroy_production,
    };
    let summary = match crate::ops::destroy::destroy(
        scope,
        env,
        confirmation,
        &lock_wait(&args.lock),
        &CliUi::new(printer),
    )? {
        Destroyed::Already(number) => {
            printer.success(format!(
                "{stack} / {environment} is already destroyed (release #{number})"
            ));
            return Ok(ExitStatus::Success);
        }
        Destroyed::Ran(summary) => summary,
    };
    let Some(number) = summary.number else {
        printer.success(format!(
            "Nothing to destroy: {stack} / {environment} has no resources"
        ));
        return Ok(ExitStatus::Success);
    };
    if summary.status == Status::Destroyed {
        printer.success(format!(
            "{GREEN}Destroyed{GREEN:#} {stack} / {environment} ({})",
            duration(summary.seconds as u64 * 1000)
        ));
        printer.status(format!(
            "  recorded as release #{number}; `deployer apply` deploys it again"
        ));
        return Ok(ExitStatus::Success);
    }
    printer.failure(format!(
        "{RED}Destroy failed{RED:#} (release #{number}): {}",
        summary.error.unwrap_or_default()
    ));
    printer.status("  what was deleted stays deleted; fix the problem and destroy again (the lock is released)");
    Ok(ExitStatus::Failure)
}

fn report(
    printer: &Printer,
    stack: &str,
    environment: &str,
    summary: Summary,
) -> Result<ExitStatus> {
    let Some(number) = summary.number else {
        printer.success(format!("No changes: {stack} / {environment} is up to date"));
        return Ok(ExitStatus::Success);
    };
    match summary.status {
        Status::Succeeded => {
            printer.success(format!(
                "{GREEN}Deployment successful!{GREEN:#} ({})",
                duration(summary.seconds as u64 * 1000)
            ));
            printer.status(format!("  release #{number} of {stack} / {environment}"));
            return Ok(ExitStatus::Success);
        }
        Status::Cancelled => {
            match summary.error.as_deref() {
                Some(why) if why != "cancelled" => printer.warning(format!("Deployment cancelled: {why}. Release #{number} is recorded as cancelled.")),
                _ => printer.warning(format!("Deployment cancelled; Pulumi stopped cleanly and release #{number} is recorded as cancelled.")),
            }
            printer.status(format!("  apply again to finish, or see `deployer history --stack {stack} --environment {environment}`"));
        }
        Status::Destroyed => {}
        Status::Failed | Status::Interrupted => {
            printer.failure(format!(
                "{RED}Deployment failed{RED:#} (release #{number}): {}",
                summary.error.unwrap_or_default()
            ));
            match summary.rollback {
                Some((rollback, Status::Succeeded, seconds)) => {
                    printer.success(format!("Rolled back to the last good release as release #{rollback} ({})", duration(seconds as u64 * 1000)));
                }
                Some((rollback, status, _)) => {
                    printer.failure(format!("The automatic rollback (release #{rollback}) also did not succeed ({status:?}); the environment may be partly changed"));
                    printer.status(format!("  see `deployer history --stack {stack} --environment {environment}` and `deployer rollback --to N`"));
                }
                None if summary.rolled_back_by_ecs => printer.status(
                    "  ECS rolled back on its own and runs the previous revision, so deployer did not roll back on top of it",
                ),
                None if summary.first_deployment => {}
                None => printer.status("  not rolled back (--no-rollback); `deployer rollback` re-applies the last good release"),
            }
        }
    }
    Ok(ExitStatus::Failure)
}
