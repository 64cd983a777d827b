//! Deploying a program: preview, approval, `pulumi up` with progress, release
//! records, and automatic rollback to the last good release when it fails.
//! Shared by `apply` and `rollback`; the caller holds the stack's lock.
//!
//! Talks to the user only through [`Ui`], which the command line implements.

use super::Ui;

use crate::artifacts::Artifacts;
use crate::backend::Backend;
use crate::backend::releases::{ReleaseResult, ReleaseStart, Releases, Status};
use crate::engine::changes::{PlannedChanges, planned_changes};
use crate::engine::progress::{Tracker, Update};
use crate::engine::pulumi::Pulumi;
use crate::engine::{Engine, KeepSecrets, Outcome, Setup, Workspace};
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

pub enum Operation {
    Apply,
    /// Applying the program of an earlier release again.
    Rollback {
        source: u32,
    },
    /// A preview saved for review, under no lock: it deploys nothing and
    /// keeps nothing it was given.
    Plan,
}

/// Everything a deployment needs.
pub struct Request<'a> {
    pub repo_root: &'a Path,
    pub backend: &'a Backend,
    pub pulumi: Pulumi,
    pub stack: String,
    pub environment: String,
    pub files: Artifacts,
    pub operation: Operation,
    pub variables: BTreeMap<String, String>,
    pub who: String,
    pub lock_id: String,
    pub git_commit: Option<String>,
    pub approval_required: bool,
    pub production: bool,
    /// The environment as stack.yaml declares it (region, role): where AWS is
    /// asked about what a killed run may have created.
    pub env: crate::model::stack::EnvironmentSpec,
    pub auto_approve: bool,
    /// Re-apply the last good release when this one fails.
    pub rollback_on_failure: bool,
    /// Approval already given, with what was approved (a protection downgrade
    /// accepted on a terminal): recorded instead of asking again.
    pub approved: Option<String>,
    /// Values of sensitive variables, set encrypted in the Pulumi stack (empty
    /// for a rollback or destroy: the values stored by the last apply serve).
    pub sensitive: BTreeMap<String, String>,
    /// Go ahead although Pulumi's state is lost while records say resources exist.
    pub recreate_lost_state: bool,
    /// `apply --plan`: the reviewed plan; the preview must match it.
    pub planned: Option<super::plan_file::PlanFile>,
    /// Follow the deployments ECS runs after `pulumi up` to their end
    /// (`ops::rollouts`), which needs AWS.
    pub follow_rollouts: bool,
    /// The repository's policies (`policies.yaml`), asked after the preview.
    pub policies: Option<std::rc::Rc<crate::policy::Policies>>,
    /// `--override-policy NAME --reason TEXT`: denying rules let through, on
    /// a terminal only, and recorded with the approval.
    pub overrides: BTreeMap<String, String>,
}

/// One run of `pulumi up`, as it is recorded.
struct Run {
    status: Status,
    seconds: i64,
    error: Option<String>,
    components: BTreeMap<String, crate::backend::releases::ComponentResult>,
    changes: BTreeMap<String, u32>,
}

/// How it ended.
#[derive(Debug)]
pub struct Summary {
    /// `None` when nothing changed and no release was recorded.
    pub number: Option<u32>,
    pub status: Status,
    pub seconds: i64,
    pub error: Option<String>,
    /// The rollback after a failure: its number and how it ended.
    pub rollback: Option<(u32, Status, i64)>,
    /// ECS rolled a service back itself: the previous revision runs, and
    /// deployer did not roll back on top of it.
    pub rolled_back_by_ecs: bool,
    pub first_deployment: bool,
}

