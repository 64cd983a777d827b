//! A stack's lock as the flows take it (every flow that deploys or refreshes
//! takes it here, through [`under_lock`]), and the lock commands: `lock exec`
//! (a command of the user's under the lock), `lock status` and `unlock`.

use super::{LockWait, Scope, Ui, open_backend};
use crate::backend::lock::{self, Held, LockRequest};
use crate::backend::{Backend, LockInfo, LockRefused, lock_key, now, relative, timestamp};
use crate::error::{Context, Error, Result};
use crate::load::Repo;

/// Takes the lock of `stack / environment` for `operation`, runs `flow` while
/// it is held (given the lock's record), and releases it. When the back-end
/// cannot take it back, that is a warning, not the flow's failure: what was
/// done is done and recorded, and the lock expires by itself.
pub(super) fn under_lock<T>(
    backend: &Backend,
    repo: &Repo,
    (stack, environment): (&str, &str),
    operation: &str,
    wait: &LockWait,
    ui: &dyn Ui,
    flow: impl FnOnce(&Held) -> Result<T>,
) -> Result<T> {
    let held = take(backend, repo, (stack, environment), operation, wait, ui)?;
    let result = flow(&held);
    if let Err(e) = held.release() {
        ui.warn(&e.to_string());
    }
    result
}

fn take(
    backend: &Backend,
    repo: &Repo,
    (stack, environment): (&str, &str),
    operation: &str,
    wait: &LockWait,
    ui: &dyn Ui,
) -> Result<Held> {
    let request = LockRequest {
        key: lock_key(stack, environment),
        who: backend.who(&repo.root),
        operation: operation.to_string(),
        ttl: wait.ttl,
        timeout: wait.timeout,
    };
    ui.step(&format!("Acquiring lock of {stack} / {environment}..."));
    let held = lock::acquire(backend.lock.clone(), &request, ui.lock_events())?;
    ui.success("Lock acquired");
    Ok(held)
}

/// `lock exec`: runs `command` while holding the stack's lock (its id in
/// `DEPLOYER_LOCK_ID`), forwarding Ctrl+C; returns how the command ended.
pub fn exec(
    scope: Scope,
    command: &[String],
    wait: &LockWait,
    ui: &dyn Ui,
) -> Result<std::process::ExitStatus> {
    let backend = open_backend(scope.repo, ui)?;
    let operation = format!("lock exec {}", command.join(" "));
    under_lock(
        &backend,
        scope.repo,
        (&scope.stack, &scope.environment),
        &operation,
        wait,
        ui,
        |held| {
            let status = run_child(command, &held.info.lock_id)?;
            if held.lost() {
                return Err(Error::failed("the lock was lost while the command ran"));
            }
            Ok(status)
        },
    )
}

