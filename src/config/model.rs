//! The configuration's shape: what the TOML file may contain, with serde defaults
//! so that a file naming a single environment is already valid. Every struct denies
//! unknown fields, because a misspelt safety setting (`aprovals = 2`) must fail
//! loudly rather than silently leave production unguarded. Cross-field rules (known
//! roles, unique aliases, ...) live in `validate`, not here.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;

use super::plan::Plan;
use super::secret::Secret;

/// The whole configuration file. A `Config` handed out by this module has passed
/// validation: every role, plan and environment it names exists.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub bot: Bot,
    pub store: Store,
    pub mfa: Mfa,
    /// In promotion order: the first is the most relaxed, the last is production-like.
    pub environments: Vec<Environment>,
    pub services: Vec<Service>,
    pub roles: BTreeMap<String, Role>,
    pub users: Vec<User>,
    /// Built-in plans merged with `[plans.NAME]` tables (which win).
    pub plans: BTreeMap<String, Plan>,
    pub engine: Engine,
    pub conversation: Conversation,
    /// The simulated fleet `switchyard demo` starts from.
    pub simulator: Simulator,
    /// Which fleet `switchyard run` drives.
    pub cloud: CloudBackend,
    /// The real fleet, when `cloud = "aws"`.
    pub aws: Option<super::aws::Aws>,
    /// Where `switchyard run` talks.
    pub chat: ChatBackend,
    /// The Discord server, when `chat = "discord"`.
    pub discord: Option<super::discord::Discord>,
    /// The HTTP endpoints: health, metrics, versions and build webhooks.
    pub http: Http,
}

/// Where the agent talks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatBackend {
    /// Standard input and output.
    #[default]
    Console,
    /// A Discord server, through the bot in `[discord]`.
    Discord,
}

/// The fleet the agent drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CloudBackend {
    /// The in-process simulator (the demo).
    #[default]
    Sim,
    /// ECS services behind an ALB, metrics from CloudWatch or Prometheus.
    Aws,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            bot: Bot::default(),
            store: Store::default(),
            mfa: Mfa::default(),
            environments: Vec::new(),
            services: Vec::new(),
            roles: BTreeMap::new(),
            users: Vec::new(),
            plans: Plan::builtin(),
            engine: Engine::default(),
            conversation: Conversation::default(),
            simulator: Simulator::default(),
            cloud: CloudBackend::default(),
            aws: None,
            chat: ChatBackend::default(),
            discord: None,
            http: Http::default(),
        }
    }
}

/// The HTTP server of `switchyard run`: `/healthz`, `/readyz`, `/metrics`,
/// `/versions` and `POST /hooks/build`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Http {
    /// Where to listen, e.g. `127.0.0.1:8080`; unset: no HTTP server.
    pub listen: Option<std::net::SocketAddr>,
    /// The shared secret build webhooks are signed with (HMAC-SHA256, as
    /// GitHub signs `X-Hub-Signature-256`). Unset: `/hooks/build` refuses every
    /// delivery.
    pub webhook_secret: Option<Secret>,
    /// The largest webhook body accepted, in bytes. A larger declared length
    /// is refused (413) before the body is read.
    pub max_body_bytes: usize,
    /// How long a webhook's body may take to arrive once its headers have;
    /// a sender that stalls gets 408 and its connection closed.
    #[serde(with = "humantime_serde")]
    pub body_timeout: Duration,
    /// How many webhook deliveries are handled at once; the next one is
    /// answered 503 at once rather than held (health routes are not counted).
    pub max_concurrent_hooks: usize,
}

impl Default for Http {
    fn default() -> Http {
        Http {
            listen: None,
            webhook_secret: None,
            max_body_bytes: 64 * 1024,
            body_timeout: Duration::from_secs(10),
            max_concurrent_hooks: 64,
        }
    }
}

/// How the agent talks.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Conversation {
    /// How long a question (yes/no, a TOTP code) waits for its answer.
    #[serde(with = "humantime_serde")]
    pub question_timeout: Duration,
    /// How long an approval request holds its environment before it lapses.
    #[serde(with = "humantime_serde")]
    pub approval_timeout: Duration,
}

