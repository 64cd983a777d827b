//! `apply`, `rollback`, `destroy` and `plan` (an apply's preview, saved) once the command line has compiled (or
//! chosen) what to deploy: what is checked before the lock (the lost-state
//! check), and under it (the reviewed plan, the recorded protection), then the
//! deployment itself ([`super::deploy`]). The caller takes and releases the
//! lock and says how it ended.

use super::deploy::{self, Operation, Request, Summary, Teardown};
use super::plan::{self, PlanFile};
use super::{Target, Ui};
use crate::artifacts::Artifacts;
use crate::backend::LockInfo;
use crate::backend::protection::{self, Protection};
use crate::backend::releases::{Release, Status};
use crate::error::{Error, Result};
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
}

/// Before the lock, on a first apply (no record, no Pulumi state) of an
/// environment whose cluster already runs in AWS: the back-end was lost (`git
/// clean -fdx` on the local one, another bucket) and applying would create
/// everything again. With the local back-end and no role, AWS is asked only
/// when credentials are configured here (never the instance metadata
/// service), and a failure to ask is a warning; otherwise a note says it could
/// not be checked.
pub fn nothing_deployed_elsewhere(target: &Target, ui: &dyn Ui) -> Result<()> {
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
pub fn apply(target: &Target, apply: Apply, lock: &LockInfo, ui: &dyn Ui) -> Result<Summary> {
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
                plan::short(planned),
                plan::short(now)
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

/// The release `rollback` re-applies: `--to N` when given (it must have
/// succeeded), else the successful release before the current one.
pub fn rollback_target(target: &Target, to: Option<u32>) -> Result<Release> {
    let (stack, environment) = (&target.stack, &target.environment);
    let history = || format!("see `deployer history --stack {stack} --environment {environment}`");
    let releases = target.releases();
    if let Some(n) = to {
        let release = releases.get(n)?.ok_or_else(|| {
            Error::usage(format!("{stack} / {environment} has no release #{n}"))
                .with_help(history())
        })?;
        if release.result.as_ref().map(|r| r.status) != Some(Status::Succeeded) {
            return Err(Error::failed(format!(
                "release #{n} did not succeed ({}); roll back only to a release that did",
                release.status()
            )));
        }
        return Ok(release);
    }
    // The newest release is what runs now (or what a failure left, kept with
    // --no-rollback): go back to the newest one that succeeded before it.
    let all = releases.list()?;
    let live = all.last().map_or(0, |r| r.start.number);
    all.into_iter()
        .rev()
        .find(|r| {
            r.start.number < live
                && r.result
                    .as_ref()
                    .is_some_and(|x| x.status == Status::Succeeded)
        })
        .ok_or_else(|| {
            Error::failed(format!(
                "{stack} / {environment} has no earlier successful release to roll back to"
            ))
            .with_help(format!("{}; `--to N` picks one", history()))
        })
}

/// Under the lock: deploys `release`'s program again, with its variables, as
/// guarded as the environment has ever been.
pub fn rollback(
    target: &Target,
    release: &Release,
    auto_approve: bool,
    lock: &LockInfo,
    ui: &dyn Ui,
) -> Result<Summary> {
    let n = release.start.number;
    let honoured = target.recorded_class()?;
    let request = Request {
        variables: release.start.variables.clone(),
        git_commit: release.start.git_commit.clone(),
        approval_required: honoured.approval_required,
        production: honoured.production,
        auto_approve,
        ..target.request(
            target.releases().artifacts(n, &target.environment)?,
            Operation::Rollback { source: n },
            (&lock.who, &lock.lock_id),
        )
    };
    deploy::deploy(request, ui)
}

/// What `destroy` deletes: the newest release's program (a failed one may
/// have created resources too; Pulumi destroys what its state holds).
pub fn last_release(target: &Target) -> Result<Release> {
    target.releases().latest()?.ok_or_else(|| {
        Error::failed(format!(
            "nothing of {} was ever deployed in {}; nothing to destroy",
            target.stack, target.environment
        ))
    })
}

/// Under the lock: destroys everything `latest` deployed, always asking (or
/// `auto_approve`), in production only with `production_confirmed`.
pub fn destroy(
    target: &Target,
    latest: &Release,
    auto_approve: bool,
    production_confirmed: bool,
    lock: &LockInfo,
    ui: &dyn Ui,
) -> Result<Summary> {
    let files = target
        .releases()
        .artifacts(latest.start.number, &target.environment)?;
    let request = Request {
        variables: latest.start.variables.clone(),
        approval_required: true,
        production: target.recorded_class()?.production,
        auto_approve,
        ..target.request(files, Operation::Apply, (&lock.who, &lock.lock_id))
    };
    deploy::destroy(
        request,
        Teardown {
            production_confirmed,
        },
        ui,
    )
}

/// `plan`: previews `files` against what is deployed, taking no deployer lock
/// and changing nothing in AWS (Pulumi's stack is created, as an apply would),
/// in a workspace of its own, keeping none of the sensitive values it is given,
/// and returns the plan to save with the preview it fixes.
pub fn plan(
    target: &Target,
    files: Artifacts,
    variables: &BTreeMap<String, String>,
    sensitive: &BTreeMap<String, String>,
) -> Result<(PlanFile, crate::engine::changes::PlannedChanges)> {
    let base_release = target.releases().latest()?.map(|r| r.start.number);
    let who = target.backend.who(&target.repo.root);
    let request = Request {
        variables: variables.clone(),
        sensitive: sensitive.clone(),
        ..target.request(files, Operation::Plan, (&who, ""))
    };
    let preview = deploy::preview(&request)?;
    let plan = PlanFile::new(
        &request.files,
        &target.stack,
        &target.environment,
        variables,
        request.git_commit.clone(),
        base_release,
        &who,
        &preview,
    );
    Ok((plan, preview))
}
