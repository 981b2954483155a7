//! `[[environments.checks]]` in the configuration file: each kind reads its
//! keys, a misspelt key is an error naming it, and validation refuses what
//! could never work (unknown placeholders, a repo that is not `owner/name`,
//! no or several thresholds, ECR without AWS, a clash with a built-in name).
//! Check tokens are secrets like any other.

use switchyard::config::checks::{CheckKind, Severity, Threshold};
use switchyard::config::{Report, SecretSource, check_str_with};

/// A config whose `prd` has `checks`, with `GITHUB_TOKEN` set or not.
fn checked(checks: &str, token: Option<&str>) -> Report {
    let text = format!(
        "[[environments]]\nname = \"tst\"\n\n[[environments]]\nname = \"prd\"\n\n{checks}\n\n\
         [[services]]\nname = \"storefront-api\"\n"
    );
    let token = token.map(str::to_owned);
    check_str_with(&text, &move |var: &str| {
        (var == "GITHUB_TOKEN").then(|| token.clone()).flatten()
    })
}

/// The warnings about checks (a config this small draws others).
fn checks_warnings(report: &Report) -> Vec<String> {
    report
        .warnings
        .iter()
        .filter(|d| d.key.contains(".checks["))
        .map(|d| d.to_string())
        .collect()
}

fn errors_of(report: &Report) -> Vec<String> {
    report.errors.iter().map(|d| d.to_string()).collect()
}

const ALL_KINDS: &str = r#"
[[environments.checks]]
name = "smoke"
kind = "http"
url = "https://smoke.example.com/{{env}}/{{version}}"
json_pointer = "/status"
equals = "passed"
skippable_in_emergency = true
timeout = "10s"

[[environments.checks]]
name = "ci"
kind = "github"
repo = "acme/storefront-api"
token = { env = "GITHUB_TOKEN" }
required = ["integration-tests", "e2e"]
what = "Integration tests"

[[environments.checks]]
name = "p99-latency"
kind = "prometheus"
url = "http://prometheus.internal:9090"
query = '1000 * histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{env="{{source}}"}[1h])))'
below = 100
what = "p99 latency in {{source}} over 1h"
unit = "ms"

[[environments.checks]]
name = "image-scan"
kind = "scan"
source = "trivy"
url = "https://ci.example.com/scans/{{service}}/{{commit}}.json"
fail_at = "critical"
ignore = ["CVE-2023-44487"]

[[environments.checks]]
name = "soak"
kind = "soak"
min = "24h"
skippable_in_emergency = true
"#;

#[test]
fn every_kind_reads_its_keys_and_the_token_is_a_secret() {
    let report = checked(ALL_KINDS, Some("ghp_x"));
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert!(
        checks_warnings(&report).is_empty(),
        "{:#?}",
        report.warnings
    );
    let config = report.config.unwrap();
    let checks = &config.environment("prd").unwrap().checks;
    let kinds: Vec<&str> = checks.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(kinds, ["http", "github", "prometheus", "scan", "soak"]);
    assert!(checks[0].skippable_in_emergency && !checks[1].skippable_in_emergency);
    assert_eq!(checks[0].timeout.as_secs(), 10);
    assert_eq!(checks[1].timeout.as_secs(), 30, "the default timeout");
    let CheckKind::Prometheus(p) = &checks[2].kind else {
        panic!("{:?}", checks[2])
    };
    assert_eq!(p.threshold(), Some(Threshold::Below(100.0)));
    let CheckKind::Scan(s) = &checks[3].kind else {
        panic!()
    };
    assert_eq!(s.fail_at, Severity::Critical);

    let secrets = config.secrets();
    let (key, token) = secrets
        .iter()
        .find(|(key, _)| key.contains("checks"))
        .expect("the token is listed");
    assert_eq!(key, "environments[1].checks[1].token");
    assert_eq!(token.source(), &SecretSource::Env("GITHUB_TOKEN".into()));
    assert_eq!(token.expose(), Ok("ghp_x"));
    assert!(!format!("{config:?}").contains("ghp_x"));
}

#[test]
fn an_unset_token_variable_is_a_warning_naming_the_key() {
    let report = checked(ALL_KINDS, None);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(
        checks_warnings(&report),
        ["environments[1].checks[1].token: environment variable `GITHUB_TOKEN` is not set"]
    );
}

