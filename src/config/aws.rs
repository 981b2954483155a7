//! The `[aws]` section: where the real fleet is (to be completed by the AWS
//! adapter work).

use serde::Deserialize;

use super::{Config, Diagnostic};

/// How switchyard reaches AWS. Placeholder shape; see the AWS adapters.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Aws {
    pub region: Option<String>,
    /// An endpoint other than AWS's own (moto, LocalStack); never set in production.
    pub endpoint_url: Option<String>,
}

/// Errors and warnings about `[aws]`, each naming its key.
pub(super) fn check(_aws: &Aws, _config: &Config) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    (Vec::new(), Vec::new())
}
