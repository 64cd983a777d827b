//! `destroy`: everything the newest release deployed goes, after a
//! confirmation (in production, the environment's name typed, or both
//! `--auto-approve` and `--yes-destroy-production`), recorded as a release.

use super::deploy::{self, Operation, Request, Summary, Teardown};
use super::lock::under_lock;
use super::{LockWait, Scope, Target, Ui, check_account, open_backend};
use crate::backend::LockInfo;
use crate::backend::releases::{Release, Status};
use crate::error::{Error, Result};
use crate::model::stack::EnvironmentSpec;

/// How `destroy` is confirmed.
pub struct Confirmation {
    /// `--auto-approve`: nothing asked outside production.
    pub auto_approve: bool,
    /// `--yes-destroy-production`: with `auto_approve`, nothing asked in production.
    pub production_confirmed: bool,
}

/// How `destroy` ended.
pub enum Destroyed {
    /// The newest release (this number) already destroyed everything.
    Already(u32),
    Ran(Summary),
}

/// `deployer destroy`: deletes every resource of the scope's stack and
/// environment under its lock.
pub fn destroy(
    scope: Scope,
    env: EnvironmentSpec,
    confirmation: Confirmation,
    wait: &LockWait,
    ui: &dyn Ui,
) -> Result<Destroyed> {
    let pulumi = crate::engine::pulumi::find()?;
    let backend = open_backend(scope.repo, ui)?;
    let target = scope.target(&backend, pulumi, env);
    let (stack, environment) = (&target.stack, &target.environment);
    let production = target.recorded_class()?.production;
    let unconfirmed_production = production && !confirmation.production_confirmed;
    if (!confirmation.auto_approve || unconfirmed_production) && !ui.can_prompt() {
        return Err(Error::usage(
            "destroy asks before it deletes anything, and there is no terminal to ask on",
        )
        .with_help(if production {
            "pass --auto-approve --yes-destroy-production (for CI)"
        } else {
            "pass --auto-approve (for CI)"
        }));
    }
    let latest = last_release(&target)?;
    if latest.result.as_ref().map(|r| r.status) == Some(Status::Destroyed) {
        return Ok(Destroyed::Already(latest.start.number));
    }
    check_account(&backend, target.repo, &target.env, environment)?;
    under_lock(
        &backend,
        target.repo,
        (stack, environment),
        "destroy",
        wait,
        ui,
        |held| destroy_locked(&target, &latest, &confirmation, &held.info, ui),
    )
    .map(Destroyed::Ran)
}

/// What `destroy` deletes: the newest release's program (a failed one may
/// have created resources too; Pulumi destroys what its state holds).
fn last_release(target: &Target) -> Result<Release> {
    target.releases().latest()?.ok_or_else(|| {
        Error::failed(format!(
            "nothing of {} was ever deployed in {}; nothing to destroy",
            target.stack, target.environment
        ))
    })
}

/// Under the lock: destroys everything `latest` deployed, always asking (or
/// `auto_approve`), in production only with `production_confirmed`.
fn destroy_locked(
    target: &Target,
    latest: &Release,
    confirmation: &Confirmation,
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
        auto_approve: confirmation.auto_approve,
        ..target.request(files, Operation::Apply, (&lock.who, &lock.lock_id))
    };
    deploy::destroy(
        request,
        Teardown {
            production_confirmed: confirmation.production_confirmed,
        },
        ui,
    )
}
