//! The one pulumi-aws version deployer deploys with.
//!
//! Every resource and every invoke of every compiled program carries it as
//! `options.version`, so two machines never deploy one release with different
//! provider versions: without it Pulumi uses whatever `aws` plugin happens to be
//! installed, or downloads the latest (`GetReferencedPackages` in pulumi's
//! `pkg/resource/deploy/packages.go`). It is the version the provider checker's
//! index was extracted from (`tests/support/pulumi-aws/README.md`), recorded in
//! every manifest and release, and installed before a preview
//! (`pulumi plugin install resource aws VERSION`). Changing it changes every
//! program, so the next apply of each stack shows the upgrade.

/// The pulumi-aws provider version every program pins.
pub const AWS_VERSION: &str = "7.51.1";
