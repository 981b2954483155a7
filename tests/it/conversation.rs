//! The conversation of the seed, end to end: the agent of `switchyard demo`
//! (simulator, SQLite store, real TOTP) driven line by line through a chat port
//! that records what it says, on tokio's paused clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use switchyard::chat::{ChatError, ChatPort, Incoming, Message};
use switchyard::clock::Clock;
use switchyard::cloud::{Colour, ServiceRef, Weights};
use switchyard::config::Config;
use switchyard::demo::Demo;
use switchyard::store::DeploymentState;

/// The chat port of these tests: it keeps every message.
#[derive(Default)]
pub(crate) struct Transcript {
    messages: Mutex<Vec<Message>>,
}

#[async_trait]
impl ChatPort for Transcript {
    async fn send(&self, message: Message) -> Result<(), ChatError> {
        self.messages.lock().unwrap().push(message);
        Ok(())
    }
}

impl Transcript {
    /// Everything said since the last call, as one text.
    pub(crate) fn take(&self) -> String {
        let taken: Vec<Message> = std::mem::take(&mut *self.messages.lock().unwrap());
        taken
            .iter()
            .map(|m| m.text.clone())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn take_messages(&self) -> Vec<Message> {
        std::mem::take(&mut *self.messages.lock().unwrap())
    }
}

pub(crate) struct Chat {
    pub(crate) demo: Demo,
    pub(crate) said: Arc<Transcript>,
    pub(crate) clock: Clock,
    _dir: tempfile::TempDir,
}

pub(crate) async fn chat() -> Chat {
    let dir = tempfile::tempdir().unwrap();
    chat_in(dir).await
}

async fn chat_in(dir: tempfile::TempDir) -> Chat {
    chat_with(Config::demo(), dir).await
}

/// The demo agent on `config` instead of the demo's own.
async fn chat_with(config: Config, dir: tempfile::TempDir) -> Chat {
    let said = Arc::new(Transcript::default());
    let clock = Clock::starting_at(1_767_225_600_000);
    let demo = Demo::open(config, dir.path(), said.clone(), clock)
        .await
        .unwrap();
    Chat {
        demo,
        said,
        clock,
        _dir: dir,
    }
}

impl Chat {
    /// `line` as the console reads it (`@name: TEXT` or alice); returns the replies.
    pub(crate) async fn say(&self, line: &str) -> String {
        let msg = switchyard::chat::console::incoming(line, "alice", "switchyard");
        self.demo.agent.handle(msg).await;
        self.said.take()
    }

    async fn say_as(&self, user: &str, text: &str) -> String {
        let msg = Incoming {
            channel: "console".into(),
            user: user.into(),
            text: text.into(),
        };
        self.demo.agent.handle(msg).await;
        self.said.take()
    }

    /// The code `user`'s authenticator shows now.
    async fn code(&self, user: &str) -> String {
        let (code, _) = self.demo.agent_mfa_code(user, self.clock.now_ms()).await;
        code
    }

    fn prd(&self) -> ServiceRef {
        ServiceRef::new("prd", "storefront-api")
    }

