//! `deployer apply`, `rollback` and `destroy`: read the arguments, compile
//! (or pick a release), take the lock, run the operation (`ops::apply`), and
//! say how it ended. What the user sees during it is [`CliUi`].

use super::lock::take;
use super::{open_backend, open_repo, resolve_target, var_args};
use crate::backend::releases::Status;
use crate::cli::ExitStatus;
use crate::cli::args::{ApplyArgs, DestroyArgs, RollbackArgs};
use crate::cli::commands::history::duration;
use crate::cli::printer::{BOLD, GREEN, Printer, RED, YELLOW};
use crate::engine::changes::PlannedChanges;
use crate::engine::progress::{Update, label};
use crate::engine::pulumi;
use crate::error::{Error, Result};
use crate::ops::Target;
use crate::ops::Ui;
use crate::ops::apply::{self as op, Apply};
use crate::ops::deploy::Summary;
use crate::ops::plan::PlanFile;

pub fn run(mut args: ApplyArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let planned = match &args.plan {
        Some(path) => Some(PlanFile::read(path)?),
        None => None,
    };
    if let Some(plan) = &planned {
        // The plan says what is deployed where, with which variables.
        for (given, planned, flag) in [
            (&mut args.target.stack, &plan.stack, "--stack"),
            (
                &mut args.target.environment,
                &plan.environment,
                "--environment",
            ),
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
    let mut vars = var_args(args.vars)?;
    if let Some(plan) = &planned {
        vars.vars = plan.given_again(&vars.vars)?;
    }
    let target = resolve_target(printer, &repo, &args.target)?;
    let (stack, environment) = (target.stack, target.environment);
    let (checked, files) = super::compile_one(printer, &repo, &stack, &environment, &vars)?;
    let env = checked.environments[0].env.clone();
    let pulumi = pulumi::find()?;
    require_approval_possible(printer, env.approval_required(), args.auto_approve)?;
    let backend = open_backend(printer, &repo)?;
    super::check_account(&backend, &repo, &env, &environment)?;
    let target = Target {
        repo: &repo,
        backend: &backend,
        pulumi,
        stack,
        environment,
        env,
    };
    let ui = CliUi::new(printer);
    if !args.recreate_lost_state {
        op::nothing_deployed_elsewhere(&target, &ui)?;
    }
    let held = take(
        printer,
        &backend,
        &repo,
        &target.stack,
        &target.environment,
        "apply",
        &args.lock,
    )?;
    let apply = Apply {
        files,
        variables: checked.variables,
        sensitive: checked.sensitive,
        planned,
        auto_approve: args.auto_approve,
        rollback_on_failure: !args.no_rollback,
        accept_protection_downgrade: args.accept_protection_downgrade,
        recreate_lost_state: args.recreate_lost_state,
    };
    let summary = op::apply(&target, apply, &held.info, &ui);
    super::lock::release(printer, held);
    report(printer, &target.stack, &target.environment, summary?)
}

pub fn rollback(args: RollbackArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let target = resolve_target(printer, &repo, &args.target)?;
    let env =
        super::stack_file(printer, &repo, &target.stack)?.environments[&target.environment].clone();
    let pulumi = pulumi::find()?;
    let backend = open_backend(printer, &repo)?;
    let target = Target {
        repo: &repo,
        backend: &backend,
        pulumi,
        stack: target.stack,
        environment: target.environment,
        env,
    };
    let (stack, environment) = (&target.stack, &target.environment);
    let honoured = target.recorded_class()?;
    require_approval_possible(printer, honoured.approval_required, args.auto_approve)?;
    super::check_account(&backend, &repo, &target.env, environment)?;
    let held = take(
        printer,
        &backend,
        &repo,
        stack,
        environment,
        "rollback",
        &args.lock,
    )?;
    let release = match op::rollback_target(&target, args.to) {
        Ok(release) => release,
        Err(e) => {
            super::lock::release(printer, held);
            return Err(e);
        }
    };
    let vars: Vec<String> = release
        .start
        .variables
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    printer.status(format!(
        "Rolling back {stack} / {environment} to release #{} ({}, applied {} by {})",
        release.start.number,
        vars.join(" "),
        crate::backend::timestamp(release.start.started),
        release.start.who
    ));
    let summary = op::rollback(
        &target,
        &release,
        args.auto_approve,
        &held.info,
        &CliUi::new(printer),
    );
    super::lock::release(printer, held);
    report(printer, stack, environment, summary?)
}

pub fn destroy(args: DestroyArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let target = resolve_target(printer, &repo, &args.target)?;
    let env =
        super::stack_file(printer, &repo, &target.stack)?.environments[&target.environment].clone();
    let pulumi = pulumi::find()?;
    let backend = open_backend(printer, &repo)?;
    let target = Target {
        repo: &repo,
        backend: &backend,
        pulumi,
        stack: target.stack,
        environment: target.environment,
        env,
    };
    let (stack, environment) = (&target.stack, &target.environment);
    let production = target.recorded_class()?.production;
    let unconfirmed_production = production && !args.yes_destroy_production;
    if (!args.auto_approve || unconfirmed_production) && !printer.can_prompt() {
        return Err(Error::usage(
            "destroy asks before it deletes anything, and there is no terminal to ask on",
        )
        .with_help(if production {
            "pass --auto-approve --yes-destroy-production (for CI)"
        } else {
            "pass --auto-approve (for CI)"
        }));
    }
    let latest = op::last_release(&target)?;
    if latest.result.as_ref().map(|r| r.status) == Some(Status::Destroyed) {
        printer.success(format!(
            "{stack} / {environment} is already destroyed (release #{})",
            latest.start.number
        ));
        return Ok(ExitStatus::Success);
    }
    super::check_account(&backend, &repo, &target.env, environment)?;
    let held = take(
        printer,
        &backend,
        &repo,
        stack,
        environment,
        "destroy",
        &args.lock,
    )?;
    let summary = op::destroy(
        &target,
        &latest,
        args.auto_approve,
        args.yes_destroy_production,
        &held.info,
        &CliUi::new(printer),
    );
    super::lock::release(printer, held);
    let summary = summary?;
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

/// A prompt that cannot be asked is an error naming the flag, before anything happens.
fn require_approval_possible(printer: &Printer, required: bool, auto_approve: bool) -> Result<()> {
    if required && !auto_approve && !printer.can_prompt() {
        return Err(Error::usage(
            "this environment requires approval, and there is no terminal to ask on",
        )
        .with_help("pass --auto-approve (for CI) to approve"));
    }
    Ok(())
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
            printer.warning(format!("Deployment cancelled; Pulumi stopped cleanly and release #{number} is recorded as cancelled."));
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
                None if summary.first_deployment => {}
                None => printer.status("  not rolled back (--no-rollback); `deployer rollback` re-applies the last good release"),
            }
        }
    }
    Ok(ExitStatus::Failure)
}

