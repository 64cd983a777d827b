//! `deployer apply` and `deployer rollback`: lock → compile (or load a release)
//! → preview → approval → `pulumi up` with progress → record → unlock.

use super::lock::take;
use super::{open_backend, open_repo, resolve_target, var_args};
use crate::artifacts::Artifacts;
use crate::backend::protection::{self, Protection};
use crate::backend::releases::{Releases, Status};
use crate::cli::ExitStatus;
use crate::cli::args::{ApplyArgs, DestroyArgs, RollbackArgs};
use crate::cli::commands::history::duration;
use crate::cli::printer::{BOLD, GREEN, Printer, RED, YELLOW};
use crate::deploy::{self, Operation, Request, Summary, Ui};
use crate::engine::progress::{Plan, Update, label};
use crate::engine::pulumi;
use crate::error::{Error, Result};

pub fn run(mut args: ApplyArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let planned = match &args.plan {
        Some(path) => Some(crate::plan::PlanFile::read(path)?),
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
        args.vars.vars = plan_variables(plan, &args.vars.vars)?;
    }
    let target = resolve_target(printer, &repo, &args.target)?;
    let (stack, environment) = (target.stack, target.environment);
    let vars = var_args(args.vars);
    let (checked, files) = super::compile_one(printer, &repo, &stack, &environment, &vars)?;
    let env = checked.environments[0].env.clone();
    let pulumi = pulumi::find()?;
    require_approval_possible(printer, env.approval_required(), args.auto_approve)?;
    let backend = open_backend(printer, &repo)?;
    super::check_account(&backend, &repo, &env, &environment)?;
    if !args.recreate_lost_state {
        first_apply_finds_nothing_deployed(printer, &backend, &repo, &stack, &environment, &env)?;
    }
    let held = take(
        printer,
        &backend,
        &repo,
        &stack,
        &environment,
        "apply",
        &args.lock,
    )?;
    if let Some(plan) = &planned
        && let Err(e) = matches_plan(plan, &files, &backend)
    {
        super::lock::release(printer, held);
        return Err(e);
    }
    // The protection recorded by earlier applies holds, whatever stack.yaml says now.
    let now = Protection {
        production: env.production,
        approval_required: env.approval_required(),
        protected: deploy::protected_names(&files)
            .into_iter()
            .map(|(name, _)| name)
            .collect(),
    };
    let recorded = protection::read(backend.store.as_ref(), &stack, &environment)?;
    let mut honoured = now.clone();
    let mut approved = None;
    if let Some((rec, _)) = &recorded {
        honoured = protection::strongest(rec, &now);
        let lowered = protection::lowered(rec, &now);
        if !lowered.is_empty() {
            approved = Some(accept_downgrade(
                printer,
                args.accept_protection_downgrade,
                &stack,
                &environment,
                &lowered,
            )?);
        }
    }
    let request = Request {
        repo_root: &repo.root,
        backend: &backend,
        pulumi,
        stack: stack.clone(),
        environment: environment.clone(),
        files,
        operation: Operation::Apply,
        variables: checked.variables.clone(),
        who: held.info.who.clone(),
        lock_id: held.info.lock_id.clone(),
        git_commit: crate::git::commit(&repo.root),
        approval_required: honoured.approval_required,
        production: honoured.production,
        auto_approve: args.auto_approve,
        rollback_on_failure: !args.no_rollback,
        approved,
        sensitive: checked.sensitive.clone(),
        recreate_lost_state: args.recreate_lost_state,
        planned,
    };
    let summary = deploy::deploy(request, &CliUi::new(printer));
    if let Ok(s) = &summary
        && s.status == Status::Succeeded
        && s.number.is_some()
        && recorded.as_ref().is_none_or(|(r, _)| *r != now)
    {
        protection::write(
            backend.store.as_ref(),
            &stack,
            &environment,
            &now,
            recorded.as_ref().map(|(_, tag)| tag.as_str()),
        )?;
    }
    super::lock::release(printer, held);
    report(printer, &stack, &environment, summary?)
}