    /// Waits (virtually) for every running deployment, then returns what was said.
    async fn settle(&self) -> String {
        self.demo.agent.settle().await;
        tokio::time::sleep(Duration::from_millis(10)).await; // let the progress stream drain
        self.said.take()
    }
}

/// Demo-only access to the MFA module's current code (the "authenticator").
trait Authenticator {
    async fn agent_mfa_code(&self, user: &str, now: i64) -> (String, u64);
}

impl Authenticator for Demo {
    async fn agent_mfa_code(&self, user: &str, now: i64) -> (String, u64) {
        let mfa = switchyard::mfa::Mfa::new(
            self.store.clone(),
            &Config::demo().mfa,
            &Config::demo().users,
        )
        .unwrap();
        mfa.current_code(user, now).await.unwrap()
    }
}

#[tokio::test(start_paused = true)]
async fn the_seed_conversation_promote_confirm_totp_approve_stream_succeed_then_roll_back() {
    let c = chat().await;
    let reply = c.say("promote 1.3.0 from tst to prd").await;
    assert!(
        reply.contains("Pre-promotion checklist (TST → PRD)"),
        "{reply}"
    );
    assert!(reply.contains("✓ source-healthy"), "{reply}");
    assert!(reply.contains("• MFA verification"), "{reply}");
    assert!(
        reply.contains("Proceed with PRD promotion of 1.3.0? (yes/no)"),
        "{reply}"
    );

    let reply = c.say("yes").await;
    assert!(reply.contains("Enter TOTP code"), "{reply}");
    let reply = c.say(&c.code("alice").await).await;
    assert!(reply.contains("✓ MFA verified"), "{reply}");
    assert!(reply.contains("Waiting for approval of #1"), "{reply}");
    assert!(reply.contains("bob, dave can approve"), "{reply}");

    let reply = c.say("@bob: approve").await;
    assert!(reply.contains("#1 approved by bob (1/1)"), "{reply}");
    assert!(reply.contains("Wait timer: #1 starts in 5s"), "{reply}");

    let progress = c.settle().await;
    for line in [
        "Starting deployment #1: 1.3.0 to PRD (blue-green).",
        "Phase 1: Deploying the new version...",
        "✓ Tasks ready: 3/3 healthy",
        "[10%] Blue: 90% | Green: 10%  ✓ Error rate: 0.00%",
        "[25%] Blue: 75% | Green: 25%",
        "[50%] Blue: 50% | Green: 50%",
        "[100%] Blue: 0% | Green: 100%",
        "✓ Error rate stable",
        "Deployment successful! #1",
        "Blue (Standby): 1.2.0  ← Ready for rollback",
        "Green (Active): 1.3.0  ← 100% traffic",
    ] {
        assert!(progress.contains(line), "missing {line:?} in:\n{progress}");
    }
    let fleet = c.demo.sim.snapshot(&c.prd()).unwrap();
    assert_eq!(fleet.weights, Weights::all(Colour::Green));
    assert_eq!(fleet.blue.version.as_deref(), Some("1.2.0"));

    let history = c.say("history prd").await;
    assert!(
        history.contains("1.3.0") && history.contains("SUCCESS"),
        "{history}"
    );

    let reply = c.say("rollback prd").await;
    assert!(
        reply.contains("Rollback will shift all traffic to Blue (1.2.0)"),
        "{reply}"
    );
    assert!(reply.contains("(yes/no)"), "{reply}");
    c.say("yes").await;
    // A new code: the one used for the promotion may not be replayed.
    tokio::time::sleep(Duration::from_secs(30)).await;
    let reply = c.say(&c.code("alice").await).await;
    assert!(
        reply.contains("Rollback complete: PRD serves 1.2.0 again"),
        "{reply}"
    );
    assert_eq!(
        c.demo.sim.snapshot(&c.prd()).unwrap().weights,
        Weights::all(Colour::Blue)
    );
}

/// Asks for a prd promotion and answers yes, so the next line answers the TOTP prompt.
async fn up_to_the_code(c: &Chat) {
    c.say("promote 1.3.0 from tst to prd").await;
    let reply = c.say("yes").await;
    assert!(reply.contains("Enter TOTP code"), "{reply}");
}

#[tokio::test(start_paused = true)]
async fn a_wrong_code_says_how_many_attempts_are_left_and_a_replayed_code_is_refused() {
    let c = chat().await;
    up_to_the_code(&c).await;
    let reply = c.say("000000").await;
    assert!(reply.contains("wrong code: 4 more attempts"), "{reply}");
    let code = c.code("alice").await;
    assert!(c.say(&code).await.contains("✓ MFA verified"));
    c.say("@bob: deny").await; // frees prd again

    up_to_the_code(&c).await;
    let reply = c.say(&code).await;
    assert!(reply.contains("already used"), "{reply}");
}

#[tokio::test(start_paused = true)]
async fn five_wrong_codes_lock_mfa_also_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let c = chat_in(dir).await;
    up_to_the_code(&c).await;
    let mut last = String::new();
    for _ in 0..5 {
        last = c.say("000000").await;
    }
    assert!(last.contains("MFA is locked until"), "{last}");

