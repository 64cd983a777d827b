//! `deployer plan`: compile, preview and save what a reviewer approves.
//! Takes no deployer lock and deploys nothing (Pulumi's stack is created, as
//! an apply would; no sensitive value is kept); `apply --plan FILE`
//! deploys exactly the plan or nothing.
//!
//! `--targets FILE` plans a group — one CI job's share of `affected
//! --max-jobs` — one target after another, with one summary.

use super::plural;
use super::{open_repo, resolve_target, var_args};
use crate::cli::ExitStatus;
use crate::cli::args::{PlanArgs, ReportFormat};
use crate::cli::printer::Printer;
use crate::cli::ui::CliUi;
use crate::error::{Context, Error, Result};
use crate::load::Repo;
use crate::ops::plan::ToPlan;
use crate::ops::plan_file::{PlanFile, short};
use crate::ops::{Scope, Ui};
use crate::pipeline::GivenVars;
use std::path::{Path, PathBuf};

pub fn run(args: PlanArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let vars = var_args(args.vars)?;
    if let Some(list) = &args.targets {
        let targets = read_targets(list)?;
        return plan_group(
            printer,
            &repo,
            &targets,
            &vars,
            args.out.as_deref(),
            args.output,
        );
    }
    let target = resolve_target(printer, &repo, &args.target)?;
    let (stack, environment) = (target.stack, target.environment);
    let planned = plan_one(printer, &repo, &stack, &environment, &vars)?;
    if let Some(out) = &args.out {
        planned.plan.write(out)?;
    }
    match args.output {
        ReportFormat::Json => printer.json(&planned.plan.to_json()),
        ReportFormat::Markdown => printer.out_raw(&planned.plan.markdown()),
        ReportFormat::Text => {
            planned.show(printer);
            let against = planned.against();
            match &args.out {
                Some(out) => printer.status(format!(
                    "Planned against {against}; saved to {} (plan {}). Deploy exactly this with `deployer apply --plan {}`",
                    out.display(),
                    short(&planned.plan.id()),
                    out.display()
                )),
                None => printer.status(format!("Planned against {against}; `--out FILE` saves it for `deployer apply --plan FILE`")),
            }
        }
    }
    Ok(ExitStatus::Success)
}

/// One target's plan, with what its preview found.
struct Planned {
    stack: String,
    environment: String,
    plan: PlanFile,
    preview: crate::ops::changes::PlannedChanges,
}

impl Planned {
    fn show(&self, printer: &Printer) {
        if self.preview.is_empty() {
            printer.success(format!(
                "No changes: {} / {} is up to date",
                self.stack, self.environment
            ));
        } else {
            let ui = CliUi::new(printer);
            ui.plan(&self.stack, &self.environment, &self.preview);
            ui.impacts(&self.plan.impacts);
            if let Some(cost) = &self.plan.cost {
                ui.cost(cost);
            }
        }
    }

    fn against(&self) -> String {
        self.plan
            .base_release
            .map_or("no release yet".into(), |n| format!("release #{n}"))
    }
}

fn plan_one(
    printer: &Printer,
    repo: &Repo,
    stack: &str,
    environment: &str,
    vars: &GivenVars,
) -> Result<Planned> {
    let (checked, files) = super::compile_one(printer, repo, stack, environment, vars)?;
    let to_plan = ToPlan {
        env: checked.environments[0].env.clone(),
        files,
        variables: checked.variables,
        sensitive: checked.sensitive,
    };
    let scope = Scope {
        repo,
        stack: stack.to_string(),
        environment: environment.to_string(),
    };
    let (plan, preview) = crate::ops::plan::plan(scope, to_plan, &CliUi::new(printer))?;
    Ok(Planned {
        stack: stack.to_string(),
        environment: environment.to_string(),
        plan,
        preview,
    })
}

/// A stack and environment of a `--targets` list.
#[derive(serde::Deserialize)]
struct Target {
    stack: String,
    environment: String,
}

