//! The AWS back-end: locks in DynamoDB, release records in S3.
//!
//! The SDK retries with exponential backoff (standard mode) and gives up after a
//! bounded time; every failure names the bucket or table, the operation, and
//! what to check. Calls are blocking for the rest of deployer: a small tokio
//! runtime runs them.

use super::{Acquire, Lock, LockInfo, LockRefused, Put, StateStore};
use crate::error::{Context, Error, Result};
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Where the shared back-end lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub bucket: String,
    pub table: String,
    pub region: String,
    /// An S3-compatible endpoint, when not AWS's own.
    pub endpoint: Option<String>,
    pub path_style: bool,
    /// Pulumi secrets provider (`awskms://...`), if configured.
    pub secrets_provider: Option<String>,
}

/// A runtime for the SDK and its configuration for a region: the standard
/// credential and endpoint chain (`AWS_PROFILE`, SSO, `AWS_ENDPOINT_URL`, ...),
/// standard retries with backoff (throttling included), bounded timeouts.
pub fn sdk_config(region: &str) -> Result<(Arc<tokio::runtime::Runtime>, aws_config::SdkConfig)> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context(|| "cannot start the AWS client runtime".to_string())?;
    let attempts = std::env::var("DEPLOYER_AWS_MAX_ATTEMPTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let config = runtime.block_on(
        aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(attempts)
                    .with_initial_backoff(Duration::from_millis(200)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(20))
                    .operation_timeout(Duration::from_secs(60))
                    .build(),
            )
            .load(),
    );
    Ok((Arc::new(runtime), config))
}

/// An STS session name from a user (`alice@company.com`): the characters STS
/// accepts, 2 to 64 of them.
pub fn session_name(who: &str) -> String {
    let mut name: String = who
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    while name.len() < 2 {
        name.push('-');
    }
    name
}

/// The SDK configuration for an environment: its region and, when it has a
/// role, credentials from assuming it (with the caller's own as the base).
pub fn environment_config(
    region: &str,
    role: Option<&str>,
    session: &str,
) -> Result<(Arc<tokio::runtime::Runtime>, aws_config::SdkConfig)> {
    let (runtime, base) = sdk_config(region)?;
    let Some(role) = role else {
        return Ok((runtime, base));
    };
    let provider = runtime.block_on(
        aws_config::sts::AssumeRoleProvider::builder(role)
            .configure(&base)
            .session_name(session_name(session))
            .build(),
    );
    let config = base
        .into_builder()
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
            provider,
        ))
        .build();
    Ok((runtime, config))
}

/// The account the configuration's credentials belong to (STS GetCallerIdentity).
pub fn account_of(
    runtime: &tokio::runtime::Runtime,
    config: &aws_config::SdkConfig,
    what: &str,
) -> Result<String> {
    let sts = aws_sdk_sts::Client::new(config);
    let out = runtime
        .block_on(sts.get_caller_identity().send())
        .map_err(|e| failure(&format!("finding out who {what} is"), "AWS STS", &e))?;
    out.account()
        .map(str::to_string)
        .ok_or_else(|| Error::failed("AWS STS did not say which account the credentials belong to"))
}

/// SDK clients and the runtime that drives them.
#[derive(Clone)]
pub struct Clients {
    runtime: Arc<tokio::runtime::Runtime>,
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sts: aws_sdk_sts::Client,
}

impl Clients {
    pub fn connect(settings: &Settings) -> Result<Clients> {
        let (runtime, config) = sdk_config(&settings.region)?;
        let mut s3 =
            aws_sdk_s3::config::Builder::from(&config).force_path_style(settings.path_style);
        if let Some(endpoint) = &settings.endpoint {
            s3 = s3.endpoint_url(endpoint);
        }
        Ok(Clients {
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            sts: aws_sdk_sts::Client::new(&config),
            runtime,
        })
    }

    /// Runs a future to completion on the clients' runtime.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The ARN of the caller, for "who holds the lock".
    pub fn caller_arn(&self) -> Option<String> {
        self.block_on(self.sts.get_caller_identity().send())
            .ok()
            .and_then(|o| o.arn().map(str::to_string))
    }
}

/// Whether AWS credentials are configured on this machine in a way that needs
/// no network to find (variables, a profile, files): deployer asks AWS
/// something optional only then, never the instance metadata service.
pub fn credentials_configured() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    let file = |var: &str, default: &str| {
        let path = std::env::var_os(var)
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(default)));
        path.is_some_and(|p| std::fs::metadata(&p).is_ok_and(|m| m.is_file() && m.len() > 0))
    };
    set("AWS_ACCESS_KEY_ID")
        || set("AWS_PROFILE")
        || set("AWS_WEB_IDENTITY_TOKEN_FILE")
        || set("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        || set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        || file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials")
        || file("AWS_CONFIG_FILE", ".aws/config")
}

