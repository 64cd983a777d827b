//! `apply` once the command line has compiled what to deploy: what is
//! checked before the lock (Pulumi, approval possible, the account, the
//! lost-state check), and under it (the reviewed plan, the recorded
//! protection), then the deployment itself ([`super::deploy`]).

use super::deploy::{self, Operation, Request, Summary};
use super::lock::under_lock;
use super::plan_file::{self, PlanFile};
use super::{LockWait, Scope, Target, Ui, check_account, open_backend};
use crate::artifacts::Artifacts;
use crate::backend::LockInfo;
use crate::backend::protection::{self, Protection};
use crate::backend::releases::Status;
use crate::error::{Error, Result};
use crate::model::stack::EnvironmentSpec;
use std::collections::BTreeMap;

/// What `apply` deploys, and how.
pub struct Apply {
    pub files: Artifacts,
    pub variables: BTreeMap<String, String>,
    pub sensitive: BTreeMap<String, String>,
    /// `apply --plan`: the reviewed plan, which must still hold.
    pub planned: Option<PlanFile>,
    pub auto_approve: bool,
    pub rollback_on_failure: bool,
    pub accept_protection_downgrade: bool,
    pub recreate_lost_state: bool,
    /// `--override-policy NAME --reason TEXT`: policy → reason.
    pub overrides: BTreeMap<String, String>,
}

/// `deployer apply`: deploys `apply.files` (compiled for `env`) to the
/// scope's stack and environment under its lock.
pub fn apply(
    scope: Scope,
    env: EnvironmentSpec,
    apply: Apply,
    wait: &LockWait,
    ui: &dyn Ui,
) -> Result<Summary> {
    let pulumi = crate::engine::pulumi::find()?;
    Approval {
        required: env.approval_required(),
        auto_approve: apply.auto_approve,
    }
    .check_possible(ui)?;
    let policies = crate::policy::required(scope.repo)?;
    for name in apply.overrides.keys() {
        let known = policies
            .as_ref()
            .is_some_and(|p| p.rules.iter().any(|r| &r.rule.name == name));
        if !known {
            return Err(Error::usage(format!(
                "--override-policy {name}: policies.yaml has no rule of that name"
            )));
        }
    }
    let backend = open_backend(scope.repo, ui)?;
    check_account(&backend, scope.repo, &env, &scope.environment)?;
    let target = scope.target(&backend, pulumi, env);
    if !apply.recreate_lost_state {
        nothing_deployed_elsewhere(&target, ui)?;
    }
    under_lock(
        &backend,
        target.repo,
        (&target.stack, &target.environment),
        "apply",
        wait,
        ui,
        |held| apply_locked(&target, apply, policies, &held.info, ui),
    )
}

/// Whether a deployment asks for approval, and whether `--auto-approve` gave it.
pub(super) struct Approval {
    pub required: bool,
    pub auto_approve: bool,
}

impl Approval {
    /// A prompt that cannot be asked is an error naming the flag, before
    /// anything happens.
    pub(super) fn check_possible(&self, ui: &dyn Ui) -> Result<()> {
        if self.required && !self.auto_approve && !ui.can_prompt() {
            return Err(Error::usage(
                "this environment requires approval, and there is no terminal to ask on",
            )
            .with_help("pass --auto-approve (for CI) to approve"));
        }
        Ok(())
    }
}

