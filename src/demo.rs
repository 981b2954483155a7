//! `switchyard demo`: the real agent on the simulated fleet, with the SQLite
//! store and the console as its chat, all kept in one data directory.
//!
//! A fresh directory starts from the fleet in `[simulator]` (dev 1.3.1, tst
//! 1.3.0, prd 1.2.0 on blue); a directory used before continues where it was
//! left, deployments mid-way included (the engine recovers them on start).
//! Tests build the same agent with [`Demo::open`] and their own chat port.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::chat::ChatPort;
use crate::chat::console::Console;
use crate::clock::Clock;
use crate::cloud::sim::{Sim, SimOptions};
use crate::cloud::{Cloud, ServiceRef};
use crate::config::Config;
use crate::conversation::{Agent, Parts};
use crate::intent::Grammar;
use crate::mfa::Mfa;
use crate::rollout::{Engine, EngineOptions, Retry};
use crate::store::Store;

/// The running demo: the agent and the pieces tests look at.
pub struct Demo {
    pub agent: Arc<Agent>,
    pub engine: Arc<Engine>,
    pub sim: Sim,
    pub store: Store,
    pub dir: PathBuf,
    /// Held while the demo runs: a second process on the same directory would
    /// drive the same deployments (see [`Demo::open`]).
    _lock: std::fs::File,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot use the data directory {path}: {source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
    #[error("another switchyard is using {0}; stop it first, or use another --data-dir")]
    Busy(String),
    #[error("the simulated fleet: {0}")]
    Sim(#[from] crate::cloud::sim::SimError),
    #[error("the store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("MFA: {0}")]
    Mfa(#[from] crate::mfa::MfaError),
    #[error("the command grammar: {0}")]
    Grammar(#[from] crate::intent::GrammarError),
    #[error("recovering unfinished deployments: {0}")]
    Engine(#[from] crate::rollout::EngineError),
}

impl Demo {
    /// Opens (or starts) the demo in `dir` with `config`, talking through `chat`.
    pub async fn open(
        config: Config,
        dir: &Path,
        chat: Arc<dyn ChatPort>,
        clock: Clock,
    ) -> Result<Demo, DemoError> {
        Demo::open_with(config, dir, None, chat, clock).await
    }

    /// As [`Demo::open`], with the simulated fleet in `dir` but the records in
    /// `shared` when given (a store other replicas share) instead of the
    /// directory's own SQLite file.
    pub async fn open_with(
        config: Config,
        dir: &Path,
        shared: Option<Backing>,
        chat: Arc<dyn ChatPort>,
        clock: Clock,
    ) -> Result<Demo, DemoError> {
        std::fs::create_dir_all(dir).map_err(|source| DemoError::Dir {
            path: dir.display().to_string(),
            source,
        })?;
        let lock = std::fs::File::create(dir.join(".lock")).map_err(|source| DemoError::Dir {
            path: dir.display().to_string(),
            source,
        })?;
        if lock.try_lock().is_err() {
            return Err(DemoError::Busy(dir.display().to_string()));
        }
        let sim_cfg = &config.simulator;
        let options = SimOptions::configured(sim_cfg);
        let sim = Sim::open(&dir.join("fleet.json"), clock, options)?;
        let service = config
            .services
            .first()
            .map(|s| s.name.clone())
            .unwrap_or_else(|| "app".into());
        for (env, version) in &sim_cfg.fleet {
            // Does nothing for a service the fleet already has (a reopened directory).
            sim.add_service(
                &ServiceRef::new(env, &service),
                sim_cfg.tasks.max(1),
                version,
            )?;
        }
        let backing = match shared {
            Some(shared) => shared,
            None => Backing::new(
                Store::open(&format!("sqlite://{}", dir.join("switchyard.db").display())).await?,
            ),
        };
        let store = backing.store.clone();
        let (agent, engine) = assemble(
            config,
            sim.cloud(),
            Some(sim.clone()),
            crate::gates::Registry::default(),
            backing,
            chat,
            clock,
        )
        .await?;
        Ok(Demo {
            agent,
            engine,
            sim,
            store,
            dir: dir.to_path_buf(),
            _lock: lock,
        })
    }
}

/// Where the demo's console saves attachments (charts, an enrolment's QR
/// code): beside the store in the data directory, so they are found with the
/// demo's other files and go when the directory goes.
pub fn attachments_dir(dir: &Path) -> PathBuf {
    dir.join("attachments")
}

/// The console on standard output, saving attachments in
/// [`attachments_dir`] of `dir`.
pub fn console(dir: &Path) -> Console {
    Console::stdout().with_attachments_dir(attachments_dir(dir))
}

/// Builds the agent on `cloud` (the simulator for the demo, AWS for `run`),
/// starts streaming its progress, and recovers what a previous process left
/// mid-way (after the agent listens, so the takeover is announced).
pub async fn assemble(
    config: Config,
    cloud: Cloud,
    sim: Option<Sim>,
    registry: crate::gates::Registry,
    backing: Backing,
    chat: Arc<dyn ChatPort>,
    clock: Clock,
) -> Result<(Arc<Agent>, Arc<Engine>), DemoError> {
    let Backing { store, replica } = backing;
    let mfa = Mfa::new(store.clone(), &config.mfa, &config.users)?;
    let retry = Retry {
        deadline: config.engine.retry_deadline,
        backoff: config.engine.retry_backoff,
    };
    let options = EngineOptions {
        recovery: config.engine.recovery,
        lease: Some(config.engine.lease),
        replica,
        reconcile: config.engine.reconcile,
        reconcile_every: Some(config.engine.reconcile_every),
        ..EngineOptions::default()
    };
    let shared_store = store.backend() == crate::store::Backend::Postgres;
    let engine = Arc::new(Engine::new(
        store.clone(),
        cloud.clone(),
        clock,
        retry,
        options,
    ));
    let grammar = Grammar::for_config(&config)?;
    let question_timeout = config.conversation.question_timeout;
    let agent = Agent::start(Parts {
        config,
        grammar,
        engine: engine.clone(),
        store,
        cloud,
        mfa,
        chat,
        clock,
        sim,
        registry,
        question_timeout,
    });
    engine.recover().await?;
    // On a store other replicas share, a deployment whose replica died is
    // taken over by whichever survivor looks first.
    if shared_store {
        engine.watch_orphans();
    }
    // Idle routes are compared with the store on every store: the single
    // process watches them all, replicas share them out by environment.
    engine.watch_routes();
    Ok((agent, engine))
}

/// Where the agent keeps its records, and under which name it takes leases
/// and asks questions there.
pub struct Backing {
    pub store: Store,
    /// This replica's name; [`crate::replica::id`] when `None` (tests run
    /// two replicas in one process, which need two names).
    pub replica: Option<String>,
}

impl Backing {
    /// `store`, under this process's replica id.
    pub fn new(store: Store) -> Backing {
        Backing {
            store,
            replica: None,
        }
    }
}

/// How long the console waits, at the end of its input, for a deployment that
/// will never finish on its own (one waiting for an approval nobody will give).
pub const SETTLE_LIMIT: Duration = Duration::from_secs(600);
