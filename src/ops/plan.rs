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
    let target = scope.target(&backend, pulumi, to_plan.env);
    preview(
        &target,
        to_plan.files,
        &to_plan.variables,
        &to_plan.sensitive,
    )
}

/// `plan`: previews `files` against what is deployed, taking no deployer lock
/// and changing nothing in AWS (Pulumi's stack is created, as an apply would),
/// in a workspace of its own, keeping none of the sensitive values it is given,
/// and returns the plan to save with the preview it fixes.
fn preview(
    target: &Target,
    files: Artifacts,
    variables: &BTreeMap<String, String>,
    sensitive: &BTreeMap<String, String>,
) -> Result<(PlanFile, PlannedChanges)> {
    let base_release = target.releases().latest()?.map(|r| r.start.number);
    let who = target.backend.who(&target.repo.root);
    let request = Request {
        variables: variables.clone(),
        sensitive: sensitive.clone(),
        ..target.request(files, Operation::Plan, (&who, ""))
    };
    let preview = deploy::preview(&request)?;
    let mut plan = PlanFile::new(
        &request.files,
        &target.stack,
        &target.environment,
        variables,
        request.git_commit.clone(),
        base_release,
        &who,
        &preview,
    );
    plan.cost = Some(deploy::cost_change(
        &target.releases(),
        &request.files,
        &target.env,
        &target.environment,
    )?);
    Ok((plan, preview))
}
