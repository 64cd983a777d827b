//! `microservice.yaml` (+ `infra.yaml`, `configs/*.yaml`): a container service on
//! ECS Fargate, optionally behind the environment's load balancer.

pub mod check;
pub mod emit;
pub mod status;

use super::{Access, Component};
use crate::model::Text;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// A long-running container service on ECS Fargate.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "deployer microservice.yaml")]
pub struct Microservice {
    /// Container image, usually with the tag from a variable:
    /// `123456789012.dkr.ecr.us-east-1.amazonaws.com/email-api:{{ var.VERSION }}`.
    #[schemars(length(min = 1, max = 1024))]
    pub image: String,
    /// The port the container listens on. Required when the service is exposed.
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u16>,
    /// Overrides the image's command (`CMD`).
    pub command: Option<Vec<String>>,
    /// Overrides the image's entry point (`ENTRYPOINT`).
    pub entrypoint: Option<Vec<String>>,
    /// Environment variables given to the container. Names are letters, digits
    /// and underscores; values are plain text (never put secrets here: use
    /// `secrets`).
    #[serde(default)]
    #[schemars(extend("propertyNames" = {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}))]
    pub env: BTreeMap<String, Text>,
    /// Secrets from AWS Secrets Manager, injected by ECS as environment
    /// variables when the container starts. Give the secret's name or ARN, or
    /// `{secret: NAME_OR_ARN, key: JSON_KEY}` for one key of a JSON secret. The
    /// value never appears in the program, the state or the logs.
    #[serde(default)]
    #[schemars(extend("propertyNames" = {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}))]
    pub secrets: BTreeMap<String, SecretRef>,
    /// How the load balancer (and ECS) decide that a task is healthy.
    #[serde(default)]
    pub health_check: HealthCheck,
    /// Route traffic to this service through the environment's load balancer.
    /// Leave it out for services nobody calls over HTTP.
    pub expose: Option<Exposure>,
    /// Other components this service talks to: `database`, `queue`, or
    /// `other-service/component`. deployer wires environment variables with
    /// their endpoints, network access and least-privilege IAM permissions.
    #[serde(default)]
    pub uses: Vec<Use>,
    /// Seconds ECS waits after SIGTERM before killing the container.
    #[schemars(range(min = 2, max = 120))]
    pub stop_timeout_seconds: Option<u32>,
    /// Run the container with a read-only root file system.
    #[serde(default)]
    pub read_only_root_filesystem: bool,
    /// A command the container runs to say it is healthy (ECS's container
    /// health check): a task whose check fails `retries` times in a row is
    /// replaced, whether or not a load balancer routes to it.
    pub container_health_check: Option<ContainerHealthCheck>,
    /// Allow a shell or command in its running tasks (`aws ecs
    /// execute-command`, ECS Exec): turned on for the service, with the
    /// task role allowed the SSM channels it uses. Its agent writes to the
    /// container's file system, so not with `read_only_root_filesystem`.
    #[serde(default)]
    pub exec: bool,
    /// Names of `env` variables (or config keys) that look like secrets
    /// (`*password*`, `*token*`, ...) but are not, so `validate` does not warn.
    #[serde(default)]
    pub not_secrets: Vec<String>,
    /// The CloudWatch Logs log group the containers write to. Leave it out
    /// for `/deployer/<stack>/<environment>/<service>/<component>`; name one
    /// to keep a log group that is already there, with its logs (`deployer
    /// import copilot --adopt` writes Copilot's, `/copilot/<app>-<env>-<service>`).
    /// A new name is a new log group: the old one is deleted with its logs.
    #[schemars(length(min = 1, max = 512), regex(pattern = r"^[._/#A-Za-z0-9-]+$"))]
    pub log_group: Option<String>,
    /// The ECS service's name in the environment's cluster. Leave it out for
    /// `<service>-<component>`; name one to keep a service that is already
    /// running, with its tasks (`deployer import copilot --adopt` writes
    /// Copilot's for a service without a load balancer). A new name is a new
    /// service: the old one is drained and deleted.
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub service_name: Option<String>,
    /// The name of the target group the load balancer sends the service's
    /// requests to. Leave it out for one pulumi-aws makes up; name one to
    /// keep a target group that is already there (`deployer import copilot
    /// --adopt` writes Copilot's). A new name is a new target group.
    #[schemars(
        length(min = 1, max = 32),
        regex(pattern = r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$")
    )]
    pub target_group_name: Option<String>,
    /// The task definition family the service's revisions are registered
    /// in. Leave it out for `<stack>-<environment>-<service>-<component>`;
    /// name one to go on with an adopted service's revisions (`deployer
    /// import copilot --adopt` writes Copilot's, `<app>-<env>-<service>`).
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub task_family: Option<String>,
    /// A Cloud Map registry the ECS service stays registered in, so what
    /// finds it by that name still does: `deployer import copilot --adopt`
    /// writes an adopted service's (Copilot registers a Backend Service with
    /// a port as `<service>.<env>.<app>.local`). Remove it once its callers
    /// reach the service another way (`ref()`).
    pub keep_service_registry: Option<ServiceRegistry>,
}

