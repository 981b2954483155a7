//! Configured checks in the conversation: the demo agent with `prd` checks
//! pointing at local stand-ins (`stand_ins.rs`), driven by chat lines on
//! tokio's paused clock. A promotion whose CI failed stops at the checklist
//! with ✗ and the count, before any question; a hotfix skips exactly the
//! checks marked skippable and still runs the others; a dry run shows the
//! checklist and the plan and changes nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use switchyard::chat::{ChatError, ChatPort, Incoming, Message};
use switchyard::clock::Clock;
use switchyard::cloud::{Colour, ServiceRef, Weights};
use switchyard::config::{Config, DEMO_TOML};
use switchyard::demo::Demo;
use switchyard::intent::Strategy;
use switchyard::store::{Build, DeploymentState, NewDeployment};

use crate::stand_ins::{self, GithubStandIn, runs};

const TOKEN: &str = "ghp_chatStandInToken";
const REPO: &str = "acme/storefront-api";

/// The chat port: keeps what the agent says.
#[derive(Default)]
struct Transcript(Mutex<Vec<Message>>);

#[async_trait]
impl ChatPort for Transcript {
    async fn send(&self, message: Message) -> Result<(), ChatError> {
        self.0.lock().unwrap().push(message);
        Ok(())
    }
}

struct Chat {
    demo: Demo,
    said: Arc<Transcript>,
    clock: Clock,
    github: GithubStandIn,
    _dir: tempfile::TempDir,
}

/// The demo agent whose `prd` has the check tables `checks` (`API` in them is
/// replaced by the GitHub stand-in's base URL).
async fn chat(checks: &str) -> Chat {
    let github = stand_ins::github(TOKEN, 100, true).await;
    let checks = checks.replace("API", &github.api_base);
    // The demo's environments end with prd: tables here attach to it.
    let text = DEMO_TOML.replacen("[[services]]", &format!("{checks}\n[[services]]"), 1);
    let config = Config::from_toml_str_with(&text, &|var: &str| {
        (var == "GITHUB_TOKEN").then(|| TOKEN.to_owned())
    })
    .expect("the demo config with checks is valid");
    assert_eq!(
        config.environment("prd").unwrap().checks.len(),
        checks.matches("[[environments.checks]]").count()
    );
    let dir = tempfile::tempdir().unwrap();
    let said = Arc::new(Transcript::default());
    let clock = Clock::starting_at(1_767_225_600_000);
    let demo = Demo::open(config, dir.path(), said.clone(), clock)
        .await
        .unwrap();
    Chat {
        demo,
        said,
        clock,
        github,
        _dir: dir,
    }
}

