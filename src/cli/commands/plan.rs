//! `deployer plan`: compile, preview and save what a reviewer approves.
//! Takes no deployer lock and deploys nothing (Pulumi's stack is created and
//! sensitive values are stored, as an apply would); `apply --plan FILE`
//! deploys exactly the plan or nothing.

use super::apply::CliUi;
use super::{open_backend, open_repo, resolve_target, var_args};
use crate::backend::releases::Releases;
use crate::cli::ExitStatus;
use crate::cli::args::{PlanArgs, ReportFormat};
use crate::cli::printer::Printer;
use crate::deploy::{self, Operation, Request, Ui};
use crate::engine::pulumi;
use crate::error::Result;
use crate::plan::PlanFile;

pub fn run(args: PlanArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let target = resolve_target(printer, &repo, &args.target)?;
    let (stack, environment) = (target.stack, target.environment);
    let vars = var_args(args.vars);
    let (checked, files) = super::compile_one(printer, &repo, &stack, &environment, &vars)?;
    let env = checked.environments[0].env.clone();
    let pulumi = pulumi::find()?;
    let backend = open_backend(printer, &repo)?;
    super::check_account(&backend, &repo, &env, &environment)?;
    let base_release = Releases::new(backend.store.as_ref(), &stack, &environment)
        .latest()?
        .map(|r| r.start.number);
    let who = backend.who(&repo.root);
    let git_commit = crate::git::commit(&repo.root);
    let request = Request {
        repo_root: &repo.root,
        backend: &backend,
        pulumi,
        stack: stack.clone(),
        environment: environment.clone(),
        files,
        operation: Operation::Apply,
        variables: checked.variables.clone(),
        who: who.clone(),
        lock_id: String::new(),
        git_commit: git_commit.clone(),
        approval_required: env.approval_required(),
        production: env.production,
        auto_approve: false,
        rollback_on_failure: false,
        approved: None,
        sensitive: checked.sensitive.clone(),
        recreate_lost_state: false,
        planned: None,
    };
    printer.status(format!(
        "Previewing {stack} / {environment}, changing nothing..."
    ));
    let preview = deploy::preview(&request)?;
    let plan = PlanFile::new(
        &request.files,
        &stack,
        &environment,
        &checked.variables,
        git_commit,
        base_release,
        &who,
        &preview,
    );
    if let Some(out) = &args.out {
        plan.write(out)?;
    }
    match args.output {
        ReportFormat::Json => printer.json(&plan),
        ReportFormat::Markdown => printer.out_raw(&plan.markdown()),
        ReportFormat::Text => {
            if preview.is_empty() {
                printer.success(format!("No changes: {stack} / {environment} is up to date"));
            } else {
                CliUi::new(printer).plan(&stack, &environment, &preview);
            }
            let against = base_release.map_or("no release yet".into(), |n| format!("release #{n}"));
            match &args.out {
                Some(out) => printer.status(format!(
                    "Planned against {against}; saved to {} (plan {}). Deploy exactly this with `deployer apply --plan {}`",
                    out.display(),
                    crate::plan::short(&plan.hash()),
                    out.display()
                )),
                None => printer.status(format!("Planned against {against}; `--out FILE` saves it for `deployer apply --plan FILE`")),
            }
        }
    }
    Ok(ExitStatus::Success)
}
