//! `deployer drift`: refreshes the deployed release in preview mode and reports,
//! per component, the resources whose real state differs from the recorded one.
//! Exit 0 no drift, 1 drift, 2 error.

use super::lock::take;
use super::{check_target, open_backend, open_repo};
use crate::backend::releases::Releases;
use crate::cli::ExitStatus;
use crate::cli::args::{DriftArgs, OutputFormat};
use crate::cli::printer::{Printer, YELLOW};
use crate::deploy::owners;
use crate::engine::events::EngineEvent;
use crate::engine::progress::label;
use crate::engine::{Engine, Outcome, pulumi};
use crate::error::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
struct Drifted {
    resource: String,
    #[serde(rename = "type")]
    kind: String,
    /// `changed` or `deleted` (gone from AWS).
    change: String,
    properties: Vec<String>,
}

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
    let (stack, environment) = (&args.target.stack, &args.target.environment);
    check_target(&repo, stack, environment)?;
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
    )?;
    engine.select_stack()?;
    printer.status(format!(
        "Refreshing {stack} / {environment} (release #{number}) from AWS, changing nothing..."
    ));
    let mut events: Vec<EngineEvent> = Vec::new();
    let (outcome, output) = engine.refresh(true, false, |e| events.push(e.clone()))?;
    held.release()?;
    if outcome != Outcome::Succeeded {
        return Err(
            Error::failed(format!("the refresh failed:\n{}", output.trim())).with_help(
                crate::engine::exit_help(match outcome {
                    Outcome::Failed(code) => code,
                    _ => 8,
                }),
            ),
        );
    }
    let owner = owners(&files);
    let mut components: BTreeMap<String, Vec<Drifted>> = BTreeMap::new();
    for event in &events {
        let Some(step) = event
            .resource_pre_event
            .as_ref()
            .or(event.res_outputs_event.as_ref())
        else {
            continue;
        };
        let m = &step.metadata;
        if m.is_internal() {
            continue;
        }
        let mut properties: Vec<String> = m.diffs.clone();
        if let Some(detailed) = &m.detailed_diff {
            properties.extend(detailed.keys().cloned());
        }
        properties.sort();
        properties.dedup();
        let change = match m.op.as_str() {
            "delete" => "deleted",
            "update" | "replace" => "changed",
            "refresh" if !properties.is_empty() => "changed",
            _ => continue,
        };
        let component = owner
            .get(m.name())
            .cloned()
            .unwrap_or_else(|| "_stack".into());
        let list = components.entry(component).or_default();
        if !list.iter().any(|d| d.resource == m.name()) {
            list.push(Drifted {
                resource: m.name().to_string(),
                kind: m.kind.clone(),
                change: change.into(),
                properties,
            });
        }
    }
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
