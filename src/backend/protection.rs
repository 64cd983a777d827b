//! An environment's protection, as its applies have established it:
//! `stacks/<stack>/<environment>/protection.json` in the state store.
//!
//! Approval and the production defaults come from stack.yaml, which anyone with
//! write access to the repository can edit. So the first apply of an environment
//! records its class, and a later apply whose stack.yaml lowers it (production
//! to not, approval to none, a protected resource no longer protected) stops
//! before anything changes unless the downgrade is accepted explicitly: a flag
//! naming it and an answer on a terminal, never `--auto-approve` alone.

use super::{Put, StateStore};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Protection {
    pub production: bool,
    pub approval_required: bool,
    /// Resources Pulumi will not delete (`protect`).
    #[serde(default)]
    pub protected: Vec<String>,
}

fn key(stack: &str, environment: &str) -> String {
    format!("stacks/{stack}/{environment}/protection.json")
}

/// The recorded protection and its version tag, if any apply recorded one.
pub fn read(
    store: &dyn StateStore,
    stack: &str,
    environment: &str,
) -> Result<Option<(Protection, String)>> {
    let key = key(stack, environment);
    let Some((bytes, etag)) = store.get(&key)? else {
        return Ok(None);
    };
    let protection = serde_json::from_slice(&bytes).map_err(|e| {
        Error::failed(format!("{key} is damaged: {e}")).with_source(e).with_help(
            "restore it from the bucket's versions; deployer will not guess an environment's protection",
        )
    })?;
    Ok(Some((protection, etag)))
}

/// Records the protection an apply established.
pub fn write(
    store: &dyn StateStore,
    stack: &str,
    environment: &str,
    protection: &Protection,
    etag: Option<&str>,
) -> Result<()> {
    let body = serde_json::to_vec_pretty(protection).expect("protection serialises");
    match store.put_if(&key(stack, environment), &body, etag)? {
        Put::Done => Ok(()),
        Put::Conflict => Err(Error::failed(format!(
            "the protection record of {stack} / {environment} changed while this apply ran"
        ))),
    }
}

/// What `now` lowers from `recorded`, in words; empty when nothing is lowered.
pub fn lowered(recorded: &Protection, now: &Protection) -> Vec<String> {
    let mut out = Vec::new();
    if recorded.production && !now.production {
        out.push("production: true → false".to_string());
    }
    if recorded.approval_required && !now.approval_required {
        out.push("approval: required → none".to_string());
    }
    for name in &recorded.protected {
        if !now.protected.contains(name) {
            out.push(format!("`{name}` is no longer protected"));
        }
    }
    out
}

/// The higher of two: what an apply must honour while a downgrade is pending.
pub fn strongest(recorded: &Protection, now: &Protection) -> Protection {
    Protection {
        production: recorded.production || now.production,
        approval_required: recorded.approval_required || now.approval_required,
        protected: now.protected.clone(),
    }
}
