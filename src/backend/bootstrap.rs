//! `deployer init --create`: the shared bucket and table, created when they do
//! not exist, with the settings every team relies on.

use super::aws::{Clients, Settings, failure};
use crate::error::Result;
use aws_sdk_s3::error::ProvideErrorMetadata;
use std::time::Duration;

/// What `init --create` did to one resource.
pub enum Created {
    Created(String),
    Existed(String),
}

impl Clients {
    /// Creates the state bucket when it does not exist: versioning on (every
    /// release record and state file keeps its history), default encryption on,
    /// public access blocked.
    pub fn create_bucket(&self, settings: &Settings) -> Result<Created> {
        let bucket = &settings.bucket;
        let resource = format!("S3 bucket `{bucket}`");
        let exists = self.block_on(self.s3.head_bucket().bucket(bucket).send());
        let created = match exists {
            Ok(_) => false,
            Err(err)
                if err
                    .raw_response()
                    .is_some_and(|r| r.status().as_u16() == 404) =>
            {
                let mut request = self.s3.create_bucket().bucket(bucket);
                if settings.region != "us-east-1" {
                    let location =
                        aws_sdk_s3::types::BucketLocationConstraint::from(settings.region.as_str());
                    request = request.create_bucket_configuration(
                        aws_sdk_s3::types::CreateBucketConfiguration::builder()
                            .location_constraint(location)
                            .build(),
                    );
                }
                self.block_on(request.send())
                    .map_err(|e| failure(&format!("creating {resource}"), &resource, &e))?;
                true
            }
            Err(err) => return Err(failure(&format!("checking {resource}"), &resource, &err)),
        };
        use aws_sdk_s3::types::*;
        let versioning = VersioningConfiguration::builder()
            .status(BucketVersioningStatus::Enabled)
            .build();
        self.block_on(
            self.s3
                .put_bucket_versioning()
                .bucket(bucket)
                .versioning_configuration(versioning)
                .send(),
        )
        .map_err(|e| failure("turning on versioning", &resource, &e))?;
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(
                ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::Aes256)
                    .build()
                    .expect("algorithm set"),
            )
            .build();
        let encryption = ServerSideEncryptionConfiguration::builder()
            .rules(rule)
            .build()
            .expect("rules set");
        self.block_on(
            self.s3
                .put_bucket_encryption()
                .bucket(bucket)
                .server_side_encryption_configuration(encryption)
                .send(),
        )
        .map_err(|e| failure("turning on encryption", &resource, &e))?;
        let block = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        self.block_on(
            self.s3
                .put_public_access_block()
                .bucket(bucket)
                .public_access_block_configuration(block)
                .send(),
        )
        .map_err(|e| failure("blocking public access", &resource, &e))?;
        let what = format!(
            "{resource} in {} (versioning, encryption, public access blocked)",
            settings.region
        );
        Ok(if created {
            Created::Created(what)
        } else {
            Created::Existed(what)
        })
    }

    /// Creates the lock table when it does not exist: key `LockID`, on-demand
    /// billing, and TTL on `expires` so stale locks are swept eventually.
    pub fn create_table(&self, settings: &Settings) -> Result<Created> {
        use aws_sdk_dynamodb::types::*;
        let table = &settings.table;
        let resource = format!("DynamoDB table `{table}`");
        let described = self.block_on(self.dynamodb.describe_table().table_name(table).send());
        let created = match described {
            Ok(_) => false,
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                let request = self
                    .dynamodb
                    .create_table()
                    .table_name(table)
                    .billing_mode(BillingMode::PayPerRequest)
                    .key_schema(
                        KeySchemaElement::builder()
                            .attribute_name("LockID")
                            .key_type(KeyType::Hash)
                            .build()
                            .expect("key set"),
                    )
                    .attribute_definitions(
                        AttributeDefinition::builder()
                            .attribute_name("LockID")
                            .attribute_type(ScalarAttributeType::S)
                            .build()
                            .expect("attribute set"),
                    );
                self.block_on(request.send())
                    .map_err(|e| failure(&format!("creating {resource}"), &resource, &e))?;
                // Wait until it can be used.
                for _ in 0..60 {
                    let status = self
                        .block_on(self.dynamodb.describe_table().table_name(table).send())
                        .ok()
                        .and_then(|o| o.table().and_then(|t| t.table_status().cloned()));
                    if status == Some(TableStatus::Active) {
                        break;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
                true
            }
            Err(err) => return Err(failure(&format!("checking {resource}"), &resource, &err)),
        };
        let ttl = TimeToLiveSpecification::builder()
            .attribute_name("expires")
            .enabled(true)
            .build()
            .expect("ttl set");
        let result = self.block_on(
            self.dynamodb
                .update_time_to_live()
                .table_name(table)
                .time_to_live_specification(ttl)
                .send(),
        );
        if let Err(err) = result {
            // Asking again for a TTL already on is refused; that is fine.
            if err.code().is_none_or(|c| c != "ValidationException") {
                return Err(failure("turning on TTL", &resource, &err));
            }
        }
        let what = format!(
            "{resource} in {} (key LockID, TTL on expires)",
            settings.region
        );
        Ok(if created {
            Created::Created(what)
        } else {
            Created::Existed(what)
        })
    }
}