/// The variables of a plan, with the sensitive ones given again (`--var`): a
/// plan records them as `(sensitive)`. Any other `--var` is refused: the plan
/// fixed it.
fn plan_variables(
    plan: &crate::plan::PlanFile,
    given: &[(String, String)],
) -> Result<Vec<(String, String)>> {
    let sensitive = crate::expand::variables::SENSITIVE;
    let mut out: Vec<(String, String)> = plan
        .variables
        .iter()
        .filter(|(_, v)| v.as_str() != sensitive)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (name, value) in given {
        match plan.variables.get(name) {
            Some(v) if v == sensitive => out.push((name.clone(), value.clone())),
            Some(v) => {
                return Err(Error::usage(format!(
                    "the plan fixes {name}={v}; only sensitive variables are given again with --plan"
                )));
            }
            None => {
                return Err(Error::usage(format!("the plan has no variable {name}")));
            }
        }
    }
    Ok(out)
}

/// Under the lock: the program compiled now and the release it lands on are
/// the ones the plan was made with.
fn matches_plan(
    plan: &crate::plan::PlanFile,
    files: &Artifacts,
    backend: &crate::backend::Backend,
) -> Result<()> {
    let refuse = |what: String| {
        Err(Error::failed(format!("{what}; nothing was changed"))
            .with_help("plan again and have the new plan reviewed"))
    };
    if files.manifest.program_hash != plan.program_hash
        || files.manifest.settings_hash != plan.settings_hash
    {
        return refuse(format!(
            "the program compiled now differs from the reviewed plan's ({} then, {} now): a file changed since it was planned",
            crate::plan::short(&plan.program_hash),
            crate::plan::short(&files.manifest.program_hash)
        ));
    }
    let latest = Releases::new(backend.store.as_ref(), &plan.stack, &plan.environment)
        .latest()?
        .map(|r| r.start.number);
    if latest != plan.base_release {
        let name = |n: Option<u32>| n.map_or("no release".to_string(), |n| format!("release #{n}"));
        return refuse(format!(
            "the plan was made against {}, and {} has landed since",
            name(plan.base_release),
            name(latest)
        ));
    }
    Ok(())
}

