//! Component kinds. Each kind is one module holding its model (and so its
//! schema), the outputs other components may reference, and its emitter. Adding a
//! kind means adding a module here and a variant to [`Kind`] and [`Spec`].

pub mod microservice;
pub mod rds;
pub mod sqs;

/// The kind of a component, given by the name of its kind file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Microservice,
    Rds,
    Sqs,
}

impl Kind {
    pub const ALL: &'static [Kind] = &[Kind::Microservice, Kind::Rds, Kind::Sqs];

    /// Lower-case name used in files, JSON and messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Microservice => "microservice",
            Kind::Rds => "rds",
            Kind::Sqs => "sqs",
        }
    }

    /// How `status` labels the kind.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Microservice => "MicroService",
            Kind::Rds => "RDS",
            Kind::Sqs => "SQS",
        }
    }

    pub fn file_name(self) -> &'static str {
        match self {
            Kind::Microservice => "microservice.yaml",
            Kind::Rds => "rds.yaml",
            Kind::Sqs => "sqs.yaml",
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
}

impl Spec {
    pub fn kind(&self) -> Kind {
        match self {
            Spec::Microservice(..) => Kind::Microservice,
            Spec::Rds(_) => Kind::Rds,
            Spec::Sqs(_) => Kind::Sqs,
        }
    }
}