/// ECS's container health check (`HealthCheck` of a container definition),
/// within the ranges ECS takes.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContainerHealthCheck {
    /// `[CMD-SHELL, "curl -f http://localhost/ || exit 1"]`, or `[CMD,
    /// program, args…]` to run it without a shell; exit code 0 is healthy.
    #[schemars(length(min = 2))]
    pub command: Vec<String>,
    /// Seconds between checks.
    #[serde(default = "default_check_interval")]
    #[schemars(range(min = 5, max = 300))]
    pub interval_seconds: u32,
    /// Seconds a check may take.
    #[serde(default = "default_check_timeout")]
    #[schemars(range(min = 2, max = 60))]
    pub timeout_seconds: u32,
    /// Failed checks in a row that make the container unhealthy.
    #[serde(default = "default_check_retries")]
    #[schemars(range(min = 1, max = 10))]
    pub retries: u32,
    /// Seconds after the container starts during which failures do not
    /// count.
    #[serde(default)]
    #[schemars(range(min = 0, max = 300))]
    pub start_period_seconds: u32,
}

fn default_check_interval() -> u32 {
    30
}
fn default_check_timeout() -> u32 {
    5
}
fn default_check_retries() -> u32 {
    3
}

/// An ECS service's registration in AWS Cloud Map, as ECS takes it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceRegistry {
    /// The Cloud Map service's ARN.
    #[schemars(regex(
        pattern = r"^arn:aws[a-z-]*:servicediscovery:[a-z0-9-]+:[0-9]{12}:service/srv-[a-z0-9]+$"
    ))]
    pub registry_arn: String,
    /// The port of SRV records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The container port of SRV records, instead of `port` (the container
    /// is the component's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_port: Option<u16>,
}

/// A secret from AWS Secrets Manager, or an SSM parameter.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum SecretRef {
    /// The secret's name (in the environment's account and region) or full ARN.
    Name(#[schemars(length(min = 1, max = 2048))] String),
    /// One key of a JSON secret.
    Key(SecretKey),
    /// An SSM parameter (a `SecureString`, usually), which ECS reads as it
    /// starts the task.
    Parameter(ParameterSecret),
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParameterSecret {
    /// The parameter's name (in the environment's account and region, e.g.
    /// `/shop/github-token`) or full ARN.
    #[schemars(
        length(min = 1, max = 2048),
        regex(pattern = r"^(arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter/.+|[A-Za-z0-9_.\-/]+)$")
    )]
    pub parameter: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretKey {
    /// The secret's name or full ARN.
    #[schemars(length(min = 1, max = 2048))]
    pub secret: String,
    /// The key inside the secret's JSON value.
    #[schemars(length(min = 1))]
    pub key: String,
}

