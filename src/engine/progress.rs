//! Turns the engine's per-resource events into per-component progress: when a
//! component starts and finishes, what happened to it, and how long it took —
//! from the events' own timestamps, so the durations are Pulumi's, not ours.

use super::events::{EngineEvent, StepMetadata};
use crate::backend::releases::ComponentResult;
use std::collections::{BTreeMap, BTreeSet};

/// What changes a component sees: the word users read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    Create,
    Update,
    Replace,
    Delete,
}

impl Change {
    fn of(op: &str) -> Option<Change> {
        match op {
            "create" => Some(Change::Create),
            "update" => Some(Change::Update),
            "replace" | "create-replacement" | "delete-replaced" | "discard-replaced" => {
                Some(Change::Replace)
            }
            "delete" | "discard" => Some(Change::Delete),
            _ => None,
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            Change::Create => "Creating",
            Change::Update => "Updating",
            Change::Replace => "Replacing",
            Change::Delete => "Deleting",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Change::Create => "create",
            Change::Update => "update",
            Change::Replace => "replace",
            Change::Delete => "delete",
        }
    }

    /// One word for a component whose resources see several changes.
    fn combine(changes: &BTreeSet<Change>) -> Option<Change> {
        if changes.contains(&Change::Replace) {
            Some(Change::Replace)
        } else if changes.len() == 1 {
            changes.iter().next().copied()
        } else if changes.is_empty() {
            None
        } else {
            Some(Change::Update)
        }
    }
}

/// The planned changes, by component, from a preview.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// component → resource → change.
    pub components: BTreeMap<String, BTreeMap<String, Change>>,
    /// resource → type token, for the resources that change.
    pub types: BTreeMap<String, String>,
}

/// Types whose deletion or replacement loses data: a database, a queue that may
/// hold messages, a cache.
const STATEFUL: &[&str] = &[
    "aws:rds/instance:Instance",
    "aws:sqs/queue:Queue",
    "aws:elasticache/replicationGroup:ReplicationGroup",
];

impl Plan {
    /// Resources holding data that the plan deletes or replaces, with their
    /// component and change.
    pub fn data_loss(&self) -> Vec<(String, String, Change)> {
        let mut out = Vec::new();
        for (component, resources) in &self.components {
            for (resource, change) in resources {
                let stateful = self
                    .types
                    .get(resource)
                    .is_some_and(|t| STATEFUL.contains(&t.as_str()));
                if stateful && matches!(change, Change::Delete | Change::Replace) {
                    out.push((component.clone(), resource.clone(), *change));
                }
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.components.is_empty()
    }

    /// `create` → 3, `update` → 1, ...
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for resources in self.components.values() {
            for change in resources.values() {
                *counts.entry(change.name()).or_default() += 1;
            }
        }
        counts
    }

    pub fn change_of(&self, component: &str) -> Option<Change> {
        let changes: BTreeSet<Change> = self.components.get(component)?.values().copied().collect();
        Change::combine(&changes)
    }
}

/// A step in a component's progress, for the display.
#[derive(Clone, Debug, PartialEq)]
pub enum Update {
    Started {
        component: String,
        change: Change,
    },
    Finished {
        component: String,
        change: Change,
        seconds: i64,
        failed: bool,
    },
    /// An error or warning from the engine or a provider.
    Diagnostic {
        component: Option<String>,
        resource: Option<String>,
        severity: String,
        message: String,
    },
}

#[derive(Default)]
struct ComponentProgress {
    planned: BTreeSet<String>,
    done: BTreeSet<String>,
    changes: BTreeSet<Change>,
    start: Option<i64>,
    end: Option<i64>,
    failed: bool,
    announced: bool,
    finished: bool,
}

/// Follows one engine run.
pub struct Tracker {
    owner: BTreeMap<String, String>,
    components: BTreeMap<String, ComponentProgress>,
    pub plan: Plan,
    pub first: Option<i64>,
    pub last: Option<i64>,
    pub duration_seconds: Option<i64>,
    pub changes: BTreeMap<String, u32>,
    pub errors: Vec<String>,
    /// The resource whose operation failed, and Pulumi's diagnostic for it.
    pub failed: Vec<(String, String)>,
}

/// `_stack` resources are shown as "stack resources".
pub fn label(component: &str) -> &str {
    if component == "_stack" {
        "stack resources (cluster, load balancers)"
    } else {
        component
    }
}

impl Tracker {
    /// `owner`: resource name → component (from the manifest); `plan`: what the
    /// preview said will change, if there was one.
    pub fn new(owner: BTreeMap<String, String>, plan: Plan) -> Tracker {
        let mut components: BTreeMap<String, ComponentProgress> = BTreeMap::new();
        for (component, resources) in &plan.components {
            let progress = components.entry(component.clone()).or_default();
            progress.planned.extend(resources.keys().cloned());
        }
        Tracker {
            owner,
            components,
            plan,
            first: None,
            last: None,
            duration_seconds: None,
            changes: BTreeMap::new(),
            errors: Vec::new(),
            failed: Vec::new(),
        }
    }

