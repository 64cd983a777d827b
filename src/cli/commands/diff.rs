//! `deployer diff --against REV`: compiles the stack at a git revision and in the
//! working tree and shows what changes — resources added, removed and changed,
//! then the text diff of the two programs — for pull requests. Exit 0 when
//! nothing changes, 1 when something does, 2 on any error.

use super::{check_for_compile, open_repo, var_args};
use crate::cli::ExitStatus;
use crate::cli::args::{DiffArgs, ReportFormat};
use crate::cli::printer::{GREEN, Printer, RED, YELLOW};
use crate::error::{Error, Result};
use crate::load::Repo;
use crate::ops::changes::label;
use crate::pipeline::GivenVars;
use crate::pipeline::to_yaml;
use serde::Serialize;
use serde_json::Value as Json;

#[derive(Serialize)]
struct Change {
    name: String,
    #[serde(rename = "type")]
    token: String,
    /// Top-level properties (and options) that differ.
    properties: Vec<String>,
}

#[derive(Serialize)]
struct Report {
    stack: String,
    environment: String,
    against: String,
    changed: bool,
    added: Vec<Change>,
    removed: Vec<Change>,
    updated: Vec<Change>,
    diff: String,
    /// What the change does to the estimated monthly cost (`deployer cost`),
    /// when anything changes.
    cost: Option<crate::cost::CostChange>,
    /// What each changed component goes through while it deploys, worst
    /// first, with replacements told from the inputs that force one.
    impacts: Vec<crate::ops::impact::Impact>,
}

