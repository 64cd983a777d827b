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
        region: args.region,
    };
    let report = import(&request).map_err(|e| Error::failed(e.0))?;
    if args.output == OutputFormat::Json {
        printer.json(&report);
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
    printer.status(format!(
        "  next: review what is not supported, then `deployer validate --all --repo {}`",
        args.out.display()
    ));
    Ok(ExitStatus::Success)
}
