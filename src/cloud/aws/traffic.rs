//! [`Traffic`] on an application load balancer: the forward weights of a
//! listener's default action, or of one listener rule.
//!
//! `set_weights` reads the actions, rewrites the forward (see
//! [`super::forward`]) and sends them back whole — ELBv2 has no call that
//! changes only a weight. `weights` is always a fresh describe, never a cached
//! or echoed value: the engine compares it with what it asked for, and a change
//! the load balancer accepted but did not apply must show up there.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::Action;

use super::errors::cloud_error;
use super::forward;
use super::targets::{Resolved, Route, Targets};
use crate::cloud::{CloudError, ServiceRef, Traffic, Weights};

pub struct ElbTraffic {
    elb: aws_sdk_elasticloadbalancingv2::Client,
    targets: Arc<Targets>,
}

impl ElbTraffic {
    pub fn new(elb: aws_sdk_elasticloadbalancingv2::Client, targets: Arc<Targets>) -> ElbTraffic {
        ElbTraffic { elb, targets }
    }

    /// The route's actions as the load balancer has them now.
    async fn actions(&self, route: &Route) -> Result<Vec<Action>, CloudError> {
        let what = format!("reading {}", route.describe());
        match route {
            Route::Listener(arn) => {
                let out = self
                    .elb
                    .describe_listeners()
                    .listener_arns(arn)
                    .send()
                    .await
                    .map_err(|e| cloud_error(&what, e))?;
                let listener = out.listeners().first().ok_or_else(|| {
                    CloudError::Permanent(format!("{what}: the listener does not exist"))
                })?;
                Ok(listener.default_actions().to_vec())
            }
            Route::Rule(arn) => {
                let out = self
                    .elb
                    .describe_rules()
                    .rule_arns(arn)
                    .send()
                    .await
                    .map_err(|e| cloud_error(&what, e))?;
                let rule = out.rules().first().ok_or_else(|| {
                    CloudError::Permanent(format!("{what}: the listener rule does not exist"))
                })?;
                Ok(rule.actions().to_vec())
            }
        }
    }

    async fn write(&self, route: &Route, actions: Vec<Action>) -> Result<(), CloudError> {
        let what = format!("changing the weights of {}", route.describe());
        match route {
            Route::Listener(arn) => {
                self.elb
                    .modify_listener()
                    .listener_arn(arn)
                    .set_default_actions(Some(actions))
                    .send()
                    .await
                    .map_err(|e| cloud_error(&what, e))?;
            }
            Route::Rule(arn) => {
                self.elb
                    .modify_rule()
                    .rule_arn(arn)
                    .set_actions(Some(actions))
                    .send()
                    .await
                    .map_err(|e| cloud_error(&what, e))?;
            }
        }
        Ok(())
    }
}

/// A route that cannot be read as a blue/green split is a permanent error:
/// retrying will not make a third target group go away.
fn refused(t: &Resolved, why: String) -> CloudError {
    CloudError::Permanent(format!("{} {why}", t.route.describe()))
}

#[async_trait]
impl Traffic for ElbTraffic {
    async fn set_weights(&self, svc: &ServiceRef, weights: Weights) -> Result<(), CloudError> {
        let t = self.targets.get(svc)?;
        let actions = self.actions(&t.route).await?;
        let (blue, green) = (&t.blue_target_group, &t.green_target_group);
        // Already applied: nothing to send (steps are idempotent after a restart).
        if forward::read(&actions, blue, green).ok() == Some(weights) {
            return Ok(());
        }
        let rewritten =
            forward::rewrite(&actions, blue, green, weights).map_err(|why| refused(t, why))?;
        self.write(&t.route, rewritten).await?;
        tracing::info!(%svc, %weights, route = %t.route.arn(), "weights set");
        Ok(())
    }

    async fn weights(&self, svc: &ServiceRef) -> Result<Weights, CloudError> {
        let t = self.targets.get(svc)?;
        let actions = self.actions(&t.route).await?;
        forward::read(&actions, &t.blue_target_group, &t.green_target_group)
            .map_err(|why| refused(t, why))
    }
}
