//! Turns the engine's per-resource events into per-component progress: when a
//! component starts and finishes, what happened to it, and how long it took —
//! from the events' own timestamps, so the durations are Pulumi's, not ours.

use super::changes::{Change, PlannedChanges, component_of};
use super::events::{EngineEvent, StepMetadata};
use crate::backend::releases::ComponentResult;
use std::collections::{BTreeMap, BTreeSet};

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
    pub plan: PlannedChanges,
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
    pub fn new(owner: BTreeMap<String, String>, plan: PlannedChanges) -> Tracker {
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