pub fn deploy(request: Request, ui: &dyn Ui) -> Result<Summary> {
    let releases = Releases::new(
        request.backend.store.as_ref(),
        &request.stack,
        &request.environment,
    );
    state_not_lost(&request, &releases)?;
    let interrupted = unfinished(&releases)?;
    let engine = prepare(&request, &request.files, Reads::Program)?;
    if !interrupted.is_empty() {
        recover(&request, &engine, &releases, &interrupted, ui)?;
    }
    ui.step("Previewing changes...");
    // Resources leaving the program are attributed from the last release's map.
    let owner = owners_with_previous(&releases, &request.files)?;
    let plan = planned_changes(&engine.preview()?, &owner);
    adoption_replaces_nothing(&request, &plan)?;
    if crate::interrupt::interrupted() {
        return Err(Error::failed(
            "interrupted before deploying; nothing was changed",
        ));
    }
    if let Some(planned) = &request.planned {
        let differences = super::plan_file::differences(
            &planned.components,
            &super::plan_file::operations(&plan),
        );
        if !differences.is_empty() {
            return Err(Error::failed(format!(
                "the preview no longer matches the reviewed plan, so nothing was changed:\n  {}",
                differences.join("\n  ")
            ))
            .with_help("plan again and have the new plan reviewed"));
        }
    }
    ui.plan(&request.stack, &request.environment, &plan);
    let mut cost = None;
    if !plan.is_empty() {
        match cost_change(
            &releases,
            &request.files,
            &request.env,
            &request.environment,
        ) {
            Ok(change) => {
                ui.cost(&change);
                cost = Some(change);
            }
            Err(e) => ui.warn(&format!("cannot estimate what this changes in cost: {e}")),
        }
    }
    let impacts = super::impact::impacts(&plan);
    ui.impacts(&impacts);
    let verdict = judge(&request, &plan, &impacts, cost.as_ref(), ui)?;
    if plan.is_empty() {
        return Ok(Summary {
            number: None,
            status: Status::Succeeded,
            seconds: 0,
            error: None,
            rollback: None,
            rolled_back_by_ecs: false,
            first_deployment: false,
        });
    }
    // Data that would be lost is said above everything else, and needs approval
    // in every environment (`--auto-approve` counts as one).
    let data_loss = plan.data_loss();
    for (component, resource, change) in &data_loss {
        ui.warn(&format!(
            "{resource} of {component} holds data and will be {}: what it holds is lost",
            if *change == crate::engine::changes::Change::Delete {
                "deleted"
            } else {
                "replaced"
            }
        ));
    }
    let approved_by = if let Some(note) = &request.approved {
        Some(format!("{} ({note})", request.who))
    } else if let (Some(planned), true) = (&request.planned, request.auto_approve) {
        // The plan file says who planned it, and nothing proves it: it is
        // recorded as the plan's claim, beside who applied it (with the AWS
        // identity the record keeps on the shared back-end).
        Some(format!(
            "{} (reviewed plan, planned by {} as the plan file claims; applied with --auto-approve)",
            request.who, planned.planned_by
        ))
    } else if request.approval_required || !data_loss.is_empty() || verdict.needs_approval {
        if request.auto_approve {
            Some(format!("{} (--auto-approve)", request.who))
        } else {
            if !ui.approve(&request.stack, &request.environment, request.production)? {
                return Err(Error::failed(
                    "deployment not approved; nothing was changed",
                ));
            }
            Some(request.who.clone())
        }
    } else {
        None
    };
    // What the policies asked of this approval is recorded with it.
    let mut approved_by = approved_by;
    if let (Some(who), false) = (&mut approved_by, verdict.approval_by.is_empty()) {
        who.push_str(&format!(
            "; approval required by policy {}",
            verdict.approval_by.join(", ")
        ));
    }
    if !verdict.overridden.is_empty() {
        approved_by = Some(format!(
            "{}; overrode {}",
            approved_by.unwrap_or_else(|| request.who.clone()),
            verdict.overridden.join("; ")
        ));
    }
    let source = match request.operation {
        Operation::Apply | Operation::Plan => None,
        Operation::Rollback { source } => Some(source),
    };
    let live_before = releases.last_success()?.map(|r| r.start.number);
    engine.verify_program(&request.files.manifest.program_hash)?;
    let began = crate::backend::now();
    let number = releases.begin(start_record(&request, approved_by, source), &request.files)?;
    let mut run = run_engine(&engine, owner, plan, ui, PulumiRun::Up)?;
    let outputs = outputs(&run, &engine)?;
    let rolled_back_by_ecs = run.status == Status::Succeeded
        && request.follow_rollouts
        && follow_rollouts(&request, &mut run, &outputs, began, live_before, ui);
    let mut summary = Summary {
        number: Some(number),
        status: run.status,
        seconds: run.seconds,
        error: run.error.clone(),
        rollback: None,
        rolled_back_by_ecs,
        first_deployment: live_before.is_none(),
    };
    if run.status == Status::Failed
        && request.rollback_on_failure
        && source.is_none()
        && !rolled_back_by_ecs
    {
        summary.rollback = roll_back_after_failure(&request, &releases, number, run, ui)?;
    } else {
        let status = run.status;
        finish(&releases, number, &run, None, outputs)
            .map_err(|e| unrecorded(e, number, status))?;
    }
    Ok(summary)
}

/// After a `pulumi up` that succeeded: follows the deployments ECS runs for
/// the container services the release changed (`ops::rollouts`). One that ECS
/// rolled back makes the release failed, with ECS's reason — deployer does
/// not roll back on top, since ECS already runs the previous revision; Ctrl+C
/// while one runs makes it cancelled, and ECS carries on. Returns whether ECS
/// rolled one back.
fn follow_rollouts(
    request: &Request,
    run: &mut Run,
    outputs: &BTreeMap<String, serde_json::Value>,
    began: i64,
    live_before: Option<u32>,
    ui: &dyn Ui,
) -> bool {
    let components: Vec<String> = run
        .components
        .iter()
        .filter(|(_, result)| !matches!(result.operation.as_str(), "same" | "delete"))
        .map(|(component, _)| component.clone())
        .filter(|component| {
            request
                .files
                .manifest
                .components
                .get(component)
                .and_then(|entry| crate::kinds::Kind::from_name(&entry.kind))
                .is_some_and(crate::kinds::Kind::runs_containers)
        })
        .collect();
    if components.is_empty() {
        return false;
    }
    let cloud = match crate::inspect::Cloud::connect(&request.env, &request.who) {
        Ok(cloud) => cloud,
        Err(e) => {
            ui.warn(&format!(
                "cannot ask ECS how the services rolled out ({e}); `deployer status` shows it"
            ));
            return false;
        }
    };
    // A minute of leeway for a clock behind AWS's; the last release's
    // deployments were created before its lock was released, and this one's
    // preview ran after.
    let rollouts = super::rollouts::follow(&cloud, outputs, &components, began - 60, ui);
    if !rollouts.rolled_back.is_empty() {
        let what: Vec<String> = rollouts
            .rolled_back
            .iter()
            .map(|(component, d)| {
                format!("ECS rolled back {component} ({}): {}", d.shape(), d.why())
            })
            .collect();
        let live = match live_before {
            Some(n) => format!("the service runs the revision of release #{n} again"),
            None => "the service runs no earlier revision".to_string(),
        };
        run.status = Status::Failed;
        run.error = Some(format!("{}; {live}", what.join("; ")));
        return true;
    }
    if !rollouts.left_to_ecs.is_empty() {
        run.status = Status::Cancelled;
        run.error = Some(format!(
            "interrupted while ECS rolled out {}; ECS finishes or rolls back on its own: `deployer status` shows how it ended",
            rollouts.left_to_ecs.join(", ")
        ));
    }
    false
}

