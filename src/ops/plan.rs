//! `plan`: an apply's preview, saved for review ([`super::plan_file`]). It
//! takes no deployer lock and changes nothing in AWS.

use super::deploy::{self, Operation, Request};
use super::plan_file::PlanFile;
use super::{Scope, Target, Ui, check_account, open_backend};
use crate::artifacts::Artifacts;
use crate::engine::changes::PlannedChanges;
use crate::error::Result;
use crate::model::stack::EnvironmentSpec;
use std::collections::BTreeMap;

/// What `plan` previews: the files compiled for `env`, with the variables'
/// values (sensitive ones apart, used for this preview only).
pub struct ToPlan {
    pub env: EnvironmentSpec,
    pub files: Artifacts,
    pub variables: BTreeMap<String, String>,
    pub sensitive: BTreeMap<String, String>,
}

/// `deployer plan`: the plan to save, with the preview it fixes.
pub fn plan(scope: Scope, to_plan: ToPlan, ui: &dyn Ui) -> Result<(PlanFile, PlannedChanges)> {
    let pulumi = crate::engine::pulumi::find()?;
    let backend = open_backend(scope.repo, ui)?;
    check_account(&backend, scope.repo, &to_plan.env, &scope.environment)?;
    ui.step(&format!(
        "Previewing {} / {}, changing nothing...",
        scope.stack, scope.environment
    ));
    let policies = crate::policy::required(scope.repo)?;
    let target = scope.target(&backend, pulumi, to_plan.env.clone());
    preview(&target, to_plan, policies, ui)
}

/// `plan`: previews `files` against what is deployed, taking no deployer lock
/// and changing nothing in AWS (Pulumi's stack is created, as an apply would),
/// in a workspace of its own, keeping none of the sensitive values it is given,
/// and returns the plan to save with the preview it fixes.
fn preview(
    target: &Target,
    ToPlan {
        files,
        variables,
        sensitive,
        ..
    }: ToPlan,
    policies: Option<crate::policy::Policies>,
    ui: &dyn Ui,
) -> Result<(PlanFile, PlannedChanges)> {
    let base_release = target.releases().latest()?.map(|r| r.start.number);
    let who = target.backend.who(&target.repo.root);
    let request = Request {
        variables: variables.clone(),
        sensitive,
        policies: policies.map(std::rc::Rc::new),
        ..target.request(files, Operation::Plan, (&who, ""))
    };
    let preview = deploy::preview(&request)?;
    let mut plan = PlanFile::new(
        &request.files,
        &target.stack,
        &target.environment,
        &variables,
        request.git_commit.clone(),
        base_release,
        &who,
        &preview,
    );
    let cost = deploy::cost_change(
        &target.releases(),
        &request.files,
        &target.env,
        &target.environment,
    )?;
    plan.policies = deploy::judge(&request, &preview, &plan.impacts, Some(&cost), ui)?.results;
    plan.cost = Some(cost);
    Ok((plan, preview))
}
