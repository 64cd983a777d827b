//! `deployer import copilot`: an AWS Copilot workspace written as a stack,
//! and the report of what became of every manifest key.

use crate::cli::ExitStatus;
use crate::cli::args::{ImportCopilotArgs, OutputFormat};
use crate::cli::printer::Printer;
use crate::error::{Error, Result};
use crate::import::copilot::{Import, import};

pub fn copilot(args: ImportCopilotArgs, printer: &Printer) -> Result<ExitStatus> {
    let request = Import {
        workspace: &args.workspace,
        stack: &args.stack,
        out: &args.out,
        accounts: args.env_account.into_iter().collect(),
        region: args.region.clone(),
    };
    let report = import(&request).map_err(|e| Error::failed(e.0))?;
    let adoption = if args.adopt {
        Some(crate::ops::adopt::adopt(&crate::ops::adopt::Request {
            repo: &args.out,
            stack: &args.stack,
            report: &report,
            region: &args.region,
        })?)
    } else {
        None
    };
    if args.output == OutputFormat::Json {
        let mut value = serde_json::to_value(&report).unwrap_or_default();
        if let Some(adoption) = &adoption {
            value["adoption"] = serde_json::to_value(adoption).unwrap_or_default();
        }
        printer.json(&value);
        return Ok(ExitStatus::Success);
    }
    let count = |outcome: &str| {
        report
            .entries
            .iter()
            .filter(|e| e.outcome == outcome)
            .count()
    };
    for entry in report.entries.iter().filter(|e| e.outcome != "mapped") {
        printer.status(format!(
            "{}:{}: {} `{}`: {}",
            entry.file,
            entry.line,
            if entry.outcome == "unknown" {
                "unknown key"
            } else {
                "not supported"
            },
            entry.key,
            entry.detail
        ));
    }
    printer.success(format!(
        "Imported Copilot application `{}` as stack `{}` in {}: {} keys mapped, {} not supported, {} unknown; {} files written",
        report.application,
        report.stack,
        args.out.display(),
        count("mapped"),
        count("unsupported"),
        count("unknown"),
        report.written.len()
    ));
    if let Some(adoption) = &adoption {
        for env in &adoption.environments {
            if let Some(located) = &env.located {
                printer.status(format!("{}: runs in {located}", env.environment));
            }
            for adopted in &env.adopted {
                let settings: Vec<String> =
                    adopted.settings.iter().map(ToString::to_string).collect();
                printer.status(format!(
                    "{}: adopts {} as {} of {}{}",
                    env.environment,
                    adopted.from,
                    adopted.resource,
                    if adopted.component.is_empty() {
                        "the environment"
                    } else {
                        &adopted.component
                    },
                    match settings.is_empty() {
                        true => String::new(),
                        false => format!(" ({})", settings.join(", ")),
                    }
                ));
            }
            for left in &env.left {
                printer.status(format!(
                    "{}: leaves {} ({}): {}",
                    env.environment, left.from, left.kind, left.why
                ));
            }
            if !env.retain.is_empty() {
                let stacks: Vec<String> = env
                    .retain
                    .iter()
                    .map(|r| format!("{} ({})", r.stack, r.resources.join(", ")))
                    .collect();
                printer.warning(format!(
                    "{}: before deleting Copilot's stacks, give these `DeletionPolicy: Retain`, or deleting a stack deletes them: {}",
                    env.environment,
                    stacks.join("; ")
                ));
            }
        }
        let adopted: usize = adoption.environments.iter().map(|e| e.adopted.len()).sum();
        printer.success(format!(
            "Adopted {adopted} resource{} across {} environment{}: each environment's first apply imports them (stack.yaml `adopt:`); remove `adopt:` once it has",
            if adopted == 1 { "" } else { "s" },
            adoption.environments.len(),
            if adoption.environments.len() == 1 { "" } else { "s" },
        ));
    }
    printer.status(format!(
        "  next: review what is not supported, then `deployer validate --all --repo {}`{}",
        args.out.display(),
        if adoption.is_some() {
            ", then `deployer plan` each environment: it shows what is imported"
        } else {
            ""
        }
    ));
    Ok(ExitStatus::Success)
}