    // The same data dir, a new process.
    drop(c.demo); // the process ends, and its data-dir lock with it
    let said = Arc::new(Transcript::default());
    let again = Demo::open(Config::demo(), &path, said.clone(), c.clock)
        .await
        .unwrap();
    said.take_messages();
    again
        .agent
        .handle(Incoming {
            channel: "console".into(),
            user: "alice".into(),
            text: "promote 1.3.0 from tst to prd".into(),
        })
        .await;
    // Refused before any question: the lockout survived the restart.
    let reply = said.take();
    assert!(!reply.contains("(yes/no)"), "{reply}");
    assert!(
        reply.contains("MFA is locked until"),
        "a restart does not reset the lockout: {reply}"
    );
}

#[tokio::test(start_paused = true)]
async fn refusals_name_the_rule_carol_self_approval_and_latest_in_prd() {
    let c = chat().await;
    let reply = c.say("@carol: deploy 1.3.1 to prd").await;
    assert!(reply.contains("carol may not deploy to prd"), "{reply}");
    assert!(
        reply.contains("rule: environments.prd.policy.deploy"),
        "{reply}"
    );

    up_to_the_code(&c).await;
    c.say(&c.code("alice").await).await;
    let reply = c.say("approve").await;
    assert!(reply.contains("alice may not approve"), "{reply}");
    c.say("@bob: deny #1 because testing").await;

    let reply = c.say("deploy latest to prd").await;
    assert!(reply.contains("latest"), "{reply}");
    assert!(
        reply.contains("rule: environments.prd.policy.versions"),
        "{reply}"
    );
}