impl Default for Conversation {
    fn default() -> Conversation {
        Conversation {
            question_timeout: Duration::from_secs(120),
            approval_timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// The simulated fleet of the demo: what runs where on a fresh start.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Simulator {
    /// Environment name -> the version its first service runs (on blue, 100%).
    pub fleet: BTreeMap<String, String>,
    /// Tasks per colour.
    pub tasks: u32,
    /// From deploy to tasks running, and from running to healthy.
    #[serde(with = "humantime_serde")]
    pub startup: Duration,
    #[serde(with = "humantime_serde")]
    pub health_delay: Duration,
    /// Requests per second each service receives.
    pub requests_per_sec: f64,
    /// Scale the standby colour to zero this long after a deployment; unset
    /// keeps it running (as `scale_down_after` of an AWS target).
    #[serde(with = "humantime_serde::option")]
    pub scale_down_after: Option<Duration>,
}

impl Default for Simulator {
    fn default() -> Simulator {
        Simulator {
            fleet: BTreeMap::new(),
            tasks: 3,
            startup: Duration::from_secs(1),
            health_delay: Duration::from_secs(1),
            requests_per_sec: 200.0,
            scale_down_after: None,
        }
    }
}

/// How the rollout engine behaves across failures.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Engine {
    /// What a restarted engine does with a deployment that was mid-way.
    pub recovery: Recovery,
    /// How long a retryable cloud error (throttling, timeouts) is retried with
    /// backoff before the step counts as failed and the deployment rolls back.
    #[serde(with = "humantime_serde")]
    pub retry_deadline: Duration,
    /// The first retry's delay; each next one doubles, up to 10 s.
    #[serde(with = "humantime_serde")]
    pub retry_backoff: Duration,
    /// How long a replica's hold on a running deployment lasts without
    /// renewal (renewed every third of it): how soon another replica sharing
    /// the store takes over when this one dies.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    /// What the watcher of idle routes does with a route that differs from
    /// what the last finished deployment left ([`crate::rollout::reconcile`]).
    pub reconcile: Reconcile,
    /// How often idle routes are compared with the store (1 s–10 s): the
    /// longest a drifted route goes unnoticed.
    #[serde(with = "humantime_serde")]
    pub reconcile_every: Duration,
}

impl Default for Engine {
    fn default() -> Engine {
        Engine {
            recovery: Recovery::Rollback,
            retry_deadline: Duration::from_secs(120),
            retry_backoff: Duration::from_millis(200),
            lease: crate::rollout::engine::DEFAULT_LEASE,
            reconcile: Reconcile::Repair,
            reconcile_every: crate::rollout::reconcile::DEFAULT_EVERY,
        }
    }
}

/// `engine.reconcile`: a route found split, or whole on the wrong colour,
/// with nothing running, is always announced in the channel and the audit
/// log; this says whether it is also put back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reconcile {
    /// Put the route back to what the last finished deployment left.
    #[default]
    Repair,
    /// Only say so: a person decides (roll back, redeploy, or fix it by hand).
    Alert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Recovery {
    /// Resume from the last completed step when the new colour is provably
    /// healthy (ready, and passing analysis if it carries traffic); otherwise roll
    /// back. The default: never continue on a colour nobody can vouch for.
    #[default]
    ResumeIfHealthy,
    /// Always roll back: traffic returns to the stable colour at once.
    Rollback,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Bot {
    /// How the bot names itself in chat.
    pub name: String,
    /// Grammar files to read instead of the built-in `intents/`; a relative path is
    /// taken from the config file's directory when loaded with `Config::load`.
    pub intents_dir: Option<PathBuf>,
    /// Demo mode: inline secrets are expected and not warned about.
    pub demo: bool,
}

impl Default for Bot {
    fn default() -> Bot {
        Bot {
            name: "switchyard".to_owned(),
            intents_dir: None,
            demo: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Store {
    /// Where deployments, the journal, audit and MFA state live.
    pub url: String,
}

impl Default for Store {
    fn default() -> Store {
        Store {
            url: "sqlite://switchyard.db".to_owned(),
        }
    }
}

/// TOTP parameters (RFC 6238) and the protection around them.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mfa {
    /// Encrypts TOTP seeds enrolled by chat before they are stored: 64 hex digits (32 bytes).
    pub encryption_key: Option<Secret>,
    /// The issuer shown by authenticator apps.
    pub issuer: String,
    pub digits: u32,
    #[serde(with = "humantime_serde")]
    pub period: Duration,
    /// Codes from this many periods before or after now are accepted (clock drift).
    pub skew: u32,
    /// Failed codes in a row before a user is locked out of MFA.
    pub max_failures: u32,
    #[serde(with = "humantime_serde")]
    pub lockout: Duration,
}

impl Default for Mfa {
    fn default() -> Mfa {
        Mfa {
            encryption_key: None,
            issuer: "switchyard".to_owned(),
            digits: 6,
            period: Duration::from_secs(30),
            skew: 1,
            max_failures: 5,
            lockout: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Canonical name, `[a-z][a-z0-9-]*`; what chat replies and records use.
    pub name: String,
    /// Other words users may type for it, matched case-insensitively.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The rollout plan used when a command names no strategy.
    #[serde(default = "default_plan")]
    pub plan: String,
    #[serde(default)]
    pub policy: Policy,
    /// Checks from the outside world added to this environment's checklist.
    #[serde(default)]
    pub checks: Vec<super::checks::CheckSpec>,
}

fn default_plan() -> String {
    "blue-green".to_owned()
}

impl Environment {
    /// True when `word` is this environment's name or one of its aliases, ignoring case.
    pub fn is_called(&self, word: &str) -> bool {
        self.words().any(|w| w.eq_ignore_ascii_case(word))
    }

    /// The name followed by the aliases.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

/// What an environment demands before a change starts, and who may ask for it.
/// The role lists name roles from `[roles]`; an empty list means nobody.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Ask "are you sure?" before starting.
    pub confirm: bool,
    /// Ask for a TOTP code before starting.
    pub mfa: bool,
    /// Approvals needed from other users holding an `approve` role.
    pub approvals: u32,
    /// Pause between the last approval and the first traffic shift.
    #[serde(with = "humantime_serde")]
    pub wait_timer: Duration,
    pub versions: VersionRule,
    pub deploy: Vec<String>,
    pub promote: Vec<String>,
    pub rollback: Vec<String>,
    pub approve: Vec<String>,
    /// May lock and unlock the environment.
    pub lock: Vec<String>,
    /// May deploy with `emergency` (hotfix): skips the wait timer, never approvals or MFA.
    pub emergency: Vec<String>,
    /// A branch whose builds deploy here on their own (e.g. `main` for dev).
    pub follow_branch: Option<String>,
    /// Where promotions come from; by default the environment before this one.
    pub promote_from: Option<String>,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            confirm: true,
            mfa: false,
            approvals: 0,
            wait_timer: Duration::ZERO,
            versions: VersionRule::Any,
            deploy: Vec::new(),
            promote: Vec::new(),
            rollback: Vec::new(),
            approve: Vec::new(),
            lock: Vec::new(),
            emergency: Vec::new(),
            follow_branch: None,
            promote_from: None,
        }
    }
}

/// The actions a policy grants to roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Deploy,
    Promote,
    Rollback,
    Approve,
    Lock,
    Emergency,
}

impl Action {
    pub const ALL: [Action; 6] = [
        Action::Deploy,
        Action::Promote,
        Action::Rollback,
        Action::Approve,
        Action::Lock,
        Action::Emergency,
    ];

    /// The policy key that lists the roles for this action.
    pub fn key(self) -> &'static str {
        match self {
            Action::Deploy => "deploy",
            Action::Promote => "promote",
            Action::Rollback => "rollback",
            Action::Approve => "approve",
            Action::Lock => "lock",
            Action::Emergency => "emergency",
        }
    }
}

impl Policy {
    /// The roles that may perform `action` here.
    pub fn roles(&self, action: Action) -> &[String] {
        match action {
            Action::Deploy => &self.deploy,
            Action::Promote => &self.promote,
            Action::Rollback => &self.rollback,
            Action::Approve => &self.approve,
            Action::Lock => &self.lock,
            Action::Emergency => &self.emergency,
        }
    }
}

/// Which version strings an environment accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionRule {
    /// Any tag, e.g. `main-a1b2c3d-20250823143022`.
    #[default]
    Any,
    /// Only semantic versions such as `1.3.0` or `2.0.0-rc.1` (no leading `v`).
    Semver,
}

impl VersionRule {
    pub fn accepts(self, version: &str) -> bool {
        // From semver.org, without the leading `v` (the grammar strips it).
        static SEMVER: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(concat!(
                r"^(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)", // no leading zeros
                r"(?:-(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)",    // -pre.release
                r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?",
                r"(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$", // +build.metadata
            ))
            .expect("semver pattern compiles")
        });
        match self {
            VersionRule::Any => !version.is_empty(),
            VersionRule::Semver => SEMVER.is_match(version),
        }
    }
}