impl Chat {
    /// `text` said by `user`; returns the replies.
    async fn say_as(&self, user: &str, text: &str) -> String {
        self.demo
            .agent
            .handle(Incoming {
                channel: "console".into(),
                user: user.into(),
                text: text.into(),
            })
            .await;
        let said = std::mem::take(&mut *self.said.0.lock().unwrap());
        said.iter()
            .map(|m| m.text.clone())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn prd(&self) -> ServiceRef {
        ServiceRef::new("prd", "storefront-api")
    }

    /// prd as the demo starts it: 1.2.0 on blue with all the traffic, no records.
    async fn assert_prd_unchanged(&self) {
        let fleet = self.demo.sim.snapshot(&self.prd()).unwrap();
        assert_eq!(fleet.weights, Weights::all(Colour::Blue));
        assert_eq!(fleet.blue.version.as_deref(), Some("1.2.0"));
        assert_eq!(fleet.green.version, None);
        let history = self.demo.store.history(Some("prd"), 10).await.unwrap();
        assert!(history.is_empty(), "{history:?}");
    }
}

const CI: &str = r#"
[[environments.checks]]
name = "ci"
kind = "github"
repo = "acme/storefront-api"
token = { env = "GITHUB_TOKEN" }
api_base = "API"
what = "Integration tests"
"#;

/// Skippable in an emergency: nobody answers on this URL.
fn smoke() -> String {
    format!(
        "\n[[environments.checks]]\nname = \"smoke\"\nkind = \"http\"\nurl = \"{}/smoke/{{{{version}}}}\"\n\
         skippable_in_emergency = true\n",
        stand_ins::unreachable_url()
    )
}

const SOAK: &str = r#"
[[environments.checks]]
name = "soak"
kind = "soak"
min = "1h"
skippable_in_emergency = true
"#;

#[tokio::test(start_paused = true)]
async fn a_promotion_whose_ci_failed_stops_at_the_checklist_and_changes_nothing() {
    let c = chat(CI).await;
    c.github
        .set_runs(REPO, "1.3.0", runs(155, &["e2e-checkout"]));
    let reply = c.say_as("alice", "promote 1.3.0 from tst to prd").await;
    assert!(
        reply.contains("Pre-promotion checklist (TST → PRD)"),
        "{reply}"
    );
    assert!(reply.contains("✓ source-healthy"), "{reply}");
    // Built-in checks first, then the configured ones in file order.
    let builtin_at = reply.find("version-changes").unwrap();
    let ci_at = reply
        .find("✗ ci: Integration tests: 155/156 passed; failed: e2e-checkout (tag 1.3.0)")
        .unwrap_or_else(|| panic!("no failed ci line in:\n{reply}"));
    assert!(builtin_at < ci_at, "{reply}");
    assert!(
        reply.contains("✗ Stopped: 1 check failed. Nothing was changed."),
        "{reply}"
    );
    assert!(
        !reply.contains("(yes/no)"),
        "no question is asked:\n{reply}"
    );
    assert!(!reply.contains(TOKEN));
    c.assert_prd_unchanged().await;
    // A "yes" now answers nothing.
    let reply = c.say_as("alice", "yes").await;
    assert!(!reply.contains("Enter TOTP code"), "{reply}");
    c.assert_prd_unchanged().await;
}

#[tokio::test(start_paused = true)]
async fn a_hotfix_skips_only_the_skippable_checks_and_still_runs_the_others() {
    let c = chat(&format!("{CI}{}{SOAK}", smoke())).await;
    c.github
        .set_runs(REPO, "1.3.1", runs(2, &["security-scan"]));

    // Without emergency every check runs: smoke is unreachable, nothing soaked.
    let reply = c.say_as("alice", "deploy 1.3.1 to prd").await;
    assert!(reply.contains("Pre-deployment checklist (PRD)"), "{reply}");
    assert!(
        reply.contains("✗ smoke: could not connect to 127.0.0.1:"),
        "{reply}"
    );
    assert!(
        reply.contains("✗ soak: 1.3.1 has no successful deployment to tst on record"),
        "{reply}"
    );
    assert!(reply.contains("✗ Stopped: 3 checks failed."), "{reply}");

    // A hotfix skips smoke and soak, but CI still runs and still stops it.
    let reply = c.say_as("dave", "hotfix 1.3.1 to prd").await;
    assert!(
        reply.contains("– smoke: skipped for an emergency deployment"),
        "{reply}"
    );
    assert!(
        reply.contains("– soak: skipped for an emergency deployment"),
        "{reply}"
    );
    assert!(
        reply.contains("✗ ci: Integration tests: 2/3 passed; failed: security-scan (tag 1.3.1)"),
        "{reply}"
    );
    assert!(reply.contains("✗ Stopped: 1 check failed."), "{reply}");
    assert!(reply.contains("✓ target-idle"), "{reply}");
    c.assert_prd_unchanged().await;

    // Once CI is green the hotfix goes on to its questions.
    c.github.set_runs(REPO, "1.3.1", runs(3, &[]));
    let reply = c.say_as("dave", "hotfix 1.3.1 to prd").await;
    assert!(
        reply.contains("✓ ci: Integration tests: 3/3 passed (tag 1.3.1)"),
        "{reply}"
    );
    assert!(reply.contains("– smoke"), "{reply}");
    assert!(
        reply.contains("Proceed with PRD deployment of 1.3.1? (yes/no)"),
        "{reply}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_shows_the_checklist_and_the_plan_and_changes_nothing() {
    let c = chat(&format!("{CI}{SOAK}")).await;
    let commit = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
    let store = &c.demo.store;
    store
        .record_build(&Build {
            service: "storefront-api".into(),
            version: "1.3.0".into(),
            image: "registry.example.com/storefront-api:1.3.0".into(),
            commit: commit.into(),
            branch: "main".into(),
            built_at: c.clock.now_ms(),
        })
        .await
        .unwrap();
    c.github.set_runs(REPO, commit, runs(12, &[]));
    // 1.3.0 went live in tst, then soaked for two hours.
    let at = c.clock.now_ms();
    let id = store
        .create_deployment(&NewDeployment {
            env: "tst".into(),
            service: "storefront-api".into(),
            version: "1.3.0".into(),
            previous_version: None,
            strategy: Strategy::BlueGreen,
            requested_by: "alice".into(),
            approvers: Vec::new(),
            emergency: false,
            created_at: at,
            live_colour: Some(Colour::Blue),
            new_colour: Some(Colour::Green),
        })
        .await
        .unwrap();
    store.start(id, at).await.unwrap();
    store
        .finish(id, DeploymentState::Succeeded, None, at)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2 * 3600)).await;

    let reply = c
        .say_as("alice", "promote 1.3.0 from tst to prd --dry-run")
        .await;
    for line in [
        "Pre-promotion checklist (TST → PRD)",
        "✓ source-last-success",
        "✓ ci: Integration tests: 12/12 passed (commit a1b2c3d)",
        "✓ soak: 1.3.0 has run in tst for 2h (needs 1h)",
        "Dry run: this is the plan, and nothing was changed.",
        "Plan (blue-green): 10% → 25% → 50% → 100%",
        "PRD would require:",
        "• MFA verification",
    ] {
        assert!(reply.contains(line), "missing {line:?} in:\n{reply}");
    }
    assert!(!reply.contains("(yes/no)"), "{reply}");
    assert_eq!(
        c.github.requests(),
        [format!(
            "/repos/{REPO}/commits/{commit}/check-runs?per_page=100"
        )]
    );
    c.assert_prd_unchanged().await;
}
