//! `logs`: the CloudWatch Logs of components of the last successful release,
//! interleaved by time, once or following until Ctrl+C.

use super::{Scope, Ui, deployed, open_backend};
use crate::error::{Error, Result};
use crate::inspect::logs::{Source, Tail};
use crate::inspect::{Cloud, output};
use crate::model::stack::EnvironmentSpec;
use std::time::Duration;

pub use crate::inspect::logs::Line;

/// Whether `logs` keeps reading.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    Once,
    /// Until Ctrl+C: polled every second while lines come, less often (up to
    /// every 10 s) while it is quiet.
    UntilInterrupted,
}

/// What `logs` reads.
pub struct LogsRequest {
    /// `service/component`, each a microservice of the release.
    pub components: Vec<String>,
    /// How far back to start.
    pub since: Duration,
    /// A CloudWatch Logs filter pattern.
    pub filter: Option<String>,
    pub follow: Follow,
}

/// `deployer logs`: each line read is given to `print`, in time order.
pub fn logs(
    scope: Scope,
    env: &EnvironmentSpec,
    request: LogsRequest,
    ui: &dyn Ui,
    mut print: impl FnMut(&Line),
) -> Result<()> {
    let (stack, environment) = (&scope.stack, &scope.environment);
    let backend = open_backend(scope.repo, ui)?;
    let deployed = deployed::required(&backend, stack, environment)?;
    let (release, manifest) = (deployed.release, deployed.files.manifest);
    let outputs = release
        .result
        .as_ref()
        .map(|r| r.outputs.clone())
        .unwrap_or_default();
    let mut sources = Vec::new();
    for component in &request.components {
        let Some(entry) = manifest.components.get(component) else {
            let known: Vec<&str> = manifest
                .components
                .keys()
                .filter(|k| *k != "_stack")
                .map(String::as_str)
                .collect();
            let err = Error::usage(format!(
                "release #{} of {stack} / {environment} has no component `{component}`",
                release.start.number
            ));
            return Err(
                match crate::diagnostic::did_you_mean(component, known.iter().copied()) {
                    Some(help) => {
                        err.with_help(format!("{help} (components: {})", known.join(", ")))
                    }
                    None => err.with_help(format!("components: {}", known.join(", "))),
                },
            );
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
    let cloud = Cloud::connect(env, &backend.who(&scope.repo.root))?;
    let since = now_ms() - request.since.as_millis() as i64;
    let mut tail = Tail::new(sources, since, request.filter);
    let mut idle = Duration::from_secs(1);
    loop {
        let lines = tail.poll(&cloud).map_err(Error::failed)?;
        let got = !lines.is_empty();
        lines.iter().for_each(&mut print);
        if request.follow == Follow::Once {
            return Ok(());
        }
        idle = if got {
            Duration::from_secs(1)
        } else {
            (idle * 2).min(Duration::from_secs(10))
        };
        if crate::interrupt::sleep(idle) {
            return Ok(());
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
