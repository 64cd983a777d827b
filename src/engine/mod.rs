//! The engine drives the Pulumi CLI.

pub mod pulumi;
