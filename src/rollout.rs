//! The deployment engine: moves traffic from the live colour to the new one in
//! steps, judges every step, rolls back on its own, and survives its own crash.
//!
//! - [`plan`]: a deployment as a script of idempotent steps.
//! - [`analysis`]: judging a step's signals against thresholds and the baseline.
//! - [`runner`]: one deployment's task: steps, bakes, pause/abort, rollback.
//! - [`engine`]: the front door: start, pause, resume, abort, rollback, locks,
//!   recovery after a restart, takeover of a dead replica's deployments.
//! - `tenure`: the leases this engine holds on its deployments, renewed in
//!   the background and checked before every journal write.
//! - [`reconcile`]: the watcher of idle routes: a route that differs from
//!   what the last finished deployment left is announced and put back.
//! - [`events`]: what the engine tells chat and notifications while it works.
//! - [`retry`]: backoff for throttled calls; weights read back until applied.
//!
//! Nothing here knows which cloud it drives: it speaks only to the ports in
//! [`crate::cloud`], and records everything in [`crate::store`] before acting.

pub mod analysis;
mod core;
pub mod engine;
pub mod events;
pub mod plan;
pub mod reconcile;
pub mod retry;
mod runner;
mod tenure;

pub use analysis::{Breach, Metric, Verdict};
pub use engine::{DeployRequest, Engine, EngineError, EngineOptions, Prepared, RolledBack};
pub use events::{Event, EventKind};
pub use plan::Step;
pub use reconcile::Drift;
pub use retry::Retry;
pub use runner::Control;
