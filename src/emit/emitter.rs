//! The state of emission — the stack being emitted and the program so far —
//! and what every step of it uses: names, tags, text with references.

use super::names::{AUTONAME_SUFFIX, short_name};
use super::program::{Part, Program, Resource, Value, map, s};
use crate::kinds::on_spec;
use crate::resolve::refs::{self, Piece};
use crate::resolve::{Id, ResolvedStack, Wire, parse_target};
use std::collections::BTreeMap;

/// The state of emission: the stack being emitted and the program so far.
pub struct Emitter<'a> {
    pub stack: &'a ResolvedStack,
    pub program: Program,
}

/// What emission asks of every kind, implemented in `kinds/<k>/emit.rs` by the
/// kind's spec type. The emitter calls it through the registry's `on_spec!`:
/// the kinds' emitters sit above the emitter they use, and no file here names
/// one of them.
pub trait EmitKind {
    /// The role of the resource others wait for when they come after the
    /// component (`instance`, `queue`): see [`Emitter::main_resource`].
    const MAIN_ROLE: &'static str;

    /// The Pulumi types of the kind's resources that hold data (a database, a
    /// queue with messages in it): a plan deleting or replacing one needs
    /// `--allow-data-loss`. No default, so a new kind has to say.
    const HOLDS_DATA: &'static [&'static str];

    /// Adds component `index`'s resources to the program.
    fn emit(&self, e: &mut Emitter<'_>, index: usize);

    /// One of component `index`'s outputs, as parts of a string.
    fn output(&self, e: &Emitter<'_>, index: usize, output: &str) -> Vec<Part>;

    /// What using component `target` through `wire` gives its user.
    fn grant(&self, e: &Emitter<'_>, target: usize, wire: &Wire) -> Grant;
}

/// The main resource's role, by kind.
fn main_role<K: EmitKind>(_: &K) -> &'static str {
    K::MAIN_ROLE
}

/// What using a component gives the user: environment variables, secrets,
/// IAM permissions and network access. Each kind says what it grants.
#[derive(Debug, Default)]
pub struct Grant {
    pub env: Vec<(String, Vec<Part>)>,
    /// Secrets injected by ECS: name → `valueFrom`.
    pub secrets: Vec<(String, Vec<Part>)>,
    /// IAM statements for the user's task role.
    pub task_statements: Vec<Value>,
    /// Secrets Manager ARNs the user's execution role must read at start.
    pub execution_secrets: Vec<Value>,
    /// The used component's security group (logical name) and port the user may reach.
    pub ingress: Option<(String, u16)>,
}

impl Emitter<'_> {
    /// What using component `target` through `wire` gives its user.
    pub fn grant(&self, target: usize, wire: &Wire) -> Grant {
        on_spec!(&self.stack.components[target].spec, s => s.grant(self, target, wire))
    }

    /// Output `output` of component `index`, as parts of a string.
    pub fn output(&self, index: usize, output: &str) -> Vec<Part> {
        on_spec!(&self.stack.components[index].spec, s => s.output(self, index, output))
    }

    /// The resource others wait for when they come after component `index`.
    pub fn main_resource(&self, index: usize) -> String {
        let role = on_spec!(&self.stack.components[index].spec, s => main_role(s));
        self.name(index, role)
    }

    /// Adds component `index`'s resources to the program, by its kind.
    pub fn emit_component(&mut self, index: usize) {
        let stack = self.stack;
        on_spec!(&stack.components[index].spec, s => s.emit(self, index))
    }

    pub fn id(&self, index: usize) -> &Id {
        &self.stack.components[index].id
    }

    /// Logical name of a component's resource: `email-service-api-<role>`.
    pub fn name(&self, index: usize, role: &str) -> String {
        // `Id::prefix` and the role, by hand, not `format!`: names are made
        // for every resource and every reference to one (a twentieth of
        // emitting a program).
        let id = self.id(index);
        joined(&[id.service.as_str(), id.component.as_str(), role], '-')
    }

    /// Logical name of a resource that pulumi-aws names itself: `<name>-` plus 7
    /// random characters must fit the provider's maximum for the type
    /// (`NewUniqueName`, pulumi `sdk/go/common/resource/resource_id.go`), so the
    /// component's prefix is shortened with a hash when needed. Autonaming keeps
    /// replacements create-before-delete, which a load balancer's target group
    /// needs (AWS refuses to delete one in use).
    pub fn autonamed(&self, index: usize, role: &str, provider_max: usize) -> String {
        let room = provider_max - AUTONAME_SUFFIX - role.len() - 1;
        format!("{}-{role}", short_name(&self.id(index).prefix(), room))
    }

    /// Adds a component's resource, tagged as the component's.
    pub fn add(&mut self, index: usize, mut resource: Resource) {
        resource.component = Some(self.id(index).to_string());
        self.program.resources.push(resource);
    }

    /// Adds a stack-wide resource.
    pub fn add_shared(&mut self, resource: Resource) {
        self.program.resources.push(resource);
    }

    pub fn add_variable(&mut self, name: String, value: Value) {
        if !self.program.variables.iter().any(|(n, _)| *n == name) {
            self.program.variables.push((name.into(), value));
        }
    }

    /// The tags of a component's resources.
    pub fn tags(&self, index: usize) -> Value {
        tags_value(&self.stack.components[index].tags)
    }

    /// The tags of a stack-wide resource with the given role.
    pub fn shared_tags(&self, role: &str) -> Value {
        tags_value(&self.stack.tags_for_stack(role))
    }

    /// The AWS partition of the environment's region (`aws`, `aws-cn`, `aws-us-gov`).
    pub fn partition(&self) -> &'static str {
        let region = &self.stack.env.region;
        if region.starts_with("cn-") {
            "aws-cn"
        } else if region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        }
    }

    /// A physical AWS name from parts, shortened with a hash to fit `max`.
    pub fn physical_name(&self, parts: &[&str], max: usize) -> String {
        short_name(&parts.join("-"), max)
    }

    /// `stack-environment-service-component`.
    pub fn qualified(&self, index: usize) -> String {
        let id = self.id(index);
        format!(
            "{}-{}-{}-{}",
            self.stack.name, self.stack.environment, id.service, id.component
        )
    }

    /// A string from the user's files: text, with `ref()` markers turned into
    /// references to the outputs they name (checked by resolve).
    pub fn text(&self, user: usize, text: &str) -> Value {
        let Ok(pieces) = refs::split(text) else {
            return s(text);
        };
        let mut parts = Vec::new();
        for piece in pieces {
            match piece {
                Piece::Text(t) => parts.push(Part::Text(t.to_string())),
                Piece::Sensitive(name) => parts.push(Part::Ref(secret_config_key(name))),
                Piece::Ref(reference) => {
                    let (target, output) = refs::target_and_output(reference);
                    let target =
                        parse_target(self.id(user), target).and_then(|id| self.stack.index_of(&id));
                    match target {
                        Some(index) => parts.extend(self.output(index, output)),
                        None => parts.push(Part::Text(reference.to_string())),
                    }
                }
            }
        }
        Value::interp(parts)
    }

    /// A JSON value from a config, with references resolved in its strings.
    pub fn json_value(&self, user: usize, json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => Value::Int(i),
                (None, Some(f)) => Value::Float(f),
                (None, None) => s(n.to_string()),
            },
            serde_json::Value::String(text) => self.text(user, text),
            serde_json::Value::Array(items) => {
                Value::List(items.iter().map(|i| self.json_value(user, i)).collect())
            }
            serde_json::Value::Object(obj) => Value::Map(
                obj.iter()
                    .map(|(k, v)| (k.clone().into(), self.json_value(user, v)))
                    .collect(),
            ),
        }
    }
}

/// `parts` joined by `separator`, in one allocation.
fn joined(parts: &[&str], separator: char) -> String {
    let length = parts.iter().map(|p| p.len() + 1).sum();
    let mut out = String::with_capacity(length);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(separator);
        }
        out.push_str(part);
    }
    out
}

/// The Pulumi config key (in the program's project namespace) that carries a
/// sensitive variable's value, encrypted.
pub fn secret_config_key(variable: &str) -> String {
    format!("sensitive_{variable}")
}

/// Tags, built once for the resources that carry them alike.
fn tags_value(tags: &BTreeMap<String, String>) -> Value {
    map(tags.iter().map(|(k, v)| (k.clone(), s(v.clone())))).shared()
}
