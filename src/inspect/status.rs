//! What is running, per component of a release, from live AWS.
//!
//! Each kind says what it checks (`kinds/<k>/status.rs`); anything recorded
//! but gone from AWS is `not found`.

use super::Cloud;
use crate::backend::releases::Release;
use crate::kinds::{Component, Kind, on_kind};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Healthy,
    /// Works, but needs a look (rolling out, dead letters, maintenance pending).
    Warning,
    Unhealthy,
}

#[derive(Clone, Debug, Serialize)]
pub struct ComponentStatus {
    pub component: String,
    pub kind: String,
    /// `2/2 running`, `available`, `active`.
    pub state: String,
    pub health: Health,
    /// Why it is not healthy; empty when it is.
    pub reasons: Vec<String>,
    pub details: serde_json::Value,
}

impl ComponentStatus {
    pub fn new(component: &str, kind: &str) -> ComponentStatus {
        ComponentStatus {
            component: component.into(),
            kind: kind.into(),
            state: String::new(),
            health: Health::Healthy,
            reasons: Vec::new(),
            details: json!({}),
        }
    }

    pub fn flag(&mut self, health: Health, reason: impl Into<String>) {
        self.health = self.health.max(health);
        self.reasons.push(reason.into());
    }

    /// Unhealthy and `unknown`: AWS could not be asked (`reason` says which
    /// call failed, and why).
    pub fn unknown(mut self, reason: impl Into<String>) -> ComponentStatus {
        self.state = "unknown".into();
        self.flag(Health::Unhealthy, reason);
        self
    }

    /// Unhealthy and `unknown`: the release lacks output `name`, through
    /// which AWS would be asked.
    pub fn unrecorded(self, name: &str) -> ComponentStatus {
        let reason = format!(
            "the release does not record `{}.{name}`; apply again to record it",
            self.component
        );
        self.unknown(reason)
    }

    /// Unhealthy and `not found`: `resource`, recorded by the release, is gone
    /// from AWS.
    pub fn not_found(mut self, resource: &str) -> ComponentStatus {
        self.state = "not found".into();
        self.flag(Health::Unhealthy, format!("{resource} does not exist"));
        self
    }
}

/// A release's outputs, `component.output` → value.
pub type Outputs = BTreeMap<String, serde_json::Value>;

/// What `status` asks of every kind, implemented in `kinds/<k>/status.rs` by
/// the kind's spec type and called through the registry's `on_kind!`.
pub trait StatusKind: Component {
    /// What `component` of a release looks like in AWS, found through the
    /// release's recorded outputs.
    fn status(cloud: &Cloud, outputs: &Outputs, component: &str) -> ComponentStatus;
}

/// Checks every component of a release. `kinds` is component → kind name, from
/// the release's manifest.
pub fn check(
    cloud: &Cloud,
    release: &Release,
    kinds: &BTreeMap<String, String>,
) -> Vec<ComponentStatus> {
    let empty = BTreeMap::new();
    let outputs = release.result.as_ref().map_or(&empty, |r| &r.outputs);
    kinds
        .iter()
        .filter(|(c, _)| c.as_str() != "_stack")
        .map(|(component, kind)| match Kind::from_name(kind) {
            Some(kind) => on_kind!(kind, K => K::status(cloud, outputs, component)),
            None => {
                let other = kind;
                let mut s = ComponentStatus::new(component, other);
                s.flag(
                    Health::Warning,
                    format!("deployer cannot check a {other} component"),
                );
                s
            }
        })
        .collect()
}
