//! `deployer import copilot --adopt`: the data stores of a running Copilot
//! application, found in the CloudFormation stacks Copilot made
//! (`<app>-<env>-<service>`, with its addons' nested stack), recorded in the
//! imported repository so that each environment's first apply takes them
//! over as they are — Pulumi's `import` option, from stack.yaml's `adopt:` —
//! under the names they already have, instead of creating new ones beside
//! them; each service's log group too, so its logs go on where they were;
//! and the environment's cluster and load balancers with their listeners,
//! and each service with its target group and listener rule, which go on
//! running and serving as they are until the apply rolls them to
//! deployer's task definition. What is not taken over (a service not on
//! Fargate, a Network Load Balancer) is listed with why, and deployer
//! starts its own beside it.
//!
//! A database or queue is never replaced by its import: the names that would
//! force a new one are written into the component's files for the
//! environment, and should anything else differ, the plan stops and names it
//! (`ops::deploy`).

mod environment;

use crate::error::{Error, Result};
use crate::import::copilot::{Adoptable, Report, Role, edit};
use crate::inspect::Cloud;
use crate::inspect::copilot::{self as cloudformation, StackResource};
use crate::load::Repo;
use crate::pipeline::{self, GivenVars, Missing, Options, Undeclared};
use environment::{LOAD_BALANCER, Taken, take_cluster, take_listener, take_load_balancer};
use serde::Serialize;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::path::Path;

pub struct Request<'a> {
    /// The repository `import copilot` wrote.
    pub repo: &'a Path,
    pub stack: &'a str,
    /// What the import found: the application, and the resources its
    /// components stand for.
    pub report: &'a Report,
    /// The application's region, where Copilot records its environments.
    pub region: &'a str,
}

/// What was found, per environment.
#[derive(Debug, Default, Serialize)]
pub struct Adoption {
    pub environments: Vec<EnvironmentAdoption>,
}

#[derive(Debug, Default, Serialize)]
pub struct EnvironmentAdoption {
    pub environment: String,
    /// Where Copilot says the environment runs, when stack.yaml said
    /// otherwise and now says this (`region us-west-2, account …`).
    pub located: Option<String>,
    pub adopted: Vec<Adopted>,
    /// Copilot's resources deployer does not take over, and why.
    pub left: Vec<Left>,
    /// What to give `DeletionPolicy: Retain` in Copilot's stacks before
    /// deleting them, by stack: deleting a stack deletes what it declares,
    /// adopted or not.
    pub retain: Vec<Retain>,
}

/// A Copilot stack's resources that must outlive it.
#[derive(Debug, Serialize)]
pub struct Retain {
    pub stack: String,
    /// Logical ids in the stack's template.
    pub resources: Vec<String>,
}

/// Copilot's resources that stay in use by an adopted service though
/// deployer does not import them: its Cloud Map service, which
/// `keep_service_registry` names; its one scaling registration, which
/// deployer's program registers as its own; and the DNS records that point
/// its names at the load balancer (`LoadBalancerDNSAlias…`, copilot-cli
/// `workloads/partials/cf/https-listener.yml`, `http-listener.yml`), which
/// deployer does not manage: deleted, the names would stop resolving.
const OUTLIVING_AN_ADOPTED_SERVICE: &[&str] = &[
    "AWS::ServiceDiscovery::Service",
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::Route53::RecordSetGroup",
    "AWS::Route53::RecordSet",
];

/// What of an environment's stack outlives it once a load balancer is
/// adopted: the hosted zones its services' names are in.
const OUTLIVING_AN_ADOPTED_LOAD_BALANCER: &[&str] = &["AWS::Route53::HostedZone"];

/// A live resource the environment's first apply imports.
#[derive(Debug, Serialize)]
pub struct Adopted {
    /// `<service>/<component>`; empty for the environment's cluster.
    pub component: String,
    /// The program's name for it (the key of `adopt:`).
    pub resource: String,
    /// The Pulumi type.
    #[serde(rename = "type")]
    pub kind: String,
    /// What it is to its component (the JSON says so by `type` and
    /// `resource`).
    #[serde(skip)]
    pub role: Role,
    /// What it is imported by: a queue's URL, an instance's identifier.
    pub id: String,
    /// `<stack>/<logical id>`: where CloudFormation has it.
    pub from: String,
    /// What was written into the component's files for the environment so
    /// the import replaces nothing (`queue_name: …`).
    pub settings: Vec<Setting>,
}