/// Turns an SDK error into a message that says what failed, where, and what to check.
pub fn failure<E, R>(what: &str, resource: &str, err: &SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let code = err.code().unwrap_or_default();
    // A service's answer is its code and message; the SDK's full context
    // (the raw response, debug-printed) is for transport failures only.
    let detail = match (err, err.message()) {
        (SdkError::ServiceError(_), Some(message)) if !code.is_empty() => {
            format!("{code}: {message}")
        }
        _ => {
            // The cause at the bottom of the chain says it ("Connection reset
            // by peer", "unexpected token '<'"); the layers above are the
            // HTTP client's, and the SDK's debug form is a page long.
            let mut cause: &dyn std::error::Error = err;
            while let Some(next) = cause.source() {
                cause = next;
            }
            if std::ptr::addr_eq(cause, err as &dyn std::error::Error) {
                DisplayErrorContext(err).to_string()
            } else {
                format!("{err}: {cause}")
            }
        }
    };
    let server_side = code == "InternalError"
        || code == "InternalServerError"
        || code == "ServiceUnavailable"
        || code == "SlowDown"
        || code.contains("Throttl");
    let help = match err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            if detail.contains("credentials") {
                "no AWS credentials were found: configure AWS_PROFILE, SSO (`aws sso login`) or AWS_ACCESS_KEY_ID".to_string()
            } else {
                format!(
                    "deployer could not reach AWS after retrying: check the network, AWS_REGION and AWS_ENDPOINT_URL, then try again ({resource})"
                )
            }
        }
        _ if code.contains("AccessDenied")
            || code == "UnrecognizedClientException"
            || code.contains("InvalidAccessKeyId") =>
        {
            format!("check that your AWS credentials (AWS_PROFILE) may use {resource}")
        }
        _ if code == "NoSuchBucket" || code == "ResourceNotFoundException" => {
            format!(
                "{resource} does not exist: ask your platform team, or create it with `deployer init --create`"
            )
        }
        _ if server_side => format!(
            "AWS kept answering with a server error or throttling after deployer retried ({resource}); try again in a few minutes"
        ),
        _ => format!("check {resource} and try again"),
    };
    // The message names the bottom cause; `--verbose` shows every layer.
    Error::failed(format!("{what} failed: {detail}"))
        .with_help(help)
        .with_cause_of(err)
}

pub struct DynamoLock {
    clients: Clients,
    table: String,
}

impl DynamoLock {
    pub fn new(clients: Clients, settings: &Settings) -> DynamoLock {
        DynamoLock {
            clients,
            table: settings.table.clone(),
        }
    }

    fn resource(&self) -> String {
        format!("DynamoDB table `{}`", self.table)
    }

    fn item(key: &str, info: &LockInfo) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("LockID".to_string(), AttributeValue::S(key.to_string())),
            (
                "lock_id".to_string(),
                AttributeValue::S(info.lock_id.clone()),
            ),
            ("who".to_string(), AttributeValue::S(info.who.clone())),
            ("host".to_string(), AttributeValue::S(info.host.clone())),
            ("pid".to_string(), AttributeValue::N(info.pid.to_string())),
            (
                "operation".to_string(),
                AttributeValue::S(info.operation.clone()),
            ),
            (
                "created".to_string(),
                AttributeValue::N(info.created.to_string()),
            ),
            (
                "expires".to_string(),
                AttributeValue::N(info.expires.to_string()),
            ),
        ])
    }

    /// An item that is no lock deployer wrote: no id, or no numeric expiry
    /// (DynamoDB compares a string with a number as false, so such an item
    /// would never expire).
    fn damaged(item: &HashMap<String, AttributeValue>) -> bool {
        let id = item.get("lock_id").and_then(|v| v.as_s().ok());
        let expires = item
            .get("expires")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok());
        id.is_none_or(|id| id.is_empty()) || expires.is_none()
    }

    /// The lock's item as stored, read consistently.
    fn read_item(&self, key: &str) -> Result<Option<HashMap<String, AttributeValue>>> {
        let request = self
            .clients
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .key("LockID", AttributeValue::S(key.to_string()))
            .consistent_read(true);
        let out = self
            .clients
            .block_on(request.send())
            .map_err(|e| failure("reading the lock", &self.resource(), &e))?;
        Ok(out.item().cloned())
    }

    fn damaged_error(&self, key: &str, item: &HashMap<String, AttributeValue>) -> Error {
        super::damaged_lock(
            format!(
                "the lock `{key}` in {} is damaged (it holds {})",
                self.resource(),
                Self::describe_item(item)
            ),
            key,
        )
    }

    fn describe_item(item: &HashMap<String, AttributeValue>) -> String {
        let mut fields: Vec<String> = item.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        fields.sort();
        fields.join(", ").chars().take(500).collect()
    }

    fn info(item: &HashMap<String, AttributeValue>) -> Option<LockInfo> {
        let s = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        let n = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
        };
        item.get("LockID")?;
        Some(LockInfo {
            lock_id: s("lock_id"),
            who: s("who"),
            host: s("host"),
            pid: n("pid") as u32,
            operation: s("operation"),
            created: n("created"),
            expires: n("expires"),
        })
    }

    /// Deletes or updates the item only while `lock_id` holds it.
    fn refused(&self, key: &str) -> LockRefused {
        match self.get(key) {
            Ok(holder) => LockRefused::NotHolder(holder),
            Err(e) => LockRefused::Backend(e),
        }
    }
}

