//! `deployer logs --component SERVICE/COMPONENT [--follow]`: CloudWatch Logs of
//! components, found from the latest successful release, interleaved by time.

use super::{open_backend, open_repo, stack_file};
use crate::cli::ExitStatus;
use crate::cli::args::LogsArgs;
use crate::cli::printer::{DIM, Printer};
use crate::error::{Error, Result};
use crate::inspect::logs::{Line, Source, Tail};
use crate::inspect::{Cloud, output};
use crate::load::Repo;
use crate::ops::deployed;
use std::time::Duration;

pub fn run(args: LogsArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    // The stack and environment as every command chooses them (--stack,
    // DEPLOYER_STACK, the folder you are in, the only stack; --environment,
    // DEPLOYER_ENVIRONMENT, `default_environment:`, development/dev, the only
    // one, never production), and when the repository has several stacks and
    // nothing names one, the one stack that has the components.
    let (stack, stack_from) = match super::target::stack(&repo, args.stack.as_deref()) {
        Ok(chosen) => chosen,
        Err(_) if args.stack.is_none() && repo.stack_names().len() > 1 => (
            infer_stack(&repo, &args.component)?,
            "the stack with these components",
        ),
        Err(e) => return Err(e),
    };
    let file = stack_file(printer, &repo, &stack)?;
    let (environment, environment_from) =
        super::target::environment(&stack, &file, args.environment.as_deref())?;
    let super::target::ChosenTarget {
        stack, environment, ..
    } = super::announce(
        printer,
        super::target::ChosenTarget {
            stack,
            environment,
            stack_from,
            environment_from,
        },
    );
    let backend = open_backend(printer, &repo)?;
    let deployed = deployed::required(&backend, &stack, &environment)?;
    let (release, manifest) = (deployed.release, deployed.files.manifest);
    let outputs = release
        .result
        .as_ref()
        .map(|r| r.outputs.clone())
        .unwrap_or_default();
    let mut sources = Vec::new();
    for component in &args.component {
        let Some(entry) = manifest.components.get(component) else {
            let known: Vec<&str> = manifest
                .components
                .keys()
                .filter(|k| *k != "_stack")
                .map(String::as_str)
                .collect();
            let mut err = Error::usage(format!(
                "release #{} of {stack} / {environment} has no component `{component}`",
                release.start.number
            ));
            err = match crate::diagnostic::did_you_mean(component, known.iter().copied()) {
                Some(help) => err.with_help(format!("{help} (components: {})", known.join(", "))),
                None => err.with_help(format!("components: {}", known.join(", "))),
            };
            return Err(err);
        };
        if entry.kind != "microservice" {
            return Err(Error::usage(format!(
                "`{component}` is a {} component; only microservices write logs to CloudWatch",
                entry.kind
            )));
        }
        let group = output(&outputs, component, "log_group")
            .ok_or_else(|| crate::inspect::missing_output(component, "log_group"))?;
        sources.push(Source {
            component: component.clone(),
            group: group.to_string(),
        });
    }
    let cloud = Cloud::connect(&file.environments[&environment], &backend.who(&repo.root))?;
    let since = now_ms() - args.since.as_millis() as i64;
    let mut tail = Tail::new(sources, since, args.filter.clone());
    let prefix = args.component.len() > 1;
    let mut idle = Duration::from_secs(1);
    loop {
        let lines = tail.poll(&cloud).map_err(Error::failed)?;
        let got = !lines.is_empty();
        for line in &lines {
            print_line(printer, line, prefix);
        }
        if !args.follow {
            return Ok(ExitStatus::Success);
        }
        // Poll again soon while lines come, less often while it is quiet.
        idle = if got {
            Duration::from_secs(1)
        } else {
            (idle * 2).min(Duration::from_secs(10))
        };
        if crate::interrupt::sleep(idle) {
            return Ok(ExitStatus::Success);
        }
    }
}

fn print_line(printer: &Printer, line: &Line, prefix: bool) {
    let time = jiff::Timestamp::from_millisecond(line.timestamp).map_or_else(
        |_| line.timestamp.to_string(),
        |t| t.strftime("%Y-%m-%d %H:%M:%S").to_string(),
    );
    if prefix {
        printer.out(format!(
            "{DIM}[{}]{DIM:#} {time} {}",
            line.component, line.message
        ));
    } else {
        printer.out(format!("{time} {}", line.message));
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The one stack that has every component named.
fn infer_stack(repo: &Repo, components: &[String]) -> Result<String> {
    let has = |stack: &str, component: &str| {
        let Some((service, name)) = component.split_once('/') else {
            return false;
        };
        repo.root
            .join("stacks")
            .join(stack)
            .join("services")
            .join(service)
            .join("components")
            .join(name)
            .is_dir()
    };
    let matching: Vec<String> = repo
        .stack_names()
        .into_iter()
        .filter(|s| components.iter().all(|c| has(s, c)))
        .collect();
    match matching.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(
            Error::usage(format!("no stack has {}", components.join(" and ")))
                .with_help("name components as SERVICE/COMPONENT, or pass --stack"),
        ),
        many => Err(Error::usage(format!(
            "several stacks have {}: {}",
            components.join(" and "),
            many.join(", ")
        ))
        .with_help("pass --stack")),
    }
}
