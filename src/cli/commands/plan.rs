//! `deployer plan`: compile, preview and save what a reviewer approves.
//! Takes no deployer lock and deploys nothing (Pulumi's stack is created, as
//! an apply would; no sensitive value is kept); `apply --plan FILE`
//! deploys exactly the plan or nothing.

use super::{open_repo, resolve_target, var_args};
use crate::cli::ExitStatus;
use crate::cli::args::{PlanArgs, ReportFormat};
use crate::cli::printer::Printer;
use crate::cli::ui::CliUi;
use crate::error::Result;
use crate::ops::plan::ToPlan;
use crate::ops::plan_file::short;
use crate::ops::{Scope, Ui};

pub fn run(args: PlanArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let target = resolve_target(printer, &repo, &args.target)?;
    let (stack, environment) = (target.stack, target.environment);
    let vars = var_args(args.vars)?;
    let (checked, files) = super::compile_one(printer, &repo, &stack, &environment, &vars)?;
    let to_plan = ToPlan {
        env: checked.environments[0].env.clone(),
        files,
        variables: checked.variables,
        sensitive: checked.sensitive,
    };
    let scope = Scope {
        repo: &repo,
        stack: stack.clone(),
        environment: environment.clone(),
    };
    let (plan, preview) = crate::ops::plan::plan(scope, to_plan, &CliUi::new(printer))?;
    let base_release = plan.base_release;
    if let Some(out) = &args.out {
        plan.write(out)?;
    }
    match args.output {
        ReportFormat::Json => printer.json(&plan.to_json()),
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
                    short(&plan.id()),
                    out.display()
                )),
                None => printer.status(format!("Planned against {against}; `--out FILE` saves it for `deployer apply --plan FILE`")),
            }
        }
    }
    Ok(ExitStatus::Success)
}