impl Lock for DynamoLock {
    fn try_acquire(&self, key: &str, info: &LockInfo) -> Result<Acquire> {
        // One conditional put: free, or expired (the TTL sweeper is lazy, so an
        // expired item may still be there).
        let request = self
            .clients
            .dynamodb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(key, info)))
            .condition_expression("attribute_not_exists(LockID) OR expires < :now")
            .expression_attribute_values(":now", AttributeValue::N(super::now().to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        match self.clients.block_on(request.send()) {
            Ok(_) => Ok(Acquire::Acquired),
            Err(err) => {
                if let Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(failed)) = err.as_service_error() {
                    if let Some(item) = failed.item().filter(|item| Self::damaged(item)) {
                        return Err(self.damaged_error(key, item));
                    }
                    let holder = match failed.item().and_then(Self::info) {
                        Some(h) => Some(h),
                        None => self.get(key)?,
                    };
                    return match holder {
                        // A retried put whose first attempt succeeded finds our own lock.
                        Some(h) if h.lock_id == info.lock_id => Ok(Acquire::Acquired),
                        Some(h) => Ok(Acquire::Held(h)),
                        // Released between our attempt and the read: try again.
                        None => self.try_acquire(key, info),
                    };
                }
                Err(failure("taking the lock", &self.resource(), &err))
            }
        }
    }

    fn renew(
        &self,
        key: &str,
        lock_id: &str,
        expires: i64,
    ) -> std::result::Result<(), LockRefused> {
        let request = self
            .clients
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .key("LockID", AttributeValue::S(key.to_string()))
            .update_expression("SET expires = :expires")
            .condition_expression("lock_id = :id")
            .expression_attribute_values(":expires", AttributeValue::N(expires.to_string()))
            .expression_attribute_values(":id", AttributeValue::S(lock_id.to_string()));
        match self.clients.block_on(request.send()) {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(self.refused(key))
            }
            Err(err) => Err(LockRefused::Backend(failure(
                "renewing the lock",
                &self.resource(),
                &err,
            ))),
        }
    }

    fn release(&self, key: &str, lock_id: &str) -> std::result::Result<(), LockRefused> {
        let request = self
            .clients
            .dynamodb
            .delete_item()
            .table_name(&self.table)
            .key("LockID", AttributeValue::S(key.to_string()))
            .condition_expression("lock_id = :id")
            .expression_attribute_values(":id", AttributeValue::S(lock_id.to_string()));
        match self.clients.block_on(request.send()) {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                match self.refused(key) {
                    // Gone already (a retried delete whose first attempt worked, or
                    // it expired and was swept): nothing of ours is left to remove.
                    LockRefused::NotHolder(None) => Ok(()),
                    refused => Err(refused),
                }
            }
            Err(err) => Err(LockRefused::Backend(failure(
                "releasing the lock",
                &self.resource(),
                &err,
            ))),
        }
    }

    fn get(&self, key: &str) -> Result<Option<LockInfo>> {
        let item = self.read_item(key)?;
        if let Some(item) = item.as_ref().filter(|item| Self::damaged(item)) {
            return Err(self.damaged_error(key, item));
        }
        Ok(item.as_ref().and_then(Self::info))
    }

    fn remove_damaged(&self, key: &str) -> Result<Option<String>> {
        let Some(item) = self.read_item(key)?.filter(Self::damaged) else {
            return Ok(None);
        };
        let item = &item;
        let held = Self::describe_item(item);
        // Only while it is still damaged: a lock taken meanwhile has both.
        let request = self
            .clients
            .dynamodb
            .delete_item()
            .table_name(&self.table)
            .key("LockID", AttributeValue::S(key.to_string()))
            .condition_expression(
                "attribute_not_exists(lock_id) OR lock_id = :empty OR attribute_not_exists(expires) OR NOT attribute_type(expires, :number)",
            )
            .expression_attribute_values(":empty", AttributeValue::S(String::new()))
            .expression_attribute_values(":number", AttributeValue::S("N".into()));
        match self.clients.block_on(request.send()) {
            Ok(_) => Ok(Some(held)),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(err) => Err(failure("removing the damaged lock", &self.resource(), &err)),
        }
    }

    fn list(&self) -> Result<Vec<(String, LockInfo)>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let request = self
                .clients
                .dynamodb
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start);
            let page = self
                .clients
                .block_on(request.send())
                .map_err(|e| failure("listing locks", &self.resource(), &e))?;
            for item in page.items() {
                if let (Some(key), Some(info)) = (
                    item.get("LockID").and_then(|v| v.as_s().ok()),
                    Self::info(item),
                ) {
                    out.push((key.clone(), info));
                }
            }
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    fn describe(&self) -> String {
        self.resource()
    }
}