impl SecretRef {
    /// The Secrets Manager secret's name or ARN; `None` for an SSM parameter.
    pub fn secret(&self) -> Option<&str> {
        match self {
            SecretRef::Name(s) => Some(s),
            SecretRef::Key(k) => Some(&k.secret),
            SecretRef::Parameter(_) => None,
        }
    }

    pub fn key(&self) -> Option<&str> {
        match self {
            SecretRef::Name(_) | SecretRef::Parameter(_) => None,
            SecretRef::Key(k) => Some(&k.key),
        }
    }
}

/// Health check of the service's tasks.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HealthCheck {
    /// HTTP path the load balancer requests.
    #[schemars(regex(pattern = r"^/"))]
    pub path: String,
    /// HTTP codes that count as healthy, for example `200` or `200-299`.
    #[schemars(regex(pattern = r"^[0-9]{3}(-[0-9]{3})?(,[0-9]{3}(-[0-9]{3})?)*$"))]
    pub matcher: String,
    /// Seconds between checks.
    #[schemars(range(min = 5, max = 300))]
    pub interval_seconds: u32,
    /// Seconds after which a check fails.
    #[schemars(range(min = 2, max = 120))]
    pub timeout_seconds: u32,
    /// Consecutive successes before a task is healthy.
    #[schemars(range(min = 2, max = 10))]
    pub healthy_threshold: u32,
    /// Consecutive failures before a task is unhealthy.
    #[schemars(range(min = 2, max = 10))]
    pub unhealthy_threshold: u32,
    /// Seconds after a task starts during which failed checks are ignored.
    #[schemars(range(min = 0, max = 2147483647))]
    pub grace_period_seconds: u32,
}

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck {
            path: "/health".into(),
            matcher: "200-399".into(),
            interval_seconds: 30,
            timeout_seconds: 5,
            healthy_threshold: 3,
            unhealthy_threshold: 3,
            grace_period_seconds: 60,
        }
    }
}

/// How traffic reaches the service.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exposure {
    /// `public`: through the internet-facing load balancer; `internal`: through
    /// the environment's internal load balancer, reachable only inside the VPC.
    pub visibility: Visibility,
    /// URL path patterns routed to this service, for example `/email/*`.
    #[serde(default)]
    #[schemars(inner(regex(pattern = r"^/[A-Za-z0-9_.~*?/-]*$"), length(max = 128)))]
    pub paths: Vec<String>,
    /// Host names routed to this service, for example `email.example.com`.
    #[serde(default)]
    #[schemars(inner(regex(
        pattern = r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$"
    )))]
    pub hosts: Vec<String>,
    /// Listener rule priority (1–50000, lower is evaluated first). By default
    /// more specific routes come first.
    #[schemars(range(min = 1, max = 50000))]
    pub priority: Option<u32>,
    /// Only requests from these addresses (CIDR blocks, IPv4 or IPv6) are
    /// routed to the service; others get the listener's 404.
    #[serde(default)]
    #[schemars(inner(regex(pattern = r"^[0-9A-Fa-f:.]+/[0-9]{1,3}$")))]
    pub allowed_source_ips: Vec<String>,
    /// Send a client's requests to the task that answered its first, for a
    /// day (the load balancer's own cookie, `lb_cookie`).
    #[serde(default)]
    pub stickiness: bool,
    /// Seconds the load balancer lets a task that is stopping finish the
    /// requests it has before it is gone.
    #[serde(default = "default_deregistration_delay")]
    #[schemars(range(min = 0, max = 3600))]
    pub deregistration_delay_seconds: u32,
}

fn default_deregistration_delay() -> u32 {
    30
}

