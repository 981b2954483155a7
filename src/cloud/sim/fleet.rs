//! The simulated services and their tasks. Nothing here is a timer: each colour
//! records when its tasks were started, and readiness is computed from those
//! timestamps and the current virtual time. That keeps the simulator
//! deterministic under tokio's paused clock and lets a persisted fleet resume
//! exactly where it was (a deploy that was starting when the process died is
//! further along, or done, when it is reopened).

use serde::{Deserialize, Serialize};

use super::faults::Fault;
use super::route::Route;
use crate::cloud::{Colour, Readiness, Weights};

/// How long tasks take, in milliseconds (from `SimOptions`).
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Started -> running.
    pub startup_ms: i64,
    /// Running -> passing health checks.
    pub health_ms: i64,
}

/// Tasks started together, which therefore become running and healthy together.
/// Scaling up adds a cohort instead of restarting the ones already serving.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cohort {
    pub tasks: u32,
    pub started_ms: i64,
    /// Set by a `never_healthy` fault in force when the cohort started, or set
    /// while it was still starting. Stays set after the fault is cleared: the
    /// tasks are broken, only a new deploy replaces them.
    #[serde(default)]
    pub never_healthy: bool,
    /// Same, for `crash_loop`.
    #[serde(default)]
    pub crash_loop: bool,
}

impl Cohort {
    fn new(tasks: u32, now: i64, fault: Option<&Fault>, version: Option<&str>) -> Cohort {
        let mut cohort = Cohort {
            tasks,
            started_ms: now,
            never_healthy: false,
            crash_loop: false,
        };
        cohort.catch(fault, version);
        cohort
    }

    /// Takes on the task faults of `fault` if they apply to `version`.
    fn catch(&mut self, fault: Option<&Fault>, version: Option<&str>) {
        if let Some(fault) = fault.filter(|fault| fault.affects(version)) {
            self.never_healthy |= fault.never_healthy;
            self.crash_loop |= fault.crash_loop;
        }
    }

    /// Still starting or waiting for its first health check at `now`.
    fn settling(&self, now: i64, timing: Timing) -> bool {
        now < self
            .started_ms
            .saturating_add(timing.startup_ms)
            .saturating_add(timing.health_ms)
    }

    /// `(running, healthy, restarts)` at `now`.
    fn status(&self, now: i64, timing: Timing) -> (u32, u32, u32) {
        // A timestamp in the future (a file written under a clock that ran ahead)
        // counts as "just started" rather than as negative time.
        let elapsed = now.saturating_sub(self.started_ms).max(0);
        if self.crash_loop {
            // Each period of `startup` the tasks alternate: starting, running,
            // crash, starting again... They never live long enough to pass a
            // health check, and every crash is one restart per task.
            let period = timing.startup_ms.max(1);
            let phase = elapsed / period;
            let crashes = u32::try_from(phase / 2).unwrap_or(u32::MAX);
            let running = if phase % 2 == 1 { self.tasks } else { 0 };
            return (running, 0, crashes.saturating_mul(self.tasks));
        }
        let running = if elapsed >= timing.startup_ms {
            self.tasks
        } else {
            0
        };
        let healthy = if !self.never_healthy
            && elapsed >= timing.startup_ms.saturating_add(timing.health_ms)
        {
            self.tasks
        } else {
            0
        };
        (running, healthy, 0)
    }
}

/// One colour of a service. Invariant: the desired task count is the sum of the
/// cohorts' tasks; no cohort is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColourState {
    pub version: Option<String>,
    pub cohorts: Vec<Cohort>,
}

impl ColourState {
    pub fn desired(&self) -> u32 {
        self.cohorts
            .iter()
            .fold(0u32, |sum, c| sum.saturating_add(c.tasks))
    }

    pub fn readiness(&self, now: i64, timing: Timing) -> Readiness {
        let (mut running, mut healthy, mut restarts) = (0u32, 0u32, 0u32);
        for cohort in &self.cohorts {
            let (r, h, x) = cohort.status(now, timing);
            running = running.saturating_add(r);
            healthy = healthy.saturating_add(h);
            restarts = restarts.saturating_add(x);
        }
        Readiness {
            version: self.version.clone(),
            desired: self.desired(),
            running,
            healthy,
            restarts,
        }
    }

    /// Replaces the colour's tasks with `tasks` new ones running `version`.
    /// Asking again for what the colour already runs, at full size and without
    /// broken tasks, changes nothing: a ready colour stays ready, a starting one
    /// keeps its progress. That makes a repeated deploy (an engine resuming after
    /// a crash) harmless.
    pub fn deploy(&mut self, version: &str, tasks: u32, now: i64, fault: Option<&Fault>) {
        let unchanged = self.version.as_deref() == Some(version)
            && self.desired() == tasks
            && self
                .cohorts
                .iter()
                .all(|c| !c.never_healthy && !c.crash_loop);
        if unchanged {
            return;
        }
        self.version = Some(version.to_owned());
        self.cohorts.clear();
        if tasks > 0 {
            self.cohorts
                .push(Cohort::new(tasks, now, fault, Some(version)));
        }
    }

    /// Sets the task count. Growing starts a new cohort (the new tasks need
    /// `startup` again, the old ones keep serving); shrinking stops the newest
    /// tasks first, which are the least likely to be serving yet.
    pub fn scale(&mut self, tasks: u32, now: i64, fault: Option<&Fault>) {
        let desired = self.desired();
        if tasks > desired {
            let cohort = Cohort::new(tasks - desired, now, fault, self.version.as_deref());
            self.cohorts.push(cohort);
            return;
        }
        let mut surplus = desired - tasks;
        while surplus > 0 {
            let Some(newest) = self.cohorts.last_mut() else {
                break;
            };
            let cut = newest.tasks.min(surplus);
            newest.tasks -= cut;
            surplus -= cut;
            if newest.tasks == 0 {
                self.cohorts.pop();
            }
        }
    }

    /// A fault set now also breaks tasks that are still starting: they were
    /// "newly deployed" when it struck.
    pub fn catch_fault(&mut self, fault: &Fault, now: i64, timing: Timing) {
        let version = self.version.clone();
        for cohort in &mut self.cohorts {
            if cohort.settling(now, timing) {
                cohort.catch(Some(fault), version.as_deref());
            }
        }
    }
}

/// One simulated service: its configured size, both colours and its route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// Tasks a deploy starts (the service's configured task count).
    pub tasks: u32,
    pub blue: ColourState,
    pub green: ColourState,
    pub route: Route,
}

impl Service {
    /// Blue runs `live_version` and is already ready and healthy (its tasks are
    /// dated far enough back); green is empty; all traffic goes to blue.
    pub fn new(tasks: u32, live_version: &str, now: i64, timing: Timing) -> Service {
        let settled = now
            .saturating_sub(timing.startup_ms)
            .saturating_sub(timing.health_ms);
        let blue = ColourState {
            version: Some(live_version.to_owned()),
            cohorts: (tasks > 0)
                .then(|| Cohort::new(tasks, settled, None, None))
                .into_iter()
                .collect(),
        };
        Service {
            tasks,
            blue,
            green: ColourState::default(),
            route: Route::new(Weights::all(Colour::Blue), now),
        }
    }

    pub fn colour(&self, colour: Colour) -> &ColourState {
        match colour {
            Colour::Blue => &self.blue,
            Colour::Green => &self.green,
        }
    }

    pub fn colour_mut(&mut self, colour: Colour) -> &mut ColourState {
        match colour {
            Colour::Blue => &mut self.blue,
            Colour::Green => &mut self.green,
        }
    }
}
