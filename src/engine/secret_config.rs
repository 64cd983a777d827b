//! Sensitive variables reach Pulumi as encrypted config values, never in the
//! program: the program declares `config: {sensitive_NAME: {type: string,
//! secret: true}}` and reads `${sensitive_NAME}`; deployer sets each value
//! with `pulumi config set --secret` (the value on standard input, so neither
//! the command line nor a log shows it), and keeps the ciphertext Pulumi wrote
//! beside the stack's other secrets settings in the back-end, so a later run
//! that is given no value (rollback, destroy, drift) still has the last one.
//!
//! Pulumi itself refuses a program whose secret config has no value, or a
//! plain one (`ValidateStackConfigAndApplyProjectConfig`,
//! `pkg/workspace/config.go`); deployer says so first, naming the variable.

use super::Engine;
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Where the encrypted values are kept, per stack and environment.
pub(super) fn stored_key(stack: &str, environment: &str) -> String {
    format!("stacks/{stack}/{environment}/pulumi-secret-config.json")
}

/// The stored `{"<project>:sensitive_NAME": {"secure": "..."}}`.
pub(super) fn stored(
    engine_backend: &crate::backend::Backend,
    key: &str,
) -> Result<Map<String, Value>> {
    Ok(match engine_backend.store.get(key)? {
        Some((bytes, _)) => serde_json::from_slice(&bytes).map_err(|e| {
            Error::failed(format!("the stored secret config {key} is damaged: {e}")).with_source(e).with_help(
                "apply again with every sensitive variable given (`--var NAME=...`): deployer writes it anew",
            )
        })?,
        None => Map::new(),
    })
}

/// The stack settings with the stored encrypted values added to `config`.
pub(super) fn with_stored(settings: &str, stored: &Map<String, Value>) -> String {
    if stored.is_empty() {
        return settings.to_string();
    }
    let Ok(mut json) = crate::load::yaml::to_json(settings) else {
        return settings.to_string();
    };
    if !json["config"].is_object() {
        json["config"] = Value::Object(Map::new());
    }
    if let Some(config) = json["config"].as_object_mut() {
        for (key, value) in stored {
            config.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    crate::emit::yaml::to_yaml(&json)
}

/// Whether the values a run sets are kept for later runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepSecrets {
    /// A deploy: the ciphertexts are stored, so a rollback or destroy without
    /// the values still has those of what is deployed.
    ForLaterRuns,
    /// A plan: set in its own workspace only. What is stored stays the
    /// deployed values, whatever was planned.
    ThisRunOnly,
}

impl Engine {
    fn secret_key(&self, variable: &str) -> String {
        format!(
            "{}:{}",
            self.project,
            crate::emit::emitter::secret_config_key(variable)
        )
    }

    /// Sets each sensitive variable's value, encrypted, in the Pulumi stack
    /// (after `select_stack`), and for a deploy keeps the ciphertexts for
    /// later runs.
    pub fn set_secret_config(
        &self,
        values: &BTreeMap<String, String>,
        keep: KeepSecrets,
    ) -> Result<()> {
        if values.is_empty() {
            return Ok(());
        }
        for (name, value) in values {
            let key = self.secret_key(name);
            let finished = self.invoke_with_input(
                "config-set",
                &["config", "set", "--secret", &key],
                super::CommandOn::Stack,
                Some(&format!("{value}\n")),
                |_| {},
            )?;
            if finished.code != 0 {
                return Err(Error::failed(format!(
                    "Pulumi could not store sensitive variable `{name}` encrypted (exit {})",
                    finished.code
                ))
                .with_help(format!(
                    "check the passphrase or secrets provider; Pulumi's output is in {}",
                    finished.log.display()
                )));
            }
        }
        if keep == KeepSecrets::ThisRunOnly {
            return Ok(());
        }
        let config = crate::fs::read_back_text(
            &self.dir.join(format!("Pulumi.{}.yaml", self.environment)),
            crate::fs::ReadBack::Record,
        )
        .unwrap_or_default();
        let json = crate::load::yaml::to_json(&config).unwrap_or_default();
        let prefix = format!(
            "{}:{}",
            self.project,
            crate::emit::emitter::secret_config_key("")
        );
        let secure: Map<String, Value> = json["config"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| k.starts_with(&prefix) && v.get("secure").is_some())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let key = stored_key(&self.project, &self.environment);
        let current = self.backend.store.get(&key)?;
        let mut merged = match &current {
            Some((bytes, _)) => serde_json::from_slice(bytes).unwrap_or_default(),
            None => Map::new(),
        };
        merged.extend(secure);
        let bytes = serde_json::to_vec_pretty(&merged).expect("JSON serialises");
        self.backend
            .store
            .put_if(&key, &bytes, current.as_ref().map(|(_, tag)| tag.as_str()))?;
        Ok(())
    }

    /// Every sensitive variable the program reads has a value in the stack,
    /// or an error naming those that do not and how to give them.
    pub fn check_secret_config(&self, program: &str) -> Result<()> {
        let program = crate::load::yaml::to_json(program).unwrap_or_default();
        let config = crate::fs::read_back_text(
            &self.dir.join(format!("Pulumi.{}.yaml", self.environment)),
            crate::fs::ReadBack::Record,
        )
        .unwrap_or_default();
        let config = crate::load::yaml::to_json(&config).unwrap_or_default();
        let prefix = crate::emit::emitter::secret_config_key("");
        let missing: Vec<String> = program["config"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, _)| k.strip_prefix(&prefix))
            .filter(|name| config["config"].get(self.secret_key(name)).is_none())
            .map(str::to_string)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let list = missing
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let flags = missing
            .iter()
            .map(|n| format!("--var {n}=..."))
            .collect::<Vec<_>>()
            .join(" ");
        Err(Error::failed(format!(
            "the program of {} / {} reads sensitive variable {list}, and no value was ever stored for this environment",
            self.project, self.environment
        ))
        .with_help(format!("apply with `{flags}` first: deployer keeps the value encrypted for rollbacks and destroys")))
    }
}
