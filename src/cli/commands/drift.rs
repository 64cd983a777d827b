//! `deployer drift`: refreshes the deployed release in preview mode and reports,
//! per component, the resources whose real state differs from the recorded one.
//! Exit 0 no drift, 1 drift, 2 error.

use super::lock::take;
use super::{open_backend, open_repo, resolve_target};
use crate::backend::releases::Releases;
use crate::cli::ExitStatus;
use crate::cli::args::{DriftArgs, OutputFormat};
use crate::cli::printer::{Printer, YELLOW};
use crate::deploy::owners;
use crate::engine::progress::{Drifted, drift_from, label};
use crate::engine::{Engine, pulumi};
use crate::error::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
struct Report {
    stack: String,
    environment: String,
    release: u32,
    drift: bool,
    components: BTreeMap<String, Vec<Drifted>>,
}

pub fn run(args: DriftArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let target = resolve_target(printer, &repo, &args.target)?;
    let (stack, environment) = (&target.stack, &target.environment);
    let pulumi = pulumi::find()?;
    let backend = open_backend(printer, &repo)?;
    let releases = Releases::new(backend.store.as_ref(), stack, environment);
    let Some(release) = releases.last_success()? else {
        return Err(Error::failed(format!(
            "nothing of {stack} is deployed in {environment} yet, so nothing can drift"
        ))
        .with_help(format!(
            "deploy with `deployer apply --stack {stack} --environment {environment}`"
        )));
    };
    let number = release.start.number;
    let files = releases.artifacts(number, environment)?;
    let env = super::stack_file(printer, &repo, stack)?.environments[environment].clone();
    super::check_account(&backend, &repo, &env, environment)?;
    let held = take(
        printer,
        &backend,
        &repo,
        stack,
        environment,
        "drift",
        &args.lock,
    )?;
    let engine = Engine::prepare(
        pulumi,
        &backend,
        &repo.root,
        stack,
        environment,
        &files.program,
        &files.settings,
        &held.info.who,
    )?;
    engine.install_provider()?;
    engine.select_stack()?;
    printer.status(format!(
        "Refreshing {stack} / {environment} (release #{number}) from AWS, changing nothing..."
    ));
    let events = engine.preview_refresh();
    super::lock::release(printer, held);
    let components = drift_from(&events?, &owners(&files));
    let report = Report {
        stack: stack.clone(),
        environment: environment.clone(),
        release: number,
        drift: !components.is_empty(),
        components,
    };
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