/// A key an adoption writes for the environment (a path: `dead_letter.
/// queue_name`), and its value; said and reported as `key: value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub key: &'static str,
    pub value: Json,
}

impl Setting {
    fn new(key: &'static str, value: impl Into<Json>) -> Setting {
        Setting {
            key,
            value: value.into(),
        }
    }
}

impl std::fmt::Display for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, as_written(&self.value))
    }
}

/// A value as YAML's flow style writes it, strings unquoted:
/// `{name: shop-alb, keep_security_groups: [sg-1, sg-2]}`.
fn as_written(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        Json::Array(items) => {
            let items: Vec<String> = items.iter().map(as_written).collect();
            format!("[{}]", items.join(", "))
        }
        Json::Object(entries) => {
            let entries: Vec<String> = entries
                .iter()
                .map(|(key, value)| format!("{key}: {}", as_written(value)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        other => other.to_string(),
    }
}

impl Serialize for Setting {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[derive(Debug, Serialize)]
pub struct Left {
    pub from: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub why: String,
}

/// Reads every environment's Copilot stacks and records what is adopted.
pub fn adopt(request: &Request) -> Result<Adoption> {
    let repo = Repo::open(Some(request.repo), request.repo)?;
    // Who reads, as an environment's role session is named.
    let who = crate::git::who(request.repo, || None);
    let application = &request.report.application;
    let mut adoption = Adoption::default();
    let located = locate(request, &repo)?;
    let (stack_file, diagnostics, _) = pipeline::read_stack_file(&repo, request.stack);
    let Some(stack_file) = stack_file else {
        return Err(Error::failed(format!(
            "the imported stack.yaml does not validate ({} problems), so nothing was adopted",
            diagnostics.len()
        ))
        .with_help(format!(
            "run `deployer validate --all --repo {}`, fix stack.yaml, and import again with --adopt",
            request.repo.display()
        )));
    };
    for (environment, env) in &stack_file.environments {
        let program = program_of(&repo, request.stack, environment)?;
        let cloud = Cloud::connect(env, &who)?;
        let mut found = EnvironmentAdoption {
            environment: environment.clone(),
            located: located.get(environment).cloned(),
            ..EnvironmentAdoption::default()
        };
        let services: Vec<String> = program
            .iter()
            .filter_map(|r| r.component.as_deref())
            .filter_map(|c| c.split('/').next())
            .map(str::to_string)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        // The environment's stack first: a service is adopted only where
        // its cluster is.
        let env_stack = format!("{application}-{environment}");
        let mut taken = Taken::default();
        let mut outliving: Vec<(String, String)> = Vec::new();
        let env_resources = cloudformation::resources(&cloud, &env_stack)?.unwrap_or_default();
        // Load balancers first: a listener is adopted only with its own.
        let balancers_first = env_resources
            .iter()
            .filter(|r| r.kind == LOAD_BALANCER)
            .chain(env_resources.iter().filter(|r| r.kind != LOAD_BALANCER));
        for resource in balancers_first {
            let taking = match (resource.kind.as_str(), resource.logical_id.as_str()) {
                ("AWS::CloudFormation::Stack", _) => continue,
                // Copilot's environment cluster (copilot-cli
                // `templates/environment/cf.yml`, `Cluster`).
                ("AWS::ECS::Cluster", "Cluster") => take_cluster(resource, &program),
                (LOAD_BALANCER, "PublicLoadBalancer" | "InternalLoadBalancer") => {
                    take_load_balancer(&cloud, resource, &program)?
                }
                (
                    "AWS::ElasticLoadBalancingV2::Listener",
                    "HTTPListener" | "HTTPSListener" | "InternalHTTPListener"
                    | "InternalHTTPSListener",
                ) => take_listener(resource, &program, &taken),
                // Where Copilot's listeners send what no rule takes.
                (
                    "AWS::ElasticLoadBalancingV2::TargetGroup",
                    "DefaultHTTPTargetGroup" | "DefaultInternalHTTPTargetGroup",
                ) => Err(
                    "Copilot's placeholder for requests no rule takes, with nothing in it: deployer's listeners answer those themselves (404, or a redirect to HTTPS)".into(),
                ),
                (kind, _) => Err(stays(kind).into()),
            };
            match taking {
                Ok(adopted) => {
                    taken.note(&adopted, resource);
                    found.adopted.push(adopted);
                }
                Err(why) => found.left.push(left(resource, why)),
            }
        }
        if found.adopted.iter().any(|a| a.role == Role::LoadBalancer) {
            outliving.extend(
                env_resources
                    .iter()
                    .filter(|r| OUTLIVING_AN_ADOPTED_LOAD_BALANCER.contains(&r.kind.as_str()))
                    .map(|r| (r.stack.clone(), r.logical_id.clone())),
            );
        }
        for service in &services {
            let name = format!("{application}-{environment}-{service}");
            let Some(resources) = cloudformation::resources(&cloud, &name)? else {
                found.left.push(Left {
                    from: name,
                    kind: "AWS::CloudFormation::Stack".into(),
                    why: format!(
                        "no such stack: `{service}` is not deployed by Copilot in {environment}, so deployer creates everything of it"
                    ),
                });
                continue;
            };
            // The target group before the service: a service behind a load
            // balancer is adopted only with the target group it is in.
            let in_order = resources
                .iter()
                .filter(|r| r.logical_id == "TargetGroup")
                .chain(resources.iter().filter(|r| r.logical_id != "TargetGroup"));
            for resource in in_order {
                let adoptable = request
                    .report
                    .adoptable
                    .iter()
                    .find(|a| &a.service == service && a.logical_id == resource.logical_id);
                match adoptable {
                    Some(a) => match take_over(&cloud, a, resource, &program, &taken)? {
                        Ok(adopted) => {
                            taken.note(&adopted, resource);
                            found.adopted.push(adopted);
                        }
                        Err(why) => found.left.push(left(resource, why)),
                    },
                    None if resource.kind == "AWS::CloudFormation::Stack" => {}
                    None => found
                        .left
                        .push(left(resource, stays(&resource.kind).into())),
                }
            }
            keep_routing_with_its_service(&mut found, service);
            let service_adopted = found
                .adopted
                .iter()
                .any(|a| a.role == Role::Service && a.from == format!("{name}/Service"));
            if service_adopted {
                outliving.extend(
                    resources
                        .iter()
                        .filter(|r| OUTLIVING_AN_ADOPTED_SERVICE.contains(&r.kind.as_str()))
                        .map(|r| (r.stack.clone(), r.logical_id.clone())),
                );
            }
        }
        found.retain = to_retain(&found.adopted, outliving);
        adoption.environments.push(found);
    }
    record(request, &adoption)?;
    Ok(adoption)
}

/// Each environment's region and account as Copilot records them, written
/// into stack.yaml where it says otherwise (the manifests do not say; the
/// import took `--region` and `--env-account`). Returns what changed, by
/// environment.
fn locate(request: &Request, repo: &Repo) -> Result<BTreeMap<String, String>> {
    let (stack_file, _, _) = pipeline::read_stack_file(repo, request.stack);
    let Some(stack_file) = stack_file else {
        return Ok(BTreeMap::new());
    };
    let home = Cloud::in_region(request.region)?;
    let mut located = BTreeMap::new();
    for (environment, env) in &stack_file.environments {
        let Some(record) =
            cloudformation::environment(&home, &request.report.application, environment)?
        else {
            continue;
        };
        let mut said = Vec::new();
        if !record.region.is_empty() && record.region != env.region {
            said.push(format!("region {} (not {})", record.region, env.region));
        }
        if !record.account.is_empty() && record.account != env.account {
            said.push(format!("account {} (not {})", record.account, env.account));
        }
        if !said.is_empty() {
            located.insert(
                environment.clone(),
                format!(
                    "{}, as Copilot records it in {}",
                    said.join(", "),
                    record.parameter
                ),
            );
            let path = repo
                .root
                .join("stacks")
                .join(request.stack)
                .join("stack.yaml");
            edit(&path, |stack| {
                let entry = &mut stack["environments"][environment];
                if !record.region.is_empty() {
                    entry["region"] = json!(record.region);
                }
                if !record.account.is_empty() {
                    entry["account"] = json!(record.account);
                }
            })
            .map_err(|e| Error::failed(e.0))?;
        }
    }
    Ok(located)
}

/// The program's resources for one environment, variables left as
/// placeholders (the names do not depend on them).
fn program_of(
    repo: &Repo,
    stack: &str,
    environment: &str,
) -> Result<Vec<crate::emit::program::Resource>> {
    let mut sources = crate::source::Sources::default();
    let mut diagnostics = Vec::new();
    let options = Options {
        environment: Some(environment.to_string()),
        missing: Missing::Placeholder,
        undeclared: Undeclared::Error,
        programs: crate::pipeline::Programs::Keep,
        prefetched: Default::default(),
    };
    let mut checked = pipeline::compile_stack(
        repo,
        stack,
        &GivenVars::default(),
        &options,
        &mut sources,
        &mut diagnostics,
    );
    if let Some(problem) = diagnostics.iter().find(|d| d.is_error()) {
        return Err(Error::failed(format!(
            "the imported repository does not compile for {environment} ({}), so nothing was adopted",
            problem.message
        ))
        .with_help(format!(
            "run `deployer validate --all --repo {}`, fix what it says, and import again with --adopt",
            repo.root.display()
        )));
    }
    Ok(checked.take_compiled(0).program.resources)
}

/// Why a resource CloudFormation is still changing is not adopted yet.
fn unsettled(resource: &StackResource) -> Option<String> {
    (!resource.status.ends_with("_COMPLETE") || resource.status.starts_with("DELETE")).then(|| {
        format!(
            "CloudFormation says {}: adopt it once the stack is stable",
            resource.status
        )
    })
}

/// The program's resource for a Copilot one, and what its files must say
/// for the import to replace nothing; or why it is left alone. `taken`:
/// what the environment's adoption has taken before it.
fn take_over(
    cloud: &Cloud,
    adoptable: &Adoptable,
    resource: &StackResource,
    program: &[crate::emit::program::Resource],
    taken: &Taken,
) -> Result<std::result::Result<Adopted, String>> {
    if let Some(why) = unsettled(resource) {
        return Ok(Err(why));
    }
    let token = adoptable.role.token();
    let Some(target) = component_resource(program, &adoptable.component, adoptable.role) else {
        return Ok(Err(format!(
            "{} declares no such resource (a dead-letter queue turned off?)",
            adoptable.component
        )));
    };
    let mut id = resource.physical_id.clone();
    let mut settings = Vec::new();
    match adoptable.role {
        Role::Cluster | Role::LoadBalancer | Role::Listener => {
            unreachable!(
                "the environment's, taken by take_cluster, take_load_balancer, take_listener"
            )
        }
        // A target group by its ARN (`aws.lb.TargetGroup`, "Import"). Its
        // name, port, protocol, VPC and target type force a new one
        // (`internal/service/elbv2/target_group.go`): the name is kept in
        // microservice.yaml; the port is the container's, as Copilot's; a
        // difference left stops the plan. It serves one load balancer, so
        // it is adopted only with the environment's.
        Role::TargetGroup => {
            let Some(visibility) = target_visibility(program, adoptable) else {
                return Ok(Err(format!(
                    "{} is not exposed through a load balancer",
                    adoptable.component
                )));
            };
            if !taken.has_load_balancer(visibility) {
                return Ok(Err(format!(
                    "the environment's {visibility} load balancer is not adopted, and a target group serves one load balancer: deployer's has its own; move the DNS name (`http.alias`) once deployer's serves"
                )));
            }
            // arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>
            let Some(name) = id.split('/').nth(1).map(str::to_string) else {
                return Ok(Err(format!("{id} is not a target group's ARN")));
            };
            settings.push(Setting::new("target_group_name", name));
        }
        // A listener rule by its ARN (`aws.lb.ListenerRule`, "Import"): the
        // one on the listener deployer routes through (HTTPS where there is
        // one). Its listener forces a new rule, so it is adopted only on an
        // adopted listener; it keeps its priority (`expose.priority`), which
        // no other rule of that listener has.
        Role::ListenerRule => {
            let Some(listener) = rule_listener(target) else {
                return Ok(Err(format!("{} routes no requests", adoptable.component)));
            };
            let https = listener.ends_with("-https");
            if https != (resource.logical_id == "HTTPSListenerRule") {
                return Ok(Err(format!(
                    "deployer routes {} through its {} listener: this rule stays Copilot's until its stack is deleted",
                    adoptable.component,
                    if https { "HTTPS" } else { "HTTP" }
                )));
            }
            if !taken.resources.contains(&listener) {
                return Ok(Err(format!(
                    "its listener is not adopted, and a rule cannot move to another listener: deployer routes {} through its own",
                    adoptable.component
                )));
            }
            if let Some(priority) = cloudformation::rule_priority(cloud, &id)? {
                settings.push(Setting::new("expose.priority", priority));
            }
        }
        // A service by `<cluster>/<service>` (`aws.ecs.Service`, "Import";
        // terraform-provider-aws `resourceServiceImport`). The cluster and
        // the name force a new service, and so does the launch type
        // (internal/service/ecs/service.go): it is adopted only in the
        // adopted cluster, on Fargate, under its own name.
        Role::Service => {
            let Some(cluster) = taken.cluster.as_deref() else {
                return Ok(Err(
                    "it runs in Copilot's cluster, which is not adopted: deployer runs the service anew in its own cluster (an ECS service cannot move between clusters)".into(),
                ));
            };
            let Some(live) = cloudformation::ecs_service(cloud, cluster, &id)? else {
                return Ok(Err(format!(
                    "CloudFormation names the service {id}, which cluster {cluster} does not run"
                )));
            };
            // Behind a load balancer: in the target group adopted with it,
            // where deployer's service goes on registering its tasks.
            if let Some(group) = live.target_groups.iter().find(|g| !taken.ids.contains(*g)) {
                return Ok(Err(format!(
                    "a load balancer sends it traffic through target group {group}, which is not adopted: deployer runs the service anew behind its own load balancer, beside Copilot's; move the DNS name (`http.alias`) once deployer's serves, then delete Copilot's (`copilot svc delete`)"
                )));
            }
            if let Err(why) = runs_as_compiled(&live, target) {
                return Ok(Err(why));
            }
            id = format!("{cluster}/{}", live.name);
            settings.push(Setting::new("service_name", live.name.clone()));
            // Its revisions go on in the family it runs: a task definition
            // is never imported (a revision cannot change), but deployer's
            // first is the next of Copilot's.
            if let Some(family) = &live.task_family {
                settings.push(Setting::new("task_family", family.clone()));
            }
            // It stays registered where Copilot registered it
            // (`<service>.<env>.<app>.local`): a program naming no registry
            // would take it out of the namespace, and that name from what
            // calls it (`resourceServiceUpdate`: a changed `service_registries`).
            if let Some(live) = &live.registry {
                // microservice.yaml's `keep_service_registry`, as its schema has it.
                let mut registry = serde_json::Map::new();
                registry.insert("registry_arn".into(), json!(live.registry_arn));
                if let Some(port) = live.port {
                    registry.insert("port".into(), json!(port));
                }
                if let Some(port) = live.container_port {
                    registry.insert("container_port".into(), json!(port));
                }
                settings.push(Setting::new("keep_service_registry", registry));
            }
        }
        // A queue is imported by its URL (pulumi-aws `aws.sqs.Queue`, "Import").
        Role::Queue | Role::DeadLetterQueue => {
            let name = id.rsplit('/').next().unwrap_or(&id).to_string();
            let key = if adoptable.role == Role::Queue {
                "queue_name"
            } else {
                "dead_letter.queue_name"
            };
            settings.push(Setting::new(key, name));
        }
        // A log group by its name (`aws.cloudwatch.LogGroup`, "Import"),
        // which CloudFormation gives as its physical id; a new name would
        // be a new log group, so the service keeps this one.
        Role::LogGroup => settings.push(Setting::new("log_group", id.clone())),
        // An instance by its identifier (`aws.rds.Instance`, "Import").
        Role::Database => {
            let Some(live) = cloudformation::database(cloud, &id)? else {
                return Ok(Err(format!(
                    "CloudFormation names the instance {id}, which RDS does not have"
                )));
            };
            settings.push(Setting::new("identifier", id.clone()));
            if let Some(database) = &live.database {
                settings.push(Setting::new("database", database.clone()));
            }
            if let Some(username) = &live.username {
                settings.push(Setting::new("username", username.clone()));
            }
            // Copilot's services, running beside deployer's until they are
            // retired, reach the database through its groups: the instance
            // keeps them beside deployer's own.
            if !live.security_groups.is_empty() {
                settings.push(Setting::new(
                    "keep_security_groups",
                    live.security_groups.clone(),
                ));
            }
            if !live.encrypted {
                return Ok(Err(format!(
                    "the instance {id} is not encrypted at rest, and deployer's databases are: importing it would replace it, losing its data; encrypt a snapshot's copy and restore it, then adopt that"
                )));
            }
        }
    }
    Ok(Ok(Adopted {
        component: adoptable.component.clone(),
        resource: target.name.clone(),
        kind: token.to_string(),
        role: adoptable.role,
        id,
        from: format!("{}/{}", resource.stack, resource.logical_id),
        settings,
    }))
}

fn left(resource: &StackResource, why: String) -> Left {
    Left {
        from: format!("{}/{}", resource.stack, resource.logical_id),
        kind: resource.kind.clone(),
        why,
    }
}

/// Why a resource Copilot made stays Copilot's.
fn stays(kind: &str) -> &'static str {
    match kind {
        "AWS::ECS::Service" => {
            "deployer runs the service anew beside Copilot's: once deployer's serves, delete Copilot's (`copilot svc delete`)"
        }
        "AWS::ECS::TaskDefinition" => "deployer registers its own task definition revisions",
        "AWS::ECS::Cluster" => "not the environment's cluster (`Cluster`): deployer runs its own",
        "AWS::Logs::LogGroup" => {
            "its logs stay there; deployer's service logs to a log group of its own"
        }
        k if k.starts_with("AWS::ElasticLoadBalancingV2::") => {
            "stays Copilot's until its stack is deleted: deployer routes through the load balancer, listeners and rules it adopts or makes"
        }
        k if k.starts_with("AWS::EC2::") => {
            "the network stays as it is: stack.yaml's `network:` names the VPC and subnets"
        }
        k if k.starts_with("AWS::IAM::") => "deployer makes the roles it needs",
        k if k.starts_with("AWS::Route53::") => {
            "DNS stays as it is, outside deployer: an adopted load balancer keeps its address, so the names go on resolving while this record or zone is there"
        }
        // One registration per service (namespace, resource id, dimension):
        // deployer's scalable target of an adopted service is this one.
        "AWS::ApplicationAutoScaling::ScalableTarget" => {
            "the service's scaling registration: deployer registers its own, which for an adopted service is this same one, so give it `DeletionPolicy: Retain` before Copilot's stack is deleted"
        }
        "AWS::ApplicationAutoScaling::ScalingPolicy" => {
            "Copilot's scaling policy stays until its stack is deleted; deployer's own policies scale the service too"
        }
        _ => "stays Copilot's, outside deployer",
    }
}

/// Whether a live service runs on what the program's runs on: its launch
/// type, or its capacity provider strategy (Fargate Spot), since changing
/// either forces a new service (terraform-provider-aws
/// `internal/service/ecs/service.go`: `launch_type` is ForceNew, and
/// `capacityProviderStrategyCustomizeDiff` forces one for a changed
/// strategy); or why it is left running.
fn runs_as_compiled(
    live: &cloudformation::LiveService,
    target: &crate::emit::program::Resource,
) -> std::result::Result<(), String> {
    let compiled = compiled_strategy(target);
    match (live.launch_type.as_str(), compiled.is_empty()) {
        ("FARGATE", true) => Ok(()),
        ("", false) if normalized(&live.capacity) == compiled => Ok(()),
        ("", true) => Err(format!(
            "it runs on {}, and its infra.yaml runs it on regular Fargate: add `capacity: spot` (and `on_demand_base`) to its environment's overlay to adopt it, or deployer runs its own beside it",
            shown(&live.capacity)
        )),
        ("", false) => Err(format!(
            "it runs on {}, and its infra.yaml on {}: a new strategy forces a new service; make `capacity` and `on_demand_base` say what runs to adopt it",
            shown(&live.capacity),
            shown(&compiled)
        )),
        ("FARGATE", false) => Err(format!(
            "it runs on regular Fargate, and its infra.yaml on {}: a strategy where there was a launch type forces a new service; remove `capacity: spot` from its environment's overlay to adopt it",
            shown(&compiled)
        )),
        (launch, _) => Err(format!(
            "it runs on launch type {launch}, and deployer's services run on Fargate: another launch type forces a new service, so deployer runs its own beside it; delete Copilot's once deployer's runs (`copilot svc delete`)"
        )),
    }
}

/// A capacity provider strategy, each provider with its weight and base
/// (0 when not given, as ECS takes it), in a stable order.
fn normalized(strategy: &[(String, i64, i64)]) -> Vec<(String, i64, i64)> {
    let mut sorted = strategy.to_vec();
    sorted.sort();
    sorted
}

/// The program's `capacityProviderStrategies` of an ECS service, normalized.
fn compiled_strategy(target: &crate::emit::program::Resource) -> Vec<(String, i64, i64)> {
    use crate::emit::program::Value;
    let Some(Value::List(items)) = target.property("capacityProviderStrategies") else {
        return Vec::new();
    };
    let strategy: Vec<(String, i64, i64)> = items
        .iter()
        .filter_map(|item| {
            let Some(Value::Str(provider)) = item.field("capacityProvider") else {
                return None;
            };
            let number = |name: &str| match item.field(name) {
                Some(Value::Int(n)) => *n,
                _ => 0,
            };
            Some((provider.clone(), number("weight"), number("base")))
        })
        .collect();
    normalized(&strategy)
}

/// A strategy as a person reads it: `FARGATE_SPOT (weight 1), FARGATE (base 2)`.
fn shown(strategy: &[(String, i64, i64)]) -> String {
    let parts: Vec<String> = strategy
        .iter()
        .map(|(provider, weight, base)| match base {
            0 => format!("{provider} (weight {weight})"),
            _ => format!("{provider} (weight {weight}, base {base})"),
        })
        .collect();
    format!("a capacity provider strategy of {}", parts.join(", "))
}

/// Each stack's resources to retain, in the order they were found: every
/// adopted one (`from` is `<stack>/<logical id>`) and `outliving`.
fn to_retain(adopted: &[Adopted], outliving: Vec<(String, String)>) -> Vec<Retain> {
    let mut retain: Vec<Retain> = Vec::new();
    let found = adopted
        .iter()
        .filter_map(|a| a.from.rsplit_once('/'))
        .map(|(stack, id)| (stack.to_string(), id.to_string()))
        .chain(outliving);
    for (stack, id) in found {
        match retain.iter_mut().find(|r| r.stack == stack) {
            Some(entry) if entry.resources.contains(&id) => {}
            Some(entry) => entry.resources.push(id),
            None => retain.push(Retain {
                stack,
                resources: vec![id],
            }),
        }
    }
    retain
}

/// A target group and listener rule stay Copilot's when the service behind
/// them does: deployer's new service registering in Copilot's target group
/// would serve beside Copilot's tasks, two versions from one address.
fn keep_routing_with_its_service(found: &mut EnvironmentAdoption, service: &str) {
    let ours = |a: &Adopted| a.component.split('/').next() == Some(service);
    if found
        .adopted
        .iter()
        .any(|a| ours(a) && a.role == Role::Service)
    {
        return;
    }
    let (routing, rest): (Vec<Adopted>, Vec<Adopted>) = found
        .adopted
        .drain(..)
        .partition(|a| ours(a) && matches!(a.role, Role::TargetGroup | Role::ListenerRule));
    found.adopted = rest;
    for routed in routing {
        found.left.push(Left {
            from: routed.from,
            kind: match routed.role {
                Role::TargetGroup => "AWS::ElasticLoadBalancingV2::TargetGroup",
                _ => "AWS::ElasticLoadBalancingV2::ListenerRule",
            }
            .into(),
            why: "the service it routes to is not adopted (see its reason): deployer routes to its own service through a target group of its own".into(),
        });
    }
}

/// The visibility (`public`, `internal`) a component is exposed with: the
/// load balancer its listener rule is on.
fn target_visibility(
    program: &[crate::emit::program::Resource],
    adoptable: &Adoptable,
) -> Option<&'static str> {
    let route = component_resource(program, &adoptable.component, Role::ListenerRule)?;
    let listener = rule_listener(route)?;
    Some(if listener.starts_with("public-") {
        "public"
    } else {
        "internal"
    })
}

/// The program's resource that is `role` to `component` (`<service>/<name>`):
/// of its type, its name ending as the role's do. A rollout's test route
/// (`…-test-route`) is a listener rule too, but not the one traffic takes.
fn component_resource<'a>(
    program: &'a [crate::emit::program::Resource],
    component: &str,
    role: Role,
) -> Option<&'a crate::emit::program::Resource> {
    program.iter().find(|r| {
        r.component.as_deref() == Some(component)
            && r.token == role.token()
            && r.name.ends_with(role.name_suffix())
            && !r.name.ends_with("-test-route")
    })
}

