//! The `switchyard` command line: a thin layer over the library. Each subcommand
//! loads what it needs, calls one library entry point and maps the outcome to an
//! exit code (0 ok, 1 invalid configuration or an unreadable store, 2 text that
//! is not a command or an environment that does not exist).

use std::ffi::{OsStr, OsString};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use switchyard::chat::ChatPort;
use switchyard::chat::console::{self, Line};
use switchyard::clock::Clock;
use switchyard::config::{self, Config};
use switchyard::demo::Demo;
use switchyard::intent::{Grammar, Intent, IntentKind, ParseError};
use switchyard::render::Renderer;
use switchyard::store::Store;

#[derive(Parser)]
#[command(
    name = "switchyard",
    version,
    about = "Chat-ops deployment agent: blue/green rollouts on ECS + ALB, driven from chat"
)]
struct Cli {
    /// Configuration file. Without it, the built-in demo configuration
    /// (config/demo.toml) is used.
    #[arg(long, global = true, env = "SWITCHYARD_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    /// The store to read instead of the configuration's `store.url`, e.g.
    /// `sqlite:///var/lib/switchyard/switchyard.db`.
    // The value is hidden in help: a database URL may carry a password.
    #[arg(
        long,
        global = true,
        env = "SWITCHYARD_STORE",
        hide_env_values = true,
        value_name = "URL"
    )]
    store: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the agent on the simulated fleet with the console as the chat channel.
    ///
    /// Reads chat lines from standard input: `TEXT` speaks as the default user,
    /// `@name: TEXT` as user `name`. The store and the fleet live in the data
    /// directory; a fresh one starts from the configuration's `[simulator]` fleet.
    Demo {
        /// Where the demo keeps its store and fleet.
        #[arg(long, value_name = "DIR", default_value = ".switchyard-demo")]
        data_dir: PathBuf,
    },
    /// Run the agent with the configured cloud backend (`cloud = "sim"` or
    /// `"aws"`) and the console as its chat channel.
    Run {
        /// With the simulator backend: where the fleet and store live.
        #[arg(long, value_name = "DIR", default_value = ".switchyard-demo")]
        data_dir: PathBuf,
    },
    /// Read TEXT as a chat command and print the intent it means.
    ///
    /// Exits 0 with the intent, or 2 with what was wrong and what to type instead.
    Parse {
        /// Print the intent (or the error) as one JSON object.
        #[arg(long)]
        json: bool,
        /// The chat message; several arguments are joined with spaces.
        // Taken as raw OS strings: bytes that are not UTF-8 are the message's
        // problem, answered as a parse error (JSON under --json), not clap's.
        #[arg(
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_parser = clap::value_parser!(OsString)
        )]
        text: Vec<OsString>,
    },
    /// Validate a configuration file and the grammar it uses; print errors and
    /// warnings naming the offending key. Exits 1 if there are errors.
    CheckConfig {
        /// The configuration file to check.
        file: PathBuf,
    },
    /// Exit 0 if the agent this configuration describes is healthy: GET
    /// /healthz on `http.listen` when it is set (what `run` serves), else the
    /// configuration is valid. For container health checks: no curl needed.
    Healthcheck,
    /// Print what runs where in the demo's fleet: both colours of every
    /// environment with versions, traffic and health, locks and running
    /// deployments: the chat answer to "status".
    Status {
        /// Only this environment: its name or an alias (`prod`).
        #[arg(long, value_name = "ENV")]
        env: Option<String>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// The demo's data directory.
        #[arg(long, value_name = "DIR", default_value = ".switchyard-demo")]
        data_dir: PathBuf,
    },
    /// Print the latest deployments (version, date, duration, strategy, who,
    /// outcome), then rollbacks, average time and success rate: the chat
    /// answer to "show deployment history".
    History {
        /// Only this environment: its name or an alias (`prod`).
        #[arg(long, value_name = "ENV")]
        env: Option<String>,
        /// How many deployments to list, newest first.
        #[arg(long, value_name = "N", default_value_t = 10,
              value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
        #[command(flatten)]
        output: ReportOutput,
    },
    /// Print what runs where: environment -> service -> version, image,
    /// deployed at, by whom, commit (seed 001's versions.yaml), from the store.
    Versions {
        /// `text` (a table), `yaml` or `json`.
        #[arg(long, value_enum, default_value = "text")]
        format: ManifestFormat,
    },
    /// Print per-environment deployments, failures, rollbacks, MTTR, frequency
    /// and change failure rate, then the latest deployments of the period: the
    /// chat answer to "show deployment metrics".
    Metrics {
        /// The period: the last N days (24-hour spans) up to now.
        #[arg(long, value_name = "N", default_value_t = 7,
              value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
        /// Only this environment: its name or an alias (`prod`).
        #[arg(long, value_name = "ENV")]
        env: Option<String>,
        #[command(flatten)]
        output: ReportOutput,
    },
}

