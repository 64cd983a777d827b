//! Other tools' files read into a deployment repository (`deployer import`).

pub mod copilot;
