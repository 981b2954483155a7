//! `deploy/prometheus/alerts.yml` is valid and does what it says: promtool
//! checks the rules and runs their unit tests (`alerts_test.yml`: a failed
//! deployment, an automatic rollback, a high error rate only while a
//! deployment runs, the agent down). The metric names the rules use are the
//! ones `/metrics` exposes (`tests/it/http.rs` reads them there).

use std::path::Path;
use std::process::Command;

fn promtool(args: &[&str]) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus");
    let out = Command::new("promtool")
        .args(args)
        .current_dir(&dir)
        .output()
        .expect("promtool is missing: install the Debian package prometheus (scripts/test does)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?} failed:\n{said}");
    said
}

#[test]
fn the_alert_rules_pass_promtool_check_rules() {
    let said = promtool(&["check", "rules", "alerts.yml"]);
    assert!(said.contains("SUCCESS: 5 rules found"), "{said}");
}

#[test]
fn the_alert_rules_pass_their_unit_tests() {
    let said = promtool(&["test", "rules", "alerts_test.yml"]);
    assert!(said.contains("SUCCESS"), "{said}");
}

#[test]
fn the_rules_use_only_metrics_the_agent_exports() {
    let rules = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus/alerts.yml"),
    )
    .unwrap();
    let exported = [
        "switchyard_deployments_total",
        "switchyard_rollbacks_total",
        "switchyard_deployment_in_progress",
        "switchyard_cloud_api_errors_total",
    ];
    let used: std::collections::BTreeSet<&str> = rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("switchyard_"))
        .collect();
    for name in &used {
        assert!(
            exported.contains(name),
            "alerts.yml uses {name}, which /metrics does not export"
        );
    }
    assert_eq!(used.len(), exported.len(), "{used:?}");
}
