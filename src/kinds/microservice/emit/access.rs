//! What a microservice may reach and read: the environment, secrets and
//! configs its container gets, and the least-privilege IAM roles that allow
//! exactly that (the execution role to start the task, the task role for the
//! application).

use crate::emit::emitter::Emitter;
use crate::emit::network::{self, Direction};
use crate::emit::program::{
    Part, Resource, Value, iam_statement, invoke, list, map, r, s, to_json,
};
use crate::kinds::microservice::{Infra, Microservice, SecretRef};
use std::collections::BTreeMap;

/// What the steps of emitting one microservice share.
pub(super) struct Context {
    pub index: usize,
    pub service: Microservice,
    pub infra: Infra,
    pub id: crate::resolve::Id,
    pub tags: Value,
    pub net: crate::model::stack::Network,
}

const TASK_EXECUTION_POLICY: &str = "policy/service-role/AmazonECSTaskExecutionRolePolicy";

/// Environment, secrets and permissions the container gets.
pub(super) struct Wiring {
    pub env: BTreeMap<String, Value>,
    pub secrets: BTreeMap<String, Value>,
    pub task_statements: Vec<Value>,
    pub execution_secrets: Vec<Value>,
    pub execution_parameters: Vec<Value>,
}

/// What the service uses: variables, secrets, permissions, network access; its
/// own secrets; and its configs as SSM parameters.
pub(super) fn wiring(e: &mut Emitter, cx: &Context, sg: &str) -> Wiring {
    let Context {
        index,
        id,
        tags,
        service,
        ..
    } = cx;
    let index = *index;
    let mut env: BTreeMap<String, Value> = service
        .env
        .iter()
        .map(|(k, v)| (k.clone(), e.text(index, &v.0)))
        .collect();
    let mut secrets: BTreeMap<String, Value> = BTreeMap::new();
    let mut task_statements = Vec::new();
    let mut execution_secrets = Vec::new();
    let mut execution_parameters = Vec::new();
    // An env value that reads a sensitive variable reaches the container by
    // reference, from an encrypted SSM parameter: a task definition is shown
    // in clear to anyone allowed to describe it.
    for (name, value) in &service.env {
        if !reads_sensitive(&value.0) {
            continue;
        }
        let parameter = e.name(
            index,
            &format!("env-{}", name.to_lowercase().replace('_', "-")),
        );
        let resource = Resource::new(&parameter, "aws:ssm/parameter:Parameter")
            .set(
                "name",
                s(format!(
                    "/deployer/{}/{}/{}/{}/env/{name}",
                    e.stack.name, e.stack.environment, id.service, id.component
                )),
            )
            .set(
                "description",
                s(format!(
                    "env {name} of {id}, which reads a sensitive variable"
                )),
            )
            .set("type", s("SecureString"))
            .set("value", e.text(index, &value.0))
            .set("tags", tags.clone());
        e.add(index, resource);
        env.remove(name);
        secrets.insert(name.clone(), r(format!("{parameter}.arn")));
        execution_parameters.push(r(format!("{parameter}.arn")));
    }
    let wires = e.stack.components[index].uses.clone();
    for wire in &wires {
        let grant = e.grant(wire.target, wire);
        env.extend(grant.env.into_iter().map(|(k, p)| (k, Value::interp(p))));
        secrets.extend(
            grant
                .secrets
                .into_iter()
                .map(|(k, p)| (k, Value::interp(p))),
        );
        task_statements.extend(grant.task_statements);
        execution_secrets.extend(grant.execution_secrets);
        if let Some((target_sg, port)) = grant.ingress {
            let name = format!("{}-to-{}", id.prefix(), e.id(wire.target).prefix());
            let rule = network::tcp_between(
                name,
                Direction::Ingress,
                &target_sg,
                sg,
                port,
                format!("from {id}"),
                tags.clone(),
            );
            e.add(index, rule);
        }
    }
    for (name, secret) in &service.secrets {
        let id = match secret {
            SecretRef::Name(id) => id,
            SecretRef::Key(key) => &key.secret,
            SecretRef::Parameter(parameter) => {
                let arn = parameter_arn(e, &parameter.parameter);
                secrets.insert(name.clone(), s(&arn));
                execution_parameters.push(s(arn));
                continue;
            }
        };
        let arn = secret_arn(e, index, name, id);
        let value_from = match secret.key() {
            Some(key) => append(&arn, &format!(":{key}::")),
            None => arn.clone(),
        };
        secrets.insert(name.clone(), value_from);
        execution_secrets.push(arn.clone());
        if let Value::Str(literal) = &arn
            && !has_random_suffix(literal)
        {
            execution_secrets.push(s(format!("{literal}-??????")));
        }
    }
    for config in &e.stack.components[index].configs.clone() {
        let parameter = e.name(index, &format!("config-{}", config.name));
        let text = serde_json::to_string(&config.json).unwrap_or_default();
        let tier = if crate::validate::go_json_len(&config.json) > 4096 {
            "Advanced"
        } else {
            "Standard"
        };
        e.add(
            index,
            Resource::new(&parameter, "aws:ssm/parameter:Parameter")
                .set(
                    "name",
                    s(format!(
                        "/deployer/{}/{}/{}/{}/config/{}",
                        e.stack.name, e.stack.environment, id.service, id.component, config.name
                    )),
                )
                .set(
                    "description",
                    s(format!("configs/{}.yaml of {id}", config.name)),
                )
                .set("type", s(config_type(&text)))
                .set("tier", s(tier))
                .set("value", to_json(e.json_value(index, &config.json)))
                .set("tags", tags.clone()),
        );
        let variable = format!(
            "DEPLOYER_CONFIG_{}",
            config.name.to_uppercase().replace('-', "_")
        );
        secrets.insert(variable.clone(), r(format!("{parameter}.arn")));
        // A changed config must roll the service: the task definition carries its hash.
        env.insert(
            format!("{variable}_SHA256"),
            s(format!(
                "{:016x}",
                crate::emit::names::fnv1a(text.as_bytes())
            )),
        );
        execution_parameters.push(r(format!("{parameter}.arn")));
    }

    Wiring {
        env,
        secrets,
        task_statements,
        execution_secrets,
        execution_parameters,
    }
}

