//! What `--adopt` takes over of an environment's own stack (`<app>-<env>`):
//! its cluster, its load balancers and their listeners; and what it has
//! taken so far, which decides what of the services' stacks may follow.

use super::{Adopted, Setting, unsettled};
use crate::error::Result;
use crate::import::copilot::Role;
use crate::inspect::Cloud;
use crate::inspect::copilot::{self as cloudformation, StackResource};
use serde_json::json;

/// The environment's cluster, imported by its name (pulumi-aws
/// `aws.ecs.Cluster`, "Import"), which CloudFormation gives as its physical
/// id; stack.yaml keeps the name, since a new name would be a new cluster.
pub(super) fn take_cluster(
    resource: &StackResource,
    program: &[crate::emit::program::Resource],
) -> std::result::Result<Adopted, String> {
    if let Some(why) = unsettled(resource) {
        return Err(why);
    }
    let role = Role::Cluster;
    let Some(target) = program
        .iter()
        .find(|r| r.token == role.token() && r.name == role.name_suffix())
    else {
        return Err("the environment runs no containers, so it has no cluster".into());
    };
    let id = resource.physical_id.clone();
    Ok(Adopted {
        component: String::new(),
        resource: target.name.clone(),
        kind: role.token().to_string(),
        role,
        settings: vec![Setting::new("cluster", id.clone())],
        id,
        from: format!("{}/{}", resource.stack, resource.logical_id),
    })
}

pub(super) const LOAD_BALANCER: &str = "AWS::ElasticLoadBalancingV2::LoadBalancer";

/// What one environment's adoption has taken so far, which decides what
/// may follow: services run in the adopted cluster, listeners belong to an
/// adopted load balancer, a service behind a load balancer is in an adopted
/// target group.
#[derive(Default)]
pub(super) struct Taken {
    /// The cluster's name.
    pub(super) cluster: Option<String>,
    /// Copilot's physical id (an ARN, a name) of each resource adopted.
    pub(super) ids: std::collections::BTreeSet<String>,
    /// The program's name of each resource adopted.
    pub(super) resources: std::collections::BTreeSet<String>,
}

/// The program's name of deployer's load balancer of a visibility
/// (`public-alb`, `internal-alb`; `emit::network::alb`).
pub(super) fn load_balancer(visibility: &str) -> String {
    format!("{visibility}{}", Role::LoadBalancer.name_suffix())
}

impl Taken {
    /// Whether the load balancer of `visibility` is adopted.
    pub(super) fn has_load_balancer(&self, visibility: &str) -> bool {
        self.resources.contains(&load_balancer(visibility))
    }

    pub(super) fn note(&mut self, adopted: &Adopted, resource: &StackResource) {
        if adopted.role == Role::Cluster {
            self.cluster = Some(adopted.id.clone());
        }
        self.ids.insert(resource.physical_id.clone());
        self.resources.insert(adopted.resource.clone());
    }
}

/// The environment's load balancer (`PublicLoadBalancer`, `InternalLoadBalancer`),
/// imported by its ARN (pulumi-aws `aws.lb.LoadBalancer`, "Import"), which
/// CloudFormation gives as its physical id. Its name forces a new one
/// (terraform-provider-aws `internal/service/elbv2/load_balancer.go`), so
/// stack.yaml keeps it, and the security groups it has, which Copilot's
/// services admit requests from while they still serve.
pub(super) fn take_load_balancer(
    cloud: &Cloud,
    resource: &StackResource,
    program: &[crate::emit::program::Resource],
) -> Result<std::result::Result<Adopted, String>> {
    if let Some(why) = unsettled(resource) {
        return Ok(Err(why));
    }
    let visibility = match resource.logical_id.as_str() {
        "PublicLoadBalancer" => "public",
        _ => "internal",
    };
    let role = Role::LoadBalancer;
    let name = load_balancer(visibility);
    if !program
        .iter()
        .any(|r| r.token == role.token() && r.name == name)
    {
        return Ok(Err(format!(
            "no component is exposed `{visibility}` in this environment, so deployer has no {visibility} load balancer"
        )));
    }
    let arn = resource.physical_id.clone();
    let Some(live) = cloudformation::load_balancer(cloud, &arn)? else {
        return Ok(Err(format!(
            "CloudFormation names the load balancer {arn}, which Elastic Load Balancing does not have"
        )));
    };
    // A load balancer has at most 5 groups, and deployer's is one of them.
    if live.security_groups.len() > 4 {
        return Ok(Err(format!(
            "it has {} security groups, and deployer's own makes one more than the 5 a load balancer may have",
            live.security_groups.len()
        )));
    }
    let mut kept = serde_json::Map::new();
    kept.insert("name".into(), json!(live.name));
    if !live.security_groups.is_empty() {
        kept.insert("keep_security_groups".into(), json!(live.security_groups));
    }
    let key = match visibility {
        "public" => "load_balancers.public",
        _ => "load_balancers.internal",
    };
    Ok(Ok(Adopted {
        component: String::new(),
        resource: name,
        kind: role.token().to_string(),
        role,
        settings: vec![Setting::new(key, kept)],
        id: arn,
        from: format!("{}/{}", resource.stack, resource.logical_id),
    }))
}

/// A listener of an adopted load balancer, by its ARN (`aws.lb.Listener`,
/// "Import"): the program's of the same port. Its load balancer forces a
/// new one (`internal/service/elbv2/listener.go`), so a listener is adopted
/// only with its own; what it does with a request no rule takes (Copilot's
/// forwards it to an empty target group) becomes deployer's 404, or its
/// redirect to HTTPS.
pub(super) fn take_listener(
    resource: &StackResource,
    program: &[crate::emit::program::Resource],
    taken: &Taken,
) -> std::result::Result<Adopted, String> {
    if let Some(why) = unsettled(resource) {
        return Err(why);
    }
    let (visibility, protocol) = match resource.logical_id.as_str() {
        "HTTPListener" => ("public", "http"),
        "HTTPSListener" => ("public", "https"),
        "InternalHTTPListener" => ("internal", "http"),
        _ => ("internal", "https"),
    };
    let role = Role::Listener;
    if !taken.has_load_balancer(visibility) {
        return Err(format!(
            "its load balancer is not adopted, and a listener cannot move to another: deployer's {visibility} load balancer has its own"
        ));
    }
    let name = format!("{}-{protocol}", load_balancer(visibility));
    if !program
        .iter()
        .any(|r| r.token == role.token() && r.name == name)
    {
        return Err(format!(
            "deployer's {visibility} load balancer has no {} listener (an HTTPS one needs `network.certificate` in stack.yaml)",
            protocol.to_uppercase()
        ));
    }
    Ok(Adopted {
        component: String::new(),
        resource: name,
        kind: role.token().to_string(),
        role,
        settings: Vec::new(),
        id: resource.physical_id.clone(),
        from: format!("{}/{}", resource.stack, resource.logical_id),
    })
}
