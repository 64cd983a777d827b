//! `deployer drift`: refreshes the deployed release in preview mode and reports,
//! per component, the resources whose real state differs from the recorded one.
//! Exit 0 no drift, 1 drift, 2 error.

use super::{lock_wait, open_repo, resolve_target};
use crate::cli::ExitStatus;
use crate::cli::args::{DriftArgs, ReportFormat};
use crate::cli::printer::{Printer, YELLOW};
use crate::cli::ui::CliUi;
use crate::error::Result;
use crate::ops::Scope;
use crate::ops::changes::label;

pub fn run(args: DriftArgs, printer: &Printer) -> Result<ExitStatus> {
    if args.all {
        return super::every::drift(args, printer);
    }
    let repo = open_repo(&args.repo.repo)?;
    let target = resolve_target(printer, &repo, &args.target)?;
    let env =
        super::stack_file(printer, &repo, &target.stack)?.environments[&target.environment].clone();
    let scope = Scope {
        repo: &repo,
        stack: target.stack,
        environment: target.environment,
    };
    let report =
        crate::ops::drift::drift(scope, env, &lock_wait(&args.lock), &CliUi::new(printer))?;
    let number = report.release;
    let (stack, environment) = (&report.stack, &report.environment);
    match args.output {
        ReportFormat::Json => printer.json(&report),
        ReportFormat::Markdown => printer.out_raw(&super::every::drift_markdown(&[
            crate::ops::drift::TargetDrift {
                stack: report.stack.clone(),
                environment: report.environment.clone(),
                outcome: if report.drift {
                    crate::ops::drift::Outcome::Drift
                } else {
                    crate::ops::drift::Outcome::NoDrift
                },
                release: Some(number),
                components: report.components.clone(),
                detail: None,
            },
        ])),
        ReportFormat::Text if !report.drift => printer.success(format!(
            "No drift: AWS matches release #{number} of {stack} / {environment}"
        )),
        ReportFormat::Text => {
            printer.out(format!(
                "{YELLOW}Drift{YELLOW:#} in {stack} / {environment} against release #{number}:"
            ));
            for (component, drifted) in &report.components {
                printer.out(format!("  {}", label(component)));
                for d in drifted {
                    let what = if d.properties.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", d.properties.join(", "))
                    };
                    printer.out(format!(
                        "    ~ {} ({}) {}{what}",
                        d.resource, d.kind, d.change
                    ));
                }
            }
            printer.out("  `deployer apply` puts back what the repository says; `deployer diff --against deployed` shows pending changes".to_string());
        }
    }
    Ok(if report.drift {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