#[test]
fn a_misspelt_or_unknown_key_is_an_error_naming_it() {
    let report = checked(
        "[[environments.checks]]\nname = \"p99\"\nkind = \"prometheus\"\nurl = \"http://p:9090\"\n\
         qurey = \"up\"\nbelow = 1\n",
        None,
    );
    let errors = errors_of(&report);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("environments[1].checks[0]"),
        "{errors:?}"
    );
    assert!(errors[0].contains("unknown field `qurey`"), "{errors:?}");

    let report = checked(
        "[[environments.checks]]\nname = \"soak\"\nkind = \"soak\"\nmin = \"1h\"\n\
         skipable_in_emergency = true\n",
        None,
    );
    assert!(
        errors_of(&report)[0].contains("unknown field `skipable_in_emergency`"),
        "{:?}",
        errors_of(&report)
    );

    let report = checked(
        "[[environments.checks]]\nname = \"x\"\nkind = \"smoke\"\n",
        None,
    );
    assert!(
        errors_of(&report)[0].contains("unknown variant `smoke`"),
        "{:?}",
        errors_of(&report)
    );
}

#[test]
fn checks_that_could_never_work_are_refused() {
    let cases = [
        (
            "name = \"p\"\nkind = \"prometheus\"\nurl = \"http://p:9090\"\nquery = 'up{env=\"{{stage}}\"}'\nbelow = 1",
            "environments[1].checks[0].query: unknown placeholder `{{stage}}`; known: {{version}}, {{service}}, {{env}}, {{source}}, {{commit}}",
        ),
        (
            "name = \"p\"\nkind = \"prometheus\"\nurl = \"http://p:9090\"\nquery = \"up\"",
            "environments[1].checks[0]: needs one threshold: `below`, `at_most`, `above` or `at_least`",
        ),
        (
            "name = \"p\"\nkind = \"prometheus\"\nurl = \"http://p:9090\"\nquery = \"up\"\nbelow = 1\nabove = 0",
            "environments[1].checks[0]: has several thresholds; give one of `below`, `at_most`, `above`, `at_least`",
        ),
        (
            "name = \"ci\"\nkind = \"github\"\nrepo = \"storefront-api\"\ntoken = \"t\"",
            "environments[1].checks[0].repo: `storefront-api` is not `owner/name`",
        ),
        (
            "name = \"scan\"\nkind = \"scan\"\nsource = \"ecr\"",
            "environments[1].checks[0].source: `source = \"ecr\"` needs `cloud = \"aws\"`",
        ),
        (
            "name = \"scan\"\nkind = \"scan\"\nsource = \"trivy\"",
            "environments[1].checks[0].url: `source = \"trivy\"` needs the report's `url`",
        ),
        (
            "name = \"smoke\"\nkind = \"http\"\nurl = \"ftp://x/{{version}}\"",
            "environments[1].checks[0].url: `ftp://x/x` is not an http(s) URL",
        ),
        (
            "name = \"soak\"\nkind = \"soak\"\nmin = \"1h\"\nenv = \"staging\"",
            "environments[1].checks[0].env: unknown environment `staging` (write its canonical name)",
        ),
        (
            "name = \"soak\"\nkind = \"soak\"\nmin = \"1h\"\ntimeout = \"0s\"",
            "environments[1].checks[0].timeout: must be at least 1s",
        ),
        (
            "name = \"target-idle\"\nkind = \"soak\"\nmin = \"1h\"",
            "environments[1].checks[0].name: `target-idle` is the name of a built-in check",
        ),
        (
            "name = \"Integration Tests\"\nkind = \"soak\"\nmin = \"1h\"",
            "environments[1].checks[0].name: `Integration Tests` is not a valid check name: a lowercase letter, then `a-z`, `0-9` or `-`, at most 40",
        ),
    ];
    for (check, want) in cases {
        let report = checked(&format!("[[environments.checks]]\n{check}\n"), None);
        assert_eq!(errors_of(&report), [want], "{check}");
    }

    let twice = "[[environments.checks]]\nname = \"soak\"\nkind = \"soak\"\nmin = \"1h\"\n";
    let report = checked(&format!("{twice}\n{twice}"), None);
    assert_eq!(
        errors_of(&report),
        ["environments[1].checks[1].name: duplicate check name `soak` in `prd`"]
    );
}