    fn component_of(&self, metadata: &StepMetadata) -> String {
        component_of(&self.owner, metadata)
    }

    /// Feeds one event; returns what the display should show.
    pub fn handle(&mut self, event: &EngineEvent) -> Vec<Update> {
        let mut out = Vec::new();
        if event.timestamp > 0 {
            self.first.get_or_insert(event.timestamp);
            self.last = Some(event.timestamp);
        }
        if let Some(pre) = &event.resource_pre_event {
            let m = &pre.metadata;
            if m.is_internal() || pre.planning {
                return out;
            }
            if let Some(change) = Change::of(&m.op) {
                let component = self.component_of(m);
                let progress = self.components.entry(component.clone()).or_default();
                progress.planned.insert(m.name().to_string());
                progress.changes.insert(change);
                progress.start.get_or_insert(event.timestamp);
                if !progress.announced {
                    progress.announced = true;
                    let change = Change::combine(&progress.changes).unwrap_or(change);
                    let planned = self.plan.change_of(&component).unwrap_or(change);
                    out.push(Update::Started {
                        component,
                        change: planned,
                    });
                }
            }
        }
        if let Some(done) = &event.res_outputs_event {
            let m = &done.metadata;
            if !m.is_internal() && Change::of(&m.op).is_some() {
                let component = self.component_of(m);
                let progress = self.components.entry(component.clone()).or_default();
                progress.done.insert(m.name().to_string());
                progress.end = Some(event.timestamp);
                out.extend(self.finish_if_done(&component));
            }
        }
        if let Some(failed) = &event.res_op_failed_event {
            let m = &failed.metadata;
            let component = self.component_of(m);
            let progress = self.components.entry(component.clone()).or_default();
            progress.failed = true;
            progress.end = Some(event.timestamp);
            // Pulumi reports the step's error as a diagnostic just before this
            // event (`OnResourceStepPost` in pkg/engine/update.go): one entry each.
            if !self.failed.iter().any(|(name, _)| name == m.name()) {
                self.failed.push((m.name().to_string(), String::new()));
            }
            out.extend(self.finish(&component));
        }
        if let Some(d) = &event.diagnostic_event {
            if d.ephemeral || d.message.trim().is_empty() {
                return out;
            }
            let resource = d
                .urn
                .as_ref()
                .map(|u| u.rsplit("::").next().unwrap_or(u).to_string());
            let component = resource.as_ref().and_then(|r| self.owner.get(r)).cloned();
            if d.severity == "error" {
                let message = d.message.trim().to_string();
                if let Some(r) = &resource {
                    match self
                        .failed
                        .iter_mut()
                        .find(|(name, msg)| name == r && msg.is_empty())
                    {
                        Some(entry) => entry.1 = message.clone(),
                        None => self.failed.push((r.clone(), message.clone())),
                    }
                }
                self.errors.push(message);
            }
            if d.severity == "error" || d.severity == "warning" {
                out.push(Update::Diagnostic {
                    component,
                    resource,
                    severity: d.severity.clone(),
                    message: d.message.trim().to_string(),
                });
            }
        }
        if let Some(e) = &event.error_event {
            self.errors.push(e.error.clone());
        }
        if let Some(summary) = &event.summary_event {
            self.duration_seconds = Some(summary.duration_seconds);
            self.changes = summary.resource_changes.clone();
        }
        out
    }

    fn finish_if_done(&mut self, component: &str) -> Vec<Update> {
        let progress = &self.components[component];
        if progress.planned.is_subset(&progress.done) {
            self.finish(component)
        } else {
            Vec::new()
        }
    }

    fn finish(&mut self, component: &str) -> Vec<Update> {
        let plan_change = self.plan.change_of(component);
        let progress = self.components.get_mut(component).expect("tracked");
        if progress.finished {
            return Vec::new();
        }
        progress.finished = true;
        let change = plan_change
            .or_else(|| Change::combine(&progress.changes))
            .unwrap_or(Change::Update);
        let seconds = match (progress.start, progress.end) {
            (Some(s), Some(e)) => (e - s).max(0),
            _ => 0,
        };
        let mut out = Vec::new();
        if !progress.announced {
            progress.announced = true;
            out.push(Update::Started {
                component: component.to_string(),
                change,
            });
        }
        out.push(Update::Finished {
            component: component.to_string(),
            change,
            seconds,
            failed: progress.failed,
        });
        out
    }

