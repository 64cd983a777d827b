//! Whether Pulumi's checkpoint of a stack exists, without running Pulumi.
//!
//! The DIY back-end keeps it under the back-end URL deployer gives it
//! ([`super::backend_url`]) at `.pulumi/stacks/<project>/<stack>.json`, or
//! `.pulumi/stacks/<stack>.json` in the legacy layout (a state without
//! `.pulumi/meta.yaml` version 1, or made with
//! `PULUMI_DIY_BACKEND_LEGACY_LAYOUT`: `pkg/backend/diy/store.go`,
//! `StackBasePath`; `meta.go`), each `.json`, `.json.gz`
//! (`PULUMI_DIY_BACKEND_GZIP`) or `.json.zst` (`PULUMI_DIY_BACKEND_ZSTD`;
//! `stackPath` in `pkg/backend/diy/state.go` takes whichever exists).
//!
//! A checkpoint is a `VersionedCheckpoint` (`sdk/go/common/apitype/core.go`):
//! `{"version": 3, "checkpoint": {"stack", "latest": {"resources": [...]}}}`;
//! [`resources`] counts what it holds, so "nothing deployed" is said only of a
//! state that holds nothing (a plan creates the stack, empty).

use super::{S3_PREFIX, local_state_root};
use crate::backend::{Backend, BackendKind};
use crate::error::Result;
use std::path::Path;

/// The endings a checkpoint may have (`stackPath`, `state.go`).
const ENDINGS: [&str; 3] = [".json", ".json.gz", ".json.zst"];

/// Where a stack's checkpoint may be, relative to the back-end's root: the
/// project layout, then the legacy one.
fn candidates(project: &str, stack: &str) -> Vec<String> {
    [
        format!(".pulumi/stacks/{project}/{stack}"),
        format!(".pulumi/stacks/{stack}"),
    ]
    .iter()
    .flat_map(|base| ENDINGS.iter().map(move |end| format!("{base}{end}")))
    .collect()
}

/// `Some(true)` when the checkpoint is there, `Some(false)` when it is not,
/// `None` when Pulumi's state is somewhere deployer does not know
/// (`DEPLOYER_PULUMI_BACKEND_URL`).
pub fn exists(
    backend: &Backend,
    repo_root: &Path,
    project: &str,
    stack: &str,
) -> Result<Option<bool>> {
    if std::env::var("DEPLOYER_PULUMI_BACKEND_URL").is_ok_and(|u| !u.is_empty()) {
        return Ok(None);
    }
    let candidates = candidates(project, stack);
    Ok(Some(match &backend.kind {
        BackendKind::Local(_) => {
            let root = local_state_root(repo_root);
            candidates.iter().any(|c| root.join(c).is_file())
        }
        BackendKind::Aws(_) => {
            let mut found = false;
            for prefix in [
                format!("{S3_PREFIX}/.pulumi/stacks/{project}/{stack}.json"),
                format!("{S3_PREFIX}/.pulumi/stacks/{stack}.json"),
            ] {
                let keys = backend.store.list(&prefix)?;
                found |= candidates
                    .iter()
                    .any(|c| keys.contains(&format!("{S3_PREFIX}/{c}")));
            }
            found
        }
    }))
}

/// What Pulumi's state of a stack holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Held {
    /// No checkpoint at all.
    Nothing,
    /// A checkpoint with this many resources of the program (Pulumi's own
    /// `pulumi:*` resources, the stack and its providers, left out).
    Resources(usize),
    /// deployer cannot tell (the state is elsewhere, or unreadable).
    Unknown,
}

/// How many of the program's resources Pulumi's state of a stack holds.
pub fn resources(backend: &Backend, repo_root: &Path, project: &str, stack: &str) -> Result<Held> {
    if std::env::var("DEPLOYER_PULUMI_BACKEND_URL").is_ok_and(|u| !u.is_empty()) {
        return Ok(Held::Unknown);
    }
    for candidate in candidates(project, stack) {
        let bytes = match &backend.kind {
            BackendKind::Local(_) => {
                let path = local_state_root(repo_root).join(&candidate);
                match crate::fs::read_back(&path, crate::fs::ReadBack::Record) {
                    Ok(bytes) => Some(bytes),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(_) => return Ok(Held::Unknown),
                }
            }
            BackendKind::Aws(_) => backend
                .store
                .get(&format!("{S3_PREFIX}/{candidate}"))?
                .map(|(b, _)| b),
        };
        let Some(bytes) = bytes else { continue };
        let Some(json) = decompress(&candidate, &bytes) else {
            return Ok(Held::Unknown);
        };
        let Ok(checkpoint) = serde_json::from_slice::<serde_json::Value>(&json) else {
            return Ok(Held::Unknown);
        };
        let count = checkpoint["checkpoint"]["latest"]["resources"]
            .as_array()
            .map_or(0, |r| {
                r.iter()
                    .filter(|r| {
                        !r["type"]
                            .as_str()
                            .unwrap_or("pulumi:")
                            .starts_with("pulumi:")
                    })
                    .count()
            });
        return Ok(Held::Resources(count));
    }
    Ok(Held::Nothing)
}

/// A checkpoint's JSON, whatever its compression (`encoding.DetectCompression`).
fn decompress(name: &str, bytes: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    let limit = crate::fs::ReadBack::Record.limit();
    if name.ends_with(".gz") {
        flate2::read::GzDecoder::new(bytes)
            .take(limit)
            .read_to_end(&mut out)
            .ok()?;
    } else if name.ends_with(".zst") {
        ruzstd::decoding::StreamingDecoder::new(bytes)
            .ok()?
            .take(limit)
            .read_to_end(&mut out)
            .ok()?;
    } else {
        out = bytes.to_vec();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_layout_and_compression_is_a_candidate() {
        let all = super::candidates("shop", "production");
        for path in [
            ".pulumi/stacks/shop/production.json",
            ".pulumi/stacks/shop/production.json.gz",
            ".pulumi/stacks/shop/production.json.zst",
            ".pulumi/stacks/production.json",
            ".pulumi/stacks/production.json.zst",
        ] {
            assert!(all.contains(&path.to_string()), "{path}");
        }
    }
}