/// The execution role starts the task (pull, logs, secrets); the task role is
/// what the application may do.
pub(super) fn roles(
    e: &mut Emitter,
    cx: &Context,
    task_statements: Vec<Value>,
    execution_secrets: Vec<Value>,
    execution_parameters: Vec<Value>,
) -> (String, String) {
    let Context {
        index, id, tags, ..
    } = cx;
    let index = *index;
    let assume = assumed_by("ecs-tasks.amazonaws.com");
    let execution_role = e.name(index, "execution-role");
    e.add(
        index,
        Resource::new(&execution_role, "aws:iam/role:Role")
            .set("name", s(role_name(e, index, "exec")))
            .set("description", s(format!("starts the tasks of {id}")))
            .set("assumeRolePolicy", assume.clone())
            .set("tags", tags.clone()),
    );
    attach_managed_policy(e, index, "execution-managed", &execution_role, TASK_EXECUTION_POLICY);
    let mut execution_statements = Vec::new();
    if !execution_secrets.is_empty() {
        execution_statements.push(iam_statement(
            &["secretsmanager:GetSecretValue"],
            dedup(execution_secrets),
        ));
    }
    if !execution_parameters.is_empty() {
        execution_statements.push(iam_statement(&["ssm:GetParameters"], execution_parameters));
    }
    if !execution_statements.is_empty() {
        e.add(
            index,
            Resource::new(
                e.name(index, "execution-policy"),
                "aws:iam/rolePolicy:RolePolicy",
            )
            .set("role", r(format!("{execution_role}.id")))
            .set("policy", policy(execution_statements)),
        );
    }
    let task_role = e.name(index, "task-role");
    e.add(
        index,
        Resource::new(&task_role, "aws:iam/role:Role")
            .set("name", s(role_name(e, index, "task")))
            .set(
                "description",
                s(format!("what the application {id} may do")),
            )
            .set("assumeRolePolicy", assume)
            .set("tags", tags.clone()),
    );
    if !task_statements.is_empty() {
        e.add(
            index,
            Resource::new(
                e.name(index, "task-policy"),
                "aws:iam/rolePolicy:RolePolicy",
            )
            .set("role", r(format!("{task_role}.id")))
            .set("policy", policy(task_statements)),
        );
    }

    (execution_role, task_role)
}