/// What the policies said of a plan that may go ahead.
pub struct Verdict {
    /// A `require-approval` rule matched (or a denying one was overridden):
    /// ask even where the environment needs no approval.
    pub needs_approval: bool,
    /// `policy NAME (reason)` of each denying rule overridden.
    pub overridden: Vec<String>,
    /// The `require-approval` rules that matched.
    pub approval_by: Vec<String>,
    pub results: Vec<crate::policy::RuleResult>,
}

/// Asks the policies about a preview: a matched `deny` stops here, before
/// anything changes, unless overridden on a terminal (`--override-policy`,
/// never `--auto-approve`); `warn` is said; `require-approval` asks.
pub fn judge(
    request: &Request,
    plan: &PlannedChanges,
    impacts: &[super::impact::Impact],
    cost: Option<&crate::cost::CostChange>,
    ui: &dyn Ui,
) -> Result<Verdict> {
    use crate::model::policy::Effect;
    let mut verdict = Verdict {
        needs_approval: false,
        overridden: Vec::new(),
        approval_by: Vec::new(),
        results: Vec::new(),
    };
    let Some(policies) = &request.policies else {
        return Ok(verdict);
    };
    verdict.results = policies
        .evaluate(&plan_model(request, plan, impacts, cost))
        .map_err(|e| Error::failed(format!("{e}; nothing was changed")))?;
    for result in verdict.results.iter().filter(|r| r.matched) {
        match (result.effect, request.overrides.get(&result.name)) {
            (Effect::Warn, _) => ui.warn(&format!("policy {}", result.describe())),
            (Effect::RequireApproval, _) => {
                ui.warn(&format!("policy {} requires approval", result.describe()));
                verdict.needs_approval = true;
                verdict.approval_by.push(result.name.clone());
            }
            (Effect::Deny, Some(reason)) if ui.can_prompt() => {
                ui.warn(&format!(
                    "policy {} denies this change; overridden: {reason}",
                    result.describe()
                ));
                verdict
                    .overridden
                    .push(format!("policy {} ({reason})", result.name));
                verdict.needs_approval = true;
            }
            (Effect::Deny, Some(_)) => {
                return Err(Error::usage(format!(
                    "policy `{}` can be overridden on a terminal only; nothing was changed",
                    result.name
                )));
            }
            (Effect::Deny, None) => {
                return Err(Error::failed(format!(
                    "denied by policy {}; nothing was changed",
                    result.describe()
                ))
                .with_help(format!(
                    "change what is planned, or override on a terminal with `--override-policy {} --reason TEXT` (recorded in the release)",
                    result.name
                )));
            }
        }
    }
    Ok(verdict)
}

/// What a rule sees of a preview (`policy::PlanModel`).
fn plan_model(
    request: &Request,
    plan: &PlannedChanges,
    impacts: &[super::impact::Impact],
    cost: Option<&crate::cost::CostChange>,
) -> crate::policy::PlanModel {
    use crate::engine::changes::Change;
    use crate::policy::{
        ChangeFacts, EnvironmentFacts, PlanFacts, PlanModel, ResourceFacts, StackFacts,
    };
    let mut facts = PlanFacts::default();
    let mut changes = Vec::new();
    for (component, resources) in &plan.components {
        for change in resources.values() {
            match change {
                Change::Import => facts.imports += 1,
                Change::Create => facts.creates += 1,
                Change::Update => facts.updates += 1,
                Change::Replace => facts.replaces += 1,
                Change::Delete => facts.deletes += 1,
            }
        }
        let Some(strongest) = resources.values().copied().max() else {
            continue;
        };
        let kind = request
            .files
            .manifest
            .components
            .get(component)
            .map_or("stack", |entry| entry.kind.as_str());
        let impact = impacts
            .iter()
            .find(|i| &i.component == component)
            .map_or(super::impact::Severity::None, |i| i.severity);
        changes.push(ChangeFacts {
            component: component.clone(),
            kind: kind.to_string(),
            op: strongest.name().to_string(),
            impact: serde_json::to_value(impact)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            resources: resources
                .iter()
                .map(|(name, change)| ResourceFacts {
                    name: name.clone(),
                    op: change.name().to_string(),
                })
                .collect(),
            monthly_cost_delta: cost
                .and_then(|c| c.components.get(component))
                .map_or(0.0, |m| m.high),
        });
    }
    if let Some(cost) = cost {
        facts.monthly_cost_delta = cost.delta.high;
        facts.monthly_cost_before = cost.before.high;
        facts.monthly_cost_after = cost.after.high;
    }
    PlanModel {
        plan: facts,
        stack: StackFacts {
            name: request.stack.clone(),
        },
        environment: EnvironmentFacts {
            name: request.environment.clone(),
            production: request.production,
            approval_required: request.approval_required,
            account: request.env.account.clone(),
            region: request.env.region.clone(),
        },
        changes,
    }
}

