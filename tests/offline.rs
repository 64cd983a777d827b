//! Every test that needs no AWS, in one binary (one link of the AWS SDK, not
//! five): the front end as a user meets it (`validate`, `show`, `compile`,
//! `diff`, `affected`), the golden programs, the commands that need no cloud,
//! and the documents kept in step with the code (docs/architecture.md's
//! layering among them). The tests that start moto are in `aws`.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a test program reports by printing

mod common;

mod clients;
mod commands;
mod compile;
mod docs;
mod golden;
mod validate;
