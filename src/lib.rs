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

pub mod diagnostic;
pub mod node;
pub mod source;

pub mod affected;
pub mod artifacts;
pub mod backend;
pub mod cli;
pub mod emit;
pub mod engine;
pub mod error;
pub mod expand;
pub mod failpoint;
pub mod fs;
pub mod git;
pub mod inspect;
pub mod interrupt;
pub mod kinds;
pub mod load;
pub mod markdown;
pub mod model;
pub mod ops;
pub mod pipeline;
pub mod provider;
pub mod resolve;
pub mod schema;
pub mod validate;
