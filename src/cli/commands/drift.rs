//! `deployer drift`: refreshes the deployed release in preview mode and reports,
//! per component, the resources whose real state differs from the recorded one.
//! Exit 0 no drift, 1 drift, 2 error.

use super::lock::take;
use super::{open_backend, open_repo, resolve_target};
use crate::cli::ExitStatus;
use crate::cli::args::{DriftArgs, OutputFormat};
use crate::cli::commands::apply::CliUi;
use crate::cli::printer::{Printer, YELLOW};
use crate::engine::progress::label;
use crate::engine::pulumi;
use crate::error::{Error, Result};
use crate::ops::{Target, deployed, drift};

pub fn run(args: DriftArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let target = resolve_target(printer, &repo, &args.target)?;
    let (stack, environment) = (target.stack, target.environment);
    let pulumi = pulumi::find()?;
    let backend = open_backend(printer, &repo)?;
    let Some(deployed) = deployed::last(&backend, &stack, &environment)? else {
        return Err(Error::failed(format!(
            "nothing of {stack} is deployed in {environment} yet, so nothing can drift"
        ))
        .with_help(format!(
            "deploy with `deployer apply --stack {stack} --environment {environment}`"
        )));
    };
    let number = deployed.number();
    let env = super::stack_file(printer, &repo, &stack)?.environments[&environment].clone();
    super::check_account(&backend, &repo, &env, &environment)?;
    let held = take(
        printer,
        &backend,
        &repo,
        &stack,
        &environment,
        "drift",
        &args.lock,
    )?;
    let target = Target {
        repo: &repo,
        backend: &backend,
        pulumi,
        stack,
        environment,
        env,
    };
    let report = drift::drift(&target, &deployed, &held.info, &CliUi::new(printer));
    super::lock::release(printer, held);
    let report = report?;
    let (stack, environment) = (&target.stack, &target.environment);
    match args.output {
        OutputFormat::Json => printer.json(&report),
        OutputFormat::Text if !report.drift => printer.success(format!(
            "No drift: AWS matches release #{number} of {stack} / {environment}"
        )),
        OutputFormat::Text => {
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