/// Shows a deployment in the walkthrough's words. On a terminal each component
/// in progress has a live spinner with its elapsed time; elsewhere (CI) plain
/// lines: one when a component starts, one when it ends.
pub(super) struct CliUi<'a> {
    printer: &'a Printer,
    live: Option<Live>,
}

struct Live {
    bars: indicatif::MultiProgress,
    running: std::cell::RefCell<std::collections::BTreeMap<String, indicatif::ProgressBar>>,
}

impl<'a> CliUi<'a> {
    pub(super) fn new(printer: &'a Printer) -> CliUi<'a> {
        let live = printer.live().then(|| Live {
            bars: indicatif::MultiProgress::with_draw_target(
                indicatif::ProgressDrawTarget::stderr(),
            ),
            running: Default::default(),
        });
        CliUi { printer, live }
    }

    /// A line above the live bars (or plain).
    fn line(&self, text: String) {
        match &self.live {
            Some(live) => {
                let _ = live.bars.println(text);
            }
            None => self.printer.status(text),
        }
    }
}

impl Ui for CliUi<'_> {
    fn step(&self, text: &str) {
        self.line(text.to_string());
    }

    fn warn(&self, text: &str) {
        self.line(format!("{YELLOW}⚠{YELLOW:#} {text}"));
    }

    fn note(&self, text: &str) {
        self.line(text.to_string());
    }

    fn accept_downgrade(&self, stack: &str, environment: &str, what: &str) -> Result<bool> {
        if !self.printer.can_prompt() {
            return Err(Error::usage(format!(
                "lowering the protection of {stack} / {environment} ({what}) is accepted on a terminal only"
            ))
            .with_help("run it on a terminal; CI cannot lower an environment's protection"));
        }
        self.printer.warning(format!(
            "This apply lowers the protection of {stack} / {environment}: {what}"
        ));
        let answer: String = dialoguer::Input::new()
            .with_prompt(format!("Type `downgrade {environment}` to accept"))
            .interact_text()
            .map_err(|e| Error::failed(format!("cannot read the answer: {e}")))?;
        Ok(answer.trim() == format!("downgrade {environment}"))
    }

