//! A deployment as a list of steps, each one journaled before its side effect.
//!
//! The plan from config (steps in percent, bake, verification, watch) and the
//! strategy become a flat script: deploy the new version to the idle colour,
//! wait until it is ready, shift and bake step by step, verify at 100%, finalize,
//! watch. A script, not a state machine held in memory, is what makes recovery
//! simple: the journal says which step was reached, and every step is idempotent
//! (a deploy of what already runs, a weight that is already set, do nothing).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cloud::Colour;
use crate::config::Plan;
use crate::intent::Strategy;

/// One step of a deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Run `version` on `colour` (the idle one; the live one for `rolling`).
    Deploy { colour: Colour, version: String },
    /// Wait until every task of `colour` runs and passes health checks.
    AwaitReady { colour: Colour },
    /// Send `percent` of traffic to `colour`, the rest to the other, and read it back.
    Shift { colour: Colour, percent: u8 },
    /// Watch the new colour at this weight for `duration`, judging every interval.
    Bake {
        percent: u8,
        #[serde(with = "humantime_serde")]
        duration: Duration,
    },
    /// The bake at 100%: the last chance to roll back before the old colour stands by.
    Verify {
        #[serde(with = "humantime_serde")]
        duration: Duration,
    },
    /// Record success: the new colour is live, the old one stands by.
    Finalize,
    /// Keep judging the live colour while the standby still runs.
    Watch {
        #[serde(with = "humantime_serde")]
        duration: Duration,
    },
    /// After `after`, scale the old colour to zero tasks, if it still stands by
    /// (no later deployment, the route still whole on the new colour).
    ScaleDown {
        colour: Colour,
        #[serde(with = "humantime_serde")]
        after: Duration,
    },
    /// Everything back to `colour` (recorded when a rollback starts).
    Rollback { colour: Colour, reason: String },
}

impl Step {
    /// The phase name people see ("traffic shift", "verification").
    pub fn phase(&self) -> &'static str {
        match self {
            Step::Deploy { .. } => "deploy",
            Step::AwaitReady { .. } => "readiness",
            Step::Shift { .. } | Step::Bake { .. } => "traffic shift",
            Step::Verify { .. } => "verification",
            Step::Finalize => "finalize",
            Step::Watch { .. } => "post-deployment watch",
            Step::ScaleDown { .. } => "standby scale-down",
            Step::Rollback { .. } => "rollback",
        }
    }
}

/// The script for deploying `version` with `plan`, given which colour is live.
///
/// blue-green and canary: deploy to the idle colour, shift step by step.
/// all-at-once: the same with the single step 100. rolling: an in-place update
/// of the live colour (no second colour; its rollback redeploys the previous
/// version), so its only judgement is the verification after the update.
/// `scale_down_after` (from the compute backend) ends a two-colour script by
/// scaling the old colour down once the watch is over.
pub fn script(
    strategy: Strategy,
    plan: &Plan,
    live: Colour,
    version: &str,
    scale_down_after: Option<Duration>,
) -> Vec<Step> {
    let mut steps = Vec::new();
    let new = match strategy {
        Strategy::Rolling => live,
        _ => live.other(),
    };
    steps.push(Step::Deploy {
        colour: new,
        version: version.to_string(),
    });
    steps.push(Step::AwaitReady { colour: new });
    if strategy != Strategy::Rolling {
        let percents: Vec<u8> = match strategy {
            Strategy::AllAtOnce => vec![100],
            _ => plan.steps.iter().map(|p| (*p).min(100) as u8).collect(),
        };
        for percent in percents {
            steps.push(Step::Shift {
                colour: new,
                percent,
            });
            if percent < 100 && !plan.bake.is_zero() {
                steps.push(Step::Bake {
                    percent,
                    duration: plan.bake,
                });
            }
        }
    }
    if !plan.verification.is_zero() {
        steps.push(Step::Verify {
            duration: plan.verification,
        });
    }
    steps.push(Step::Finalize);
    if !plan.watch.is_zero() {
        steps.push(Step::Watch {
            duration: plan.watch,
        });
    }
    if let Some(after) = scale_down_after.filter(|_| strategy != Strategy::Rolling) {
        steps.push(Step::ScaleDown {
            colour: live,
            after,
        });
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(steps: &[u32], bake: u64) -> Plan {
        Plan {
            steps: steps.to_vec(),
            bake: Duration::from_secs(bake),
            verification: Duration::from_secs(600),
            ..Plan::default()
        }
    }

    #[test]
    fn blue_green_deploys_to_the_idle_colour_and_shifts_in_steps() {
        let s = script(
            Strategy::BlueGreen,
            &plan(&[10, 25, 50, 100], 60),
            Colour::Blue,
            "1.3.0",
            None,
        );
        let shifts: Vec<u8> = s
            .iter()
            .filter_map(|st| match st {
                Step::Shift {
                    colour: Colour::Green,
                    percent,
                } => Some(*percent),
                _ => None,
            })
            .collect();
        assert_eq!(shifts, [10, 25, 50, 100]);
        assert_eq!(
            s[0],
            Step::Deploy {
                colour: Colour::Green,
                version: "1.3.0".into()
            }
        );
        assert_eq!(
            s.iter()
                .filter(|st| matches!(st, Step::Bake { .. }))
                .count(),
            3
        );
        assert!(matches!(s.last(), Some(Step::Finalize)));
    }

    #[test]
    fn rolling_updates_the_live_colour_in_place_without_shifts() {
        let s = script(
            Strategy::Rolling,
            &plan(&[25, 50, 100], 60),
            Colour::Green,
            "2.0.0",
            Some(Duration::from_secs(60)),
        );
        assert_eq!(
            s[0],
            Step::Deploy {
                colour: Colour::Green,
                version: "2.0.0".into()
            }
        );
        assert!(!s.iter().any(|st| matches!(st, Step::Shift { .. })));
        // One colour only: nothing stands by, so nothing is scaled down.
        assert!(!s.iter().any(|st| matches!(st, Step::ScaleDown { .. })));
    }

    #[test]
    fn a_scale_down_delay_ends_the_script_after_the_watch() {
        let p = Plan {
            watch: Duration::from_secs(3600),
            ..plan(&[100], 0)
        };
        let s = script(
            Strategy::BlueGreen,
            &p,
            Colour::Blue,
            "1.3.0",
            Some(Duration::from_secs(1800)),
        );
        let n = s.len();
        assert!(matches!(s[n - 2], Step::Watch { .. }));
        assert_eq!(
            s[n - 1],
            Step::ScaleDown {
                colour: Colour::Blue,
                after: Duration::from_secs(1800)
            }
        );
    }

    #[test]
    fn steps_round_trip_through_the_journal_format() {
        let step = Step::Bake {
            percent: 25,
            duration: Duration::from_secs(90),
        };
        let json = serde_json::to_value(&step).unwrap();
        assert_eq!(json["step"], "bake");
        assert_eq!(serde_json::from_value::<Step>(json).unwrap(), step);
    }
}
