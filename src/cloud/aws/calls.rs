//! Counts every request the adapter sends to AWS, by service and operation
//! (`ECS.DescribeServices`), with an SDK interceptor on every client. AWS
//! throttles per account and region with token buckets shared with Terraform
//! and the console, so the number of calls a promotion costs is a figure worth
//! watching, and tests assert a budget on it.
//!
//! It counts attempts, not operations: each attempt is one request that spends
//! a token. (The adapter turns the SDK's own retries off, so the two agree.)

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Requests sent so far, keyed `SERVICE.Operation`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallCounts(pub BTreeMap<String, u64>);

impl CallCounts {
    /// All requests, every service and operation.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// Requests of one operation, e.g. `ELBv2.ModifyListener` — or, without a
    /// dot, of that operation name in any service.
    pub fn get(&self, op: &str) -> u64 {
        self.0
            .iter()
            .filter(|(k, _)| *k == op || k.rsplit('.').next() == Some(op))
            .map(|(_, v)| v)
            .sum()
    }

    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &CallCounts) -> CallCounts {
        CallCounts(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), v - earlier.0.get(k).copied().unwrap_or(0)))
                .filter(|(_, v)| *v > 0)
                .collect(),
        )
    }
}

impl fmt::Display for CallCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} calls", self.total())?;
        for (i, (op, n)) in self.0.iter().enumerate() {
            write!(f, "{}{op} {n}", if i == 0 { ": " } else { ", " })?;
        }
        Ok(())
    }
}

/// The interceptor; clones share one tally.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl CallCounter {
    pub fn counts(&self) -> CallCounts {
        CallCounts(self.lock().clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, u64>> {
        // A panic while holding this lock can only leave a count short by one;
        // keep counting rather than poisoning every later call.
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "switchyard::CallCounter"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = match cfg.load::<Metadata>() {
            Some(m) => format!("{}.{}", short(m.service()), m.name()),
            None => "unknown".to_owned(),
        };
        *self.lock().entry(op).or_default() += 1;
        Ok(())
    }
}

/// The SDK's service names, shortened for logs and test output.
fn short(service: &str) -> &str {
    match service {
        "Elastic Load Balancing v2" => "ELBv2",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_subtract_and_match_by_operation_name() {
        let before = CallCounts(BTreeMap::from([("ECS.DescribeServices".into(), 2)]));
        let after = CallCounts(BTreeMap::from([
            ("ECS.DescribeServices".into(), 5),
            ("ELBv2.ModifyListener".into(), 1),
        ]));
        let delta = after.since(&before);
        assert_eq!(delta.total(), 4);
        assert_eq!(delta.get("DescribeServices"), 3);
        assert_eq!(delta.get("ELBv2.ModifyListener"), 1);
        assert_eq!(
            delta.to_string(),
            "4 calls: ECS.DescribeServices 3, ELBv2.ModifyListener 1"
        );
    }
}