/// A first apply (no record, no Pulumi state) of an environment whose cluster
/// already runs in AWS: the back-end was lost (`git clean -fdx` on the local
/// one, another bucket) and applying would create everything again. With the
/// local back-end and no role, AWS is asked only when credentials are
/// configured here (never the instance metadata service), and a failure to
/// ask is a warning; otherwise a note says it could not be checked.
fn first_apply_finds_nothing_deployed(
    printer: &Printer,
    backend: &crate::backend::Backend,
    repo: &crate::load::Repo,
    stack: &str,
    environment: &str,
    env: &crate::model::stack::EnvironmentSpec,
) -> Result<()> {
    let shared = matches!(backend.kind, crate::backend::Kind::Aws(_)) || env.role_arn.is_some();
    if Releases::new(backend.store.as_ref(), stack, environment)
        .latest()?
        .is_some()
        || crate::engine::checkpoint::exists(backend, &repo.root, stack, environment)?
            != Some(false)
    {
        return Ok(());
    }
    if !shared && !crate::backend::aws::credentials_configured() {
        printer.status(format!(
            "note: first apply of {stack} / {environment} here, and no AWS credentials are configured to check that it is not already deployed (from a .deployer/ since deleted, or another back-end)"
        ));
        return Ok(());
    }
    let cluster = format!("{stack}-{environment}");
    let arn = match crate::inspect::active_cluster(env, &backend.who(&repo.root), &cluster) {
        Ok(Some(arn)) => arn,
        Ok(None) => return Ok(()),
        Err(e) if !shared => {
            printer.warning(format!(
                "could not check AWS for an earlier deployment of {stack} / {environment}: {e}"
            ));
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    Err(Error::failed(format!(
        "{stack} / {environment} has no release and no Pulumi state in {}, yet its cluster {arn} runs in AWS: this back-end does not know what is deployed, and applying would create everything again beside it; nothing was changed",
        backend.store.describe()
    ))
    .with_help("point deployer at the back-end that deployed it (`deployer init`, ~/.deployer/config.yaml), or restore the lost state; if those resources are to be abandoned, apply with --recreate-lost-state"))
}

/// The environment's class (production, approval) as the strongest of
/// stack.yaml's and what earlier applies recorded: a rollback or destroy is
/// never less guarded because stack.yaml was edited.
fn recorded_class(
    backend: &crate::backend::Backend,
    stack: &str,
    environment: &str,
    env: &crate::model::stack::EnvironmentSpec,
) -> Result<Protection> {
    let now = Protection {
        production: env.production,
        approval_required: env.approval_required(),
        protected: Vec::new(),
    };
    Ok(
        match protection::read(backend.store.as_ref(), stack, environment)? {
            Some((recorded, _)) => protection::strongest(&recorded, &now),
            None => now,
        },
    )
}

/// A stack.yaml that lowers the recorded protection: stops unless the flag
/// names the downgrade and someone accepts it on a terminal.
fn accept_downgrade(
    printer: &Printer,
    flag: bool,
    stack: &str,
    environment: &str,
    lowered: &[String],
) -> Result<String> {
    let what = lowered.join("; ");
    if !flag {
        return Err(Error::failed(format!(
            "stack.yaml lowers the protection that earlier applies of {stack} / {environment} established ({what}); nothing was changed"
        ))
        .with_help("if this is intended, apply again on a terminal with --accept-protection-downgrade and confirm; --auto-approve alone cannot lower it"));
    }
    if !printer.can_prompt() {
        return Err(Error::usage(format!(
            "lowering the protection of {stack} / {environment} ({what}) is accepted on a terminal only"
        ))
        .with_help("run it on a terminal; CI cannot lower an environment's protection"));
    }
    printer.warning(format!(
        "This apply lowers the protection of {stack} / {environment}: {what}"
    ));
    let answer: String = dialoguer::Input::new()
        .with_prompt(format!("Type `downgrade {environment}` to accept"))
        .interact_text()
        .map_err(|e| Error::failed(format!("cannot read the answer: {e}")))?;
    if answer.trim() != format!("downgrade {environment}") {
        return Err(Error::failed(
            "protection downgrade not accepted; nothing was changed",
        ));
    }
    Ok(format!("protection downgrade accepted: {what}"))
}

pub fn rollback(args: RollbackArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let target = resolve_target(printer, &repo, &args.target)?;
    let (stack, environment) = (target.stack, target.environment);
    let env = super::stack_file(printer, &repo, &stack)?.environments[&environment].clone();
    let pulumi = pulumi::find()?;
    let backend = open_backend(printer, &repo)?;
    let honoured = recorded_class(&backend, &stack, &environment, &env)?;
    require_approval_possible(printer, honoured.approval_required, args.auto_approve)?;
    super::check_account(&backend, &repo, &env, &environment)?;
    let held = take(
        printer,
        &backend,
        &repo,
        &stack,
        &environment,
        "rollback",
        &args.lock,
    )?;
    let releases = Releases::new(backend.store.as_ref(), &stack, &environment);
    let target = match args.to {
        Some(n) => {
            let release = releases.get(n)?.ok_or_else(|| {
                Error::usage(format!("{stack} / {environment} has no release #{n}")).with_help(
                    format!("see `deployer history --stack {stack} --environment {environment}`"),
                )
            })?;
            if release.result.as_ref().map(|r| r.status) != Some(Status::Succeeded) {
                return Err(Error::failed(format!(
                    "release #{n} did not succeed ({}); roll back only to a release that did",
                    release.status()
                )));
            }
            release
        }
        None => {
            let good: Vec<_> = releases
                .list()?
                .into_iter()
                .filter(|r| {
                    r.result
                        .as_ref()
                        .is_some_and(|x| x.status == Status::Succeeded)
                })
                .collect();
            match good.as_slice() {
                [.., previous, _current] => previous.clone(),
                _ => {
                    return Err(Error::failed(format!("{stack} / {environment} has no earlier successful release to roll back to"))
                        .with_help(format!("see `deployer history --stack {stack} --environment {environment}`; `--to N` picks one")));
                }
            }
        }
    };
    let n = target.start.number;
    let vars: Vec<String> = target
        .start
        .variables
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    printer.status(format!(
        "Rolling back {stack} / {environment} to release #{n} ({}, applied {} by {})",
        vars.join(" "),
        crate::backend::timestamp(target.start.started),
        target.start.who
    ));
    let request = Request {
        repo_root: &repo.root,
        backend: &backend,
        pulumi,
        stack: stack.clone(),
        environment: environment.clone(),
        files: releases.artifacts(n, &environment)?,
        operation: Operation::Rollback { source: n },
        variables: target.start.variables.clone(),
        who: held.info.who.clone(),
        lock_id: held.info.lock_id.clone(),
        git_commit: target.start.git_commit.clone(),
        approval_required: honoured.approval_required,
        production: honoured.production,
        auto_approve: args.auto_approve,
        rollback_on_failure: false,
        approved: None,
        sensitive: Default::default(),
        recreate_lost_state: false,
        planned: None,
    };
    let summary = deploy::deploy(request, &CliUi::new(printer));
    super::lock::release(printer, held);
    report(printer, &stack, &environment, summary?)
}

pub fn destroy(args: DestroyArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let target = resolve_target(printer, &repo, &args.target)?;
    let (stack, environment) = (target.stack, target.environment);
    let env = super::stack_file(printer, &repo, &stack)?.environments[&environment].clone();
    let pulumi = pulumi::find()?;
    let backend = open_backend(printer, &repo)?;
    let production = recorded_class(&backend, &stack, &environment, &env)?.production;
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
    let releases = Releases::new(backend.store.as_ref(), &stack, &environment);
    // What is deployed: the newest release's program (a failed one may have
    // created resources too); Pulumi destroys what its state holds.
    let Some(latest) = releases.latest()? else {
        return Err(Error::failed(format!(
            "nothing of {stack} was ever deployed in {environment}; nothing to destroy"
        )));
    };
    if latest.result.as_ref().map(|r| r.status) == Some(Status::Destroyed) {
        printer.success(format!(
            "{stack} / {environment} is already destroyed (release #{})",
            latest.start.number
        ));
        return Ok(ExitStatus::Success);
    }
    super::check_account(&backend, &repo, &env, &environment)?;
    let held = take(
        printer,
        &backend,
        &repo,
        &stack,
        &environment,
        "destroy",
        &args.lock,
    )?;
    let files = releases.artifacts(latest.start.number, &environment)?;
    let request = Request {
        repo_root: &repo.root,
        backend: &backend,
        pulumi,
        stack: stack.clone(),
        environment: environment.clone(),
        files,
        operation: Operation::Apply,
        variables: latest.start.variables.clone(),
        who: held.info.who.clone(),
        lock_id: held.info.lock_id.clone(),
        git_commit: crate::git::commit(&repo.root),
        approval_required: true,
        production,
        auto_approve: args.auto_approve,
        rollback_on_failure: false,
        approved: None,
        sensitive: Default::default(),
        recreate_lost_state: false,
        planned: None,
    };
    let teardown = deploy::Teardown {
        production_confirmed: args.yes_destroy_production,
    };
    let summary = deploy::destroy(request, teardown, &CliUi::new(printer));
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

    fn plan(&self, stack: &str, environment: &str, plan: &Plan) {
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
