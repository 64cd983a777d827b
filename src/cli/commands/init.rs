//! `deployer init`: writes `~/.deployer/config.yaml` with the shared bucket,
//! table and region (asked on a terminal, flags otherwise), and with `--create`
//! creates them when they do not exist.

use super::Asker;
use crate::backend::aws::{Clients, Settings};
use crate::backend::bootstrap::Created;
use crate::backend::config::{self, BackendSection};
use crate::cli::ExitStatus;
use crate::cli::args::InitArgs;
use crate::cli::printer::Printer;
use crate::error::Result;

pub fn run(args: InitArgs, printer: &Printer) -> Result<ExitStatus> {
    let existing = config::load()?.and_then(|f| f.backend);
    let asker = Asker {
        interactive: printer.can_prompt(),
    };
    let env_region = std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty());
    let bucket = asker.ask(
        args.bucket,
        "S3 Bucket",
        "--bucket",
        existing.as_ref().map(|e| e.bucket.as_str()),
        check_bucket,
    )?;
    let table = asker.ask(
        args.table,
        "DynamoDB Table",
        "--table",
        existing.as_ref().map(|e| e.table.as_str()),
        check_table,
    )?;
    let region_default = existing.as_ref().map(|e| e.region.clone()).or(env_region);
    let region = asker.ask(
        args.region,
        "Region",
        "--region",
        region_default.as_deref(),
        check_region,
    )?;
    let endpoint = args
        .endpoint
        .or_else(|| existing.as_ref().and_then(|e| e.endpoint.clone()));
    let section = BackendSection {
        bucket: bucket.clone(),
        table: table.clone(),
        region: region.clone(),
        path_style: existing.as_ref().and_then(|e| e.path_style),
        secrets_provider: existing.as_ref().and_then(|e| e.secrets_provider.clone()),
        endpoint: endpoint.clone(),
    };
    if args.create {
        let env_endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
            .ok()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok());
        let endpoint = endpoint.or(env_endpoint);
        let path_style = section.path_style.unwrap_or(endpoint.is_some());
        let settings = Settings {
            bucket,
            table,
            region,
            endpoint,
            path_style,
            secrets_provider: None,
        };
        let clients = Clients::connect(&settings)?;
        for result in [
            clients.create_bucket(&settings)?,
            clients.create_table(&settings)?,
        ] {
            match result {
                Created::Created(what) => printer.success(format!("Created {what}")),
                Created::Existed(what) => printer.success(format!("Found {what}")),
            }
        }
    }
    let path = config::save(section)?;
    printer.success(format!("Saved to {}", path.display()));
    Ok(ExitStatus::Success)
}

/// S3 bucket names: 3–63 lowercase letters, digits, dots and hyphens.
fn check_bucket(name: &str) -> std::result::Result<(), String> {
    let ok = (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    ok.then_some(()).ok_or_else(|| {
        format!(
            "`{name}` is not a valid S3 bucket name (3–63 lowercase letters, digits, dots, hyphens)"
        )
    })
}

/// DynamoDB table names: 3–255 letters, digits, `_`, `-`, `.`.
fn check_table(name: &str) -> std::result::Result<(), String> {
    let ok = (3..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    ok.then_some(())
        .ok_or_else(|| format!("`{name}` is not a valid DynamoDB table name"))
}

fn check_region(region: &str) -> std::result::Result<(), String> {
    let ok = regex::Regex::new(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$")
        .expect("valid")
        .is_match(region);
    ok.then_some(())
        .ok_or_else(|| format!("`{region}` is not an AWS region like us-east-1"))
}