/// What deploying `files` does to the estimated monthly cost, against the
/// program of the last successful release (nothing before a first one).
pub fn cost_change(
    releases: &Releases,
    files: &Artifacts,
    env: &crate::model::stack::EnvironmentSpec,
    environment: &str,
) -> Result<crate::cost::CostChange> {
    let prices = crate::cost::Prices::load()?;
    let before = match releases.last_success()? {
        Some(release) => Some(crate::cost::estimate(
            &releases.artifacts(release.start.number, environment)?,
            &env.region,
            &prices,
        )),
        None => None,
    };
    let after = crate::cost::estimate(files, &env.region, &prices);
    Ok(crate::cost::change(before.as_ref(), &after))
}

/// `deployer plan`: the preview of a request, changing nothing but Pulumi's
/// stack config (the stack is created and sensitive values set, as an apply
/// would), and no deployer lock taken.
pub fn preview(request: &Request) -> Result<PlannedChanges> {
    let releases = Releases::new(
        request.backend.store.as_ref(),
        &request.stack,
        &request.environment,
    );
    state_not_lost(request, &releases)?;
    let engine = prepare(request, &request.files, Reads::Program)?;
    let owner = owners_with_previous(&releases, &request.files)?;
    let plan = planned_changes(&engine.preview()?, &owner);
    adoption_replaces_nothing(request, &plan)?;
    Ok(plan)
}

