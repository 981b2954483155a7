//! The route in front of one service: the weights in force over time, and a change
//! that has been asked for but is not visible yet. The history is what signals
//! integrate over (a colour's requests follow its share while the share held);
//! the pending change is how the `weights_lag` fault makes the engine read back.

use serde::{Deserialize, Serialize};

use crate::cloud::{Colour, Weights};

/// A weights change accepted by `set_weights` but not yet applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub weights: Weights,
    /// How many more `weights()` reads return the old split before this applies.
    pub reads_left: u32,
}

/// Invariant: `history` is non-empty and sorted by time; its last entry is the
/// split the route applies now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    /// `(since_ms, weights)`: each split holds from its time to the next entry's.
    pub history: Vec<(i64, Weights)>,
    pub pending: Option<Pending>,
}

impl Route {
    pub fn new(weights: Weights, now: i64) -> Route {
        Route {
            history: vec![(now, weights)],
            pending: None,
        }
    }

    /// The split in force now.
    pub fn current(&self) -> Weights {
        self.history
            .last()
            .map(|&(_, weights)| weights)
            .unwrap_or(Weights::all(Colour::Blue))
    }

    /// Accepts a change; with `lag` 0 it applies at once, otherwise after `lag`
    /// reads. A newer request replaces a pending one, as a real API's last write
    /// wins.
    pub fn request(&mut self, weights: Weights, lag: u32, now: i64) {
        if lag == 0 {
            self.pending = None;
            self.apply(weights, now);
        } else {
            self.pending = Some(Pending {
                weights,
                reads_left: lag,
            });
        }
    }

    /// What a `weights()` call sees: a pending change counts the read down and
    /// applies once no reads are left, so exactly `lag` reads see the old split.
    pub fn read(&mut self, now: i64) -> Weights {
        if let Some(pending) = self.pending.as_mut() {
            if pending.reads_left == 0 {
                let weights = pending.weights;
                self.pending = None;
                self.apply(weights, now);
            } else {
                pending.reads_left -= 1;
            }
        }
        self.current()
    }

    fn apply(&mut self, weights: Weights, now: i64) {
        if self.current() == weights {
            return;
        }
        match self.history.last_mut() {
            // Two changes within the same millisecond: the earlier one carried no
            // traffic, so it is replaced rather than kept as an empty interval.
            Some(last) if last.0 >= now => last.1 = weights,
            _ => self.history.push((now, weights)),
        }
    }

    /// The splits overlapping `[start, end)`, each clipped to it, as
    /// `(from, until, weights)`. Nothing before the route existed.
    pub fn segments(&self, start: i64, end: i64) -> Vec<(i64, i64, Weights)> {
        let mut out = Vec::new();
        for (i, &(since, weights)) in self.history.iter().enumerate() {
            let until = self.history.get(i + 1).map_or(i64::MAX, |next| next.0);
            let (from, to) = (since.max(start), until.min(end));
            if from < to {
                out.push((from, to, weights));
            }
        }
        out
    }

    /// Forgets splits that ended before `cutoff`, keeping the one in force then.
    pub fn prune(&mut self, cutoff: i64) {
        let stale = self
            .history
            .iter()
            .skip(1)
            .take_while(|&&(since, _)| since <= cutoff)
            .count();
        self.history.drain(..stale);
    }
}