/// The listener a rule of the program is on (`public-alb-https`).
fn rule_listener(rule: &crate::emit::program::Resource) -> Option<String> {
    use crate::emit::program::{Part, Value};
    let Some(Value::Interp(parts)) = rule.property("listenerArn") else {
        return None;
    };
    parts.iter().find_map(|p| match p {
        Part::Ref(reference) => reference.strip_suffix(".arn").map(str::to_string),
        _ => None,
    })
}

/// stack.yaml's `adopt:` for each environment, and the names each adopted
/// resource keeps, as overlays of its component's file.
fn record(request: &Request, adoption: &Adoption) -> Result<()> {
    let stack_dir = request.repo.join("stacks").join(request.stack);
    let failed = |e: crate::import::copilot::Refused| Error::failed(e.0);
    // stack.yaml: the ids, and the cluster's name (the environment's own).
    edit(&stack_dir.join("stack.yaml"), |stack| {
        for env in &adoption.environments {
            if env.adopted.is_empty() {
                continue;
            }
            let entry = &mut stack["environments"][&env.environment];
            for adopted in &env.adopted {
                entry["adopt"][&adopted.resource] = json!(adopted.id);
                if adopted.role.file() == "stack.yaml" {
                    write_settings(entry, &adopted.settings);
                }
            }
        }
    })
    .map_err(failed)?;
    for env in &adoption.environments {
        for adopted in &env.adopted {
            if adopted.role.file() == "stack.yaml" {
                continue;
            }
            let (service, component) = adopted
                .component
                .split_once('/')
                .unwrap_or((&adopted.component, ""));
            let file = adopted.role.file();
            let path = stack_dir
                .join("services")
                .join(service)
                .join("components")
                .join(component)
                .join(file);
            edit(&path, |doc| {
                write_settings(
                    &mut doc["environments"][&env.environment],
                    &adopted.settings,
                );
            })
            .map_err(failed)?;
        }
    }
    Ok(())
}

