//! Whether Pulumi's checkpoint of a stack exists, without running Pulumi:
//! the DIY back-end keeps it at `.pulumi/stacks/<project>/<stack>.json`
//! (`.json.gz` when compressed; `pkg/backend/diy/backend.go`, `stackPath`)
//! under the back-end URL deployer gives it ([`super::backend_url`]).

use super::{S3_PREFIX, local_state_root};
use crate::backend::{Backend, BackendKind};
use crate::error::Result;
use std::path::Path;

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
    let relative = format!(".pulumi/stacks/{project}/{stack}.json");
    Ok(Some(match &backend.kind {
        BackendKind::Local(_) => {
            let path = local_state_root(repo_root).join(&relative);
            path.exists() || path.with_extension("json.gz").exists()
        }
        BackendKind::Aws(_) => {
            let key = format!("{S3_PREFIX}/{relative}");
            backend
                .store
                .list(&key)?
                .iter()
                .any(|k| *k == key || *k == format!("{key}.gz"))
        }
    }))
}
