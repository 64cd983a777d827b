//! deployer compiles a deployment repository of small YAML files into Pulumi
//! programs and deploys them.
//!
//! Invariants (docs/architecture.md has the whole map; `tests/docs.rs`,
//! `the_layers_only_point_down`, checks them):
//!
//! - Modules form layers, and imports point down: `source`, `node`, `fs`, …
//!   at the bottom; the compiler's stages [`load`] → [`expand`] →
//!   [`validate`] → [`resolve`] → [`emit`], each using only earlier stages'
//!   data; then [`backend`], [`engine`]; the flows in [`ops`]; [`cli`] on top,
//!   its commands thin wrappers over `ops`.
//! - Only `cli::printer` prints.
//! - No component kind imports another.
//!
//! The exceptions that remain are listed in docs/architecture.md.
//!
//! Modules the tests, benches and examples do not use are `pub(crate)`, so
//! the compiler reports what in them nothing uses (`dead_code`); make one
//! `pub` only when something outside the crate needs it.

pub mod diagnostic;
pub(crate) mod node;
pub(crate) mod source;

pub(crate) mod affected;
pub mod artifacts;
pub mod backend;
pub mod cli;
pub mod cost;
pub mod emit;
pub(crate) mod engine;
pub mod error;
pub(crate) mod expand;
pub(crate) mod failpoint;
pub mod fs;
pub(crate) mod git;
pub mod import;
pub mod inspect;
pub(crate) mod interrupt;
pub(crate) mod kinds;
pub mod load;
pub(crate) mod markdown;
pub(crate) mod model;
pub(crate) mod ops;
pub(crate) mod parallel;
pub(crate) mod pipeline;
pub mod policy;
pub(crate) mod provider;
pub(crate) mod resolve;
pub(crate) mod schema;
pub(crate) mod validate;
