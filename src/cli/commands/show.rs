//! `deployer show`: the compiled program of each environment, or with
//! `--resolved` the merged configuration of every component, for reviewers.

use super::{check_for_compile, open_repo, var_args};
use crate::cli::ExitStatus;
use crate::cli::args::{ProgramFormat, ShowArgs};
use crate::cli::printer::Printer;
use crate::emit::{self, program::to_yaml};
use crate::error::Result;
use crate::expand::template::{REF_END, REF_START};
use crate::kinds::Spec;
use crate::resolve::ResolvedStack;
use serde_json::{Map, Value as Json, json};
use std::collections::BTreeMap;

pub fn run(args: ShowArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    repo.check_stack(&args.stack)?;
    if args.deployed {
        return show_deployed(&args, printer, &repo);
    }
    let vars = var_args(args.vars);
    let checked = check_for_compile(printer, &repo, &args.stack, args.environment, &vars, false)?;
    let mut documents = Map::new();
    for stack in &checked.environments {
        let document = if args.resolved {
            resolved_view(stack, &checked.variables)
        } else {
            emit::emit(stack).program.to_json()
        };
        documents.insert(stack.environment.clone(), document);
    }
    let single = documents.len() == 1;
    match args.format {
        ProgramFormat::Json if single => printer.json(documents.values().next().expect("one")),
        ProgramFormat::Json => printer.json(&Json::Object(documents)),
        ProgramFormat::Yaml => {
            for (i, (environment, document)) in documents.iter().enumerate() {
                if !single {
                    let separator = if i == 0 { "" } else { "\n" };
                    printer.out_raw(&format!(
                        "{separator}# ---- {} / {environment} ----\n",
                        args.stack
                    ));
                }
                printer.out_raw(&to_yaml(document));
            }
        }
    }
    Ok(ExitStatus::Success)
}

/// Every component's settings after presets, overlays and templates, with the
/// defaults filled in. Secrets appear as the references they are (a name or an
/// ARN), never as values, because deployer never reads them.
fn resolved_view(stack: &ResolvedStack, variables: &BTreeMap<String, String>) -> Json {
    let mut components = Map::new();
    for c in &stack.components {
        let mut entry = Map::new();
        entry.insert("kind".into(), json!(c.spec.kind().name()));
        match &c.spec {
            Spec::Microservice(service, infra) => {
                entry.insert(
                    "settings".into(),
                    serde_json::to_value(service).unwrap_or_default(),
                );
                entry.insert(
                    "infra".into(),
                    serde_json::to_value(infra).unwrap_or_default(),
                );
            }
            Spec::Rds(rds) => {
                entry.insert(
                    "settings".into(),
                    serde_json::to_value(rds).unwrap_or_default(),
                );
            }
            Spec::Sqs(sqs) => {
                entry.insert(
                    "settings".into(),
                    serde_json::to_value(sqs).unwrap_or_default(),
                );
            }
        }
        if !c.configs.is_empty() {
            entry.insert(
                "configs".into(),
                Json::Object(
                    c.configs
                        .iter()
                        .map(|cfg| (cfg.name.clone(), cfg.json.clone()))
                        .collect(),
                ),
            );
        }
        let uses: Vec<Json> = c
            .uses
            .iter()
            .map(|w| json!({"component": stack.components[w.target].id.to_string(), "access": w.access, "env_prefix": w.env_prefix}))
            .collect();
        if !uses.is_empty() {
            entry.insert("wired".into(), Json::Array(uses));
        }
        entry.insert("tags".into(), json!(c.tags));
        components.insert(c.id.to_string(), Json::Object(entry));
    }
    let mut view = json!({
        "stack": stack.name,
        "environment": stack.environment,
        "settings": stack.env,
        "variables": variables,
        "components": components,
    });
    show_references(&mut view);
    view
}

/// Writes `ref()` markers the way the user wrote them.
fn show_references(value: &mut Json) {
    match value {
        Json::String(text) if text.contains(REF_START) => {
            *text = text
                .replace(REF_START, "{{ ref(\"")
                .replace(REF_END, "\") }}");
        }
        Json::Array(items) => items.iter_mut().for_each(show_references),
        Json::Object(map) => map.values_mut().for_each(show_references),
        _ => {}
    }
}

/// The program of the last successful release, as it was applied.
fn show_deployed(
    args: &ShowArgs,
    printer: &Printer,
    repo: &crate::load::Repo,
) -> Result<ExitStatus> {
    let environment = args
        .environment
        .as_deref()
        .expect("clap requires --environment");
    super::check_target(repo, &args.stack, environment)?;
    let backend = super::open_backend(printer, repo)?;
    let releases =
        crate::backend::releases::Releases::new(backend.store.as_ref(), &args.stack, environment);
    let Some(release) = releases.last_success()? else {
        return Err(crate::error::Error::failed(format!(
            "nothing of {} is deployed in {environment} yet (no successful release)",
            args.stack
        ))
        .with_help(format!(
            "deploy with `deployer apply --stack {} --environment {environment}`",
            args.stack
        )));
    };
    let (program, _) = releases.program(release.start.number, environment)?;
    printer.status(format!(
        "release #{} of {} / {environment}, applied {} by {}",
        release.start.number,
        args.stack,
        crate::backend::timestamp(release.start.started),
        release.start.who
    ));
    match args.format {
        ProgramFormat::Yaml => printer.out_raw(&program),
        ProgramFormat::Json => {
            printer.json(&crate::load::yaml::to_json(&program).map_err(|e| {
                crate::error::Error::failed(format!(
                    "the stored program of release #{} is damaged: {e}",
                    release.start.number
                ))
            })?)
        }
    }
    Ok(ExitStatus::Success)
}
