//! The `switchyard` command line: a thin layer over the library. Each subcommand
//! loads what it needs, calls one library entry point and maps the outcome to an
//! exit code (0 ok, 1 invalid configuration, 2 text that is not a command).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use switchyard::config::{self, Config};
use switchyard::intent::{Grammar, Intent, IntentKind};
use switchyard::render::Renderer;

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

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the agent on the simulated fleet with the console as the chat channel.
    ///
    /// Reads chat lines from standard input: `TEXT` speaks as the default user,
    /// `@name: TEXT` as user `name`.
    Demo,
    /// Read TEXT as a chat command and print the intent it means.
    ///
    /// Exits 0 with the intent, or 2 with what was wrong and what to type instead.
    Parse {
        /// Print the intent (or the error) as one JSON object.
        #[arg(long)]
        json: bool,
        /// The chat message; several arguments are joined with spaces.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        text: Vec<String>,
    },
    /// Validate a configuration file and the grammar it uses; print errors and
    /// warnings naming the offending key. Exits 1 if there are errors.
    CheckConfig {
        /// The configuration file to check.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::CheckConfig { file } => Ok(check_config(&file)),
        Command::Parse { json, text } => {
            load(cli.config.as_deref()).map(|(_, g)| parse(&g, &text.join(" "), json))
        }
        Command::Demo => load(cli.config.as_deref()).and_then(|(c, g)| demo(&c, &g)),
    };
    outcome.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::from(1)
    })
}

fn load(path: Option<&Path>) -> anyhow::Result<(Config, Grammar)> {
    let config = match path {
        Some(p) => Config::load(p).with_context(|| format!("loading {}", p.display()))?,
        None => Config::demo(),
    };
    let grammar = Grammar::for_config(&config).context("loading the command grammar")?;
    Ok((config, grammar))
}

fn parse(grammar: &Grammar, text: &str, json: bool) -> ExitCode {
    match grammar.parse(text) {
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

/// The console demo. The deployment engine arrives in a later stage; for now the
/// console shows how switchyard reads each message.
fn demo(config: &Config, grammar: &Grammar) -> anyhow::Result<ExitCode> {
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    let default_user = config
        .users
        .first()
        .map(|u| u.name.clone())
        .unwrap_or_else(|| "you".into());
    let renderer = Renderer::new();
    println!(
        "{}",
        renderer.render(
            "demo_banner.j2",
            serde_json::json!({ "user": default_user })
        )
    );
    let mut out = std::io::stdout();
    loop {
        if interactive {
            print!("{default_user}> ");
            out.flush()?;
        }
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            return Ok(ExitCode::SUCCESS);
        }
        let (user, text) = speaker(&line, &default_user, &config.bot.name);
        if text.trim().is_empty() {
            continue;
        }
        let reply = if config.user(user).is_none() {
            let users: Vec<&str> = config.users.iter().map(|u| u.name.as_str()).collect();
            renderer.render(
                "unknown_user.j2",
                serde_json::json!({ "name": user, "users": users }),
            )
        } else {
            match grammar.parse(text) {
            Ok(Intent::Help { topic }) => {
                renderer.help(grammar, topic.as_deref().and_then(IntentKind::from_name))
            }
            Ok(intent) => renderer.render(
                "understood.j2",
                serde_json::json!({ "user": user, "command": intent.command_line(), "intent": intent.kind().name() }),
            ),
            Err(e) => renderer.parse_error(&e),
            }
        };
        println!("switchyard: {}", reply.replace('\n', "\n            "));
    }
}

/// Splits `@name: TEXT` into the speaker and the text. `@bot: TEXT` is a mention
/// of the bot, not a speaker, and stays part of the text.
fn speaker<'a>(line: &'a str, default_user: &'a str, bot: &str) -> (&'a str, &'a str) {
    let line = line.trim_end_matches(['\n', '\r']);
    if let Some(rest) = line.strip_prefix('@')
        && let Some((name, text)) = rest.split_once(':')
        && !name.is_empty()
        && !name.eq_ignore_ascii_case(bot)
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return (name, text.trim_start());
    }
    (default_user, line)
}