/// An adopted resource is taken over as it is, never replaced or deleted
/// by its import — a data store least of all: when the live resource
/// differs from the program in an input that forces a new one, the plan
/// stops before anything changes and names the inputs. (Pulumi itself only
/// warns in a preview and fails in `up`: "previously-imported resources
/// that still specify an ID may not be replaced",
/// pkg/resource/deploy/step_generator.go.)
fn adoption_replaces_nothing(request: &Request, plan: &PlannedChanges) -> Result<()> {
    let replaced = plan.adoption_replacements();
    let Some(first) = replaced.first() else {
        return Ok(());
    };
    let others = if replaced.len() > 1 {
        format!(
            " (and {} more: {})",
            replaced.len() - 1,
            replaced[1..]
                .iter()
                .map(|r| format!("{} of {}", r.resource, r.component))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        String::new()
    };
    let differing = if first.differing.is_empty() {
        "an input that forces a new one".to_string()
    } else {
        first.differing.join(", ")
    };
    let what = if first.holds_data {
        "holds data, and"
    } else {
        "is running, and"
    };
    Err(Error::failed(format!(
        "{} of {} {what} {} adopts it as it is: the live resource differs from the program in {differing}, which would replace it; nothing was changed{others}",
        first.resource, first.component, request.environment,
    ))
    .with_help(format!(
        "make {}'s files say what runs (the values on the left), or remove `{}` from `adopt:` of {} in stack.yaml to leave the live one alone",
        first.component, first.resource, request.environment
    )))
}

/// Pulumi finished, but the back-end could not take the outcome (an outage
/// outlasting the retries): what happened in AWS, and what happens next.
fn unrecorded(error: Error, number: u32, status: Status) -> Error {
    Error::failed(format!(
        "release #{number} {} in AWS, but its outcome could not be recorded: {error}",
        match status {
            Status::Succeeded => "was deployed",
            Status::Failed => "failed",
            _ => "stopped",
        }
    ))
    .with_help("release #{number} stays in progress until the next `deployer apply`, which refreshes Pulumi's state from AWS and marks it interrupted, with no manual step (the lock expires by itself if it could not be released either)".replace("{number}", &number.to_string()))
}

/// What a failed release leaves: record it, then apply the last good program.
fn roll_back_after_failure(
    request: &Request,
    releases: &Releases,
    failed: u32,
    run: Run,
    ui: &dyn Ui,
) -> Result<Option<(u32, Status, i64)>> {
    let Some(good) = releases.last_success()? else {
        ui.warn(&format!(
            "This was the first deployment of {} / {}: there is no earlier release to roll back to. What was created stays; fix the problem and apply again.",
            request.stack, request.environment
        ));
        finish(releases, failed, &run, None, BTreeMap::new())?;
        return Ok(None);
    };
    let good_number = good.start.number;
    let files = releases.artifacts(good_number, &request.environment)?;
    let mut start = start_record(
        request,
        Some(format!("{} (automatic rollback)", request.who)),
        Some(good_number),
    );
    start.variables = good.start.variables.clone();
    start.git_commit = good.start.git_commit.clone();
    start.program_hash = files.manifest.program_hash.clone();
    // The rollback's number goes into the failed release's record, so claim it first.
    let rollback = releases.begin(start, &files)?;
    finish(releases, failed, &run, Some(rollback), BTreeMap::new())?;
    ui.step(&format!("Rolling back to release #{good_number}..."));
    let engine = prepare(request, &files, Reads::Program)?;
    let owner = owners_with_previous(releases, &files)?;
    let plan = planned_changes(&engine.preview()?, &owner);
    engine.verify_program(&files.manifest.program_hash)?;
    let rolled = run_engine(&engine, owner, plan, ui, PulumiRun::Up)?;
    finish(
        releases,
        rollback,
        &rolled,
        None,
        outputs(&rolled, &engine)?,
    )?;
    Ok(Some((rollback, rolled.status, rolled.seconds)))
}

/// Release records say what was deployed, but Pulumi's checkpoint is gone (a
/// deleted `.deployer/pulumi`, a cleaned bucket prefix): Pulumi would plan to
/// create every resource again beside the existing ones. Stops before
/// anything changes, before `stack select --create` makes a new empty one.
fn state_not_lost(request: &Request, releases: &Releases) -> Result<()> {
    if request.recreate_lost_state {
        return Ok(());
    }
    let Some(latest) = releases.latest()? else {
        return Ok(());
    };
    let (stack, environment) = (&request.stack, &request.environment);
    let found =
        crate::engine::checkpoint::exists(request.backend, request.repo_root, stack, environment)?;
    if found != Some(false) {
        return Ok(());
    }
    let restore = match &request.backend.kind {
        crate::backend::BackendKind::Local(_) => format!(
            "restore {} from a backup: the local back-end keeps Pulumi's state only there",
            crate::engine::local_state_root(request.repo_root).display()
        ),
        crate::backend::BackendKind::Aws(s) => format!(
            "restore s3://{}/{}/.pulumi/stacks/{stack}/{environment}.json from the bucket's object versions",
            s.bucket,
            crate::engine::S3_PREFIX
        ),
    };
    Err(Error::failed(format!(
        "Pulumi's state of {stack} / {environment} is missing, yet release #{} records what was deployed there: Pulumi would not know the existing resources (an apply would create them all again beside them, a destroy would remove nothing), so nothing was changed",
        latest.start.number
    ))
    .with_help(format!(
        "{restore}; if the resources are really gone, apply with --recreate-lost-state"
    )))
}

/// What a Pulumi command reads of the workspace.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reads {
    /// preview, up: the program runs, and needs every sensitive variable it reads.
    Program,
    /// destroy, refresh: only the state (and, before Pulumi 3.249, the
    /// stack's config, checked as `up` checks it).
    State,
}

/// A workspace ready for Pulumi, with the provider the program pins installed
/// and, wherever Pulumi would check them, every sensitive value the program
/// declares there — or deployer's own message naming what is missing, before
/// Pulumi's "validating stack config".
fn prepare(request: &Request, files: &Artifacts, reads: Reads) -> Result<Engine> {
    // A plan takes no lock: it runs in a folder of its own, and the values
    // it is given are not kept (only a deploy stores what it deployed).
    let (workspace, keep) = match request.operation {
        Operation::Plan => (Workspace::Scratch, KeepSecrets::ThisRunOnly),
        _ => (Workspace::Locked, KeepSecrets::ForLaterRuns),
    };
    let engine = Engine::prepare(Setup {
        pulumi: request.pulumi.clone(),
        backend: request.backend,
        repo_root: request.repo_root,
        stack: &request.stack,
        environment: &request.environment,
        program: &files.program,
        settings: &files.settings,
        who: &request.who,
        workspace,
    })?;
    engine.install_provider(files.manifest.pinned_provider())?;
    engine.select_stack()?;
    engine.set_secret_config(&request.sensitive, keep)?;
    if reads == Reads::Program || request.pulumi.refresh_validates_config() {
        engine.check_secret_config(&files.program)?;
    }
    Ok(engine)
}

