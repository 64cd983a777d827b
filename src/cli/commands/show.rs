//! `deployer show`: the compiled program of each environment, or with
//! `--resolved` the merged configuration of every component, for reviewers.

use super::{check_with, open_repo, var_args};
use crate::cli::ExitStatus;
use crate::cli::args::{ProgramFormat, ShowArgs};
use crate::cli::printer::Printer;
use crate::error::Result;
use crate::pipeline::{self, Missing, Options, ResolvedStack, Undeclared, to_yaml};
use serde_json::{Map, Value as Json, json};
use std::collections::BTreeMap;

pub fn run(args: ShowArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let (stack, environment) = super::resolve_stack_and_environment(
        printer,
        &repo,
        args.stack.as_deref(),
        args.environment.as_deref(),
    )?;
    let file = super::stack_file(printer, &repo, &stack)?;
    let mut args = ShowArgs {
        stack: Some(stack),
        environment,
        ..args
    };
    if args.deployed {
        return show_deployed(&args, printer, &repo);
    }
    let environments: Vec<String> = match &args.environment {
        Some(env) => vec![env.clone()],
        None => file.environments.keys().cloned().collect(),
    };
    let given = !args.vars.vars.is_empty() || !args.vars.var_files.is_empty();
    let vars = var_args(std::mem::take(&mut args.vars))?;
    // Without --var: "the current configuration", each environment with the
    // variables of its last successful release, else placeholders for what is
    // required (as validate does), never a failure for a missing variable.
    let deployed = if given {
        BTreeMap::new()
    } else {
        let (found, unreadable) =
            crate::ops::deployed::variables(&repo, args.stack(), &environments);
        for problem in unreadable {
            printer.warning(format!(
                "{problem}; showing the environment without its deployed variables"
            ));
        }
        found
    };
    let mut documents = Map::new();
    let mut notes = Vec::new();
    for environment in &environments {
        let vars_here = match deployed.get(environment) {
            Some((number, variables)) => {
                notes.push(format!(
                    "{environment}: the variables of release #{number}, the last successful one"
                ));
                crate::pipeline::GivenVars {
                    vars: variables
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    var_files: Vec::new(),
                }
            }
            None => vars.clone(),
        };
        let missing = if given {
            Missing::Error
        } else {
            Missing::Placeholder
        };
        let options = Options {
            environment: Some(environment.clone()),
            missing,
            undeclared: Undeclared::Error,
            programs: crate::pipeline::Programs::Keep,
            prefetched: Default::default(),
        };
        let mut checked =
            check_with(printer, &repo, args.stack(), &vars_here, &options).into_result(printer)?;
        let placeholders: Vec<&String> = checked
            .variables
            .iter()
            .filter(|(k, v)| **v == format!("<{k}>"))
            .map(|(k, _)| k)
            .collect();
        if !placeholders.is_empty() {
            notes.push(format!(
                "{environment}: nothing deployed yet, so {} (pass --var to fill them in)",
                placeholders
                    .iter()
                    .map(|k| format!("{k} is shown as `<{k}>`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for index in 0..checked.environments.len() {
            let document = if args.resolved {
                resolved_view(&checked.environments[index], &checked.variables)
            } else {
                checked.take_compiled(index).program.to_json()
            };
            documents.insert(checked.environments[index].environment.clone(), document);
        }
    }
    for note in notes {
        printer.status(format!("note: {note}"));
    }
    let single = documents.len() == 1;
    match args.output {
        ProgramFormat::Json => printer.json(&json!({ "environments": documents })),
        ProgramFormat::Yaml => {
            for (i, (environment, document)) in documents.iter().enumerate() {
                if !single {
                    let separator = if i == 0 { "" } else { "\n" };
                    printer.out_raw(&format!(
                        "{separator}# ---- {} / {environment} ----\n",
                        args.stack()
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
        for (key, value) in c.spec.settings() {
            entry.insert(key.into(), value);
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
    pipeline::references_as_written(&mut view);
    view
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
    let backend = super::open_backend(printer, repo)?;
    let deployed = crate::ops::deployed::required(&backend, args.stack(), environment)?;
    let release = &deployed.release;
    printer.status(format!(
        "release #{} of {} / {environment}, applied {} by {}",
        release.start.number,
        args.stack(),
        crate::backend::timestamp(release.start.started),
        release.start.who
    ));
    match args.output {
        ProgramFormat::Yaml => printer.out_raw(&deployed.files.program),
        ProgramFormat::Json => printer.json(&json!({
            "release": release.start.number,
            "environments": { environment: deployed.program_json()? },
        })),
    }
    Ok(ExitStatus::Success)
}

impl ShowArgs {
    /// The stack, once [`run`] has resolved it.
    fn stack(&self) -> &str {
        self.stack.as_deref().unwrap_or_default()
    }
}