#[tokio::test(start_paused = true)]
async fn chaos_then_a_promote_rolls_back_at_the_first_analysis_with_its_numbers() {
    let c = chat().await;
    assert!(
        c.say("chaos prd error-rate 20")
            .await
            .contains("20% of requests fail")
    );
    up_to_the_code(&c).await;
    c.say(&c.code("alice").await).await;
    c.say("@bob: approve").await;
    let progress = c.settle().await;
    assert!(
        progress.contains("✗ Rolling back #1: error rate"),
        "{progress}"
    );
    assert!(progress.contains("> 5.00%"), "{progress}");
    let d = c.demo.store.deployment(1).await.unwrap().unwrap();
    assert_eq!(d.state, DeploymentState::RolledBack);
    assert_eq!(
        c.demo.sim.snapshot(&c.prd()).unwrap().weights,
        Weights::all(Colour::Blue)
    );
    let history = c.say("history prd").await;
    assert!(
        history.contains("ROLLED BACK") && history.contains("error rate"),
        "{history}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_second_promote_while_one_runs_is_refused_and_a_lock_blocks_until_unlock() {
    let c = chat().await;
    up_to_the_code(&c).await;
    c.say(&c.code("alice").await).await;
    let reply = c.say("promote 1.3.0 from tst to prd").await;
    assert!(reply.contains("✗ target-idle"), "{reply}");
    c.say("@bob: deny").await;

    assert!(
        c.say("lock prd for freeze")
            .await
            .contains("PRD is locked by alice (freeze)")
    );
    let reply = c.say("promote 1.3.0 from tst to prd").await;
    assert!(reply.contains("✗ target-unlocked"), "{reply}");
    assert!(c.say("unlock prd").await.contains("PRD is unlocked"));
    let reply = c.say("promote 1.3.0 from tst to prd").await;
    assert!(reply.contains("(yes/no)"), "{reply}");
}

#[tokio::test(start_paused = true)]
async fn a_question_expires_and_another_users_yes_never_answers_it() {
    let c = chat().await;
    c.say("promote 1.3.0 from tst to prd").await;
    let reply = c.say("@bob: yes").await;
    assert!(
        !reply.contains("Enter TOTP code"),
        "bob cannot answer alice's question: {reply}"
    );
    tokio::time::sleep(Duration::from_secs(121)).await;
    let expired = c.said.take();
    assert!(
        expired.contains("alice, your pending confirmation for PRD promotion of 1.3.0 expired"),
        "{expired}"
    );
    let reply = c.say("yes").await;
    assert!(!reply.contains("Enter TOTP code"), "{reply}");
}

#[tokio::test(start_paused = true)]
async fn status_troubleshoot_and_help_answer_from_the_live_fleet() {
    let c = chat().await;
    let status = c.say("status of prd").await;
    assert!(
        status.contains("Blue (Active): 1.2.0  100% traffic, 3/3 healthy"),
        "{status}"
    );
    let guide = c.say("Deployment failed - how do I troubleshoot?").await;
    assert!(
        guide.contains("troubleshooting guide") && guide.contains("Live diagnostics for PRD"),
        "{guide}"
    );
    assert!(
        c.say("help")
            .await
            .contains("promote VERSION from ENV to ENV")
    );
    let stranger = c.say_as("mallory", "deploy 1.3.0 to prd").await;
    assert!(
        stranger.contains("I don't know you (mallory)"),
        "{stranger}"
    );
}

#[tokio::test(start_paused = true)]
async fn mfa_enroll_answers_privately_and_activates_after_one_valid_code() {
    use switchyard::mfa::totp::{Generator, Params, Seed};
    let c = chat().await;
    // alice already has an authenticator: replacing it takes a code from it first.
    let reply = c.say("mfa enroll").await;
    assert!(reply.contains("Enter TOTP code"), "{reply}");
    let code = c.code("alice").await;
    c.demo
        .agent
        .handle(switchyard::chat::console::incoming(
            &code,
            "alice",
            "switchyard",
        ))
        .await;
    let messages = c.said.take_messages();
    let private = messages
        .iter()
        .find(|m| m.text.contains("otpauth://"))
        .expect("the enrolment link");
    assert_eq!(
        private.private_to.as_deref(),
        Some("alice"),
        "the secret is shown to alice only"
    );
    assert!(
        messages
            .iter()
            .filter(|m| m.private_to.is_none())
            .all(|m| !m.text.contains("secret="))
    );

    let secret = private
        .text
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let seed = Seed::from_base32(&secret).unwrap();
    let generator = Generator::new(&seed, Params::new(6, Duration::from_secs(30), 1).unwrap());
    tokio::time::sleep(Duration::from_secs(30)).await; // the step of the last code is used up
    let now = (c.clock.now_ms() / 1000) as u64;
    let reply = c.say(&generator.code_at(now)).await;
    assert!(reply.contains("Your authenticator is set up"), "{reply}");
}

#[tokio::test(start_paused = true)]
async fn the_promotion_reads_as_the_golden_transcript_shows() {
    // Every sentence of the seed conversation, as the bot says it, on the
    // paused clock (so durations and figures are the same on every run).
    let c = chat().await;
    let mut transcript = String::new();
    let mut turn =
        |said: &str, reply: String| transcript.push_str(&format!("> {said}\n{reply}\n\n"));
    turn(
        "promote 1.3.0 from tst to prd",
        c.say("promote 1.3.0 from tst to prd").await,
    );
    turn("yes", c.say("yes").await);
    turn("(TOTP code)", c.say(&c.code("alice").await).await);
    turn("@bob: approve", c.say("@bob: approve").await);
    turn("(progress)", c.settle().await);
    turn("status of prd", c.say("status of prd").await);
    super::help_golden::golden("conversation_promote.txt", &transcript);
}

#[tokio::test(start_paused = true)]
async fn an_approval_nobody_answers_lapses_and_frees_the_environment() {
    let c = chat().await;
    up_to_the_code(&c).await;
    c.say(&c.code("alice").await).await;
    tokio::time::sleep(Duration::from_secs(31 * 60)).await;
    let lapsed = c.said.take();
    assert!(
        lapsed.contains("The approval request #1 expired"),
        "{lapsed}"
    );
    assert_eq!(
        c.demo.store.deployment(1).await.unwrap().unwrap().state,
        DeploymentState::Aborted
    );
    let reply = c.say("promote 1.3.0 from tst to prd").await;
    assert!(reply.contains("✓ target-idle"), "{reply}");
}

#[tokio::test(start_paused = true)]
async fn a_deployment_in_its_wait_timer_can_be_aborted_and_a_lock_stops_it() {
    let c = chat().await;
    up_to_the_code(&c).await;
    c.say(&c.code("alice").await).await;
    assert!(c.say("@bob: approve").await.contains("Wait timer"));
    let reply = c.say("abort prd").await;
    assert!(reply.contains("Cancelled: #1"), "{reply}");
    c.settle().await;
    assert_eq!(
        c.demo.store.deployment(1).await.unwrap().unwrap().state,
        DeploymentState::Aborted
    );
    assert_eq!(
        c.demo.sim.snapshot(&c.prd()).unwrap().weights,
        Weights::all(Colour::Blue)
    );

    tokio::time::sleep(Duration::from_secs(30)).await;
    up_to_the_code(&c).await;
    c.say(&c.code("alice").await).await;
    c.say("@bob: approve").await;
    assert!(
        c.say("lock prd because incident")
            .await
            .contains("PRD is locked")
    );
    let after = c.settle().await;
    assert!(
        after.contains("was locked by alice while it waited"),
        "{after}"
    );
    assert_eq!(
        c.demo.sim.snapshot(&c.prd()).unwrap().weights,
        Weights::all(Colour::Blue)
    );
}

#[tokio::test(start_paused = true)]
async fn a_rollback_after_a_failed_deployment_is_refused_before_any_question() {
    let c = chat().await;
    c.say("chaos prd error-rate 20").await;
    up_to_the_code(&c).await;
    c.say(&c.code("alice").await).await;
    c.say("@bob: approve").await;
    c.settle().await;
    let reply = c.say("rollback prd").await;
    assert!(
        reply.contains(
            "nothing to roll back in prd: the last deployment (#1, 1.3.0) is rolled back"
        ),
        "{reply}"
    );
    assert!(!reply.contains("(yes/no)"), "{reply}");
}

#[tokio::test(start_paused = true)]
async fn a_second_agent_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let said = Arc::new(Transcript::default());
    let first = Demo::open(
        Config::demo(),
        dir.path(),
        said.clone(),
        Clock::starting_at(0),
    )
    .await
    .unwrap();
    let second = Demo::open(Config::demo(), dir.path(), said, Clock::starting_at(0)).await;
    let Err(e) = second else {
        panic!("two agents on one data dir")
    };
    assert!(e.to_string().contains("another switchyard is using"), "{e}");
    drop(first);
}