fn run_child(command: &[String], lock_id: &str) -> Result<std::process::ExitStatus> {
    let mut child = std::process::Command::new(&command[0])
        .args(&command[1..])
        .env("DEPLOYER_LOCK_ID", lock_id)
        .spawn()
        .context(|| format!("cannot run `{}`", command[0]))?;
    let mut forwarded = false;
    loop {
        if let Some(status) = child
            .try_wait()
            .context(|| format!("waiting for `{}` failed", command[0]))?
        {
            return Ok(status);
        }
        crate::interrupt::forward_to(&child, &mut forwarded);
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A lock someone holds, as `lock status` lists it.
pub struct HeldLock {
    pub key: String,
    pub stack: String,
    pub environment: String,
    pub info: LockInfo,
}

/// `lock status`: the locks held (of one stack, or all), and where the
/// back-end keeps them.
pub fn list(repo: &Repo, stack: Option<&str>, ui: &dyn Ui) -> Result<(Vec<HeldLock>, String)> {
    if let Some(stack) = stack {
        repo.require_stack(stack)?;
    }
    let backend = open_backend(repo, ui)?;
    let prefix = stack.map(|s| format!("stack:{s}:env:"));
    let locks = backend
        .lock
        .list()?
        .into_iter()
        .filter(|(k, _)| prefix.as_ref().is_none_or(|p| k.starts_with(p)))
        .map(|(key, info)| {
            let (stack, environment) = crate::backend::parse_lock_key(&key).unwrap_or((&key, ""));
            HeldLock {
                stack: stack.to_string(),
                environment: environment.to_string(),
                key: key.clone(),
                info,
            }
        })
        .collect();
    Ok((locks, backend.lock.describe()))
}

/// Which lock `unlock` removes, and whether to ask first.
pub enum Removal {
    /// The lock with this id, which must still be the one held.
    Id(String),
    /// A lock record nobody can read (so no id to give).
    Damaged,
}

/// Whether `unlock` asks before it removes a lock.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// On a terminal; without one it is an error naming `--yes`.
    Ask,
    /// `--yes`: answered for CI.
    Given,
}

/// How `unlock` ended.
pub enum Unlocked {
    Removed(String),
    /// What the damaged record held.
    RemovedDamaged(String),
    /// The question was asked and answered no.
    Declined,
}

/// `unlock`: removes a stale lock after showing it and asking.
pub fn unlock(scope: Scope, removal: Removal, confirm: Confirm, ui: &dyn Ui) -> Result<Unlocked> {
    let (stack, environment) = (&scope.stack, &scope.environment);
    let backend = open_backend(scope.repo, ui)?;
    let key = lock_key(stack, environment);
    let lock_id = match removal {
        Removal::Id(id) => id,
        Removal::Damaged => {
            return unlock_damaged(&backend, &key, (stack, environment), confirm, ui);
        }
    };
    let Some(holder) = backend.lock.get(&key)? else {
        return Err(Error::failed(format!(
            "{stack} / {environment} is not locked; nothing to remove"
        )));
    };
    let t = now();
    ui.step(&format!("Lock of {stack} / {environment}:"));
    ui.step(&format!(
        "  Locked by: {} (pid {} on {})",
        holder.who, holder.pid, holder.host
    ));
    ui.step(&format!("  Operation: {}", holder.operation));
    ui.step(&format!(
        "  Since: {} ({})",
        timestamp(holder.created),
        relative(holder.created, t)
    ));
    ui.step(&format!(
        "  Expires: {} ({})",
        timestamp(holder.expires),
        relative(holder.expires, t)
    ));
    ui.step(&format!("  Lock ID: {}", holder.lock_id));
    if holder.lock_id != lock_id {
        return Err(Error::failed(format!(
            "the lock's id is {}, not {}; nothing was removed",
            holder.lock_id, lock_id
        ))
        .with_help(
            "a different process holds it now; check it is really stale before removing it",
        ));
    }
    if !confirm_removal(confirm, ui)? {
        return Ok(Unlocked::Declined);
    }
    match backend.lock.release(&key, &lock_id) {
        Ok(()) => Ok(Unlocked::Removed(lock_id)),
        Err(LockRefused::NotHolder(now_holder)) => Err(Error::failed(format!(
            "the lock changed hands while removing it{}; nothing was removed",
            now_holder
                .map(|h| format!(" (now {} by {})", h.lock_id, h.who))
                .unwrap_or_default()
        ))),
        Err(LockRefused::Backend(e)) => Err(e),
    }
}

/// Asks before a lock is removed.
fn confirm_removal(confirm: Confirm, ui: &dyn Ui) -> Result<bool> {
    if confirm == Confirm::Given {
        return Ok(true);
    }
    if !ui.can_prompt() {
        return Err(Error::usage("cannot ask for confirmation: not a terminal")
            .with_help("pass --yes to remove the lock"));
    }
    ui.confirm(
        "Remove this lock? The process holding it must be gone, or two deploys will run at once",
    )
}

/// `unlock --damaged`: a lock record nobody can read is removed after
/// confirmation, and what it held is returned.
fn unlock_damaged(
    backend: &Backend,
    key: &str,
    (stack, environment): (&str, &str),
    confirm: Confirm,
    ui: &dyn Ui,
) -> Result<Unlocked> {
    match backend.lock.get(key) {
        Ok(None) => {
            return Err(Error::failed(format!(
                "{stack} / {environment} is not locked; nothing to remove"
            )));
        }
        Ok(Some(holder)) => {
            return Err(Error::failed(format!(
                "the lock of {stack} / {environment} is not damaged: it is held by {} ({}); nothing was removed",
                holder.who, holder.lock_id
            ))
            .with_help(format!(
                "if it is stale, remove it by its id: `deployer unlock --stack {stack} --environment {environment} {}`",
                holder.lock_id
            )));
        }
        Err(e) => ui.warn(&e.to_string()),
    }
    if !confirm_removal(confirm, ui)? {
        return Ok(Unlocked::Declined);
    }
    match backend.lock.remove_damaged(key)? {
        Some(held) => Ok(Unlocked::RemovedDamaged(held)),
        None => Err(Error::failed(format!(
            "the lock of {stack} / {environment} changed while removing it (it is readable now, or gone); nothing was removed"
        ))),
    }
}