pub struct S3Store {
    clients: Clients,
    bucket: String,
}

impl S3Store {
    pub fn new(clients: Clients, settings: &Settings) -> S3Store {
        S3Store {
            clients,
            bucket: settings.bucket.clone(),
        }
    }

    fn resource(&self) -> String {
        format!("S3 bucket `{}`", self.bucket)
    }

    /// `If-None-Match`/`If-Match` lost: 412, or 409 when two writers raced.
    fn is_precondition<E: ProvideErrorMetadata, R: std::fmt::Debug>(err: &SdkError<E, R>) -> bool {
        matches!(
            err.code(),
            Some("PreconditionFailed" | "ConditionalRequestConflict")
        )
    }

    fn put(
        &self,
        key: &str,
        bytes: &[u8],
        if_none_match: bool,
        if_match: Option<&str>,
    ) -> Result<Put> {
        let mut request = self
            .clients
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(bytes.to_vec()));
        if if_none_match {
            request = request.if_none_match("*");
        }
        if let Some(etag) = if_match {
            request = request.if_match(etag);
        }
        match self.clients.block_on(request.send()) {
            Ok(_) => Ok(Put::Done),
            Err(err) if Self::is_precondition(&err) => Ok(Put::Conflict),
            Err(err) => Err(failure(
                &format!("writing s3://{}/{key}", self.bucket),
                &self.resource(),
                &err,
            )),
        }
    }
}

impl StateStore for S3Store {
    fn put_new(&self, key: &str, bytes: &[u8]) -> Result<Put> {
        self.put(key, bytes, true, None)
    }

    fn put_if(&self, key: &str, bytes: &[u8], etag: Option<&str>) -> Result<Put> {
        match etag {
            Some(tag) => self.put(key, bytes, false, Some(tag)),
            None => self.put(key, bytes, true, None),
        }
    }

    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String)>> {
        let request = self.clients.s3.get_object().bucket(&self.bucket).key(key);
        match self.clients.block_on(request.send()) {
            Ok(out) => {
                let etag = out.e_tag().unwrap_or_default().to_string();
                let body = self.clients.block_on(out.body.collect()).map_err(|e| {
                    Error::failed(format!("reading s3://{}/{key} failed: {e}", self.bucket))
                        .with_source(e)
                })?;
                Ok(Some((body.into_bytes().to_vec(), etag)))
            }
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
            Err(err) => Err(failure(
                &format!("reading s3://{}/{key}", self.bucket),
                &self.resource(),
                &err,
            )),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let request = self
                .clients
                .s3
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token);
            let page = self.clients.block_on(request.send()).map_err(|e| {
                failure(
                    &format!("listing s3://{}/{prefix}", self.bucket),
                    &self.resource(),
                    &e,
                )
            })?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => break,
            }
        }
        keys.sort();
        Ok(keys)
    }

    fn delete(&self, key: &str) -> Result<()> {
        let request = self
            .clients
            .s3
            .delete_object()
            .bucket(&self.bucket)
            .key(key);
        self.clients
            .block_on(request.send())
            .map(|_| ())
            .map_err(|e| {
                failure(
                    &format!("deleting s3://{}/{key}", self.bucket),
                    &self.resource(),
                    &e,
                )
            })
    }

    fn describe(&self) -> String {
        self.resource()
    }
}
