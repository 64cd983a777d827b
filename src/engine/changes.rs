//! What a preview plans and a refresh finds, per component: the changes
//! `apply` shows and gates on (data loss), that a saved plan fixes, and the
//! drift `drift` reports. [`super::progress`] follows a run as it happens.

use super::events::{EngineEvent, StepMetadata};
use std::collections::{BTreeMap, BTreeSet};

/// What changes a component sees: the word users read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// A live resource taken over as it is (Pulumi's `import` option).
    Import,
    Create,
    Update,
    Replace,
    Delete,
}

impl Change {
    pub(super) fn of(op: &str) -> Option<Change> {
        match op {
            "import" => Some(Change::Import),
            "create" => Some(Change::Create),
            "update" => Some(Change::Update),
            "replace" | "create-replacement" | "delete-replaced" | "discard-replaced"
            | "import-replacement" => Some(Change::Replace),
            "delete" | "discard" => Some(Change::Delete),
            _ => None,
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            Change::Import => "Importing",
            Change::Create => "Creating",
            Change::Update => "Updating",
            Change::Replace => "Replacing",
            Change::Delete => "Deleting",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Change::Import => "import",
            Change::Create => "create",
            Change::Update => "update",
            Change::Replace => "replace",
            Change::Delete => "delete",
        }
    }

    /// One word for a component whose resources see several changes.
    pub(super) fn combine(changes: &BTreeSet<Change>) -> Option<Change> {
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

/// An adopted resource its import would replace or delete (which Pulumi
/// refuses: "previously-imported resources that still specify an ID may not
/// be replaced", pkg/resource/deploy/step_generator.go).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdoptionReplaced {
    pub component: String,
    pub resource: String,
    /// `input: live → program`, for each input that forces a new one.
    pub differing: Vec<String>,
    /// A database, queue or bucket: what it holds would be lost.
    pub holds_data: bool,
}

/// The changes a preview plans, by component: what `apply` shows before it
/// asks, what a saved plan fixes, what the data-loss gate reads.
#[derive(Clone, Debug, Default)]
pub struct PlannedChanges {
    /// component → resource → change.
    pub components: BTreeMap<String, BTreeMap<String, Change>>,
    /// resource → type token, for the resources that change.
    pub types: BTreeMap<String, String>,
    /// resource → the inputs whose values change (top-level keys, compared
    /// between the step's old and new inputs), for an update or replace.
    pub changed_inputs: BTreeMap<String, Vec<String>>,
    /// resource → its inputs as they will be (as they were, for a delete).
    pub inputs: BTreeMap<String, serde_json::Value>,
    /// resource → the live inputs its import read, for a resource the
    /// program adopts (whatever else happens to it after).
    pub imported: BTreeMap<String, serde_json::Value>,
    /// resource → the inputs that force its replacement, where the preview
    /// says (`keys` of a replacing step).
    pub replace_keys: BTreeMap<String, BTreeSet<String>>,
}

impl PlannedChanges {
    /// Resources holding data that the plan deletes or replaces, with their
    /// component and change.
    pub fn data_loss(&self) -> Vec<(String, String, Change)> {
        let mut out = Vec::new();
        for (component, resources) in &self.components {
            for (resource, change) in resources {
                let stateful = self
                    .types
                    .get(resource)
                    .is_some_and(|t| crate::emit::holds_data(t));
                if stateful && matches!(change, Change::Delete | Change::Replace) {
                    out.push((component.clone(), resource.clone(), *change));
                }
            }
        }
        out
    }

