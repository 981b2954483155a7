//! The forward action of a listener or rule, read as blue/green weights and
//! rewritten with new ones. Pure, over the SDK's `Action` type.
//!
//! Rewriting keeps everything else as it was: other actions (authentication
//! before the forward), the action's order, and the target-group stickiness
//! config. A forward to any target group other than the two colours' is
//! refused rather than dropped: that traffic belongs to someone else's setup,
//! and silently removing it is how outages start.
//!
//! ALB weights are relative (0–999). Switchyard writes percentages, so what it
//! wrote reads back exactly; a split set by hand that is not a whole percentage
//! (1 : 2) is reported as an error rather than rounded, because the engine
//! compares what it reads with what it asked for.

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, TargetGroupTuple,
};

use crate::cloud::Weights;

/// The one forward action's position in `actions`.
fn forward(actions: &[Action]) -> Result<usize, String> {
    let mut forwards = actions
        .iter()
        .enumerate()
        .filter(|(_, a)| a.r#type() == Some(&ActionTypeEnum::Forward));
    match (forwards.next(), forwards.next()) {
        (Some((i, _)), None) => Ok(i),
        (None, _) => Err("has no forward action, so it splits no traffic".into()),
        (Some(_), Some(_)) => Err("has more than one forward action".into()),
    }
}

/// The target groups a forward action sends to, with their relative weights.
fn groups(action: &Action) -> Vec<(String, i64)> {
    match action.forward_config() {
        Some(config) if !config.target_groups().is_empty() => config
            .target_groups()
            .iter()
            // A tuple without a weight gets ALB's default of 1.
            .map(|g| {
                (
                    g.target_group_arn().unwrap_or_default().to_owned(),
                    i64::from(g.weight().unwrap_or(1)),
                )
            })
            .collect(),
        // The older form: one target group, all the traffic.
        _ => action
            .target_group_arn()
            .map(|arn| vec![(arn.to_owned(), 1)])
            .unwrap_or_default(),
    }
}

/// Refuses target groups that are neither colour's.
fn only_colours(groups: &[(String, i64)], blue: &str, green: &str) -> Result<(), String> {
    match groups.iter().find(|(arn, _)| arn != blue && arn != green) {
        Some((arn, _)) => Err(format!(
            "forwards to target group `{arn}`, which is neither the blue nor the green one; \
             switchyard changes only a route it fully owns"
        )),
        None => Ok(()),
    }
}

/// The blue/green split `actions` apply.
pub fn read(actions: &[Action], blue: &str, green: &str) -> Result<Weights, String> {
    let action = &actions[forward(actions)?];
    let groups = groups(action);
    only_colours(&groups, blue, green)?;
    let weight = |arn: &str| -> i64 {
        groups
            .iter()
            .filter(|(a, _)| a == arn)
            .map(|(_, w)| *w)
            .sum()
    };
    let (b, g) = (weight(blue), weight(green));
    let total = b + g;
    if total <= 0 {
        return Err("forwards with weight 0 to both colours".into());
    }
    let percent = |w: i64| -> Option<u8> {
        (w * 100 % total == 0)
            .then(|| u8::try_from(w * 100 / total).ok())
            .flatten()
    };
    match (percent(b), percent(g)) {
        (Some(blue), Some(green)) => Ok(Weights { blue, green }),
        _ => Err(format!(
            "splits blue {b} : green {g}, which is not a whole percentage"
        )),
    }
}

/// `actions` with the forward action sending `weights` to the colours.
pub fn rewrite(
    actions: &[Action],
    blue: &str,
    green: &str,
    weights: Weights,
) -> Result<Vec<Action>, String> {
    if !weights.is_valid() {
        return Err(format!("{weights} does not add up to 100%"));
    }
    let i = forward(actions)?;
    only_colours(&groups(&actions[i]), blue, green)?;
    let mut out = actions.to_vec();
    let action = &mut out[i];
    let stickiness = action
        .forward_config()
        .and_then(|c| c.target_group_stickiness_config())
        .cloned();
    let tuple = |arn: &str, weight: u8| {
        TargetGroupTuple::builder()
            .target_group_arn(arn)
            .weight(i32::from(weight))
            .build()
    };
    action.forward_config = Some(
        ForwardActionConfig::builder()
            .target_groups(tuple(blue, weights.blue))
            .target_groups(tuple(green, weights.green))
            .set_target_group_stickiness_config(stickiness)
            .build(),
    );
    // With two target groups the single-target form must be absent.
    action.target_group_arn = None;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_elasticloadbalancingv2::types::{
        AuthenticateOidcActionConfig, TargetGroupStickinessConfig,
    };

    const BLUE: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/blue/1";
    const GREEN: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/green/2";

    fn forward_to(groups: &[(&str, i32)]) -> Action {
        let mut config = ForwardActionConfig::builder().target_group_stickiness_config(
            TargetGroupStickinessConfig::builder()
                .enabled(true)
                .duration_seconds(300)
                .build(),
        );
        for (arn, w) in groups {
            config = config.target_groups(
                TargetGroupTuple::builder()
                    .target_group_arn(*arn)
                    .weight(*w)
                    .build(),
            );
        }
        Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .order(2)
            .forward_config(config.build())
            .build()
    }

    fn oidc() -> Action {
        Action::builder()
            .r#type(ActionTypeEnum::AuthenticateOidc)
            .order(1)
            .authenticate_oidc_config(
                AuthenticateOidcActionConfig::builder()
                    .issuer("https://idp.example.com")
                    .client_id("switchyard")
                    .build(),
            )
            .build()
    }

    #[test]
    fn weights_are_read_as_percentages() {
        let actions = [forward_to(&[(BLUE, 90), (GREEN, 10)])];
        assert_eq!(
            read(&actions, BLUE, GREEN),
            Ok(Weights {
                blue: 90,
                green: 10
            })
        );
        let hand_made = [forward_to(&[(BLUE, 1), (GREEN, 1)])];
        assert_eq!(
            read(&hand_made, BLUE, GREEN),
            Ok(Weights {
                blue: 50,
                green: 50
            })
        );
        let odd = [forward_to(&[(BLUE, 1), (GREEN, 2)])];
        assert!(
            read(&odd, BLUE, GREEN)
                .unwrap_err()
                .contains("whole percentage")
        );
        let legacy = [Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .target_group_arn(BLUE)
            .build()];
        assert_eq!(
            read(&legacy, BLUE, GREEN),
            Ok(Weights::all(crate::cloud::Colour::Blue))
        );
    }

    #[test]
    fn a_rewrite_keeps_stickiness_order_and_other_actions() {
        let actions = [oidc(), forward_to(&[(BLUE, 100), (GREEN, 0)])];
        let out = rewrite(
            &actions,
            BLUE,
            GREEN,
            Weights {
                blue: 75,
                green: 25,
            },
        )
        .unwrap();
        assert_eq!(out[0], actions[0]);
        assert_eq!(out[1].order(), Some(2));
        let config = out[1].forward_config().unwrap();
        assert_eq!(
            config.target_group_stickiness_config(),
            actions[1]
                .forward_config()
                .unwrap()
                .target_group_stickiness_config()
        );
        assert_eq!(
            read(&out, BLUE, GREEN),
            Ok(Weights {
                blue: 75,
                green: 25
            })
        );
    }

    #[test]
    fn a_third_target_group_is_refused() {
        let third = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/other/3";
        let actions = [forward_to(&[(BLUE, 50), (GREEN, 0), (third, 50)])];
        let err = rewrite(
            &actions,
            BLUE,
            GREEN,
            Weights::all(crate::cloud::Colour::Green),
        )
        .unwrap_err();
        assert!(err.contains("neither the blue nor the green"), "{err}");
        assert!(read(&actions, BLUE, GREEN).is_err());
    }

    #[test]
    fn a_route_without_a_forward_is_refused() {
        let err = read(&[oidc()], BLUE, GREEN).unwrap_err();
        assert!(err.contains("no forward action"), "{err}");
    }
}