/// Before the lock, on a first apply (no record, no Pulumi state) of an
/// environment whose cluster already runs in AWS: the back-end was lost (`git
/// clean -fdx` on the local one, another bucket) and applying would create
/// everything again. With the local back-end and no role, AWS is asked only
/// when credentials are configured here (never the instance metadata
/// service), and a failure to ask is a warning; otherwise a note says it could
/// not be checked.
fn nothing_deployed_elsewhere(target: &Target, ui: &dyn Ui) -> Result<()> {
    let (backend, stack, environment) = (target.backend, &target.stack, &target.environment);
    let shared = matches!(backend.kind, crate::backend::BackendKind::Aws(_))
        || target.env.role_arn.is_some();
    if target.releases().latest()?.is_some()
        || crate::engine::checkpoint::exists(backend, &target.repo.root, stack, environment)?
            != Some(false)
    {
        return Ok(());
    }
    if !shared && !crate::backend::aws::credentials_configured() {
        ui.note(&format!(
            "note: first apply of {stack} / {environment} here, and no AWS credentials are configured to check that it is not already deployed (from a .deployer/ since deleted, or another back-end)"
        ));
        return Ok(());
    }
    let cluster = format!("{stack}-{environment}");
    let who = backend.who(&target.repo.root);
    let arn = match crate::inspect::active_cluster(&target.env, &who, &cluster) {
        Ok(Some(arn)) => arn,
        Ok(None) => return Ok(()),
        Err(e) if !shared => {
            ui.warn(&format!(
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

/// Under the lock: checks the plan, holds the recorded protection, deploys,
/// and records the protection this apply established.
fn apply_locked(
    target: &Target,
    apply: Apply,
    policies: Option<crate::policy::Policies>,
    lock: &LockInfo,
    ui: &dyn Ui,
) -> Result<Summary> {
    if let Some(plan) = &apply.planned {
        matches_plan(target, plan, &apply.files)?;
    }
    // The protection recorded by earlier applies holds, whatever stack.yaml says now.
    let now = Protection {
        production: target.env.production,
        approval_required: target.env.approval_required(),
        protected: deploy::protected_names(&apply.files)
            .into_iter()
            .map(|(name, _)| name)
            .collect(),
    };
    let store = target.backend.store.as_ref();
    let recorded = protection::read(store, &target.stack, &target.environment)?;
    let mut honoured = now.clone();
    let mut approved = None;
    if let Some((rec, _)) = &recorded {
        honoured = protection::strongest(rec, &now);
        let lowered = protection::lowered(rec, &now);
        if !lowered.is_empty() {
            approved = Some(accept_downgrade(
                target,
                apply.accept_protection_downgrade,
                &lowered,
                ui,
            )?);
        }
    }
    let request = Request {
        variables: apply.variables,
        approval_required: honoured.approval_required,
        production: honoured.production,
        auto_approve: apply.auto_approve,
        rollback_on_failure: apply.rollback_on_failure,
        approved,
        sensitive: apply.sensitive,
        recreate_lost_state: apply.recreate_lost_state,
        planned: apply.planned,
        policies: policies.map(std::rc::Rc::new),
        overrides: apply.overrides,
        ..target.request(apply.files, Operation::Apply, (&lock.who, &lock.lock_id))
    };
    let summary = deploy::deploy(request, ui)?;
    if summary.status == Status::Succeeded
        && summary.number.is_some()
        && recorded.as_ref().is_none_or(|(r, _)| *r != now)
    {
        protection::write(
            store,
            &target.stack,
            &target.environment,
            &now,
            recorded.as_ref().map(|(_, tag)| tag.as_str()),
        )?;
    }
    Ok(summary)
}

/// Under the lock: the program compiled now and the release it lands on are
/// the ones the plan was made with.
fn matches_plan(target: &Target, plan: &PlanFile, files: &Artifacts) -> Result<()> {
    let refuse = |what: String| {
        Err(Error::failed(format!("{what}; nothing was changed"))
            .with_help("plan again and have the new plan reviewed"))
    };
    for (what, planned, now) in [
        (
            "program compiled now differs",
            &plan.program_hash,
            &files.manifest.program_hash,
        ),
        (
            "stack settings compiled now (Pulumi.<environment>.yaml: region, accounts, roles) differ",
            &plan.settings_hash,
            &files.manifest.settings_hash,
        ),
    ] {
        if planned != now {
            return refuse(format!(
                "the {what} from the reviewed plan's ({} then, {} now): a file changed since it was planned",
                plan_file::short(planned),
                plan_file::short(now)
            ));
        }
    }
    let latest = target.releases().latest()?.map(|r| r.start.number);
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

/// A stack.yaml that lowers the recorded protection: stops unless the flag
/// names the downgrade and someone accepts it on a terminal. Returns what was
/// accepted, for the release record.
fn accept_downgrade(
    target: &Target,
    flag: bool,
    lowered: &[String],
    ui: &dyn Ui,
) -> Result<String> {
    let (stack, environment) = (&target.stack, &target.environment);
    let what = lowered.join("; ");
    if !flag {
        return Err(Error::failed(format!(
            "stack.yaml lowers the protection that earlier applies of {stack} / {environment} established ({what}); nothing was changed"
        ))
        .with_help("if this is intended, apply again on a terminal with --accept-protection-downgrade and confirm; --auto-approve alone cannot lower it"));
    }
    if !ui.accept_downgrade(stack, environment, &what)? {
        return Err(Error::failed(
            "protection downgrade not accepted; nothing was changed",
        ));
    }
    Ok(format!("protection downgrade accepted: {what}"))
}