/// How `history` and `metrics` print.
#[derive(Args)]
struct ReportOutput {
    /// Print the report as one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Report as of this instant (milliseconds since the Unix epoch) instead of
    /// the system clock. Hidden: it exists so tests get the same output every
    /// day ("last 7 days" and "last 30 days" are counted back from it).
    #[arg(long, hide = true, value_name = "MS")]
    now: Option<i64>,
}

/// How `versions` prints.
#[derive(Clone, Copy, clap::ValueEnum)]
enum ManifestFormat {
    Text,
    Yaml,
    Json,
}

/// Which report, with its own arguments.
enum Report {
    History { limit: u32 },
    Metrics { days: u32 },
}

fn main() -> ExitCode {
    // Logs go to stderr, plain when it is not a terminal. In the console the
    // chat is on stdout, so only errors are logged unless RUST_LOG asks for more.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "error".into()),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::CheckConfig { file } => Ok(check_config(&file)),
        Command::Healthcheck => load_config(cli.config.as_deref()).and_then(|c| healthcheck(&c)),
        Command::Parse { json, text } => {
            load(cli.config.as_deref()).map(|(_, g)| parse(&g, &text, json))
        }
        Command::Run { data_dir } => {
            load(cli.config.as_deref()).and_then(|(c, _)| run(c, &data_dir))
        }
        Command::Demo { data_dir } => load(cli.config.as_deref()).and_then(|(mut c, _)| {
            // The demo subcommand is demo mode, whatever the file says.
            c.bot.demo = true;
            demo(c, &data_dir)
        }),
        Command::Status {
            env,
            json,
            data_dir,
        } => load_config(cli.config.as_deref())
            .and_then(|c| status(&c, env.as_deref(), json, &data_dir)),
        Command::History { env, limit, output } => {
            load_config(cli.config.as_deref()).and_then(|c| {
                let which = Report::History { limit };
                report(&c, cli.store.as_deref(), env.as_deref(), which, &output)
            })
        }
        Command::Versions { format } => load_config(cli.config.as_deref())
            .and_then(|c| versions(&c, cli.store.as_deref(), format)),
        Command::Metrics { days, env, output } => {
            load_config(cli.config.as_deref()).and_then(|c| {
                let which = Report::Metrics { days };
                report(&c, cli.store.as_deref(), env.as_deref(), which, &output)
            })
        }
    };
    outcome.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::from(1)
    })
}

fn load(path: Option<&Path>) -> anyhow::Result<(Config, Grammar)> {
    let config = load_config(path)?;
    let grammar = Grammar::for_config(&config).context("loading the command grammar")?;
    Ok((config, grammar))
}

fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    Ok(match path {
        Some(p) => Config::load(p).with_context(|| format!("loading {}", p.display()))?,
        None => Config::demo(),
    })
}