/// How long recovery waits for a `pulumi` that a killed deployer left running on
/// this machine to stop (`DEPLOYER_PULUMI_STOP_WAIT`, seconds; default 10 minutes).
fn stop_wait() -> std::time::Duration {
    std::time::Duration::from_secs(
        std::env::var("DEPLOYER_PULUMI_STOP_WAIT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(600),
    )
}

/// Before Pulumi's lock is removed, its owner must be gone: `pulumi cancel`
/// deletes the lock files without looking. A `pulumi` still running here (its
/// deployer was killed) is asked to stop as Ctrl+C would, and waited for.
fn wait_for_orphans(engine: &Engine, ui: &dyn Ui) -> Result<()> {
    let Some(locks) = engine.pulumi_locks()? else {
        return Ok(());
    };
    for lock in locks.iter().filter(|l| l.running_here()) {
        ui.warn(&format!(
            "Pulumi (pid {}) from the interrupted release still runs on this machine; asking it to stop and waiting for it to save its state...",
            lock.pid
        ));
        unsafe { libc::kill(lock.pid as i32, libc::SIGINT) };
        let deadline = Instant::now() + stop_wait();
        while lock.running_here() {
            if Instant::now() >= deadline || crate::interrupt::interrupted() {
                return Err(Error::failed(format!(
                    "Pulumi (pid {}, started {}) from the interrupted release is still running; nothing was changed",
                    lock.pid, lock.timestamp
                ))
                .with_help(format!(
                    "wait for it to finish (or stop it: `kill -INT {}`), then apply again",
                    lock.pid
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
    for lock in locks.iter().filter(|l| !l.running_here()) {
        ui.warn(&format!(
            "Removing Pulumi's lock left by {}@{} (pid {}, {}): its deployer's lock expired, so it is no longer deploying",
            lock.username, lock.hostname, lock.pid, lock.timestamp
        ));
    }
    Ok(())
}

/// A release whose process died: record that, clear Pulumi's stale lock (safe:
/// deployer's lock proves nobody else runs), and settle operations Pulumi left
/// pending by refreshing the state from AWS.
/// The newest releases that have no outcome, newest first: the latest when a
/// process stopped during it, and also the failed release before it when the
/// process stopped during that one's automatic rollback (which claims its
/// number before recording the failure).
fn unfinished(releases: &Releases) -> Result<Vec<u32>> {
    let mut numbers = Vec::new();
    let mut next = releases.latest()?;
    while let Some(release) = next.filter(|r| r.result.is_none()) {
        let number = release.start.number;
        numbers.push(number);
        next = match number.checked_sub(1) {
            Some(earlier) if earlier > 0 => releases.get(earlier)?,
            _ => None,
        };
    }
    Ok(numbers)
}

fn recover(
    request: &Request,
    engine: &Engine,
    releases: &Releases,
    unfinished: &[u32],
    ui: &dyn Ui,
) -> Result<()> {
    let number = unfinished[0];
    ui.warn(&format!("Release #{number} was interrupted: its process stopped before it finished. Recovering before deploying."));
    let manual = |why: Error| {
        let dir = engine.dir.display().to_string();
        why.with_help(format!(
            "apply again to retry; or by hand: in {dir}, with PULUMI_BACKEND_URL as deployer sets it, run `pulumi cancel --yes --stack {env}` then `pulumi refresh --yes --skip-preview --clear-pending-creates --stack {env}`",
            env = engine.environment
        ))
    };
    // The release is marked only once Pulumi's state is settled: if anything
    // below fails (or deployer is killed again), the next apply recovers again.
    wait_for_orphans(engine, ui)?;
    ui.step("Clearing Pulumi's stale lock...");
    engine.cancel_stale_lock().map_err(manual)?;
    let adopted = settle_pending_creates(request, engine, ui)?;
    ui.step("Refreshing the state from AWS and clearing pending operations...");
    crate::failpoint::point("recovery.refresh");
    let (outcome, finished) = engine.refresh_settling_pending(&adopted)?;
    if outcome != Outcome::Succeeded {
        return Err(manual(Error::failed(format!(
            "refreshing the state failed (exit {}):\n{}\n  Pulumi's whole output is in {}",
            finished.code,
            finished.tail(12),
            finished.log.display()
        ))));
    }
    for &number in unfinished {
        releases.finish(&ReleaseResult {
            number,
            status: Status::Interrupted,
            finished: crate::backend::now(),
            duration_ms: 0,
            outputs: BTreeMap::new(),
            components: BTreeMap::new(),
            changes: BTreeMap::new(),
            error: Some("the deployer process stopped before the release finished".into()),
            rolled_back_by: None,
        })?;
    }
    Ok(())
}

/// Pulumi's warning before it drops a pending create is that the cloud may
/// have finished it (`deployment_executor.go`): each one is looked up in AWS
/// by the name it was given, and adopted when it exists (its URN and id, for
/// `--import-pending-creates`); what cannot be looked up is named, so nothing
/// is orphaned silently.
fn settle_pending_creates(
    request: &Request,
    engine: &Engine,
    ui: &dyn Ui,
) -> Result<Vec<(String, String)>> {
    let pending = engine.pending_creates()?;
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let asked = matches!(request.backend.kind, crate::backend::BackendKind::Aws(_))
        || request.env.role_arn.is_some()
        || crate::backend::aws::credentials_configured();
    let cloud = if asked {
        match crate::inspect::Cloud::connect(&request.env, &request.who) {
            Ok(cloud) => Some(cloud),
            Err(e) => {
                ui.warn(&format!(
                    "cannot ask AWS about what the interrupted run was creating: {e}"
                ));
                None
            }
        }
    } else {
        None
    };
    let mut adopted = Vec::new();
    for create in &pending {
        let found = match &cloud {
            Some(cloud) => crate::inspect::lookup::find(cloud, &create.kind, &create.inputs)
                .unwrap_or_else(|e| {
                    ui.warn(&e.to_string());
                    crate::inspect::lookup::Found::CannotTell
                }),
            None => crate::inspect::lookup::Found::CannotTell,
        };
        let what = format!("{} ({})", create.name(), create.kind);
        match found {
            crate::inspect::lookup::Found::Exists(id) => {
                ui.note(&format!(
                    "{what} was being created when the run stopped, and AWS finished it: adopted into Pulumi's state as {id}"
                ));
                adopted.push((create.urn.clone(), id));
            }
            crate::inspect::lookup::Found::Absent => ui.note(&format!(
                "{what} was being created when the run stopped, and AWS does not have it: it will be created"
            )),
            crate::inspect::lookup::Found::CannotTell => ui.warn(&format!(
                "{what} was being created when the run stopped, and deployer cannot tell whether AWS finished it: if it exists, it is no longer managed and a new one will be created beside it; find it by its tags (deployer:stack {}, deployer:environment {}) and delete it",
                request.stack, request.environment
            )),
        }
    }
    Ok(adopted)
}

fn start_record(
    request: &Request,
    approved_by: Option<String>,
    source: Option<u32>,
) -> ReleaseStart {
    ReleaseStart {
        number: 0,
        operation: if source.is_some() {
            "rollback".into()
        } else {
            "apply".into()
        },
        stack: request.stack.clone(),
        environment: request.environment.clone(),
        who: request.who.clone(),
        host: gethostname::gethostname().to_string_lossy().into_owned(),
        started: crate::backend::now(),
        variables: request.variables.clone(),
        git_commit: request.git_commit.clone(),
        program_hash: request.files.manifest.program_hash.clone(),
        deployer_version: crate::artifacts::VERSION.into(),
        aws_identity: request
            .backend
            .clients
            .as_ref()
            .and_then(crate::backend::aws::Clients::caller_arn),
        provider_version: Some(request.files.manifest.provider_version.clone())
            .filter(|v| !v.is_empty()),
        lock_id: request.lock_id.clone(),
        approved_by,
        source_release: source,
        plan_hash: request
            .planned
            .as_ref()
            .map(super::plan_file::PlanFile::hash),
        planned_by: request.planned.as_ref().map(|p| p.planned_by.clone()),
        // Filled in by `Releases::begin`, from the files it stores.
        files: BTreeMap::new(),
    }
}

/// The Pulumi command that changes AWS.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PulumiRun {
    Up,
    Destroy,
}

/// Runs `pulumi up` (or `pulumi destroy`) with progress; returns how it ended.
fn run_engine(
    engine: &Engine,
    owner: BTreeMap<String, String>,
    plan: PlannedChanges,
    ui: &dyn Ui,
    command: PulumiRun,
) -> Result<Run> {
    let started = Instant::now();
    let mut tracker = Tracker::new(owner, plan);
    let on_event = |event: &crate::engine::events::EngineEvent| {
        crate::failpoint::point("engine.event");
        for update in tracker.handle(event) {
            ui.progress(&update);
        }
    };
    let (outcome, finished) = match command {
        PulumiRun::Destroy => engine.destroy(on_event)?,
        PulumiRun::Up => engine.up(on_event)?,
    };
    crate::failpoint::point("engine.finished");
    for component in tracker.unfinished() {
        ui.progress(&Update::Finished {
            component,
            change: crate::engine::changes::Change::Update,
            seconds: 0,
            failed: true,
        });
    }
    // The engine's own clock when it reported one, else ours.
    let seconds = if tracker.first.is_some() {
        tracker.seconds()
    } else {
        started.elapsed().as_secs() as i64
    };
    let (status, error) = match &outcome {
        Outcome::Succeeded => (Status::Succeeded, None),
        Outcome::Cancelled => (Status::Cancelled, Some("cancelled".to_string())),
        Outcome::Failed(code) => {
            let mut message = tracker
                .failed
                .iter()
                .map(|(r, m)| format!("{r}: {m}"))
                .collect::<Vec<_>>()
                .join("; ");
            if message.is_empty() {
                message = tracker.errors.join("; ");
            }
            if message.is_empty() {
                message = format!(
                    "pulumi exited with {code}: {}",
                    finished.output.trim().lines().last().unwrap_or_default()
                );
            }
            ui.warn(&format!(
                "Pulumi's whole output is in {}",
                finished.log.display()
            ));
            (Status::Failed, Some(message))
        }
    };
    Ok(Run {
        status,
        seconds,
        error,
        components: tracker.results(),
        changes: tracker.changes.clone(),
    })
}

/// The stack's outputs after a run that succeeded; none otherwise.
fn outputs(run: &Run, engine: &Engine) -> Result<BTreeMap<String, serde_json::Value>> {
    if run.status == Status::Succeeded {
        engine.outputs()
    } else {
        Ok(BTreeMap::new())
    }
}

/// Records how a release ended.
fn finish(
    releases: &Releases,
    number: u32,
    run: &Run,
    rolled_back_by: Option<u32>,
    outputs: BTreeMap<String, serde_json::Value>,
) -> Result<()> {
    let started = releases
        .get(number)?
        .map_or_else(crate::backend::now, |r| r.start.started);
    let finished = crate::backend::now();
    releases.finish(&ReleaseResult {
        number,
        status: run.status,
        finished,
        duration_ms: (run.seconds.max(finished - started) as u64) * 1000,
        outputs,
        components: run.components.clone(),
        changes: run.changes.clone(),
        error: run.error.clone(),
        rolled_back_by,
    })
}

/// resource → component for a program, and for the resources of the last
/// successful release that the program no longer has (they are being deleted).
fn owners_with_previous(
    releases: &Releases,
    files: &Artifacts,
) -> Result<BTreeMap<String, String>> {
    let mut owner = match releases.last_success()? {
        Some(previous) => {
            owners(&releases.artifacts(previous.start.number, &files.manifest.environment)?)
        }
        None => BTreeMap::new(),
    };
    owner.extend(owners(files));
    Ok(owner)
}

/// resource → component, from a manifest.
pub fn owners(files: &Artifacts) -> BTreeMap<String, String> {
    files
        .manifest
        .components
        .iter()
        .flat_map(|(component, entry)| {
            entry
                .resources
                .iter()
                .map(move |r| (r.clone(), component.clone()))
        })
        .collect()
}

/// What `destroy` needs beyond a deployment's request.
pub struct Teardown {
    /// `--yes-destroy-production`: the explicit word a production environment needs.
    pub production_confirmed: bool,
}

/// Tears an environment down: everything the last release deployed goes.
/// The caller holds the lock. Resources deployer protects stop it before
/// anything changes; a failure is recorded and not rolled back.
pub fn destroy(request: Request, teardown: Teardown, ui: &dyn Ui) -> Result<Summary> {
    let releases = Releases::new(
        request.backend.store.as_ref(),
        &request.stack,
        &request.environment,
    );
    let protected = protected_resources(&request.files);
    if !protected.is_empty() {
        return Err(Error::failed(format!(
            "{} / {} has protected resources, so nothing was destroyed:\n{}",
            request.stack,
            request.environment,
            protected.join("\n")
        ))
        .with_help(format!(
            "to destroy them, set `deletion_protection: false` in each one's rds.yaml, apply it (on a terminal: `deployer apply --stack {} --environment {} --accept-protection-downgrade`), then destroy again",
            request.stack, request.environment
        )));
    }
    state_not_lost(&request, &releases)?;
    let interrupted = unfinished(&releases)?;
    let engine = prepare(&request, &request.files, Reads::State)?;
    if !interrupted.is_empty() {
        recover(&request, &engine, &releases, &interrupted, ui)?;
    }
    ui.step("Previewing what is destroyed...");
    let owner = owners(&request.files);
    let plan = planned_changes(&engine.preview_destroy()?, &owner);
    if crate::interrupt::interrupted() {
        return Err(Error::failed(
            "interrupted before destroying; nothing was changed",
        ));
    }
    ui.plan(&request.stack, &request.environment, &plan);
    if plan.is_empty() {
        return Ok(Summary {
            number: None,
            status: Status::Destroyed,
            seconds: 0,
            error: None,
            rollback: None,
            rolled_back_by_ecs: false,
            first_deployment: false,
        });
    }
    let approved_by =
        if request.auto_approve && (!request.production || teardown.production_confirmed) {
            Some(format!("{} (--auto-approve)", request.who))
        } else {
            if !ui.confirm_destroy(&request.stack, &request.environment, request.production)? {
                return Err(Error::failed("destroy not confirmed; nothing was changed"));
            }
            Some(request.who.clone())
        };
    let mut start = start_record(&request, approved_by, None);
    start.operation = "destroy".into();
    engine.verify_program(&request.files.manifest.program_hash)?;
    let number = releases.begin(start, &request.files)?;
    let mut run = run_engine(&engine, owner, plan, ui, PulumiRun::Destroy)?;
    if run.status == Status::Succeeded {
        run.status = Status::Destroyed;
    }
    finish(&releases, number, &run, None, BTreeMap::new())?;
    Ok(Summary {
        number: Some(number),
        status: run.status,
        seconds: run.seconds,
        error: run.error,
        rollback: None,
        rolled_back_by_ecs: false,
        first_deployment: false,
    })
}

/// Resources of a program Pulumi will not delete (`options.protect`): name and type.
pub fn protected_names(files: &Artifacts) -> Vec<(String, String)> {
    let Ok(program) = crate::load::yaml::to_json(&files.program) else {
        return Vec::new();
    };
    program["resources"]
        .as_object()
        .map(|resources| {
            resources
                .iter()
                .filter(|(_, r)| r["options"]["protect"] == true)
                .map(|(name, r)| {
                    (
                        name.clone(),
                        r["type"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// [`protected_names`] as `name (type) of component` lines.
fn protected_resources(files: &Artifacts) -> Vec<String> {
    let owner = owners(files);
    protected_names(files)
        .into_iter()
        .map(|(name, kind)| {
            format!(
                "  {name} ({kind}) of {}",
                owner.get(&name).map_or("the stack", String::as_str)
            )
        })
        .collect()
}