/// Paths a service is routed on: its own, or everything when it gives neither
/// paths nor hosts.
pub fn route_paths(expose: &Exposure) -> Vec<String> {
    if expose.paths.is_empty() && expose.hosts.is_empty() {
        vec!["/*".into()]
    } else {
        expose.paths.clone()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Reachable from the internet.
    Public,
    /// Reachable only from inside the VPC.
    Internal,
}

/// A component this one uses.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Use {
    /// `component` in the same service, or `service/component`.
    Name(
        #[schemars(regex(
            pattern = r"^([a-z]([a-z0-9-]*[a-z0-9])?/)?[a-z]([a-z0-9-]*[a-z0-9])?$"
        ))]
        String,
    ),
    /// With details.
    Detailed(UseDetails),
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UseDetails {
    /// `component` in the same service, or `service/component`.
    #[schemars(regex(pattern = r"^([a-z]([a-z0-9-]*[a-z0-9])?/)?[a-z]([a-z0-9-]*[a-z0-9])?$"))]
    pub component: String,
    /// What this service may do: for a queue, `read` (receive and delete),
    /// `write` (send) or `read-write` (the default).
    #[serde(default)]
    pub access: Access,
    /// Prefix of the environment variables deployer sets (default: the
    /// component's name in upper case, e.g. `QUEUE` gives `QUEUE_URL`).
    #[schemars(regex(pattern = r"^[A-Z][A-Z0-9_]*$"))]
    pub env_prefix: Option<String>,
}

impl Use {
    pub fn component(&self) -> &str {
        match self {
            Use::Name(n) => n,
            Use::Detailed(d) => &d.component,
        }
    }

    pub fn access(&self) -> Access {
        match self {
            Use::Name(_) => Access::ReadWrite,
            Use::Detailed(d) => d.access,
        }
    }

    pub fn env_prefix(&self) -> Option<&str> {
        match self {
            Use::Name(_) => None,
            Use::Detailed(d) => d.env_prefix.as_deref(),
        }
    }
}

/// `infra.yaml`: how much of what the service runs on.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "deployer infra.yaml")]
pub struct Infra {
    /// CPU units per task (1024 = one vCPU).
    #[serde(default = "default_cpu")]
    #[schemars(extend("enum" = [256, 512, 1024, 2048, 4096, 8192, 16384]))]
    pub cpu: u32,
    /// Memory per task in MiB. Fargate allows 512–2048 for 256 CPU, 1024–4096
    /// for 512, 2048–8192 for 1024, 4096–16384 for 2048, 8192–30720 for 4096.
    #[serde(default = "default_memory")]
    #[schemars(range(min = 512, max = 122880))]
    pub memory: u32,
    /// Number of tasks to run (the starting point when autoscaling).
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 0, max = 1000))]
    pub replicas: u32,
    /// Scale the number of tasks with load.
    pub autoscaling: Option<Autoscaling>,
    /// What the tasks run on: `on_demand` Fargate (the default), or `spot`:
    /// Fargate Spot, spare capacity at about a third of the price, which AWS
    /// may take back with two minutes' warning (the task gets SIGTERM and
    /// ECS starts another). Switching an existing service between the two
    /// replaces it: ECS cannot change it in place.
    #[serde(default)]
    pub capacity: Capacity,
    /// With `capacity: spot`, how many tasks run on regular Fargate before
    /// any runs on Spot, so that many survive a Spot interruption
    /// (Copilot's `count.range.spot_from` less one).
    #[serde(default)]
    #[schemars(range(min = 0, max = 1000))]
    pub on_demand_base: u32,
    /// CPU architecture of the image.
    #[serde(default)]
    pub architecture: Architecture,
    /// How a new revision replaces the running one: `rolling` (the default),
    /// or a `blue-green`, `canary` or `linear` deployment that ECS runs and
    /// rolls back itself when an alarm fires (docs/guide.md, "Rollouts").
    #[serde(default)]
    pub rollout: Rollout,
}

impl Default for Infra {
    fn default() -> Self {
        Infra {
            cpu: default_cpu(),
            memory: default_memory(),
            replicas: default_replicas(),
            autoscaling: None,
            capacity: Capacity::default(),
            on_demand_base: 0,
            architecture: Architecture::default(),
            rollout: Rollout::default(),
        }
    }
}

