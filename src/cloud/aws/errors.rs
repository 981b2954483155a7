//! SDK errors turned into the engine's two kinds, each as one sentence that
//! names the operation and the resource ("updating ECS service `api-green` in
//! cluster `shop`: the service does not exist (ServiceNotFoundException)").
//!
//! Throttling, timeouts, dropped connections and 5xx answers are
//! [`CloudError::Retryable`]: the engine backs off and tries again. Everything
//! else is [`CloudError::Permanent`]. The error code is read through
//! `ProvideErrorMetadata::code()` rather than typed variants, because most
//! operations do not model throttling or access denial as variants at all.
//!
//! Messages carry AWS's own message (which names ARNs and the principal, never
//! a key) and never the SDK's error chain or request, which could carry headers.

use std::error::Error;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::cloud::CloudError;

/// Error codes AWS services use for throttling (the SDK's own list, plus ECS's).
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
];

/// Codes for trouble on AWS's side that a later attempt may not meet.
const TRANSIENT: &[&str] = &[
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "InternalServiceError",
    "ServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

const ACCESS: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "MissingAuthenticationToken",
];

/// One failed call as the engine sees it. `what` says what the call was doing,
/// with the resource, e.g. "reading listener `arn:…`".
pub(super) fn cloud_error<E>(what: &str, err: SdkError<E, HttpResponse>) -> CloudError
where
    E: ProvideErrorMetadata + Error + Send + Sync + 'static,
{
    match &err {
        SdkError::TimeoutError(_) => {
            CloudError::Retryable(format!("{what}: AWS did not answer in time"))
        }
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            CloudError::Retryable(format!("{what}: AWS did not answer in time"))
        }
        SdkError::DispatchFailure(d) if d.is_io() => {
            CloudError::Retryable(format!("{what}: could not reach AWS (connection failed)"))
        }
        SdkError::DispatchFailure(d) if d.is_user() => {
            // Credentials that cannot be loaded land here; the source says which
            // provider failed, never a secret.
            CloudError::Permanent(format!(
                "{what}: the request could not be sent (check the AWS credentials and region)"
            ))
        }
        SdkError::DispatchFailure(_) => {
            CloudError::Retryable(format!("{what}: the request could not be sent"))
        }
        SdkError::ConstructionFailure(_) => CloudError::Permanent(format!(
            "{what}: the request could not be built (check the AWS credentials and region)"
        )),
        SdkError::ResponseError(r) => {
            let status = r.raw().status().as_u16();
            if status >= 500 || status == 429 {
                CloudError::Retryable(format!("{what}: AWS answered HTTP {status}"))
            } else {
                CloudError::Permanent(format!(
                    "{what}: AWS answered HTTP {status} with something unreadable"
                ))
            }
        }
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            classify(what, Some(status), err.code(), err.message())
        }
        // `SdkError` is non-exhaustive: anything new is treated as not worth retrying.
        _ => CloudError::Permanent(format!("{what}: the AWS SDK failed")),
    }
}

/// The sentence and kind for a service's answer with `code` and `message`.
pub(super) fn classify(
    what: &str,
    status: Option<u16>,
    code: Option<&str>,
    message: Option<&str>,
) -> CloudError {
    let code_str = code.unwrap_or("UnknownError");
    let detail = match message {
        Some(m) if !m.trim().is_empty() => format!(" ({code_str}: {})", m.trim()),
        _ => format!(" ({code_str})"),
    };
    if THROTTLING.contains(&code_str) || status == Some(429) {
        return CloudError::Retryable(format!("{what}: AWS is throttling requests{detail}"));
    }
    if TRANSIENT.contains(&code_str) || status.is_some_and(|s| s >= 500) {
        return CloudError::Retryable(format!("{what}: AWS failed on its side{detail}"));
    }
    if ACCESS.contains(&code_str) {
        return CloudError::Permanent(format!(
            "{what}: access denied; the agent's IAM role lacks a permission \
             (see deploy/iam-policy.json){detail}"
        ));
    }
    let reason = match code_str {
        "ServiceNotFoundException" => "the ECS service does not exist",
        "ServiceNotActiveException" => "the ECS service is not active",
        "ClusterNotFoundException" => "the ECS cluster does not exist",
        "ListenerNotFound" | "ListenerNotFoundException" => "the listener does not exist",
        "RuleNotFound" | "RuleNotFoundException" => "the listener rule does not exist",
        "TargetGroupNotFound" | "TargetGroupNotFoundException" => "the target group does not exist",
        "LoadBalancerNotFound" | "LoadBalancerNotFoundException" => {
            "the load balancer does not exist"
        }
        "RepositoryNotFoundException" => "the ECR repository does not exist",
        "OperationNotPermitted" | "OperationNotPermittedException" => {
            "AWS does not allow this change"
        }
        "ValidationError"
        | "InvalidParameterException"
        | "InvalidParameterValue"
        | "InvalidConfigurationRequest"
        | "InvalidConfigurationRequestException" => "AWS refused the request as invalid",
        _ => "AWS refused the request",
    };
    CloudError::Permanent(format!("{what}: {reason}{detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_server_errors_are_retryable() {
        for (status, code) in [
            (400, "ThrottlingException"),
            (400, "Throttling"),
            (500, "ServerException"),
            (503, "SomethingNew"),
        ] {
            let e = classify("reading listener `l`", Some(status), Some(code), None);
            assert!(e.is_retryable(), "{code}: {e}");
        }
    }

    #[test]
    fn missing_resources_and_access_denied_are_permanent_sentences() {
        let e = classify(
            "updating ECS service `api-green` in cluster `shop`",
            Some(400),
            Some("ServiceNotFoundException"),
            Some("Service not found."),
        );
        assert_eq!(
            e,
            CloudError::Permanent(
                "updating ECS service `api-green` in cluster `shop`: the ECS service does not \
                 exist (ServiceNotFoundException: Service not found.)"
                    .into()
            )
        );
        let e = classify(
            "reading listener `l`",
            Some(403),
            Some("AccessDenied"),
            None,
        );
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("access denied"), "{e}");
    }
}