#[tokio::test(start_paused = true)]
async fn a_standby_scaled_down_after_its_delay_is_started_again_by_a_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let said = Arc::new(Transcript::default());
    let clock = Clock::starting_at(1_767_225_600_000);
    let mut config = Config::demo();
    config.simulator.scale_down_after = Some(Duration::from_secs(30 * 60));
    let demo = Demo::open(config, dir.path(), said.clone(), clock)
        .await
        .unwrap();
    let c = Chat {
        demo,
        said,
        clock,
        _dir: dir,
    };
    let dev = ServiceRef::new("dev", "storefront-api");

    c.say("deploy 1.4.0 to dev").await;
    // Settling waits out the scale-down delay on the paused clock.
    let before = tokio::time::Instant::now();
    let progress = c.settle().await;
    assert!(progress.contains("Deployment successful! #1"), "{progress}");
    assert!(
        progress.contains("Blue (1.3.1) in DEV scaled down to 0 tasks after #1"),
        "{progress}"
    );
    assert!(before.elapsed() >= Duration::from_secs(30 * 60));
    let fleet = c.demo.sim.snapshot(&dev).unwrap();
    assert_eq!(fleet.blue.desired, 0);
    assert_eq!(fleet.weights, Weights::all(Colour::Green));

    let reply = c.say("rollback dev").await;
    assert!(
        reply.contains("Blue was scaled down to 0 tasks: the rollback starts it again"),
        "{reply}"
    );
    assert!(
        reply.contains("Rollback complete: DEV serves 1.3.1 again"),
        "{reply}"
    );
    let fleet = c.demo.sim.snapshot(&dev).unwrap();
    assert_eq!(fleet.weights, Weights::all(Colour::Blue));
    assert!(fleet.blue.is_ready(), "{:?}", fleet.blue);
}

