//! After `pulumi up`: the deployments ECS runs for the services the release
//! changed, followed to their end. ECS, not Pulumi, decides whether a rollout
//! succeeds — a canary bakes after the service update returns, an alarm or
//! the circuit breaker rolls it back — so a release is only successful once
//! every deployment it started is (`ServiceDeployment.status` `SUCCESSFUL`).

use super::Ui;
use crate::inspect::Cloud;
use crate::inspect::rollout::{self, ServiceDeployment};
use std::collections::BTreeMap;
use std::time::Duration;

/// What ECS does with one service's deployment, as `apply` reports it.
pub enum RolloutEvent<'a> {
    /// Found, not finished.
    Started {
        component: &'a str,
        deployment: &'a ServiceDeployment,
    },
    /// A new stage, or a new share of traffic.
    Moved {
        component: &'a str,
        deployment: &'a ServiceDeployment,
    },
    /// Successful, or rolled back.
    Finished {
        component: &'a str,
        deployment: &'a ServiceDeployment,
    },
    /// ECS could not be asked.
    Unread { component: &'a str, why: &'a str },
    /// Ctrl+C while it ran: ECS carries on without deployer.
    LeftToEcs {
        component: &'a str,
        deployment: &'a ServiceDeployment,
    },
}

/// How the rollouts ended.
#[derive(Default)]
pub struct Rollouts {
    /// Deployments ECS rolled back (or that were stopped), per component.
    pub rolled_back: Vec<(String, ServiceDeployment)>,
    /// Interrupted while these still ran.
    pub left_to_ecs: Vec<String>,
}

/// How often ECS is asked while a rollout runs (`DEPLOYER_ROLLOUT_POLL_MS`,
/// default 15 s: a canary's steps are minutes).
fn poll_interval() -> Duration {
    std::env::var("DEPLOYER_ROLLOUT_POLL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_secs(15), Duration::from_millis)
}

/// A service being followed.
struct Followed {
    component: String,
    cluster: String,
    service: String,
    seen: Option<ServiceDeployment>,
}

/// Follows the deployments created since `since` (Unix seconds) of the ECS
/// services of `components`, found through the release's `outputs`, until
/// each has finished or Ctrl+C.
pub fn follow(
    cloud: &Cloud,
    outputs: &BTreeMap<String, serde_json::Value>,
    components: &[String],
    since: i64,
    ui: &dyn Ui,
) -> Rollouts {
    let mut result = Rollouts::default();
    let cluster = crate::inspect::output(outputs, "_stack", "cluster");
    let mut followed: Vec<Followed> = components
        .iter()
        .filter_map(|component| {
            Some(Followed {
                component: component.clone(),
                cluster: cluster?.to_string(),
                service: crate::inspect::output(outputs, component, "name")?.to_string(),
                seen: None,
            })
        })
        .collect();
    loop {
        followed.retain_mut(|f| {
            let now = match rollout::latest(cloud, &f.cluster, &f.service, Some(since)) {
                Ok(Some(now)) => now,
                // No deployment since the release began: the service itself
                // did not change.
                Ok(None) => return false,
                Err(why) => {
                    ui.rollout(&RolloutEvent::Unread {
                        component: &f.component,
                        why: &why,
                    });
                    return false;
                }
            };
            let component = f.component.as_str();
            match &f.seen {
                None if !now.finished() => ui.rollout(&RolloutEvent::Started {
                    component,
                    deployment: &now,
                }),
                Some(seen)
                    if (&seen.stage, seen.traffic_percent) != (&now.stage, now.traffic_percent)
                        && !now.finished() =>
                {
                    ui.rollout(&RolloutEvent::Moved {
                        component,
                        deployment: &now,
                    })
                }
                _ => {}
            }
            if now.finished() {
                ui.rollout(&RolloutEvent::Finished {
                    component,
                    deployment: &now,
                });
                if now.rolled_back() {
                    result.rolled_back.push((f.component.clone(), now));
                }
                return false;
            }
            f.seen = Some(now);
            true
        });
        if followed.is_empty() {
            return result;
        }
        if crate::interrupt::sleep(poll_interval()) {
            for f in &followed {
                if let Some(deployment) = &f.seen {
                    ui.rollout(&RolloutEvent::LeftToEcs {
                        component: &f.component,
                        deployment,
                    });
                }
                result.left_to_ecs.push(f.component.clone());
            }
            return result;
        }
    }
}
