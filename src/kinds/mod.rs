//! Component kinds. Each kind is one module holding its model (and so its
//! schema), the outputs other components may reference, and its emitter. Adding a
//! kind means adding a module here and a variant to [`Kind`] and [`Spec`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub mod cache;
pub mod emit;
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

// What a component may do with one it uses (`uses:` with `access:`): for a
// queue, `read` (receive and delete), `write` (send) or `read-write`. (A `//`
// comment: a doc comment would change the published schema.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    Read,
    Write,
    #[default]
    ReadWrite,
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