/// `status`: the demo fleet as `status` in chat shows it.
fn status(
    config: &Config,
    env: Option<&str>,
    json: bool,
    data_dir: &Path,
) -> anyhow::Result<ExitCode> {
    let fleet = data_dir.join("fleet.json");
    if !fleet.exists() {
        anyhow::bail!(
            "no demo fleet in {}: run `switchyard demo --data-dir {}` first",
            data_dir.display(),
            data_dir.display()
        );
    }
    let env = match env {
        None => None,
        Some(word) => match config.environment(word) {
            Some(e) => Some(e.name.clone()),
            None => {
                let known: Vec<&str> = config
                    .environments
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect();
                eprintln!(
                    "'{word}' is not an environment; known environments: {}",
                    known.join(", ")
                );
                return Ok(ExitCode::from(2));
            }
        },
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let options = switchyard::cloud::sim::SimOptions::configured(&config.simulator);
        let sim = switchyard::cloud::sim::Sim::open(&fleet, Clock::system(), options)?;
        let store = Store::open(&format!(
            "sqlite://{}",
            data_dir.join("switchyard.db").display()
        ))
        .await?;
        let view = switchyard::conversation::status_view(config, &sim.cloud(), &store, env).await;
        if json {
            println!("{view}");
        } else {
            println!("{}", Renderer::new().render("status.j2", view).trim_start());
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `history` and `metrics`: check the arguments, then read, compute and print.
fn report(
    config: &Config,
    store_url: Option<&str>,
    env: Option<&str>,
    which: Report,
    output: &ReportOutput,
) -> anyhow::Result<ExitCode> {
    let env = match env.map(|word| canonical_env(config, word)).transpose() {
        Ok(env) => env,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(ExitCode::from(2));
        }
    };
    let url = store_url.unwrap_or(&config.store.url);
    refuse_missing_file(url)?;
    let now = output.now.unwrap_or_else(|| Clock::system().now_ms());
    // The store is async; only these two subcommands need a runtime, so the
    // others stay plain synchronous code.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let store = runtime.block_on(Store::open(url))?;
    let answer = runtime.block_on(answer(config, &store, env, which, output.json, now));
    runtime.block_on(store.close());
    println!("{}", answer?);
    Ok(ExitCode::SUCCESS)
}

/// `versions`: the manifest of what runs where, read from the store.
fn versions(
    config: &Config,
    store_url: Option<&str>,
    format: ManifestFormat,
) -> anyhow::Result<ExitCode> {
    let url = store_url.unwrap_or(&config.store.url);
    refuse_missing_file(url)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let store = runtime.block_on(Store::open(url))?;
    let manifest = runtime.block_on(switchyard::manifest::Manifest::read(config, &store));
    runtime.block_on(store.close());
    let manifest = manifest?;
    print!(
        "{}",
        match format {
            ManifestFormat::Text => manifest.to_text(),
            ManifestFormat::Yaml => manifest.to_yaml(),
            ManifestFormat::Json => manifest.to_json() + "\n",
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// Records use canonical names, so `prod` must become `prd` before the store
/// is asked; a word that names no environment is the caller's mistake.
fn canonical_env<'c>(config: &'c Config, word: &str) -> Result<&'c str, String> {
    match config.environment(word) {
        Some(env) => Ok(&env.name),
        None => {
            let known: Vec<&str> = config
                .environments
                .iter()
                .map(|e| e.name.as_str())
                .collect();
            Err(format!(
                "'{word}' is not an environment; known environments: {}",
                known.join(", ")
            ))
        }
    }
}

/// The report as of `now`: the rendered table, or one JSON object.
async fn answer(
    config: &Config,
    store: &Store,
    env: Option<&str>,
    which: Report,
    json: bool,
    now: i64,
) -> anyhow::Result<String> {
    let renderer = Renderer::new();
    Ok(match which {
        Report::History { limit } => {
            let summary = store.history_report(env, limit, now).await?;
            if json {
                serde_json::to_string(&summary)?
            } else {
                renderer.history(env, &summary)
            }
        }
        Report::Metrics { days } => {
            let metrics = store
                .metrics_report(env, days, now, |e| config.position(e))
                .await?;
            if json {
                serde_json::to_string(&metrics)?
            } else {
                renderer.metrics(&metrics)
            }
        }
    })
}

/// Opening a SQLite store creates the file. A report must not: with a mistyped
/// `store.url` it would print an empty history instead of saying that nothing
/// is there.
fn refuse_missing_file(url: &str) -> anyhow::Result<()> {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Ok(()); // Store::open explains which URLs it takes.
    };
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path.starts_with(":memory:") || url.contains("mode=memory") {
        return Ok(());
    }
    anyhow::ensure!(
        Path::new(path).exists(),
        "no store at {path}: nothing has been recorded there (set store.url, --store or SWITCHYARD_STORE)"
    );
    Ok(())
}

/// The arguments joined with spaces, as text; or the parse error for bytes
/// that are not UTF-8.
fn message(args: &[OsString]) -> Result<String, ParseError> {
    let joined = args.join(OsStr::new(" "));
    joined.into_string().map_err(|raw| {
        let bytes = raw.as_encoded_bytes();
        ParseError::not_utf8(std::str::from_utf8(bytes).err().map(|e| e.valid_up_to()))
    })
}

fn parse(grammar: &Grammar, args: &[OsString], json: bool) -> ExitCode {
    match message(args).and_then(|text| grammar.parse(&text)) {
        Ok(intent) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string(&intent).expect("intents serialise")
                );
            } else {
                println!("{}", describe(&intent));
                if let Intent::Help { topic } = &intent {
                    println!(
                        "\n{}",
                        Renderer::new()
                            .help(grammar, topic.as_deref().and_then(IntentKind::from_name))
                    );
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            if json {
                println!("{}", serde_json::to_string(&e).expect("errors serialise"));
            } else {
                println!("{}", Renderer::new().parse_error(&e));
            }
            ExitCode::from(2)
        }
    }
}

/// One line: the intent's name, its fields, and the canonical command.
fn describe(intent: &Intent) -> String {
    let value = serde_json::to_value(intent).expect("intents serialise");
    let fields: Vec<String> = value
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| *k != "intent" && !v.is_null() && **v != serde_json::Value::Bool(false))
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            )
        })
        .collect();
    format!(
        "{}: {}\n  as a command: {}",
        intent.kind().name(),
        if fields.is_empty() {
            "(no fields)".to_string()
        } else {
            fields.join(", ")
        },
        intent.command_line()
    )
}

