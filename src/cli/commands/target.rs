//! Which stack and environment a command acts on, when the command line leaves
//! them out — said out loud, and never a production environment by default.
//!
//! Stack: `--stack`, else `DEPLOYER_STACK`, else the stack folder the current
//! directory is in (at any depth under `stacks/<name>/`), else the only stack.
//! Environment: `--environment`, else `DEPLOYER_ENVIRONMENT`, else
//! `default_environment:` in stack.yaml, else one named `development` or `dev`,
//! else the only one. A name may be an environment's alias (`aliases: [dev]`).
//! A default that would land on a production environment stops (exit 2).

use crate::diagnostic::{Code, Diagnostic};
use crate::error::{Error, Result};
use crate::load::Repo;
use crate::model::stack::StackFile;
use serde::Serialize;

/// The stack and environment a command acts on, and why.
#[derive(Clone, Debug, Serialize)]
pub struct ChosenTarget {
    pub stack: String,
    pub environment: String,
    /// Why this stack: `--stack`, `DEPLOYER_STACK`, `current folder`, `only stack`.
    pub stack_from: &'static str,
    /// Why this environment: `--environment`, `DEPLOYER_ENVIRONMENT`,
    /// `default environment`, `development environment`, `only environment`
    /// (with the alias used, if any).
    pub environment_from: String,
}

impl ChosenTarget {
    /// `notification-platform / development (only stack; default environment)`
    /// when anything was inferred, for the command's first line.
    pub fn inferred(&self) -> Option<String> {
        let mut why = Vec::new();
        if self.stack_from != "--stack" {
            why.push(format!("stack: {}", self.stack_from));
        }
        if self.environment_from != "--environment" {
            why.push(format!("environment: {}", self.environment_from));
        }
        (!why.is_empty())
            .then(|| format!("{} / {} ({})", self.stack, self.environment, why.join("; ")))
    }
}

fn from_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The stack: as given, else inferred; an unknown one keeps its did-you-mean.
pub fn stack(repo: &Repo, given: Option<&str>) -> Result<(String, &'static str)> {
    let (name, from) = if let Some(name) = given {
        (name.to_string(), "--stack")
    } else if let Some(name) = from_env("DEPLOYER_STACK") {
        (name, "DEPLOYER_STACK")
    } else if let Some(name) = current_stack(repo) {
        (name, "current folder")
    } else {
        match repo.stack_names().as_slice() {
            [only] => (only.clone(), "only stack"),
            names => {
                return Err(Error::usage(if names.is_empty() {
                    "this repository has no stacks yet".to_string()
                } else {
                    format!(
                        "which stack? this repository has {}: {}",
                        names.len(),
                        names.join(", ")
                    )
                })
                .with_help(
                    "pass --stack NAME, set DEPLOYER_STACK, or run deployer inside stacks/NAME/",
                ));
            }
        }
    };
    repo.require_stack(&name)?;
    Ok((name, from))
}

/// The stack folder the current directory is in, if any.
fn current_stack(repo: &Repo) -> Option<String> {
    let cwd = std::env::current_dir().ok()?.canonicalize().ok()?;
    let stacks = repo.real_root.join("stacks");
    let rest = cwd.strip_prefix(&stacks).ok()?;
    let first = rest.components().next()?;
    Some(first.as_os_str().to_string_lossy().into_owned())
}

/// The environment of `stack`: as given (or an alias), else the default.
pub fn environment(
    stack_name: &str,
    file: &StackFile,
    given: Option<&str>,
) -> Result<(String, String)> {
    let explicit = given
        .map(|g| (g.to_string(), "--environment"))
        .or_else(|| from_env("DEPLOYER_ENVIRONMENT").map(|e| (e, "DEPLOYER_ENVIRONMENT")));
    if let Some((name, from)) = explicit {
        if file.environments.contains_key(&name) {
            return Ok((name, from.to_string()));
        }
        if let Some((real, _)) = file
            .environments
            .iter()
            .find(|(_, e)| e.aliases.contains(&name))
        {
            return Ok((real.clone(), format!("{from} `{name}`, an alias")));
        }
        return Err(crate::pipeline::unknown_environment(stack_name, &name, file).into());
    }
    let (name, from) = if let Some(default) = &file.default_environment {
        (default.clone(), "default environment")
    } else if let Some(named) = ["development", "dev"]
        .iter()
        .find(|n| file.environments.contains_key(**n))
    {
        (named.to_string(), "development environment")
    } else if file.environments.len() == 1 {
        let only = file.environments.keys().next().expect("one");
        (only.clone(), "only environment")
    } else {
        return Err(choose(stack_name, file, "which environment?"));
    };
    let Some(spec) = file.environments.get(&name) else {
        return Err(crate::pipeline::unknown_environment(stack_name, &name, file).into());
    };
    if spec.production {
        return Err(choose(
            stack_name,
            file,
            &format!(
                "`{name}` is a production environment, and deployer never picks one by default"
            ),
        ));
    }
    Ok((name, from.to_string()))
}

fn choose(stack_name: &str, file: &StackFile, why: &str) -> Error {
    let names: Vec<String> = file
        .environments
        .iter()
        .map(|(n, e)| {
            if e.production {
                format!("{n} (production)")
            } else {
                n.clone()
            }
        })
        .collect();
    Diagnostic::error(
        Code::UnknownEnvironment,
        format!("{why} stack `{stack_name}` has {}", names.join(", ")),
    )
    .help("pass --environment NAME, or set DEPLOYER_ENVIRONMENT")
    .into()
}
