//! Every test that talks to AWS, in one binary with one moto server
//! (tests/common/moto.rs): `apply`, `rollback`, `drift`, `history` and the
//! saved plans run as a user would with the Pulumi stand-in, the S3 and
//! DynamoDB back-end (locks, release records, outages), and `status` and
//! `logs` against live resources. Each test makes resources of its own
//! (`moto::unique`), so they run side by side. The tests that need no AWS are
//! in `offline`.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a test program reports by printing

mod common;

mod apply;
mod backend;
mod status;
