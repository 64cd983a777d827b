//! Component kinds. Each kind is one module holding its model (and so its
//! schema), the outputs other components may reference, and its emitter. Adding a
//! kind means adding a module here and a variant to [`Kind`] and [`Spec`].

pub mod cache;
pub mod microservice;
pub mod rds;
pub mod sqs;

/// The kind of a component, given by the name of its kind file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Microservice,
    Rds,
    Sqs,
    Cache,
}

impl Kind {
    pub const ALL: &'static [Kind] = &[Kind::Microservice, Kind::Rds, Kind::Sqs, Kind::Cache];

    /// Lower-case name used in files, JSON and messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Microservice => "microservice",
            Kind::Rds => "rds",
            Kind::Sqs => "sqs",
            Kind::Cache => "cache",
        }
    }

    /// How `status` labels the kind.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Microservice => "MicroService",
            Kind::Rds => "RDS",
            Kind::Sqs => "SQS",
            Kind::Cache => "Cache",
        }
    }

    pub fn file_name(self) -> &'static str {
        match self {
            Kind::Microservice => "microservice.yaml",
            Kind::Rds => "rds.yaml",
            Kind::Sqs => "sqs.yaml",
            Kind::Cache => "cache.yaml",
        }
    }

    pub fn from_file_name(file: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.file_name() == file)
    }

    /// Outputs (name, description) a reference may name.
    pub fn outputs(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Microservice => microservice::OUTPUTS,
            Kind::Rds => rds::OUTPUTS,
            Kind::Sqs => sqs::OUTPUTS,
            Kind::Cache => cache::OUTPUTS,
        }
    }

    /// Whether a component of this kind can have `infra.yaml` and `configs/`.
    pub fn runs_containers(self) -> bool {
        self == Kind::Microservice
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A component's validated settings.
#[derive(Clone, Debug)]
pub enum Spec {
    Microservice(Box<microservice::Microservice>, microservice::Infra),
    Rds(rds::Rds),
    Sqs(sqs::Sqs),
    Cache(cache::Cache),
}

impl Spec {
    pub fn kind(&self) -> Kind {
        match self {
            Spec::Microservice(..) => Kind::Microservice,
            Spec::Rds(_) => Kind::Rds,
            Spec::Sqs(_) => Kind::Sqs,
            Spec::Cache(_) => Kind::Cache,
        }
    }
}

use crate::emit::Emitter;
use crate::emit::program::{Part, Value};
use crate::resolve::Wire;

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

/// What `wire` gives its user, by the kind of the used component.
pub fn grant(e: &Emitter, target: usize, wire: &Wire) -> Grant {
    match &e.stack.components[target].spec {
        Spec::Microservice(..) => microservice::emit::grant(e, target, wire),
        Spec::Rds(rds) => rds::grant(e, target, rds, wire),
        Spec::Sqs(_) => sqs::grant(e, target, wire),
        Spec::Cache(cache) => cache::grant(e, target, cache, wire),
    }
}

/// Names of the environment variables `uses` sets for a kind, for conflict checks.
pub fn wired_env_names(kind: Kind, prefix: &str) -> Vec<String> {
    let suffixes: &[&str] = match kind {
        Kind::Microservice => &["URL"],
        Kind::Rds => &["HOST", "PORT", "NAME", "USERNAME", "PASSWORD"],
        Kind::Sqs => &["URL", "ARN"],
        Kind::Cache => &["HOST", "READER_HOST", "PORT", "TLS"],
    };
    suffixes.iter().map(|s| format!("{prefix}_{s}")).collect()
}

/// An output of a component as parts of a string.
pub fn output(e: &Emitter, index: usize, output: &str) -> Vec<Part> {
    match &e.stack.components[index].spec {
        Spec::Microservice(..) => microservice::emit::output(e, index, output),
        Spec::Rds(rds) => rds::output(e, index, rds, output),
        Spec::Sqs(_) => sqs::output(e, index, output),
        Spec::Cache(cache) => cache::output(e, index, cache, output),
    }
}

/// Whether a component has an output in its configuration (a queue without a
/// dead-letter queue has no `dead_letter_url`).
pub fn output_available(spec: &Spec, output: &str) -> Result<(), String> {
    match (spec, output) {
        (Spec::Microservice(m, _), "url" | "target_group") if m.expose.is_none() => {
            Err("it is not exposed".into())
        }
        (Spec::Sqs(q), "dead_letter_url" | "dead_letter_arn") if !q.dead_letter.enabled => {
            Err("its dead-letter queue is turned off".into())
        }
        _ => Ok(()),
    }
}

/// The resource other components wait for when they come after this one.
pub fn main_resource(e: &Emitter, index: usize) -> String {
    let role = match e.stack.components[index].spec.kind() {
        Kind::Microservice => "service",
        Kind::Rds => "instance",
        Kind::Sqs => "queue",
        Kind::Cache => "cache",
    };
    e.name(index, role)
}
