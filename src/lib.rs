//! deployer compiles a deployment repository of small YAML files into Pulumi
//! programs and deploys them.
//!
//! The data flows one way, one module per stage:
//! [`load`] → [`expand`] → [`validate`] → [`resolve`] → [`emit`].
//! [`cli`] is the only module that prints.

pub mod diagnostic;
pub mod node;
pub mod source;

pub mod affected;
pub mod artifacts;
pub mod backend;
pub mod cli;
pub mod deploy;
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
pub mod pipeline;
pub mod plan;
pub mod provider;
pub mod resolve;
pub mod schema;
pub mod validate;