fn default_cpu() -> u32 {
    256
}
fn default_memory() -> u32 {
    512
}
fn default_replicas() -> u32 {
    1
}

/// What a service's tasks run on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Capacity {
    /// Regular Fargate (`launchType: FARGATE`).
    #[default]
    OnDemand,
    /// Fargate Spot (a capacity provider strategy of `FARGATE_SPOT`, after
    /// `on_demand_base` tasks on `FARGATE`).
    Spot,
}

/// Target-tracking autoscaling.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Autoscaling {
    /// Fewest tasks.
    #[schemars(range(min = 0, max = 1000))]
    pub min: u32,
    /// Most tasks.
    #[schemars(range(min = 1, max = 1000))]
    pub max: u32,
    /// Average CPU utilisation (percent) to hold.
    #[schemars(range(min = 1, max = 100))]
    pub cpu_target: Option<u32>,
    /// Average memory utilisation (percent) to hold.
    #[schemars(range(min = 1, max = 100))]
    pub memory_target: Option<u32>,
    /// Load balancer requests per task per minute to hold (exposed services only).
    #[schemars(range(min = 1, max = 1000000))]
    pub requests_per_target: Option<u32>,
    /// Average response time, in milliseconds, to hold: the load
    /// balancer's `TargetResponseTime` for the service's target group
    /// (exposed services only).
    #[schemars(range(min = 1, max = 60000))]
    pub response_time_ms: Option<u32>,
}

/// How ECS replaces the running revision with a new one. The ranges are ECS's
/// (Amazon ECS API Reference, `DeploymentConfiguration`, `CanaryConfiguration`,
/// `LinearConfiguration`, `DeploymentLifecycleHook`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    /// `rolling` replaces tasks a few at a time; `blue-green` starts the new
    /// revision beside the old one and moves all traffic at once; `canary`
    /// moves `canary_percent` first, then the rest; `linear` moves
    /// `step_percent` at each step.
    #[serde(default)]
    pub strategy: Strategy,
    /// canary: the share of production traffic the new revision gets first,
    /// in percent, 1–99 (API_CanaryConfiguration: canaryPercent; 100 would be
    /// no canary). Default 10.
    #[schemars(range(min = 1, max = 99))]
    pub canary_percent: Option<u32>,
    /// linear: the share of production traffic added at each step, in
    /// percent, 3–100 (API_LinearConfiguration: stepPercent). Default 10.
    #[schemars(range(min = 3, max = 100))]
    pub step_percent: Option<u32>,
    /// canary: minutes at the canary share; linear: minutes between steps;
    /// 0–1440 (API_CanaryConfiguration: canaryBakeTimeInMinutes,
    /// API_LinearConfiguration: stepBakeTimeInMinutes). Default 5.
    #[schemars(range(min = 0, max = 1440))]
    pub step_minutes: Option<u32>,
    /// blue-green, canary, linear: minutes both revisions are kept once all
    /// traffic is on the new one, so a rollback is instant; then the old one
    /// stops; 0–1440 (API_DeploymentConfiguration: bakeTimeInMinutes).
    /// Default 10.
    #[schemars(range(min = 0, max = 1440))]
    pub bake_minutes: Option<u32>,
    /// blue-green: `false` runs a service without a load balancer (a worker)
    /// blue/green with no traffic to shift. Every other strategy shifts
    /// traffic through the load balancer and needs `expose`.
    #[serde(default = "shifts_traffic")]
    pub shift_traffic: bool,
    /// Alarms that roll the deployment back when one is in ALARM during it
    /// (ECS deployment alarms, "How CloudWatch alarms detect Amazon ECS
    /// deployment failures"). Any strategy, rolling too.
    #[serde(default)]
    pub alarms: RolloutAlarms,
    /// The path of the test traffic: requests with the header
    /// `X-Deployer-Test: true` on this path reach the new revision before any
    /// production traffic does (the test listener rule). Default: the
    /// service's own paths.
    #[schemars(regex(pattern = r"^/[A-Za-z0-9_.~*?/-]*$"), length(max = 128))]
    pub test_path: Option<String>,
    /// Lambda functions ECS runs at a stage of the deployment; one that
    /// returns FAILED rolls it back ("Lifecycle hooks for Amazon ECS service
    /// deployments").
    #[serde(default)]
    pub hooks: Vec<RolloutHook>,
}

