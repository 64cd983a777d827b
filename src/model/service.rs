//! `services/<service>/service.yaml`: what a service is and who owns it.

use super::{Tags, tags_schema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A service: a group of components (containers, databases, queues) owned by one
/// team.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "deployer service.yaml")]
pub struct ServiceFile {
    /// What the service does, in a sentence.
    pub description: Option<String>,
    /// Who owns the service: a team name or an email address.
    pub owner: Option<String>,
    /// Tags for this service's resources, merged over the stack's.
    #[serde(default)]
    #[schemars(schema_with = "tags_schema")]
    pub tags: Tags,
}