#[tokio::test(start_paused = true)]
async fn a_later_deployment_keeps_the_earlier_standby_from_being_scaled_down() {
    let dir = tempfile::tempdir().unwrap();
    let said = Arc::new(Transcript::default());
    let clock = Clock::starting_at(1_767_225_600_000);
    let mut config = Config::demo();
    config.simulator.scale_down_after = Some(Duration::from_secs(600));
    let demo = Demo::open(config, dir.path(), said.clone(), clock)
        .await
        .unwrap();
    let dev = ServiceRef::new("dev", "storefront-api");
    demo.agent
        .handle(switchyard::chat::console::incoming(
            "deploy 1.4.0 to dev",
            "alice",
            "switchyard",
        ))
        .await;
    // Within the delay, a second deployment makes blue the new colour again.
    tokio::time::sleep(Duration::from_secs(120)).await;
    demo.agent
        .handle(switchyard::chat::console::incoming(
            "deploy 1.5.0 to dev",
            "alice",
            "switchyard",
        ))
        .await;
    demo.agent.settle().await;
    let text: String = said.take();
    assert!(text.contains("Deployment successful! #2"), "{text}");
    // #1's delay ends first, but blue is #2's live colour: it stays up; #2
    // then scales green (its standby) down.
    let fleet = demo.sim.snapshot(&dev).unwrap();
    assert_eq!(fleet.weights, Weights::all(Colour::Blue));
    assert_eq!(fleet.blue.version.as_deref(), Some("1.5.0"));
    assert!(fleet.blue.is_ready(), "{:?}", fleet.blue);
    assert_eq!(fleet.green.desired, 0);
    assert!(!text.contains("Blue (1.3.1) in DEV scaled down"), "{text}");
}

// One person is one configured user, however the name is typed.

/// The demo configuration with `from` replaced by `to`.
fn demo_config_with(from: &str, to: &str) -> Config {
    assert!(switchyard::config::DEMO_TOML.contains(from), "{from}");
    Config::from_toml_str(&switchyard::config::DEMO_TOML.replacen(from, to, 1)).unwrap()
}

#[tokio::test(start_paused = true)]
async fn an_approver_spelled_in_capitals_does_not_count_twice() {
    let config = demo_config_with("approvals = 1", "approvals = 2");
    let c = chat_with(config, tempfile::tempdir().unwrap()).await;
    up_to_the_code(&c).await;
    let reply = c.say(&c.code("alice").await).await;
    assert!(reply.contains("2 needed"), "{reply}");

    let reply = c.say("@bob: approve").await;
    assert!(reply.contains("#1 approved by bob (1/2)"), "{reply}");
    let reply = c.say("@BOB: approve").await;
    assert!(
        reply.contains("bob has already approved #1 (1/2)"),
        "{reply}"
    );
    assert!(
        !reply.contains("2/2") && !reply.contains("Wait timer"),
        "{reply}"
    );
    c.settle().await;
    let d = c.demo.store.deployment(1).await.unwrap().unwrap();
    assert_eq!(
        d.state,
        DeploymentState::Pending,
        "one person's word moved nothing"
    );
    assert_eq!(d.approvers, ["bob"]);

    let reply = c.say("@dave: approve").await;
    assert!(reply.contains("#1 approved by dave (2/2)"), "{reply}");
    let progress = c.settle().await;
    assert!(progress.contains("Deployment successful! #1"), "{progress}");
}