/// Each setting under `at`, by its key's path (`dead_letter.queue_name`).
fn write_settings(at: &mut Json, settings: &[Setting]) {
    for setting in settings {
        let mut place = &mut *at;
        for part in setting.key.split('.') {
            place = &mut place[part];
        }
        *place = setting.value.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::program::{Resource, Value, list, map, s};

    fn live(launch_type: &str, capacity: &[(&str, i64, i64)]) -> cloudformation::LiveService {
        cloudformation::LiveService {
            name: "shop-test-api-Service-1".into(),
            cluster_arn: "arn:aws:ecs:us-east-1:123456789012:cluster/shop-test".into(),
            launch_type: launch_type.into(),
            capacity: capacity
                .iter()
                .map(|(p, w, b)| (p.to_string(), *w, *b))
                .collect(),
            target_groups: Vec::new(),
            registry: None,
            task_family: None,
        }
    }

    /// What deployer emits for `capacity: spot` with `on_demand_base: 2`.
    fn on_spot() -> Resource {
        Resource::new("api-app-service", "aws:ecs/service:Service").set(
            "capacityProviderStrategies",
            list([
                map([
                    ("capacityProvider", s("FARGATE_SPOT")),
                    ("weight", Value::Int(1)),
                ]),
                map([
                    ("capacityProvider", s("FARGATE")),
                    ("base", Value::Int(2)),
                    ("weight", Value::Int(0)),
                ]),
            ]),
        )
    }

    fn on_demand() -> Resource {
        Resource::new("api-app-service", "aws:ecs/service:Service").set("launchType", s("FARGATE"))
    }

    /// Copilot's `spot_from: 3` (copilot-cli `convertCapacityProviders`),
    /// in ECS's order or not, is what `capacity: spot`, `on_demand_base: 2`
    /// compiles to; anything else is left running, saying what differs.
    #[test]
    fn a_service_is_adopted_only_on_what_its_program_runs_it_on() {
        let spot_from_3 = [("FARGATE_SPOT", 1, 0), ("FARGATE", 0, 2)];
        assert_eq!(
            runs_as_compiled(&live("", &spot_from_3), &on_spot()),
            Ok(())
        );
        let reversed = [("FARGATE", 0, 2), ("FARGATE_SPOT", 1, 0)];
        assert_eq!(runs_as_compiled(&live("", &reversed), &on_spot()), Ok(()));
        assert_eq!(
            runs_as_compiled(&live("FARGATE", &[]), &on_demand()),
            Ok(())
        );

        let all_spot = [("FARGATE_SPOT", 1, 0)];
        let why = runs_as_compiled(&live("", &all_spot), &on_spot()).unwrap_err();
        assert!(why.contains("FARGATE_SPOT (weight 1)"), "{why}");
        assert!(why.contains("FARGATE (weight 0, base 2)"), "{why}");
        let why = runs_as_compiled(&live("", &all_spot), &on_demand()).unwrap_err();
        assert!(why.contains("add `capacity: spot`"), "{why}");
        let why = runs_as_compiled(&live("EC2", &[]), &on_demand()).unwrap_err();
        assert!(why.contains("launch type EC2"), "{why}");
        // On Fargate, where the program runs it on Spot.
        let why = runs_as_compiled(&live("FARGATE", &[]), &on_spot()).unwrap_err();
        assert!(why.contains("remove `capacity: spot`"), "{why}");
    }
}
