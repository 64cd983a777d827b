//! deployer compiles a deployment repository of small YAML files into Pulumi
//! programs and deploys them.
//!
//! The data flows one way, one module per stage:
//! [`load`] → [`expand`] → [`validate`] → [`resolve`] → [`emit`].
//! [`cli`] is the only module that prints.

pub mod diagnostic;
pub mod node;
pub mod source;

pub mod load;