#[tokio::test(start_paused = true)]
async fn a_requester_cannot_approve_their_own_request_under_another_spelling() {
    let c = chat().await;
    c.say("@ALICE: promote 1.3.0 from tst to prd").await;
    c.say("@ALICE: yes").await;
    let reply = c.say(&format!("@Alice: {}", c.code("alice").await)).await;
    // The request is alice's: she is neither offered as an approver nor pinged.
    assert!(reply.contains("by alice"), "{reply}");
    assert!(reply.contains("bob, dave can approve"), "{reply}");
    let asked = c.demo.store.deployment(1).await.unwrap().unwrap();
    assert_eq!(asked.requested_by, "alice");

    for spelling in ["alice", "ALICE", "aLiCe"] {
        let reply = c.say(&format!("@{spelling}: approve")).await;
        assert!(
            reply.contains("alice may not approve their own deployment to prd"),
            "{spelling}: {reply}"
        );
    }
    let d = c.demo.store.deployment(1).await.unwrap().unwrap();
    assert_eq!(d.state, DeploymentState::Pending);
    assert!(d.approvers.is_empty(), "{:?}", d.approvers);
}

#[tokio::test(start_paused = true)]
async fn approvers_are_recorded_under_their_configured_names() {
    let c = chat().await;
    up_to_the_code(&c).await;
    c.say(&c.code("alice").await).await;
    let reply = c.say("@BOB: approve").await;
    assert!(reply.contains("#1 approved by bob (1/1)"), "{reply}");
    let progress = c.settle().await;
    assert!(progress.contains("Deployment successful! #1"), "{progress}");
    let d = c.demo.store.deployment(1).await.unwrap().unwrap();
    assert_eq!(d.approvers, ["bob"]);
    assert_eq!(d.requested_by, "alice");
}

// The demo's helpers exist only in the demo.

#[tokio::test(start_paused = true)]
async fn code_is_not_understood_when_bot_demo_is_off() {
    let config = demo_config_with("demo = true", "demo = false");
    let c = chat_with(config, tempfile::tempdir().unwrap()).await;
    let said = {
        c.demo
            .agent
            .handle(switchyard::chat::console::incoming(
                "code",
                "alice",
                "switchyard",
            ))
            .await;
        c.said.take_messages()
    };
    let text: Vec<&str> = said.iter().map(|m| m.text.as_str()).collect();
    assert!(said.iter().all(|m| m.private_to.is_none()), "{text:?}");
    let text = text.join("\n");
    assert!(!text.contains(&c.code("alice").await), "{text}");
    assert!(text.contains("I can't run that"), "{text}");
    assert!(!c.say("help").await.contains("`code`"));
}

#[tokio::test(start_paused = true)]
async fn chaos_is_not_understood_when_bot_demo_is_off() {
    let config = demo_config_with("demo = true", "demo = false");
    let c = chat_with(config, tempfile::tempdir().unwrap()).await;
    let reply = c.say("chaos prd error-rate 100").await;
    assert!(reply.contains("I can't run that"), "{reply}");
    assert!(!reply.contains("requests fail"), "{reply}");
    assert!(!c.say("help").await.contains("chaos"));
}

#[tokio::test(start_paused = true)]
async fn a_viewer_cannot_arm_chaos() {
    let c = chat().await;
    let reply = c.say("@carol: chaos prd error-rate 100").await;
    assert!(reply.contains("carol may not arm chaos in prd"), "{reply}");
    assert!(
        reply.contains("rule: environments.prd.policy.deploy"),
        "{reply}"
    );
    // The next prd deployment is not broken by it.
    up_to_the_code(&c).await;
    c.say(&c.code("alice").await).await;
    c.say("@bob: approve").await;
    let progress = c.settle().await;
    assert!(progress.contains("Deployment successful! #1"), "{progress}");
}
