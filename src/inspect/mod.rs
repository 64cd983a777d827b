//! Reading live AWS for `status` and `logs`: what the latest release created,
//! found from its record (outputs), never by guessing names.

pub mod copilot;
pub mod logs;
pub mod lookup;
pub mod pricing;
pub mod rollout;
pub mod spend;
pub mod status;

use crate::error::{Error, Result};
use crate::model::stack::EnvironmentSpec;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use std::sync::Arc;

/// AWS in an environment's region: a client of any service deployer reads,
/// `cloud.client::<aws_sdk_ecs::Client>()`, each made from the one
/// configuration (credentials, region, retries, the shared HTTP connections).
pub struct Cloud {
    runtime: Arc<tokio::runtime::Runtime>,
    config: aws_config::SdkConfig,
}

/// A service's client, made from the SDK configuration.
pub trait Service {
    fn connect(config: &aws_config::SdkConfig) -> Self;
}

/// Every service deployer reads, one line each.
macro_rules! services {
    ($($client:ty),+ $(,)?) => {
        $(impl Service for $client {
            fn connect(config: &aws_config::SdkConfig) -> Self {
                <$client>::new(config)
            }
        })+
    };
}

services!(
    aws_sdk_ecs::Client,
    aws_sdk_rds::Client,
    aws_sdk_sqs::Client,
    aws_sdk_cloudwatchlogs::Client,
    aws_sdk_elasticloadbalancingv2::Client,
    aws_sdk_elasticache::Client,
    aws_sdk_costexplorer::Client,
    aws_sdk_pricing::Client,
    aws_sdk_cloudformation::Client,
    aws_sdk_ssm::Client,
);

impl Cloud {
    /// Clients for an environment: its region, and its role assumed (with a
    /// session named after `who`) when it has one.
    pub fn connect(env: &EnvironmentSpec, who: &str) -> Result<Cloud> {
        let (runtime, config) =
            crate::backend::aws::environment_config(&env.region, env.role_arn.as_deref(), who)?;
        Ok(Cloud::from_config(runtime, &config))
    }

    /// Clients for a region with the caller's own credentials.
    pub fn in_region(region: &str) -> Result<Cloud> {
        let (runtime, config) = crate::backend::aws::sdk_config(region)?;
        Ok(Cloud::from_config(runtime, &config))
    }

    fn from_config(runtime: Arc<tokio::runtime::Runtime>, config: &aws_config::SdkConfig) -> Cloud {
        Cloud {
            runtime,
            config: config.clone(),
        }
    }

