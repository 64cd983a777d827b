//! Stack-wide resources of an environment: the ECS cluster when there are
//! containers, and a load balancer per visibility (public, internal) that some
//! component is exposed on, with its security group and listeners.

use super::emitter::Emitter;
use super::program::{Resource, Value, invoke, list, map, r, s, strings};
use crate::kinds::Spec;
use crate::kinds::microservice::Visibility;

pub const CLUSTER: &str = "cluster";

/// The cluster's capacity providers, when a service runs on Fargate Spot:
/// a service's strategy may name only providers its cluster has.
pub const CAPACITY_PROVIDERS: &str = "cluster-capacity-providers";

/// Recommended TLS policy of Application Load Balancers (TLS 1.3 and 1.2).
const SSL_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";

pub fn prefix(visibility: Visibility) -> &'static str {
    match visibility {
        Visibility::Public => "public",
        Visibility::Internal => "internal",
    }
}

/// Which way a security group rule lets traffic through.
pub enum Direction {
    Ingress,
    Egress,
}

/// A rule on security group `group` (a logical name) allowing TCP on `port` to
/// or from security group `peer`: how deployer opens exactly one port between
/// two things and nothing else.
pub fn tcp_between(
    name: String,
    direction: Direction,
    group: &str,
    peer: &str,
    port: u16,
    description: String,
    tags: Value,
) -> Resource {
    let token = match direction {
        Direction::Ingress => "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        Direction::Egress => "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    };
    Resource::new(name, token)
        .set("securityGroupId", r(format!("{group}.id")))
        .set("referencedSecurityGroupId", r(format!("{peer}.id")))
        .set("description", s(description))
        .set("ipProtocol", s("tcp"))
        .set("fromPort", Value::Int(i64::from(port)))
        .set("toPort", Value::Int(i64::from(port)))
        .set("tags", tags)
}

/// Logical name of the load balancer for a visibility.
pub fn alb(visibility: Visibility) -> String {
    format!("{}-alb", prefix(visibility))
}

pub fn alb_security_group(visibility: Visibility) -> String {
    format!("{}-alb-sg", prefix(visibility))
}

/// Whether the environment's public load balancer speaks HTTPS.
pub fn https(e: &Emitter, visibility: Visibility) -> bool {
    visibility == Visibility::Public && e.stack.env.network.certificate.is_some()
}

/// The listener that routes requests to services.
pub fn listener(e: &Emitter, visibility: Visibility) -> String {
    let protocol = if https(e, visibility) {
        "https"
    } else {
        "http"
    };
    format!("{}-alb-{protocol}", prefix(visibility))
}

/// The base URL of a load balancer.
pub fn base_url(e: &Emitter, visibility: Visibility) -> Vec<super::program::Part> {
    use super::program::Part;
    let scheme = if https(e, visibility) {
        "https://"
    } else {
        "http://"
    };
    vec![
        Part::Text(scheme.into()),
        Part::Ref(format!("{}.dnsName", alb(visibility))),
    ]
}

pub fn emit(e: &mut Emitter) {
    let specs: Vec<&crate::kinds::microservice::MicroserviceSpec> = e
        .stack
        .components
        .iter()
        .filter_map(|c| match &c.spec {
            Spec::Microservice(m) => Some(m),
            _ => None,
        })
        .collect();
    if specs.is_empty() {
        return;
    }
    let services: Vec<&crate::kinds::microservice::Microservice> =
        specs.iter().map(|m| m.settings.as_ref()).collect();
    let on_spot = specs
        .iter()
        .any(|m| m.infra.capacity == crate::kinds::microservice::Capacity::Spot);
    let visibilities: Vec<Visibility> = [Visibility::Public, Visibility::Internal]
        .into_iter()
        .filter(|v| {
            services
                .iter()
                .any(|m| m.expose.as_ref().is_some_and(|x| x.visibility == *v))
        })
        .collect();
    let cluster = Resource::new(CLUSTER, "aws:ecs/cluster:Cluster")
        .set(
            "name",
            s(e.stack
                .env
                .cluster
                .clone()
                .unwrap_or_else(|| format!("{}-{}", e.stack.name, e.stack.environment))),
        )
        .set(
            "settings",
            list([map([
                ("name", s("containerInsights")),
                ("value", s("enabled")),
            ])]),
        )
        .set("tags", e.shared_tags("cluster"));
    e.add_shared(cluster);
    e.program
        .outputs
        .push(("_stack.cluster".into(), r(format!("{CLUSTER}.name"))));
    // Both Fargate providers, as Copilot's cluster has them
    // (`CapacityProviders: ['FARGATE', 'FARGATE_SPOT']`): the cluster's
    // list replaces what it had, and on-demand services use `FARGATE`.
    if on_spot {
        e.add_shared(
            Resource::new(
                CAPACITY_PROVIDERS,
                "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
            )
            .set("clusterName", r(format!("{CLUSTER}.name")))
            .set("capacityProviders", strings(["FARGATE", "FARGATE_SPOT"])),
        );
    }
    for visibility in visibilities {
        load_balancer(e, visibility);
    }
}