    /// Adopted resources that their import would replace or delete: the
    /// live resource differs from the program in an input that forces a new
    /// one. Data stores first.
    pub fn adoption_replacements(&self) -> Vec<AdoptionReplaced> {
        let mut out = Vec::new();
        for (component, resources) in &self.components {
            for (resource, change) in resources {
                if !matches!(change, Change::Delete | Change::Replace) {
                    continue;
                }
                let Some(live) = self.imported.get(resource) else {
                    continue;
                };
                let holds_data = self
                    .types
                    .get(resource)
                    .is_some_and(|t| crate::emit::holds_data(t));
                out.push(AdoptionReplaced {
                    component: component.clone(),
                    resource: resource.clone(),
                    differing: self.differing_from_live(resource, live),
                    holds_data,
                });
            }
        }
        out.sort_by_key(|r| !r.holds_data);
        out
    }

    /// The inputs that force a new `resource` and differ from what its
    /// import read, as `input: live → program`.
    fn differing_from_live(&self, resource: &str, live: &serde_json::Value) -> Vec<String> {
        let program = self.inputs.get(resource);
        let forcing = self.replace_keys.get(resource).filter(|k| !k.is_empty());
        let changed: BTreeSet<&String> = self
            .changed_inputs
            .get(resource)
            .into_iter()
            .flatten()
            .collect();
        changed
            .into_iter()
            .filter(|key| forcing.is_none_or(|f| f.contains(*key)))
            // What the import read and the program sets: an input the
            // program leaves out is the provider's to compute.
            .filter(|key| {
                let set = |v: Option<&serde_json::Value>| v.is_some_and(|v| !v.is_null());
                set(live.get(*key)) && set(program.and_then(|p| p.get(*key)))
            })
            .map(|key| {
                let show = |v: Option<&serde_json::Value>| {
                    v.map_or("(none)".to_string(), serde_json::Value::to_string)
                };
                format!(
                    "{key}: {} → {}",
                    show(live.get(key)),
                    show(program.and_then(|p| p.get(key)))
                )
            })
            .collect()
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

/// Reads a preview's events into the changes it plans.
pub fn planned_changes(events: &[EngineEvent], owner: &BTreeMap<String, String>) -> PlannedChanges {
    let mut plan = PlannedChanges::default();
    for event in events {
        if let Some(pre) = &event.resource_pre_event {
            let m = &pre.metadata;
            if m.is_internal() {
                continue;
            }
            if let Some(change) = Change::of(&m.op) {
                let component = component_of(owner, m);
                // An import reads the live resource; the steps after it (an
                // update, a replacement) diff the program against what it read
                // (`continueStepsFromImport`, pkg/resource/deploy/step_generator.go).
                if change == Change::Import
                    && let Some(live) = m
                        .old
                        .as_ref()
                        .or(m.new.as_ref())
                        .and_then(|s| s.get("inputs"))
                {
                    plan.imported.insert(m.name().to_string(), live.clone());
                }
                plan.types.insert(m.name().to_string(), m.kind.clone());
                if change == Change::Replace && !m.keys.is_empty() {
                    plan.replace_keys
                        .entry(m.name().to_string())
                        .or_default()
                        .extend(m.keys.iter().cloned());
                }
                let inputs = |state: &Option<serde_json::Value>| {
                    state.as_ref().and_then(|s| s.get("inputs")).cloned()
                };
                let (old, new) = (inputs(&m.old), inputs(&m.new));
                if let (
                    Some(serde_json::Value::Object(old)),
                    Some(serde_json::Value::Object(new)),
                ) = (&old, &new)
                {
                    let changed: Vec<String> = old
                        .keys()
                        .chain(new.keys())
                        .filter(|k| old.get(*k) != new.get(*k))
                        .cloned()
                        .collect::<BTreeSet<String>>()
                        .into_iter()
                        .collect();
                    plan.changed_inputs
                        .entry(m.name().to_string())
                        .or_default()
                        .extend(changed);
                }
                if let Some(inputs) = new.or(old) {
                    plan.inputs.insert(m.name().to_string(), inputs);
                }
                // After an import, what follows it says what happens.
                let changes = plan.components.entry(component).or_default();
                let entry = changes.entry(m.name().to_string()).or_insert(change);
                *entry = (*entry).max(change);
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