pub fn run(mut args: DiffArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let target = super::resolve_target(printer, &repo, &args.target)?;
    args.target.stack = Some(target.stack);
    args.target.environment = Some(target.environment);
    let vars = var_args(std::mem::take(&mut args.vars))?;
    let new = program_text(printer, &repo, args.stack(), args.environment(), &vars)?.ok_or_else(
        || {
            Error::failed(format!(
                "stack `{}` has no environment `{}`",
                args.stack(),
                args.environment()
            ))
        },
    )?;
    let old = if args.against == DEPLOYED {
        deployed(printer, &repo, args.stack(), args.environment())?
    } else {
        at_revision(printer, &repo, &args, &vars)?
    };
    let (old_text, old_json) = old.unwrap_or_default();
    let (new_text, new_json) = new;
    let mut report = compare(&args, &old_json, &new_json, &old_text, &new_text);
    if report.changed {
        let region = super::stack_file(printer, &repo, args.stack())?.environments
            [args.environment()]
        .region
        .clone();
        let prices = crate::cost::Prices::load()?;
        let estimate = |program: &Json| {
            crate::cost::estimate_program(program, &crate::cost::tagged_owner, &region, &prices)
        };
        let before = (!old_text.is_empty()).then(|| estimate(&old_json));
        report.cost = Some(crate::cost::change(before.as_ref(), &estimate(&new_json)));
        report.impacts = impacts(&report, &old_json, &new_json);
    }
    match args.output {
        ReportFormat::Json => printer.json(&report),
        ReportFormat::Text => print(printer, &report),
        ReportFormat::Markdown => printer.out_raw(&markdown(&report, &old_json, &new_json)),
    }
    Ok(if report.changed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// `--against deployed`: the last successful release's program.
const DEPLOYED: &str = "deployed";

fn deployed(
    printer: &Printer,
    repo: &Repo,
    stack: &str,
    environment: &str,
) -> Result<Option<(String, Json)>> {
    let backend = super::open_backend(printer, repo)?;
    let Some(deployed) = crate::ops::deployed::last(&backend, stack, environment)? else {
        printer.status(format!(
            "note: nothing of {stack} is deployed in {environment} yet; everything is new"
        ));
        return Ok(None);
    };
    let json = deployed.program_json()?;
    Ok(Some((deployed.files.program, json)))
}

/// The program at a git revision, or `None` when the stack or environment is not there.
fn at_revision(
    printer: &Printer,
    repo: &Repo,
    args: &DiffArgs,
    vars: &GivenVars,
) -> Result<Option<(String, Json)>> {
    let checkout = crate::git::Checkout::at(&repo.root, &args.against)?;
    let old_repo = Repo::open(Some(&checkout.root), &checkout.root).ok();
    let old = match old_repo {
        Some(old_repo) if old_repo.require_stack(args.stack()).is_ok() => {
            program_text(printer, &old_repo, args.stack(), args.environment(), vars).map_err(
                |e| {
                    Error::failed(format!(
                        "the stack does not compile at `{}`: {e}",
                        args.against
                    ))
                },
            )?
        }
        _ => None,
    };
    Ok(old)
}

/// The program as YAML text and JSON, or `None` when the environment does not exist there.
fn program_text(
    printer: &Printer,
    repo: &Repo,
    stack: &str,
    environment: &str,
    vars: &GivenVars,
) -> Result<Option<(String, Json)>> {
    let mut checked = check_for_compile(
        printer,
        repo,
        stack,
        Some(environment.to_string()),
        vars,
        crate::pipeline::Undeclared::Error,
    )?;
    if checked.environments.is_empty() {
        return Ok(None);
    }
    let json = checked.take_compiled(0).program.to_json();
    Ok(Some((to_yaml(&json), json)))
}

fn compare(args: &DiffArgs, old: &Json, new: &Json, old_text: &str, new_text: &str) -> Report {
    let empty = serde_json::Map::new();
    let old_resources = old
        .get("resources")
        .and_then(Json::as_object)
        .unwrap_or(&empty);
    let new_resources = new
        .get("resources")
        .and_then(Json::as_object)
        .unwrap_or(&empty);
    let token = |r: &Json| {
        r.get("type")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut report = Report {
        stack: args.stack().to_string(),
        environment: args.environment().to_string(),
        against: args.against.clone(),
        changed: old_text != new_text,
        added: Vec::new(),
        removed: Vec::new(),
        updated: Vec::new(),
        diff: String::new(),
        cost: None,
        impacts: Vec::new(),
    };
    for (name, resource) in new_resources {
        match old_resources.get(name) {
            None => report.added.push(Change {
                name: name.clone(),
                token: token(resource),
                properties: Vec::new(),
            }),
            Some(before) if before != resource => {
                let fields = |r: &Json| -> Vec<(String, Json)> {
                    let mut out = Vec::new();
                    for section in ["properties", "options"] {
                        if let Some(obj) = r.get(section).and_then(Json::as_object) {
                            out.extend(obj.iter().map(|(k, v)| (k.clone(), v.clone())));
                        }
                    }
                    out
                };
                let (a, b) = (fields(before), fields(resource));
                let mut properties: Vec<String> = b
                    .iter()
                    .filter(|(k, v)| a.iter().find(|(ka, _)| ka == k).map(|(_, va)| va) != Some(v))
                    .map(|(k, _)| k.clone())
                    .collect();
                properties.extend(
                    a.iter()
                        .filter(|(k, _)| !b.iter().any(|(kb, _)| kb == k))
                        .map(|(k, _)| k.clone()),
                );
                if token(before) != token(resource) {
                    properties.insert(0, "type".into());
                }
                report.updated.push(Change {
                    name: name.clone(),
                    token: token(resource),
                    properties,
                });
            }
            Some(_) => {}
        }
    }
    for (name, resource) in old_resources {
        if !new_resources.contains_key(name) {
            report.removed.push(Change {
                name: name.clone(),
                token: token(resource),
                properties: Vec::new(),
            });
        }
    }
    if report.changed {
        // Myers' algorithm is quadratic in the size of a large change (2,000
        // new resources): past the deadline `similar` settles for a correct but
        // less minimal diff instead of running on.
        report.diff = similar::TextDiff::configure()
            .timeout(std::time::Duration::from_secs(1))
            .diff_lines(old_text, new_text)
            .unified_diff()
            .context_radius(3)
            .header(
                &format!("{}:Pulumi.yaml", args.against),
                "working tree:Pulumi.yaml",
            )
            .to_string();
    }
    report
}

/// What each changed resource goes through, from the properties that
/// change (`ops::impact`).
fn impacts(r: &Report, old: &Json, new: &Json) -> Vec<crate::ops::impact::Impact> {
    use crate::ops::changes::Change as Op;
    use crate::ops::impact::{change_of, impacts_of};
    let owner = |program: &Json, name: &str| {
        crate::cost::tagged_owner(name, &program["resources"][name])
            .unwrap_or_else(|| "_stack".into())
    };
    let inputs = |program: &Json, name: &str| program["resources"][name]["properties"].clone();
    let mut changes = Vec::new();
    for c in &r.updated {
        changes.push((
            owner(new, &c.name),
            c.token.clone(),
            change_of(&c.token, &c.properties),
            inputs(new, &c.name),
            c.properties.clone(),
        ));
    }
    for c in &r.removed {
        changes.push((
            owner(old, &c.name),
            c.token.clone(),
            Op::Delete,
            inputs(old, &c.name),
            Vec::new(),
        ));
    }
    impacts_of(&changes)
}

/// The component a resource of a program belongs to, from its tags.
fn component_of(program: &Json, resource: &str) -> Option<String> {
    let tags = program
        .get("resources")?
        .get(resource)?
        .get("properties")?
        .get("tags")?;
    let service = tags.get("deployer:service")?.as_str()?;
    let component = tags.get("deployer:component")?.as_str()?;
    Some(if service == "_stack" {
        label(service).to_string()
    } else {
        format!("{service}/{component}")
    })
}

/// The report as a pull-request comment: per component, the resources added,
/// changed (with their properties) and removed; removals first, as warnings.
fn markdown(r: &Report, old: &Json, new: &Json) -> String {
    use crate::markdown::{Section, escape};
    let summary = if r.changed {
        format!(
            "### deployer diff: {} / {} against `{}` \u{2014} {} to add, {} to change, {} to remove",
            r.stack,
            r.environment,
            escape(&r.against),
            r.added.len(),
            r.updated.len(),
            r.removed.len()
        ) + &crate::ops::impact::markdown(&r.impacts, label)
            + &r.cost
                .as_ref()
                .map(|c| c.markdown(label))
                .unwrap_or_default()
    } else {
        format!(
            "### deployer diff: {} / {} against `{}` \u{2014} no changes",
            r.stack,
            r.environment,
            escape(&r.against)
        )
    };
    let component = |program: &Json, name: &str| {
        component_of(program, name).unwrap_or_else(|| "other resources".to_string())
    };
    let warnings: Vec<String> = r
        .removed
        .iter()
        .map(|c| {
            format!(
                "`{}`: `{}` ({}) is removed",
                escape(&component(old, &c.name)),
                escape(&c.name),
                escape(&c.token)
            )
        })
        .collect();
    let mut by_component: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (sign, changes, program) in [
        ("+ add", &r.added, new),
        ("~ change", &r.updated, new),
        ("- remove", &r.removed, old),
    ] {
        for c in changes {
            by_component
                .entry(component(program, &c.name))
                .or_default()
                .push(format!(
                    "| {sign} | `{}` | `{}` | {} |",
                    escape(&c.name),
                    escape(&c.token),
                    c.properties
                        .iter()
                        .map(|p| format!("`{}`", escape(p)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
        }
    }
    let sections: Vec<Section> = by_component
        .into_iter()
        .map(|(component, rows)| Section {
            title: format!(
                "{component} \u{2014} {} resource{}",
                rows.len(),
                if rows.len() == 1 { "" } else { "s" }
            ),
            body: format!(
                "| | resource | type | properties |\n|---|---|---|---|\n{}\n",
                rows.join("\n")
            ),
        })
        .collect();
    crate::markdown::comment(
        &crate::markdown::marker("diff", &r.stack, &r.environment),
        &summary,
        &warnings,
        &sections,
        &format!(
            "deployer diff --stack {} --environment {} --against {}",
            r.stack, r.environment, r.against
        ),
    )
}

fn print(printer: &Printer, r: &Report) {
    if !r.changed {
        printer.success(format!(
            "{} / {}: no changes against `{}`",
            r.stack, r.environment, r.against
        ));
        return;
    }
    printer.out(format!(
        "{} / {} against `{}`: {} to add, {} to change, {} to remove",
        r.stack,
        r.environment,
        r.against,
        r.added.len(),
        r.updated.len(),
        r.removed.len()
    ));
    for impact in &r.impacts {
        printer.out(format!(
            "  while it deploys, {}: {} ({})",
            label(&impact.component),
            impact.text,
            impact.severity.word()
        ));
    }
    if let Some(cost) = &r.cost {
        printer.out(format!("  estimated monthly cost: {}", cost.summary()));
        for (component, delta) in &cost.components {
            printer.out(format!(
                "    {}  {}",
                label(component),
                crate::cost::signed(*delta)
            ));
        }
    }
    for c in &r.added {
        printer.out(format!("  {GREEN}+{GREEN:#} {} ({})", c.name, c.token));
    }
    for c in &r.updated {
        printer.out(format!(
            "  {YELLOW}~{YELLOW:#} {} ({}): {}",
            c.name,
            c.token,
            c.properties.join(", ")
        ));
    }
    for c in &r.removed {
        printer.out(format!("  {RED}-{RED:#} {} ({})", c.name, c.token));
    }
    printer.out("");
    for line in r.diff.lines() {
        let styled = match line.chars().next() {
            Some('+') if !line.starts_with("+++") => format!("{GREEN}{line}{GREEN:#}"),
            Some('-') if !line.starts_with("---") => format!("{RED}{line}{RED:#}"),
            _ => line.to_string(),
        };
        printer.out(styled);
    }
}

impl DiffArgs {
    /// The stack, once [`run`] has resolved it.
    fn stack(&self) -> &str {
        self.target.stack.as_deref().unwrap_or_default()
    }

    /// The environment, once [`run`] has resolved it.
    fn environment(&self) -> &str {
        self.target.environment.as_deref().unwrap_or_default()
    }
}