fn shifts_traffic() -> bool {
    true
}

impl Default for Rollout {
    fn default() -> Self {
        Rollout {
            strategy: Strategy::default(),
            canary_percent: None,
            step_percent: None,
            step_minutes: None,
            bake_minutes: None,
            shift_traffic: shifts_traffic(),
            alarms: RolloutAlarms::default(),
            test_path: None,
            hooks: Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Replace tasks a few at a time; the circuit breaker rolls back a
    /// deployment whose tasks do not start.
    #[default]
    Rolling,
    /// All traffic to the new revision at once, the old one kept for the bake.
    BlueGreen,
    /// A share first, then the rest.
    Canary,
    /// Equal steps.
    Linear,
}

impl Strategy {
    /// The name ECS gives it (`DeploymentConfiguration.strategy`).
    pub fn ecs_name(self) -> &'static str {
        match self {
            Strategy::Rolling => "ROLLING",
            Strategy::BlueGreen => "BLUE_GREEN",
            Strategy::Canary => "CANARY",
            Strategy::Linear => "LINEAR",
        }
    }

    /// The name written in infra.yaml.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Rolling => "rolling",
            Strategy::BlueGreen => "blue-green",
            Strategy::Canary => "canary",
            Strategy::Linear => "linear",
        }
    }
}

impl Rollout {
    /// Whether ECS moves traffic between two target groups (every strategy
    /// but rolling, unless a blue-green one says `shift_traffic: false`).
    pub fn shifts_traffic(&self) -> bool {
        self.strategy != Strategy::Rolling && self.shift_traffic
    }

    pub fn canary_percent(&self) -> u32 {
        self.canary_percent.unwrap_or(10)
    }

    pub fn step_percent(&self) -> u32 {
        self.step_percent.unwrap_or(10)
    }

    pub fn step_minutes(&self) -> u32 {
        self.step_minutes.unwrap_or(5)
    }

    pub fn bake_minutes(&self) -> u32 {
        self.bake_minutes.unwrap_or(10)
    }
}

/// Alarms watched during a deployment.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutAlarms {
    /// An alarm deployer creates: target 5xx responses over requests, in
    /// percent over one minute, from the load balancer (exposed services).
    #[schemars(range(min = 1, max = 100))]
    pub error_rate_percent: Option<u32>,
    /// An alarm deployer creates: the 99th percentile of the target response
    /// time over one minute, in milliseconds (exposed services).
    #[schemars(range(min = 1, max = 600000))]
    pub p99_latency_ms: Option<u32>,
    /// Existing CloudWatch alarms, by name, in the environment's account and
    /// region.
    #[serde(default)]
    #[schemars(inner(length(min = 1, max = 255)))]
    pub names: Vec<String>,
}

impl RolloutAlarms {
    pub fn any(&self) -> bool {
        self.error_rate_percent.is_some() || self.p99_latency_ms.is_some() || !self.names.is_empty()
    }
}

/// A Lambda function ECS invokes at a lifecycle stage.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutHook {
    /// The lifecycle stage (API_DeploymentLifecycleHook: lifecycleStages).
    pub stage: HookStage,
    /// The Lambda function's ARN.
    #[schemars(regex(
        pattern = r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$"
    ))]
    pub function: String,
}

