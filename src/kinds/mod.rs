//! Component kinds. Each kind is one folder, `kinds/<k>/`: its model and
//! outputs (`mod.rs`, this layer), what the schema cannot say (`check.rs`), its
//! resources (`emit.rs`) and what it looks like live (`status.rs`). The
//! registry below lists every kind once; the stages reach a kind only through
//! it (`on_kind!`, `on_spec!`) and the trait each stage asks every kind to
//! implement: [`Component`] here, `validate::CheckKind`,
//! `emit::emitter::EmitKind` and `inspect::status::StatusKind`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// Defines the registry from one line per kind, `Variant => module::Type`:
/// `pub mod module;`, the [`Kind`] and [`Spec`] enums (a `Spec` holds the
/// kind's `Type`, what a component is once validated), and two dispatchers for
/// the stages: `on_kind!(kind, K => body)` runs `body` with `K` naming the
/// kind's type, `on_spec!(spec, s => body)` with `s` the spec's value. (`$d` is
/// a `$` passed in, so the dispatchers can have variables of their own.)
macro_rules! kinds {
    ($d:tt $($variant:ident => $module:ident :: $spec:ident,)+) => {
        $(pub mod $module;)+

        /// The kind of a component, given by the name of its kind file.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Kind {
            $($variant,)+
        }

        impl Kind {
            /// Every kind, in the registry's order.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant,)+];

            /// Lower-case name used in files, JSON and messages: its folder's name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Kind::$variant => stringify!($module),)+
                }
            }

            /// The kind file, `<name>.yaml`.
            pub fn file_name(self) -> &'static str {
                match self {
                    $(Kind::$variant => concat!(stringify!($module), ".yaml"),)+
                }
            }
        }

        /// A component's validated settings.
        #[derive(Clone, Debug)]
        pub enum Spec {
            $($variant($module::$spec),)+
        }

        impl Spec {
            pub fn kind(&self) -> Kind {
                match self {
                    $(Spec::$variant(_) => Kind::$variant,)+
                }
            }
        }

        $(
            impl From<$module::$spec> for Spec {
                fn from(spec: $module::$spec) -> Spec {
                    Spec::$variant(spec)
                }
            }
        )+

        /// `on_kind!(kind, K => body)`: `body`, with `K` the kind's spec type.
        macro_rules! on_kind {
            ($d kind:expr, $d k:ident => $d body:expr) => {
                match $d kind {
                    $($crate::kinds::Kind::$variant => {
                        type $d k = $crate::kinds::$module::$spec;
                        $d body
                    })+
                }
            };
        }

        /// `on_spec!(spec, s => body)`: `body`, with `s` the spec's value.
        macro_rules! on_spec {
            ($d spec:expr, $d s:ident => $d body:expr) => {
                match $d spec {
                    $($crate::kinds::Spec::$variant($d s) => $d body,)+
                }
            };
        }

        pub(crate) use {on_kind, on_spec};
    };
}

// The registry. A new kind is a folder `kinds/<k>/` and a line here.
kinds! { $
    Microservice => microservice::MicroserviceSpec,
    Rds => rds::Rds,
    Sqs => sqs::Sqs,
    Cache => cache::Cache,
}

/// What every kind says about itself, implemented (in `kinds/<k>/mod.rs`) by
/// the type its [`Spec`] variant holds.
pub trait Component: Serialize {
    /// The kind file's model, whose JSON Schema is the file's.
    type File: JsonSchema + serde::de::DeserializeOwned;
    /// How `status` labels the kind.
    const LABEL: &'static str;
    /// Outputs (name, description) a reference may name.
    const OUTPUTS: &'static [(&'static str, &'static str)];
    /// Suffixes of the environment variables `uses` sets, `<PREFIX>_<SUFFIX>`.
    const WIRED_ENV: &'static [&'static str];
    /// Whether a component of the kind can have `infra.yaml` and `configs/`.
    const RUNS_CONTAINERS: bool = false;

    /// Whether the component has `output` in its configuration (a queue without
    /// a dead-letter queue has no `dead_letter_url`), and why not.
    fn output_available(&self, _output: &str) -> Result<(), String> {
        Ok(())
    }

    /// What `show --resolved` prints of it, by key.
    fn settings(&self) -> Vec<(&'static str, Json)> {
        vec![("settings", serde_json::to_value(self).unwrap_or_default())]
    }
}

impl Kind {
    pub fn from_file_name(file: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.file_name() == file)
    }

    /// Every kind file, for messages: `a.yaml, b.yaml or c.yaml`.
    pub fn file_names(conjunction: &str) -> String {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.file_name()).collect();
        match names.split_last() {
            Some((last, [])) => (*last).to_string(),
            Some((last, rest)) => format!("{} {conjunction} {last}", rest.join(", ")),
            None => String::new(),
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// Outputs (name, description) a reference may name.
    pub fn outputs(self) -> &'static [(&'static str, &'static str)] {
        on_kind!(self, K => K::OUTPUTS)
    }

    /// Whether a component of this kind can have `infra.yaml` and `configs/`.
    pub fn runs_containers(self) -> bool {
        on_kind!(self, K => K::RUNS_CONTAINERS)
    }

    /// Names of the environment variables `uses` sets, for conflict checks.
    pub fn wired_env_names(self, prefix: &str) -> Vec<String> {
        on_kind!(self, K => K::WIRED_ENV)
            .iter()
            .map(|s| format!("{prefix}_{s}"))
            .collect()
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Spec {
    /// Whether the component has `output` in its configuration, and why not.
    pub fn output_available(&self, output: &str) -> Result<(), String> {
        on_spec!(self, s => s.output_available(output))
    }

    /// What `show --resolved` prints of it, by key.
    pub fn settings(&self) -> Vec<(&'static str, Json)> {
        on_spec!(self, s => s.settings())
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