fn check_config(path: &Path) -> ExitCode {
    let report = config::check_file(path);
    let mut errors: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    let warnings: Vec<String> = report.warnings.iter().map(ToString::to_string).collect();
    if let Some(config) = &report.config {
        errors.extend(
            Grammar::check_config(config)
                .into_iter()
                .map(|e| format!("intents: {e}")),
        );
    }
    for w in &warnings {
        println!("warning: {w}");
    }
    for e in &errors {
        println!("error: {e}");
    }
    let summary = format!(
        "{}: {} error(s), {} warning(s)",
        path.display(),
        errors.len(),
        warnings.len()
    );
    if errors.is_empty() {
        println!("{summary}: OK");
        ExitCode::SUCCESS
    } else {
        println!("{summary}");
        ExitCode::from(1)
    }
}

/// `healthcheck`: one GET of /healthz where `run` serves it, with a deadline
/// shorter than the image's HEALTHCHECK timeout.
fn healthcheck(config: &Config) -> anyhow::Result<ExitCode> {
    let Some(mut addr) = config.http.listen else {
        println!("healthy: the configuration is valid (no http.listen, so no /healthz to ask)");
        return Ok(ExitCode::SUCCESS);
    };
    // A server listening on every address answers on loopback.
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let url = format!("http://{addr}/healthz");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let answer = runtime.block_on(async {
        reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(3))
            .build()?
            .get(&url)
            .send()
            .await
    });
    match answer {
        Ok(r) if r.status().is_success() => {
            println!("healthy: {url} answered {}", r.status());
            Ok(ExitCode::SUCCESS)
        }
        Ok(r) => {
            println!("unhealthy: {url} answered {}", r.status());
            Ok(ExitCode::from(1))
        }
        Err(e) => {
            println!("unhealthy: {url} did not answer: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// The console demo: the real agent on the simulated fleet, with the store and
/// fleet kept in `data_dir`. Lines are handled one at a time, each after the
/// previous one was answered; at the end of input it waits for running
/// deployments to finish, then exits.
fn demo(config: Config, data_dir: &Path) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let chat = Arc::new(switchyard::demo::console(data_dir));
        let demo = Demo::open(config.clone(), data_dir, chat.clone(), Clock::system())
            .await
            .with_context(|| format!("starting the demo in {}", data_dir.display()))?;
        let user = default_user(&config);
        let banner = Renderer::new().render(
            "demo_banner.j2",
            serde_json::json!({ "user": user, "dir": data_dir.display().to_string(), "extras": config.bot.demo }),
        );
        println!("{banner}");
        let bot = &config.bot.name;
        console_session(&demo.agent, &*chat, &user, bot, AtEndOfInput::Settle).await;
        Ok(ExitCode::SUCCESS)
    })
}

