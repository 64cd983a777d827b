//! Configuration: `~/.deployer/config.yaml` (`DEPLOYER_HOME` relocates the
//! folder), overridden by `DEPLOYER_STATE_BUCKET`, `DEPLOYER_LOCK_TABLE` and
//! `AWS_REGION`. Credentials and endpoints come from the standard AWS chain
//! (`AWS_PROFILE`, SSO, `AWS_ENDPOINT_URL`, ...), never from this file.

use super::aws::Settings;
use crate::error::{Context, Error, Result};
use crate::source::{FileId, SourceFile};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub backend: Option<BackendSection>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSection {
    /// S3 bucket for release records and Pulumi state.
    pub bucket: String,
    /// DynamoDB table for locks.
    pub table: String,
    pub region: String,
    /// An S3-compatible endpoint (MinIO, a VPC endpoint, a test server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Path-style S3 addressing (default: on when an endpoint is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_style: Option<bool>,
    /// KMS key (`awskms://...`) for Pulumi's secrets provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_provider: Option<String>,
}

/// Which back-end to use.
#[derive(Clone, Debug)]
pub enum Resolved {
    /// No configuration at all: files in the repository's `.deployer/`.
    Local,
    Aws(Settings),
}

/// `DEPLOYER_HOME`, or `~/.deployer`.
pub fn home() -> PathBuf {
    crate::fs::deployer_home()
}

pub fn path() -> PathBuf {
    home().join("config.yaml")
}

/// Reads the configuration file, if there is one.
pub fn load() -> Result<Option<ConfigFile>> {
    let path = path();
    let text = match crate::fs::read_back_text(&path, crate::fs::ReadBack::VarFile) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::failed(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let file = SourceFile::new(path.display().to_string(), path.clone(), text);
    let parsed = crate::load::yaml::parse(FileId(0), &file);
    let bad = |why: String| {
        Error::failed(format!(
            "{} is not a valid deployer configuration: {why}",
            path.display()
        ))
        .with_help("fix it, or write it again with `deployer init`")
    };
    if let Some(d) = parsed.diagnostics.first() {
        let (line, col) = d.span.map_or((1, 1), |s| file.line_col(s.start as usize));
        return Err(bad(format!("{} (line {line}, column {col})", d.message)));
    }
    let Some(root) = parsed.root else {
        return Ok(Some(ConfigFile::default()));
    };
    serde_json::from_value(root.to_json())
        .map(Some)
        .map_err(|e| bad(e.to_string()))
}

/// The back-end to use, from the file and the environment.
pub fn resolve() -> Result<Resolved> {
    let section = load()?.and_then(|f| f.backend);
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let bucket =
        env("DEPLOYER_STATE_BUCKET").or_else(|| section.as_ref().map(|s| s.bucket.clone()));
    let table = env("DEPLOYER_LOCK_TABLE").or_else(|| section.as_ref().map(|s| s.table.clone()));
    let (bucket, table) = match (bucket, table) {
        (None, None) => return Ok(Resolved::Local),
        (Some(b), Some(t)) => (b, t),
        (Some(_), None) => {
            return Err(
                Error::failed("a state bucket is configured but no lock table")
                    .with_help("set DEPLOYER_LOCK_TABLE, or run `deployer init`"),
            );
        }
        (None, Some(_)) => {
            return Err(
                Error::failed("a lock table is configured but no state bucket")
                    .with_help("set DEPLOYER_STATE_BUCKET, or run `deployer init`"),
            );
        }
    };
    let region = env("AWS_REGION")
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .or_else(|| section.as_ref().map(|s| s.region.clone()))
        .ok_or_else(|| {
            Error::failed("no AWS region configured")
                .with_help("set AWS_REGION, or run `deployer init --region REGION`")
        })?;
    let endpoint = section
        .as_ref()
        .and_then(|s| s.endpoint.clone())
        .or_else(|| env("AWS_ENDPOINT_URL_S3"))
        .or_else(|| env("AWS_ENDPOINT_URL"));
    let path_style = section
        .as_ref()
        .and_then(|s| s.path_style)
        .unwrap_or(endpoint.is_some());
    let secrets_provider = section.as_ref().and_then(|s| s.secrets_provider.clone());
    Ok(Resolved::Aws(Settings {
        bucket,
        table,
        region,
        endpoint,
        path_style,
        secrets_provider,
    }))
}

/// Writes the configuration file (through a temporary file and a rename).
pub fn save(section: BackendSection) -> Result<PathBuf> {
    let path = path();
    let dir = home();
    std::fs::create_dir_all(&dir).context(|| format!("cannot create {}", dir.display()))?;
    let json = serde_json::to_value(ConfigFile {
        backend: Some(section),
    })
    .expect("config serialises");
    let text = format!(
        "# Written by `deployer init`. Environment variables override it:\n# DEPLOYER_STATE_BUCKET, DEPLOYER_LOCK_TABLE, AWS_REGION.\n{}",
        crate::emit::yaml::to_yaml(&json)
    );
    crate::artifacts::write_atomic(&path, text.as_bytes())
        .context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}
