//! `deployer stack init`: scaffolds a valid stack.yaml and a first service in the
//! current folder. Asks on a terminal; otherwise every required answer must come
//! from a flag. Never overwrites anything.

use super::Asker;
use crate::cli::ExitStatus;
use crate::cli::args::StackInitArgs;
use crate::cli::printer::Printer;
use crate::error::{Context, Error, Result};
use crate::model::names::{self, NameKind};
use std::path::{Path, PathBuf};

const DEFAULT_ENVIRONMENTS: &str = "development,staging,production";
const DEFAULT_REGION: &str = "us-east-1";
const DEFAULT_SERVICE: &str = "web";
const DEFAULT_IMAGE: &str = "public.ecr.aws/nginx/nginx";

pub fn run(args: StackInitArgs, printer: &Printer) -> Result<ExitStatus> {
    let dir = std::env::current_dir().context(|| "cannot read the current folder".to_string())?;
    let stack_file = dir.join("stack.yaml");
    if stack_file.exists() {
        return Err(
            Error::failed(format!("{} already exists", stack_file.display())).with_help(
                "deployer stack init never overwrites; edit the file, or run it in an empty folder",
            ),
        );
    }
    let asker = Asker {
        interactive: !args.yes && printer.can_prompt(),
    };
    let folder = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name_default = (!folder.is_empty()).then_some(folder.as_str());
    let name = asker.ask(args.name, "Stack name", "--name", name_default, |v| {
        names::check(NameKind::Stack, v)
    })?;
    let description = asker.ask(
        args.description,
        "Description",
        "--description",
        Some(""),
        |_| Ok(()),
    )?;
    let owner = asker.ask(
        args.owner,
        "Owner (team or email)",
        "--owner",
        Some(""),
        |_| Ok(()),
    )?;
    let environments = asker.ask(
        (!args.environments.is_empty()).then(|| args.environments.join(",")),
        "Environments",
        "--environments",
        Some(DEFAULT_ENVIRONMENTS),
        |v| {
            v.split(',')
                .try_for_each(|e| names::check(NameKind::Environment, e.trim()))
        },
    )?;
    let account = asker.ask(args.account, "AWS account ID", "--account", None, |v| {
        (v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit()))
            .then_some(())
            .ok_or_else(|| "an AWS account ID is 12 digits".into())
    })?;
    let region = asker.ask(
        args.region,
        "AWS region",
        "--region",
        Some(DEFAULT_REGION),
        |v| {
            let ok = regex::Regex::new(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$")
                .expect("valid")
                .is_match(v);
            ok.then_some(())
                .ok_or_else(|| "a region looks like us-east-1".into())
        },
    )?;
    let vpc = asker.ask(args.vpc, "VPC ID", "--vpc", None, |v| id_check(v, "vpc"))?;
    let subnets = asker.ask(
        (!args.private_subnets.is_empty()).then(|| args.private_subnets.join(",")),
        "Private subnet IDs (comma-separated, at least two)",
        "--private-subnets",
        None,
        |v| {
            let list: Vec<&str> = v.split(',').map(str::trim).collect();
            if list.len() < 2 {
                return Err("give at least two subnets, in different availability zones".into());
            }
            list.iter().try_for_each(|s| id_check(s, "subnet"))
        },
    )?;
    let service = asker.ask(
        args.service,
        "First service",
        "--service",
        Some(DEFAULT_SERVICE),
        |v| names::check(NameKind::Service, v),
    )?;
    let image = asker.ask(
        args.image,
        "Container image (without tag)",
        "--image",
        Some(DEFAULT_IMAGE),
        |v| {
            (!v.is_empty() && !v.contains(char::is_whitespace))
                .then_some(())
                .ok_or_else(|| "an image reference has no spaces".into())
        },
    )?;

    let service_dir = dir.join("services").join(&service);
    if service_dir.exists() {
        return Err(
            Error::failed(format!("{} already exists", service_dir.display()))
                .with_help("choose another --service name"),
        );
    }
    let environments: Vec<&str> = environments
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let subnets: Vec<&str> = subnets.split(',').map(str::trim).collect();
    let files = scaffold(
        &name,
        &description,
        &owner,
        &environments,
        &account,
        &region,
        &vpc,
        &subnets,
        &service,
        &image,
    );
    for (path, text) in &files {
        let full = dir.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)
                .context(|| format!("cannot create {}", parent.display()))?;
        }
        write_new(&full, text)?;
        printer.success(format!("wrote {}", path.display()));
    }
    if dir
        .parent()
        .and_then(Path::file_name)
        .is_none_or(|p| p != "stacks")
    {
        printer.warning(
            "deployer finds stacks in stacks/<name>/ of the repository; move this folder there",
        );
    }
    printer.status(format!("next: deployer validate --stack {name}"));
    printer.status(
        "note: until `deployer init` sets up the shared back-end, state, locks and release records are kept in .deployer/ of the repository (git ignores it; deleting it loses track of what is deployed)",
    );
    Ok(ExitStatus::Success)
}