/// `run`: the agent with the configured cloud backend and chat. The simulator
/// with the console is the demo with the configured store; `aws` drives the
/// fleet described in `[aws]`; `chat = "discord"` serves the server in
/// `[discord]` until the process is asked to stop.
fn run(config: Config, data_dir: &Path) -> anyhow::Result<ExitCode> {
    use switchyard::chat::discord::{self, DiscordChat};
    use switchyard::config::{ChatBackend, CloudBackend};
    if config.cloud == CloudBackend::Sim
        && config.chat == ChatBackend::Console
        && config.http.listen.is_none()
    {
        return demo(config, data_dir);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let discord = match config.chat {
            ChatBackend::Discord => {
                let settings = config
                    .discord
                    .clone()
                    .context("chat = \"discord\" needs a [discord] section")?;
                let http = discord::http(&settings)?;
                Some(DiscordChat::new(settings, Arc::new(http)))
            }
            ChatBackend::Console => None,
        };
        let chat: Arc<dyn ChatPort> = match &discord {
            Some(d) => Arc::new(d.clone()),
            None => Arc::new(switchyard::demo::console(data_dir)),
        };
        // Kept alive while the agent runs (the demo's data-directory lock).
        let mut _demo = None;
        let agent = match config.cloud {
            CloudBackend::Sim => {
                // The simulated fleet lives in the data directory; the records
                // too, unless `store.url` names a server replicas share.
                let shared = if config.store.url.starts_with("sqlite:") {
                    None
                } else {
                    Some(switchyard::demo::Backing::new(
                        Store::open(&config.store.url)
                            .await
                            .context("opening the store")?,
                    ))
                };
                let demo = Demo::open_with(
                    config.clone(),
                    data_dir,
                    shared,
                    chat.clone(),
                    Clock::system(),
                )
                .await
                .with_context(|| format!("starting in {}", data_dir.display()))?;
                let agent = demo.agent.clone();
                _demo = Some(demo);
                agent
            }
            CloudBackend::Aws => {
                let aws = config
                    .aws
                    .clone()
                    .context("cloud = \"aws\" needs an [aws] section")?;
                let service = config
                    .services
                    .first()
                    .map(|s| s.name.clone())
                    .unwrap_or_else(|| "app".into());
                let fleet = switchyard::cloud::aws::connect(&aws, &service)
                    .await
                    .context("connecting to AWS")?;
                let store = Store::open(&config.store.url)
                    .await
                    .context("opening the store")?;
                let fleet = Arc::new(fleet);
                let (agent, _engine) = switchyard::demo::assemble(
                    config.clone(),
                    fleet.cloud(),
                    None,
                    switchyard::gates::Registry::aws(fleet.clone()),
                    switchyard::demo::Backing::new(store),
                    chat.clone(),
                    Clock::system(),
                )
                .await
                .context("starting the agent")?;
                agent
            }
        };
        // Serving HTTP makes the process a daemon: its standard input may be
        // closed or /dev/null, and that must not stop it.
        let at_end = if config.http.listen.is_some() {
            AtEndOfInput::KeepRunning
        } else {
            AtEndOfInput::Settle
        };
        let http = match config.http.listen {
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("listening on {addr} (http.listen)"))?;
                let state =
                    switchyard::http::HttpState::new(agent.clone(), &config.http, Clock::system());
                let router = switchyard::http::router(state, config.http.max_body_bytes);
                let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
                let server = tokio::spawn(switchyard::http::serve(listener, router, async {
                    let _ = stopped.await;
                }));
                Some((stop, server))
            }
            None => None,
        };
        match discord {
            Some(d) => {
                let grammar =
                    Grammar::for_config(&config).context("loading the command grammar")?;
                tokio::select! {
                    served = d.serve(agent.clone(), &grammar, &config) => served?,
                    _ = stop_signal() => tracing::info!("stopping"),
                }
            }
            None => {
                let user = default_user(&config);
                tokio::select! {
                    _ = console_session(&agent, &*chat, &user, &config.bot.name, at_end) => {}
                    _ = stop_signal() => tracing::info!("stopping"),
                }
            }
        }
        // Whatever still runs here is handed to the other replicas (on a
        // shared store) rather than left for them to find after the expiry.
        let released = agent.engine().hand_over().await;
        if released > 0 {
            tracing::info!(released, "released the leases of running deployments");
        }
        if let Some((stop, server)) = http {
            let _ = stop.send(());
            if let Ok(Err(e)) = server.await {
                tracing::warn!(error = %e, "the HTTP server stopped with an error");
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// SIGTERM or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn default_user(config: &Config) -> String {
    config
        .users
        .first()
        .map(|u| u.name.clone())
        .unwrap_or_else(|| "you".into())
}

/// What a console session does when its standard input ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AtEndOfInput {
    /// Wait for running deployments to finish, then return: the demo, and a
    /// `run` whose only way in is the console (a scripted conversation).
    Settle,
    /// Say so and keep running: a `run` that also serves HTTP is a daemon,
    /// stopped by a signal, never by its standard input (closed, /dev/null).
    KeepRunning,
}

