//! Reading live AWS for `status` and `logs`: what the latest release created,
//! found from its record (outputs), never by guessing names.

pub mod logs;
pub mod status;

use crate::error::{Error, Result};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use std::sync::Arc;

/// Clients for the services deployer deploys, in an environment's region.
pub struct Cloud {
    runtime: Arc<tokio::runtime::Runtime>,
    pub ecs: aws_sdk_ecs::Client,
    pub rds: aws_sdk_rds::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
}

impl Cloud {
    pub fn connect(region: &str) -> Result<Cloud> {
        let (runtime, config) = crate::backend::aws::sdk_config(region)?;
        Ok(Cloud {
            ecs: aws_sdk_ecs::Client::new(&config),
            rds: aws_sdk_rds::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(&config),
            runtime,
        })
    }

    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
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