/// Something switchyard deploys (an ECS service behind the environment's listener).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Role {
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Login-like name, `[a-z][a-z0-9-]*`; `@name:` in the console demo.
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Base32 TOTP seed; absent until the user enrols by chat.
    #[serde(default)]
    pub totp_secret: Option<Secret>,
}

impl User {
    /// The name to show people: the display name, or else the login name.
    pub fn display(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.name)
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// True when one of the user's roles may perform `action` under `policy`.
    pub fn may(&self, policy: &Policy, action: Action) -> bool {
        policy.roles(action).iter().any(|role| self.has_role(role))
    }
}

impl Config {
    /// The environment called `word` (name or alias, any case).
    pub fn environment(&self, word: &str) -> Option<&Environment> {
        self.environments.iter().find(|env| env.is_called(word))
    }

    /// Position in the promotion order (0 = first), by canonical name.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.environments.iter().position(|env| env.name == name)
    }

    /// Where promotions into `env` come from: `promote_from`, else the previous environment.
    pub fn promotion_source(&self, env: &Environment) -> Option<&Environment> {
        match &env.policy.promote_from {
            Some(from) => self.environment(from),
            None => self
                .position(&env.name)?
                .checked_sub(1)
                .map(|i| &self.environments[i]),
        }
    }

    pub fn plan(&self, name: &str) -> Option<&Plan> {
        self.plans.get(name)
    }

    /// Every word that names an environment, for help text and "did you mean".
    pub fn environment_words(&self) -> impl Iterator<Item = &str> {
        self.environments.iter().flat_map(Environment::words)
    }

    /// Every secret with its key path, so checks and loading treat them alike.
    /// A new secret field must be added here (and to `secrets_mut`).
    pub fn secrets(&self) -> Vec<(String, &Secret)> {
        let mut out = Vec::new();
        if let Some(key) = &self.mfa.encryption_key {
            out.push(("mfa.encryption_key".to_owned(), key));
        }
        for (i, user) in self.users.iter().enumerate() {
            if let Some(seed) = &user.totp_secret {
                out.push((format!("users[{i}].totp_secret"), seed));
            }
        }
        if let Some(d) = &self.discord {
            out.push(("discord.token".to_owned(), &d.token));
        }
        if let Some(s) = &self.http.webhook_secret {
            out.push(("http.webhook_secret".to_owned(), s));
        }
        for (i, env) in self.environments.iter().enumerate() {
            for (j, check) in env.checks.iter().enumerate() {
                if let Some(token) = check.kind.token() {
                    out.push((format!("environments[{i}].checks[{j}].token"), token));
                }
            }
        }
        out
    }

    pub(crate) fn secrets_mut(&mut self) -> Vec<&mut Secret> {
        let users = self.users.iter_mut().filter_map(|u| u.totp_secret.as_mut());
        let token = self.discord.as_mut().map(|d| &mut d.token);
        let webhook = self.http.webhook_secret.as_mut();
        let checks = self
            .environments
            .iter_mut()
            .flat_map(|env| env.checks.iter_mut())
            .filter_map(|check| check.kind.token_mut());
        self.mfa
            .encryption_key
            .iter_mut()
            .chain(users)
            .chain(token)
            .chain(webhook)
            .chain(checks)
            .collect()
    }
}