    /// Components that started but never finished (the run stopped).
    pub fn unfinished(&self) -> Vec<String> {
        self.components
            .iter()
            .filter(|(_, p)| p.announced && !p.finished)
            .map(|(c, _)| c.clone())
            .collect()
    }

    /// Seconds the run took, from the engine's own clock.
    pub fn seconds(&self) -> i64 {
        self.duration_seconds
            .unwrap_or_else(|| match (self.first, self.last) {
                (Some(f), Some(l)) => l - f,
                _ => 0,
            })
    }

    /// What happened to each component, for the release record.
    pub fn results(&self) -> BTreeMap<String, ComponentResult> {
        self.components
            .iter()
            .filter(|(_, p)| p.start.is_some() || p.failed)
            .map(|(c, p)| {
                let change = Change::combine(&p.changes).map_or("same", Change::name);
                let seconds = match (p.start, p.end) {
                    (Some(s), Some(e)) => (e - s).max(0) as u64,
                    _ => 0,
                };
                (
                    c.clone(),
                    ComponentResult {
                        operation: change.into(),
                        duration_ms: seconds * 1000,
                        failed: p.failed,
                    },
                )
            })
            .collect()
    }
}

/// Reads a preview's events into a plan.
pub fn plan_from(events: &[EngineEvent], owner: &BTreeMap<String, String>) -> Plan {
    let mut plan = Plan::default();
    for event in events {
        if let Some(pre) = &event.resource_pre_event {
            let m = &pre.metadata;
            if m.is_internal() {
                continue;
            }
            if let Some(change) = Change::of(&m.op) {
                let component = component_of(owner, m);
                plan.types.insert(m.name().to_string(), m.kind.clone());
                plan.components
                    .entry(component)
                    .or_default()
                    .insert(m.name().to_string(), change);
            }
        }
    }
    plan
}

/// The component a resource belongs to: from the manifest when the resource is
/// in the program, else from the `deployer:service` and `deployer:component` tags
/// it was created with (a resource being deleted is in no manifest of the new
/// program), else the stack's own resources.
pub fn component_of(owner: &BTreeMap<String, String>, metadata: &StepMetadata) -> String {
    if let Some(component) = owner.get(metadata.name()) {
        return component.clone();
    }
    let tagged = [&metadata.new, &metadata.old]
        .into_iter()
        .find_map(|state| {
            let tags = state.as_ref()?.get("inputs")?.get("tags")?;
            let service = tags.get("deployer:service")?.as_str()?;
            let component = tags.get("deployer:component")?.as_str()?;
            Some(if service == "_stack" {
                "_stack".to_string()
            } else {
                format!("{service}/{component}")
            })
        });
    tagged.unwrap_or_else(|| "_stack".into())
}

/// A resource whose real state differs from the recorded one, from a refresh.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Drifted {
    pub resource: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// `changed`, or `deleted` (gone from AWS).
    pub change: String,
    pub properties: Vec<String>,
}

/// What a refresh found, per component. A refresh's pre-event says `refresh`;
/// the result (`same`, `update`, `delete`) is the op of the outputs event
/// (`ResultOp` in pkg/resource/deploy/step.go, `OnResourceStepPost` in
/// pkg/engine/update.go), with `detailedDiff` entries `{diffKind, inputDiff}`.
pub fn drift_from(
    events: &[EngineEvent],
    owner: &BTreeMap<String, String>,
) -> BTreeMap<String, Vec<Drifted>> {
    let mut components: BTreeMap<String, Vec<Drifted>> = BTreeMap::new();
    for event in events {
        let Some(done) = &event.res_outputs_event else {
            continue;
        };
        let m = &done.metadata;
        if m.is_internal() {
            continue;
        }
        let change = match m.op.as_str() {
            "delete" => "deleted",
            "update" => "changed",
            _ => continue,
        };
        let mut properties: Vec<String> = m.diffs.clone();
        if let Some(detailed) = &m.detailed_diff {
            properties.extend(detailed.keys().cloned());
        }
        properties.sort();
        properties.dedup();
        let list = components.entry(component_of(owner, m)).or_default();
        if !list.iter().any(|d| d.resource == m.name()) {
            list.push(Drifted {
                resource: m.name().to_string(),
                kind: m.kind.clone(),
                change: change.into(),
                properties,
            });
        }
    }
    components
}