/// A `--targets` file: a list of `{stack, environment}` (a job's `targets`
/// from `affected --max-jobs --output json`, other keys ignored), or the job
/// itself.
fn read_targets(path: &Path) -> Result<Vec<Target>> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum List {
        Targets(Vec<Target>),
        Job { targets: Vec<Target> },
    }
    let text = crate::fs::read_back_text(path, crate::fs::ReadBack::TargetList)
        .map_err(|e| Error::usage(format!("cannot read --targets {}: {e}", path.display())))?;
    let targets = match serde_json::from_str::<List>(&text) {
        Ok(List::Targets(targets) | List::Job { targets }) => targets,
        Err(e) => {
            return Err(Error::usage(format!(
                "--targets {} is not a list of targets: {e}",
                path.display()
            ))
            .with_help("give a JSON list of {\"stack\": ..., \"environment\": ...}, as in a job of `deployer affected --max-jobs --output json`"));
        }
    };
    if targets.is_empty() {
        return Err(Error::usage(format!(
            "--targets {} lists no target",
            path.display()
        )));
    }
    Ok(targets)
}

/// Where a group's plan of `stack`/`environment` is saved, in `--out DIR`.
fn saved_as(dir: &Path, stack: &str, environment: &str, extension: &str) -> PathBuf {
    dir.join(format!("plan-{stack}-{environment}.{extension}"))
}

/// Plans every target in turn (a plan changes nothing, so one failing does
/// not stop the others), saving each plan and its pull-request comment in
/// `out` when given, and ends with one summary: failure when any failed.
fn plan_group(
    printer: &Printer,
    repo: &Repo,
    targets: &[Target],
    vars: &GivenVars,
    out: Option<&Path>,
    output: ReportFormat,
) -> Result<ExitStatus> {
    if let Some(dir) = out {
        std::fs::create_dir_all(dir).context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut planned = Vec::new();
    let mut failed = Vec::new();
    for (i, target) in targets.iter().enumerate() {
        let (stack, environment) = (&target.stack, &target.environment);
        printer.status(format!(
            "[{}/{}] {stack} / {environment}",
            i + 1,
            targets.len()
        ));
        let result = plan_one(printer, repo, stack, environment, vars).and_then(|p| {
            if let Some(dir) = out {
                p.plan.write(&saved_as(dir, stack, environment, "json"))?;
                let comment = saved_as(dir, stack, environment, "md");
                std::fs::write(&comment, p.plan.markdown())
                    .context(|| format!("cannot write {}", comment.display()))?;
            }
            Ok(p)
        });
        match result {
            Ok(p) => {
                if output == ReportFormat::Text {
                    p.show(printer);
                }
                planned.push(p);
            }
            Err(e) => {
                printer.error(&format!("{stack} / {environment}: {e}"), None);
                failed.push((stack.clone(), environment.clone(), e.to_string()));
            }
        }
    }
    match output {
        ReportFormat::Json => printer.json(&serde_json::json!({
            "plans": planned.iter().map(|p| p.plan.to_json()).collect::<Vec<_>>(),
            "failed": failed.iter().map(|(stack, environment, error)| serde_json::json!({
                "stack": stack, "environment": environment, "error": error,
            })).collect::<Vec<_>>(),
        })),
        ReportFormat::Markdown => {
            let comments: Vec<String> = planned.iter().map(|p| p.plan.markdown()).collect();
            printer.out_raw(&comments.join("\n"));
        }
        ReportFormat::Text => {}
    }
    let changing = planned.iter().filter(|p| !p.preview.is_empty()).count();
    let summary = format!(
        "Planned {} of {}: {changing} with changes, {} up to date",
        planned.len(),
        plural(targets.len(), "target"),
        planned.len() - changing
    );
    let saved = out.map(|dir| {
        format!(
            "; saved in {} (plan-STACK-ENV.json for `deployer apply --plan`, .md for a comment)",
            dir.display()
        )
    });
    if failed.is_empty() {
        printer.success(format!("{summary}{}", saved.unwrap_or_default()));
        return Ok(ExitStatus::Success);
    }
    let names: Vec<String> = failed
        .iter()
        .map(|(s, e, _)| format!("{s} / {e}"))
        .collect();
    printer.failure(format!(
        "{summary}; {} failed: {}",
        failed.len(),
        names.join(", ")
    ));
    Ok(ExitStatus::Failure)
}