/// Reads console lines, one at a time, each answered before the next. A line
/// that is not UTF-8 is refused and the reading goes on.
async fn console_session(
    agent: &Arc<switchyard::conversation::Agent>,
    chat: &dyn ChatPort,
    user: &str,
    bot: &str,
    at_end: AtEndOfInput,
) {
    let mut lines = console::stdin_lines(user);
    while let Some(line) = lines.recv().await {
        match line {
            Line::Text(text) if text.trim().is_empty() => {}
            Line::Text(text) => agent.handle(console::incoming(&text, user, bot)).await,
            Line::NotText { valid_up_to } => {
                if let Err(e) = chat.send(console::not_text_refusal(valid_up_to)).await {
                    tracing::warn!(error = %e, "could not answer a line that is not UTF-8");
                }
            }
        }
    }
    if at_end == AtEndOfInput::KeepRunning {
        let _ = chat.send(console::input_ended()).await;
        return std::future::pending().await;
    }
    match tokio::time::timeout(switchyard::demo::SETTLE_LIMIT, agent.settle()).await {
        Ok(left) => {
            for d in left {
                let what = match d.state {
                    switchyard::store::DeploymentState::Paused => {
                        "stays paused; `resume` it in the next session"
                    }
                    _ => {
                        "is still waiting to start (an approval); it is cancelled on the next start"
                    }
                };
                println!("switchyard: #{} ({} to {}) {what}.", d.id, d.version, d.env);
            }
        }
        Err(_) => eprintln!(
            "switchyard: stopped waiting for running deployments; they continue on the next start"
        ),
    }
}