    /// The client of service `S`.
    pub fn client<S: Service>(&self) -> S {
        S::connect(&self.config)
    }

    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

/// Before any lock is taken: the credentials deployer would act with in
/// `environment` (its role when it has one, else the caller's own) must belong
/// to the environment's account. Only the provider's `allowedAccountIds` would
/// notice otherwise, after the lock and the preview.
pub fn check_account(env: &EnvironmentSpec, environment: &str, who: &str) -> Result<()> {
    let (runtime, config) =
        crate::backend::aws::environment_config(&env.region, env.role_arn.as_deref(), who)?;
    let what = match &env.role_arn {
        Some(role) => format!("role {role}"),
        None => "your credentials".to_string(),
    };
    let account = crate::backend::aws::account_of(&runtime, &config, &what)?;
    if account != env.account {
        return Err(Error::failed(format!(
            "{what} belong to AWS account {account}, but environment `{environment}` is in account {}; nothing was locked or changed",
            env.account
        ))
        .with_help(match &env.role_arn {
            Some(_) => "check `role_arn` and `account` of the environment in stack.yaml".to_string(),
            None => format!(
                "use credentials for account {} (AWS_PROFILE), or give the environment a `role_arn` in that account for deployer to assume",
                env.account
            ),
        }));
    }
    Ok(())
}

/// The ARN of the stack's ECS cluster (`<stack>-<environment>`, which every
/// program has) when it is active in the environment's account: evidence that
/// the environment was deployed, for a back-end that has no record of it.
pub fn active_cluster(env: &EnvironmentSpec, who: &str, name: &str) -> Result<Option<String>> {
    let cloud = Cloud::connect(env, who)?;
    let out = cloud
        .block_on(
            cloud
                .client::<aws_sdk_ecs::Client>()
                .describe_clusters()
                .clusters(name)
                .send(),
        )
        .map_err(|e| Error::failed(problem("ecs:DescribeClusters", name, &e)))?;
    Ok(out
        .clusters()
        .iter()
        .find(|c| c.status() == Some("ACTIVE"))
        .map(|c| c.cluster_arn().unwrap_or(name).to_string()))
}

/// An answer, or `None` where AWS says the thing asked for is not there
/// (`missing`, the operation's own "not found" error); any other failure is
/// an error saying what was asked ([`problem`]).
pub fn unless_missing<T, E, R>(
    answer: std::result::Result<T, SdkError<E, R>>,
    missing: impl Fn(&E) -> bool,
    call: &str,
    resource: &str,
) -> Result<Option<T>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match answer {
        Ok(found) => Ok(Some(found)),
        Err(e) if e.as_service_error().is_some_and(&missing) => Ok(None),
        Err(e) => Err(Error::failed(problem(call, resource, &e))),
    }
}

/// Why an AWS call failed, in words: a missing permission names the API call
/// and the resource; anything else says what was asked.
pub fn problem<E, R>(call: &str, resource: &str, err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = err.code().unwrap_or_default();
    if code.contains("AccessDenied")
        || code.contains("UnauthorizedOperation")
        || code == "UnrecognizedClientException"
    {
        return format!(
            "not allowed to call {call} on {resource}: add it to the role you deploy with"
        );
    }
    match err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => format!(
            "cannot reach AWS for {call} (after retries): check the network, AWS_REGION and AWS_ENDPOINT_URL"
        ),
        _ => format!(
            "{call} on {resource} failed: {}",
            err.message()
                .map_or_else(|| DisplayErrorContext(err).to_string(), str::to_string)
        ),
    }
}

/// An output of the release, as a string.
pub fn output<'a>(
    outputs: &'a std::collections::BTreeMap<String, serde_json::Value>,
    component: &str,
    name: &str,
) -> Option<&'a str> {
    outputs
        .get(&format!("{component}.{name}"))
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.is_empty())
}

pub fn missing_output(component: &str, name: &str) -> Error {
    Error::failed(format!("the release does not record `{component}.{name}`"))
        .with_help("apply the stack again with this version of deployer so the release records it")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::config::http::HttpResponse;
    use aws_sdk_ecs::error::ErrorMetadata;
    use aws_sdk_ecs::operation::describe_services::DescribeServicesError;

    fn service_error(code: &str) -> SdkError<DescribeServicesError, HttpResponse> {
        let err = DescribeServicesError::generic(
            ErrorMetadata::builder().code(code).message("no").build(),
        );
        let raw = HttpResponse::new(
            403.try_into().unwrap(),
            aws_sdk_s3::primitives::SdkBody::empty(),
        );
        SdkError::service_error(err, raw)
    }

    #[test]
    fn a_missing_permission_names_the_call_and_the_resource() {
        let text = problem(
            "ecs:DescribeServices",
            "ECS service api in cluster c",
            &service_error("AccessDeniedException"),
        );
        assert_eq!(
            text,
            "not allowed to call ecs:DescribeServices on ECS service api in cluster c: add it to the role you deploy with"
        );
        let text = problem(
            "ecs:DescribeServices",
            "ECS service api",
            &service_error("ServerException"),
        );
        assert!(
            text.starts_with("ecs:DescribeServices on ECS service api failed: no"),
            "{text}"
        );
    }
}