fn load_balancer(e: &mut Emitter, visibility: Visibility) {
    let p = prefix(visibility);
    let net = &e.stack.env.network;
    let public = visibility == Visibility::Public;
    let tags = e.shared_tags(&format!("{p}-load-balancer"));
    let sg = alb_security_group(visibility);
    e.add_shared(
        Resource::new(&sg, "aws:ec2/securityGroup:SecurityGroup")
            .set(
                "description",
                s(format!(
                    "{p} load balancer of {} {}",
                    e.stack.name, e.stack.environment
                )),
            )
            .set("vpcId", s(&net.vpc))
            .set("tags", tags.clone()),
    );
    // Who may connect: anyone for a public load balancer, the VPC for an internal one.
    let source = if public {
        s("0.0.0.0/0")
    } else {
        let variable = "vpc-cidr".to_string();
        e.add_variable(
            variable.clone(),
            invoke(
                "aws:ec2/getVpc:getVpc",
                map([("id", s(&net.vpc))]),
                "cidrBlock",
            ),
        );
        r(variable)
    };
    let mut ports = vec![80];
    if https(e, visibility) {
        ports.push(443);
    }
    for port in ports {
        e.add_shared(
            Resource::new(
                format!("{p}-alb-in-{port}"),
                "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            )
            .set("securityGroupId", r(format!("{sg}.id")))
            .set(
                "description",
                s(format!(
                    "HTTP{} to the load balancer",
                    if port == 443 { "S" } else { "" }
                )),
            )
            .set("ipProtocol", s("tcp"))
            .set("fromPort", Value::Int(port))
            .set("toPort", Value::Int(port))
            .set("cidrIpv4", source.clone())
            .set("tags", tags.clone()),
        );
    }
    let subnets = if public {
        &net.public_subnets
    } else {
        &net.private_subnets
    };
    let lb = alb(visibility);
    // One already there keeps its name (a new name is a new load balancer)
    // and the groups its targets admit requests from.
    let kept = match visibility {
        Visibility::Public => e.stack.env.load_balancers.public.clone(),
        Visibility::Internal => e.stack.env.load_balancers.internal.clone(),
    };
    let mut groups = vec![r(format!("{sg}.id"))];
    let mut balancer = Resource::new(&lb, "aws:lb/loadBalancer:LoadBalancer");
    if let Some(kept) = kept {
        balancer = balancer.set("name", s(kept.name));
        groups.extend(kept.keep_security_groups.iter().map(s));
    }
    e.add_shared(
        balancer
            .set("loadBalancerType", s("application"))
            .set("internal", Value::Bool(!public))
            .set("securityGroups", Value::List(groups))
            .set("subnets", strings(subnets))
            .set("dropInvalidHeaderFields", Value::Bool(true))
            .set(
                "enableDeletionProtection",
                Value::Bool(e.stack.env.production),
            )
            .set("idleTimeout", Value::Int(60))
            .set("tags", tags.clone()),
    );
    let not_found = map([(
        "fixedResponse",
        map([
            ("contentType", s("text/plain")),
            ("messageBody", s("no service at this address")),
            ("statusCode", s("404")),
        ]),
    )]);
    let fixed_404 = |mut action: Value| {
        if let Value::Map(entries) = &mut action {
            entries.insert(0, ("type".into(), s("fixed-response")));
        }
        list([action])
    };
    if https(e, visibility) {
        e.add_shared(
            Resource::new(format!("{p}-alb-https"), "aws:lb/listener:Listener")
                .set("loadBalancerArn", r(format!("{lb}.arn")))
                .set("port", Value::Int(443))
                .set("protocol", s("HTTPS"))
                .set(
                    "certificateArn",
                    s(net.certificate.clone().unwrap_or_default()),
                )
                .set("sslPolicy", s(SSL_POLICY))
                .set("defaultActions", fixed_404(not_found.clone()))
                .set("tags", tags.clone()),
        );
        e.add_shared(
            Resource::new(format!("{p}-alb-http"), "aws:lb/listener:Listener")
                .set("loadBalancerArn", r(format!("{lb}.arn")))
                .set("port", Value::Int(80))
                .set("protocol", s("HTTP"))
                .set(
                    "defaultActions",
                    list([map([
                        ("type", s("redirect")),
                        (
                            "redirect",
                            map([
                                ("port", s("443")),
                                ("protocol", s("HTTPS")),
                                ("statusCode", s("HTTP_301")),
                            ]),
                        ),
                    ])]),
                )
                .set("tags", tags),
        );
    } else {
        e.add_shared(
            Resource::new(format!("{p}-alb-http"), "aws:lb/listener:Listener")
                .set("loadBalancerArn", r(format!("{lb}.arn")))
                .set("port", Value::Int(80))
                .set("protocol", s("HTTP"))
                .set("defaultActions", fixed_404(not_found))
                .set("tags", tags),
        );
    }
    e.program.outputs.push((
        format!("_stack.{p}_url").into(),
        Value::interp(base_url(e, visibility)),
    ));
}

/// Where a data store sits: a subnet group of `token` in the environment's
/// private subnets, and a security group that only the components using it
/// open (`tcp_between` rules added by their grants). Returns the two logical
/// names. `noun` says what it is in the groups' descriptions (`database`, `cache`).
pub fn private_placement(
    e: &mut Emitter,
    index: usize,
    token: &'static str,
    noun: &str,
) -> (String, String) {
    let id = e.id(index).clone();
    let tags = e.tags(index);
    let net = e.stack.env.network.clone();
    let subnets = e.name(index, "subnets");
    e.add(
        index,
        Resource::new(&subnets, token)
            .set("description", s(format!("private subnets of {id}")))
            .set("subnetIds", strings(&net.private_subnets))
            .set("tags", tags.clone()),
    );
    let sg = e.name(index, "sg");
    e.add(
        index,
        Resource::new(&sg, "aws:ec2/securityGroup:SecurityGroup")
            .set(
                "description",
                s(format!(
                    "{noun} {id}: reachable only from the components that use it"
                )),
            )
            .set("vpcId", s(&net.vpc))
            .set("tags", tags),
    );
    (subnets, sg)
}
