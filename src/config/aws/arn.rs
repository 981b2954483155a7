//! Amazon Resource Names, taken apart only as far as the configuration needs:
//! partition, service, region, account, and the resource path. The load
//! balancer's CloudWatch dimension (`app/NAME/ID`) and the target group's
//! (`targetgroup/NAME/ID`) are slices of their ARNs, so they are derived here
//! rather than configured twice.

/// One parsed ARN, borrowing from the text it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    /// Everything after the account, e.g. `targetgroup/blue/50dc6c495c0c9188`.
    pub resource: &'a str,
}

/// The ELBv2 resources switchyard refers to, by the first word of the resource path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elb {
    TargetGroup,
    LoadBalancer,
    Listener,
    ListenerRule,
}

impl Elb {
    /// The resource word and how many `/`-separated parts follow it for an
    /// application load balancer (`listener/app/NAME/LB/ID` has four).
    fn shape(self) -> (&'static str, usize) {
        match self {
            Elb::TargetGroup => ("targetgroup", 2),
            Elb::LoadBalancer => ("loadbalancer", 3),
            Elb::Listener => ("listener", 4),
            Elb::ListenerRule => ("listener-rule", 5),
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Elb::TargetGroup => "a target group ARN (…:targetgroup/NAME/ID)",
            Elb::LoadBalancer => "an application load balancer ARN (…:loadbalancer/app/NAME/ID)",
            Elb::Listener => "a listener ARN (…:listener/app/NAME/LB-ID/ID)",
            Elb::ListenerRule => {
                "a listener rule ARN (…:listener-rule/app/NAME/LB-ID/LISTENER-ID/ID)"
            }
        }
    }
}

impl<'a> Arn<'a> {
    /// Splits `text` into its six fields, checking the generic shape only.
    pub fn parse(text: &'a str) -> Result<Arn<'a>, String> {
        let mut parts = text.splitn(6, ':');
        let mut next = || parts.next().unwrap_or_default();
        let (arn, partition, service, region, account, resource) =
            (next(), next(), next(), next(), next(), next());
        if arn != "arn" || resource.is_empty() {
            return Err(format!(
                "`{text}` is not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)"
            ));
        }
        if !matches!(partition, "aws" | "aws-cn" | "aws-us-gov") {
            return Err(format!("`{text}` has an unknown partition `{partition}`"));
        }
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{text}` has account `{account}`, not 12 digits"));
        }
        if !is_region(region) {
            return Err(format!("`{text}` has no valid region (`{region}`)"));
        }
        Ok(Arn {
            partition,
            service,
            region,
            account,
            resource,
        })
    }

    /// Parses an ELBv2 ARN of the given kind, for an application load balancer.
    pub fn elb(text: &'a str, kind: Elb) -> Result<Arn<'a>, String> {
        let arn = Arn::parse(text)?;
        let (word, count) = kind.shape();
        let mut path = arn.resource.split('/');
        let ok = arn.service == "elasticloadbalancing" && path.next() == Some(word) && {
            let rest: Vec<&str> = path.collect();
            rest.len() == count
                    && rest.iter().all(|p| !p.is_empty())
                    // Every kind but the target group lives under an `app/` load balancer:
                    // weighted forwarding exists only on application load balancers.
                    && (kind == Elb::TargetGroup || rest.first() == Some(&"app"))
        };
        if ok {
            Ok(arn)
        } else {
            Err(format!("`{text}` is not {}", kind.describe()))
        }
    }

    /// For load balancer, listener and rule ARNs: the load balancer's CloudWatch
    /// `LoadBalancer` dimension, `app/NAME/ID`.
    pub fn load_balancer_dimension(&self) -> Option<String> {
        let parts: Vec<&str> = self.resource.split('/').collect();
        (parts.len() >= 4 && parts[1] == "app").then(|| parts[1..4].join("/"))
    }
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`: letters and
/// digits in dash-separated words ending in a number.
fn is_region(region: &str) -> bool {
    let words: Vec<&str> = region.split('-').collect();
    words.len() >= 3
        && words.iter().all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && words
            .last()
            .is_some_and(|w| w.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TG: &str =
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api-blue/50dc6c495c0c9188";
    const LB: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188";
    const LISTENER: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2";
    const RULE: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee";

    #[test]
    fn each_kind_parses_and_the_others_are_refused() {
        assert!(Arn::elb(TG, Elb::TargetGroup).is_ok());
        assert!(Arn::elb(LB, Elb::LoadBalancer).is_ok());
        assert!(Arn::elb(LISTENER, Elb::Listener).is_ok());
        assert!(Arn::elb(RULE, Elb::ListenerRule).is_ok());
        assert!(Arn::elb(TG, Elb::Listener).is_err());
        assert!(Arn::elb(RULE, Elb::Listener).is_err());
        assert!(Arn::elb(LISTENER, Elb::ListenerRule).is_err());
    }

    #[test]
    fn the_load_balancer_dimension_is_a_slice_of_the_arn() {
        for text in [LB, LISTENER, RULE] {
            let arn = Arn::parse(text).unwrap();
            assert_eq!(
                arn.load_balancer_dimension().as_deref(),
                Some("app/shop/50dc6c495c0c9188")
            );
        }
    }

    #[test]
    fn malformed_arns_say_what_is_wrong() {
        let bad_account = TG.replace("123456789012", "1234");
        assert!(Arn::parse(&bad_account).unwrap_err().contains("12 digits"));
        let bad_region = TG.replace("eu-west-1", "europe");
        assert!(Arn::parse(&bad_region).unwrap_err().contains("region"));
        assert!(
            Arn::parse("targetgroup/x/y")
                .unwrap_err()
                .contains("not an ARN")
        );
        let network = LB.replace("/app/", "/net/");
        assert!(Arn::elb(&network, Elb::LoadBalancer).is_err());
    }
}
