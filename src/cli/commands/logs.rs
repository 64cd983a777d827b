//! `deployer logs --component SERVICE/COMPONENT [--follow]`: CloudWatch Logs of
//! components, found from the latest successful release, interleaved by time.

use super::{open_repo, stack_file};
use crate::cli::ExitStatus;
use crate::cli::args::LogsArgs;
use crate::cli::printer::{DIM, Printer};
use crate::cli::ui::CliUi;
use crate::error::{Error, Result};
use crate::load::Repo;
use crate::ops::Scope;
use crate::ops::logs::{Follow, Line, LogsRequest};

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
    let scope = Scope {
        repo: &repo,
        stack,
        environment,
    };
    let request = LogsRequest {
        components: args.component.clone(),
        since: args.since,
        filter: args.filter.clone(),
        follow: if args.follow {
            Follow::UntilInterrupted
        } else {
            Follow::Once
        },
    };
    let prefix = args.component.len() > 1;
    let env = &file.environments[&scope.environment].clone();
    crate::ops::logs::logs(scope, env, request, &CliUi::new(printer), |line| {
        print_line(printer, line, prefix)
    })?;
    Ok(ExitStatus::Success)
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