fn id_check(value: &str, prefix: &str) -> std::result::Result<(), String> {
    let hex = value.strip_prefix(&format!("{prefix}-")).unwrap_or("");
    let ok = (8..=17).contains(&hex.len())
        && hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    ok.then_some(())
        .ok_or_else(|| format!("`{value}` is not a {prefix} ID like {prefix}-0a1b2c3d4e5f67890"))
}

/// Creates a file that must not exist yet (`O_EXCL`), so a race cannot overwrite.
fn write_new(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .context(|| format!("cannot create {}", path.display()))?;
    file.write_all(text.as_bytes())
        .context(|| format!("cannot write {}", path.display()))
}

/// A YAML double-quoted string (JSON's quoting is valid YAML).
fn q(text: &str) -> String {
    serde_json::to_string(text).expect("strings serialise")
}

#[allow(clippy::too_many_arguments)]
fn scaffold(
    name: &str,
    description: &str,
    owner: &str,
    environments: &[&str],
    account: &str,
    region: &str,
    vpc: &str,
    subnets: &[&str],
    service: &str,
    image: &str,
) -> Vec<(PathBuf, String)> {
    let schema = |kind: &str, depth: usize| {
        format!(
            "# yaml-language-server: $schema={}schemas/{kind}.schema.json\n",
            "../".repeat(depth)
        )
    };
    let mut stack = schema("stack", 2);
    if !description.is_empty() {
        stack.push_str(&format!("description: {}\n", q(description)));
    }
    if !owner.is_empty() {
        stack.push_str(&format!("owner: {}\n", q(owner)));
    }
    stack.push_str(&format!("tags:\n  stack: {}\n\n", q(name)));
    stack.push_str("variables:\n  VERSION:\n    description: Image tag to deploy.\n    required: true\n\nenvironments:\n");
    let subnet_list = subnets.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ");
    for env in environments {
        stack.push_str(&format!(
            "  {env}:\n    account: {}\n    region: {region}\n",
            q(account)
        ));
        if *env == "production" {
            stack.push_str("    production: true\n");
        }
        stack.push_str(&format!(
            "    network:\n      vpc: {vpc}\n      private_subnets: [{subnet_list}]\n"
        ));
    }
    let service_yaml = format!(
        "{}description: {}\n",
        schema("service", 4),
        q(&format!("The {service} service."))
    );
    let microservice = format!(
        "{}image: {}\nport: 80\nhealth_check:\n  path: /\nexpose:\n  visibility: internal\n  paths: [\"/*\"]\nenv:\n  ENVIRONMENT: \"{{{{ environment.name }}}}\"\n",
        schema("microservice", 6),
        q(&format!("{image}:{{{{ var.VERSION }}}}"))
    );
    let mut infra = format!("{}cpu: 256\nmemory: 512\nreplicas: 1\n", schema("infra", 6));
    if environments.contains(&"production") {
        infra.push_str("environments:\n  production:\n    replicas: 2\n");
    }
    let component = PathBuf::from("services")
        .join(service)
        .join("components")
        .join("api");
    vec![
        (PathBuf::from("stack.yaml"), stack),
        (
            PathBuf::from("services").join(service).join("service.yaml"),
            service_yaml,
        ),
        (component.join("microservice.yaml"), microservice),
        (component.join("infra.yaml"), infra),
    ]
}