/// The stages ECS names (API_DeploymentLifecycleHook).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[allow(clippy::enum_variant_names)]
pub enum HookStage {
    /// Only when a deployment starts with more than one active revision.
    #[serde(rename = "RECONCILE_SERVICE")]
    ReconcileService,
    /// The new revision has not started.
    #[serde(rename = "PRE_SCALE_UP")]
    PreScaleUp,
    /// The new revision runs; no traffic reaches it.
    #[serde(rename = "POST_SCALE_UP")]
    PostScaleUp,
    /// Test traffic moves to the new revision.
    #[serde(rename = "TEST_TRAFFIC_SHIFT")]
    TestTrafficShift,
    /// All test traffic reaches the new revision.
    #[serde(rename = "POST_TEST_TRAFFIC_SHIFT")]
    PostTestTrafficShift,
    /// Production traffic moves to the new revision.
    #[serde(rename = "PRODUCTION_TRAFFIC_SHIFT")]
    ProductionTrafficShift,
    /// All production traffic reaches the new revision.
    #[serde(rename = "POST_PRODUCTION_TRAFFIC_SHIFT")]
    PostProductionTrafficShift,
}

impl HookStage {
    pub fn ecs_name(self) -> &'static str {
        match self {
            HookStage::ReconcileService => "RECONCILE_SERVICE",
            HookStage::PreScaleUp => "PRE_SCALE_UP",
            HookStage::PostScaleUp => "POST_SCALE_UP",
            HookStage::TestTrafficShift => "TEST_TRAFFIC_SHIFT",
            HookStage::PostTestTrafficShift => "POST_TEST_TRAFFIC_SHIFT",
            HookStage::ProductionTrafficShift => "PRODUCTION_TRAFFIC_SHIFT",
            HookStage::PostProductionTrafficShift => "POST_PRODUCTION_TRAFFIC_SHIFT",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    #[default]
    X86_64,
    Arm64,
}

/// Outputs other components can reference with `{{ ref("service/component.output") }}`.
pub const OUTPUTS: &[(&str, &str)] = &[
    (
        "url",
        "base URL through the load balancer (exposed services only)",
    ),
    ("name", "ECS service name"),
    ("security_group", "security group ID of the tasks"),
    ("log_group", "CloudWatch log group name"),
    ("task_role_arn", "ARN of the task role"),
    (
        "target_group",
        "ARN of the load balancer target group (exposed services only)",
    ),
];

/// A validated microservice: its `microservice.yaml` and its `infra.yaml`.
#[derive(Clone, Debug, Serialize)]
pub struct MicroserviceSpec {
    pub settings: Box<Microservice>,
    pub infra: Infra,
}

impl Component for MicroserviceSpec {
    type File = Microservice;
    const LABEL: &'static str = "MicroService";
    const OUTPUTS: &'static [(&'static str, &'static str)] = OUTPUTS;
    const WIRED_ENV: &'static [&'static str] = &["URL"];
    const RUNS_CONTAINERS: bool = true;

    fn output_available(&self, output: &str) -> Result<(), String> {
        match output {
            "url" | "target_group" if self.settings.expose.is_none() => {
                Err("it is not exposed".into())
            }
            _ => Ok(()),
        }
    }

    fn settings(&self) -> Vec<(&'static str, Json)> {
        vec![
            (
                "settings",
                serde_json::to_value(&self.settings).unwrap_or_default(),
            ),
            ("infra", serde_json::to_value(&self.infra).unwrap_or_default()),
        ]
    }
}

/// Memory sizes (MiB) Fargate accepts for a CPU size.
pub fn fargate_memory(cpu: u32) -> Vec<u32> {
    let (from, to, step) = match cpu {
        256 => return vec![512, 1024, 2048],
        512 => (1024, 4096, 1024),
        1024 => (2048, 8192, 1024),
        2048 => (4096, 16384, 1024),
        4096 => (8192, 30720, 1024),
        8192 => (16384, 61440, 4096),
        16384 => (32768, 122880, 8192),
        _ => return Vec::new(),
    };
    (from..=to).step_by(step as usize).collect()
}