/// The ARN of an SSM parameter: as given, or made from its name in the
/// environment's partition, region and account. ECS takes the name too;
/// the execution role's policy needs the ARN.
fn parameter_arn(e: &Emitter, parameter: &str) -> String {
    match parameter.starts_with("arn:") {
        true => parameter.to_string(),
        false => format!(
            "arn:{}:ssm:{}:{}:parameter/{}",
            e.partition(),
            e.stack.env.region,
            e.stack.env.account,
            parameter.trim_start_matches('/')
        ),
    }
}

/// The ARN of a secret: as given, or looked up by name when the program runs
/// (the lookup reads metadata only, never the value).
fn secret_arn(e: &mut Emitter, index: usize, env_name: &str, id: &str) -> Value {
    if id.starts_with("arn:") {
        return s(id);
    }
    let variable = e.name(
        index,
        &format!("secret-{}", env_name.to_lowercase().replace('_', "-")),
    );
    e.add_variable(
        variable.clone(),
        invoke(
            "aws:secretsmanager/getSecret:getSecret",
            map([("name", s(id))]),
            "arn",
        ),
    );
    r(variable)
}

/// Secrets Manager ARNs end in `-` and six random characters; a policy for an
/// ARN given without them must allow them.
fn has_random_suffix(arn: &str) -> bool {
    let name = arn.rsplit(':').next().unwrap_or("");
    name.len() > 7
        && name.as_bytes()[name.len() - 7] == b'-'
        && name[name.len() - 6..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric())
}

fn append(value: &Value, suffix: &str) -> Value {
    let mut parts = match value {
        Value::Str(text) => vec![Part::Text(text.clone())],
        Value::Interp(parts) => parts.clone(),
        _ => Vec::new(),
    };
    parts.push(Part::Text(suffix.into()));
    Value::interp(parts)
}

fn dedup(values: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// Attaches the AWS managed policy at `path` (`policy/...`) to `role`, as
/// resource `<component>-<name>`.
pub(super) fn attach_managed_policy(
    e: &mut Emitter,
    index: usize,
    name: &str,
    role: &str,
    path: &str,
) {
    let attachment = Resource::new(
        e.name(index, name),
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    )
    .set("role", r(format!("{role}.name")))
    .set(
        "policyArn",
        s(format!("arn:{}:iam::aws:{path}", e.partition())),
    );
    e.add(index, attachment);
}

/// The trust policy of a role that the AWS service `principal` assumes.
pub(super) fn assumed_by(principal: &str) -> Value {
    to_json(map([
        ("Version", s("2012-10-17")),
        (
            "Statement",
            list([map([
                ("Effect", s("Allow")),
                ("Principal", map([("Service", s(principal))])),
                ("Action", s("sts:AssumeRole")),
            ])]),
        ),
    ]))
}

pub(super) fn policy(statements: Vec<Value>) -> Value {
    to_json(map([
        ("Version", s("2012-10-17")),
        ("Statement", Value::List(statements)),
    ]))
}

/// IAM role names are explicit and deterministic: unique in the account
/// (stack, environment, service, component) and within AWS's 64 characters.
pub(super) fn role_name(e: &Emitter, index: usize, role: &str) -> String {
    e.physical_name(&[&e.qualified(index), role], 64)
}

/// A config that reads a sensitive variable is stored encrypted
/// (`SecureString`, with the account's `aws/ssm` key, which the ECS agent
/// decrypts without a grant); others stay readable `String`s.
fn config_type(json_text: &str) -> &'static str {
    if reads_sensitive(json_text) {
        "SecureString"
    } else {
        "String"
    }
}

fn reads_sensitive(text: &str) -> bool {
    text.contains(&format!(
        "{}{}",
        crate::expand::template::REF_START,
        crate::expand::variables::SENSITIVE_PREFIX
    ))
}
