//! `deployer version`: deployer's version and commit, and the Pulumi CLI it finds.

use crate::cli::ExitStatus;
use crate::cli::args::{OutputFormat, VersionArgs};
use crate::cli::printer::Printer;
use crate::error::Result;
use crate::ops::{PULUMI_INSTALL_HELP, PULUMI_MIN_VERSION};
use serde_json::json;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const COMMIT: &str = env!("DEPLOYER_GIT_COMMIT");
pub const TARGET: &str = env!("DEPLOYER_TARGET");

pub fn run(args: VersionArgs, printer: &Printer) -> Result<ExitStatus> {
    let found = crate::ops::pulumi_on_path();
    match args.output {
        OutputFormat::Json => {
            let pulumi = match &found {
                Some((path, Ok(v))) => {
                    json!({"path": path, "version": v.to_string(), "supported": *v >= PULUMI_MIN_VERSION})
                }
                Some((path, Err(e))) => json!({"path": path, "error": e.to_string()}),
                None => json!(null),
            };
            printer.json(&json!({"version": VERSION, "commit": COMMIT, "pulumi": pulumi, "pulumi_minimum": PULUMI_MIN_VERSION.to_string(), "pulumi_aws": crate::provider::AWS_VERSION, "build_target": TARGET}));
        }
        OutputFormat::Text => {
            printer.out(format!("deployer {VERSION} (commit {COMMIT}, {TARGET})"));
            printer.out(format!(
                "pulumi-aws {} (pinned in every program)",
                crate::provider::AWS_VERSION
            ));
            match &found {
                Some((path, Ok(v))) if *v >= PULUMI_MIN_VERSION => {
                    printer.out(format!("pulumi {v} ({})", path.display()))
                }
                Some((path, Ok(v))) => printer.out(format!(
                    "pulumi {v} ({}) — too old, deployer needs {} or newer",
                    path.display(),
                    PULUMI_MIN_VERSION
                )),
                Some((path, Err(e))) => printer.out(format!("pulumi at {}: {e}", path.display())),
                None => printer.out(format!("pulumi: not found — {}", PULUMI_INSTALL_HELP)),
            }
        }
    }
    Ok(ExitStatus::Success)
}