    fn plan(&self, stack: &str, environment: &str, plan: &PlannedChanges) {
        if plan.is_empty() {
            return;
        }
        self.line(format!("{BOLD}Plan for {stack} / {environment}:{BOLD:#}"));
        for (component, resources) in &plan.components {
            let change = plan.change_of(component).map_or("update", |c| c.name());
            let (mark, style) = match change {
                "create" => ("+", GREEN),
                "delete" => ("-", RED),
                "replace" => ("±", YELLOW),
                _ => ("~", YELLOW),
            };
            let n = resources.len();
            self.line(format!(
                "  {style}{mark}{style:#} {:<40} {change} ({n} resource{})",
                label(component),
                if n == 1 { "" } else { "s" }
            ));
        }
        let counts = plan.counts();
        let parts: Vec<String> = ["create", "update", "replace", "delete"]
            .iter()
            .map(|k| format!("{} to {k}", counts.get(k).copied().unwrap_or(0)))
            .collect();
        self.line(format!("  {}", parts.join(", ")));
    }

    fn approve(&self, _stack: &str, environment: &str, production: bool) -> Result<bool> {
        if !self.printer.can_prompt() {
            return Err(Error::usage(
                "this environment requires approval, and there is no terminal to ask on",
            )
            .with_help("pass --auto-approve"));
        }
        let what = if production {
            "Production deployment".to_string()
        } else {
            format!("Deployment to {environment}")
        };
        self.printer.warning(format!("{what} - approval required"));
        let answer: String = dialoguer::Input::new()
            .with_prompt("Approve? (yes/no)")
            .interact_text()
            .map_err(|e| Error::failed(format!("cannot read the answer: {e}")))?;
        Ok(answer.trim() == "yes")
    }

    fn confirm_destroy(&self, stack: &str, environment: &str, production: bool) -> Result<bool> {
        if !self.printer.can_prompt() {
            return Err(Error::usage(
                "destroy asks before it deletes anything, and there is no terminal to ask on",
            )
            .with_help("pass --auto-approve (and --yes-destroy-production for production)"));
        }
        if production {
            self.printer.warning(format!(
                "Production environment: every resource of {stack} / {environment} will be deleted"
            ));
            let answer: String = dialoguer::Input::new()
                .with_prompt(format!(
                    "Type the environment's name ({environment}) to destroy it"
                ))
                .interact_text()
                .map_err(|e| Error::failed(format!("cannot read the answer: {e}")))?;
            return Ok(answer.trim() == environment);
        }
        self.printer.warning(format!(
            "Every resource of {stack} / {environment} will be deleted"
        ));
        let answer: String = dialoguer::Input::new()
            .with_prompt("Destroy? (yes/no)")
            .interact_text()
            .map_err(|e| Error::failed(format!("cannot read the answer: {e}")))?;
        Ok(answer.trim() == "yes")
    }

    fn progress(&self, update: &Update) {
        match update {
            Update::Started { component, change } => {
                let text = format!("{} {}...", change.verb(), label(component));
                match &self.live {
                    Some(live) => {
                        let bar = live.bars.add(indicatif::ProgressBar::new_spinner());
                        bar.set_style(
                            indicatif::ProgressStyle::with_template(
                                "{spinner:.cyan} {msg} {elapsed:.dim}",
                            )
                            .expect("valid template"),
                        );
                        bar.set_message(text);
                        bar.enable_steady_tick(std::time::Duration::from_millis(120));
                        live.running.borrow_mut().insert(component.clone(), bar);
                    }
                    None => self.printer.status(text),
                }
            }
            Update::Finished {
                component,
                change,
                seconds,
                failed,
            } => {
                let took = duration(*seconds as u64 * 1000);
                let mark = if *failed {
                    format!("{RED}✗{RED:#}")
                } else {
                    format!("{GREEN}✓{GREEN:#}")
                };
                let text = format!("{} {}... {mark} ({took})", change.verb(), label(component));
                match self
                    .live
                    .as_ref()
                    .and_then(|l| l.running.borrow_mut().remove(component))
                {
                    Some(bar) => {
                        bar.set_style(
                            indicatif::ProgressStyle::with_template("{msg}")
                                .expect("valid template"),
                        );
                        bar.finish_with_message(text);
                    }
                    None => self.line(text),
                }
            }
            Update::Diagnostic {
                resource,
                severity,
                message,
                ..
            } => {
                let on = resource
                    .as_ref()
                    .map(|r| format!("{r}: "))
                    .unwrap_or_default();
                let (style, word) = if severity == "error" {
                    (RED, "error")
                } else {
                    (YELLOW, "warning")
                };
                for (i, line) in message.lines().enumerate() {
                    if i == 0 {
                        self.line(format!("    {style}{word}{style:#}: {on}{line}"));
                    } else {
                        self.line(format!("      {line}"));
                    }
                }
            }
        }
    }
}
