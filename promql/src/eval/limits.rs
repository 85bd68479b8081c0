//! The limits of one query, shared by the threads that evaluate it:
//! deadline, cancellation and the samples held in memory.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::EngineOptions;
use crate::error::{Error, Result};

pub(crate) struct Limits<'q> {
    pub opts: &'q EngineOptions,
    deadline: Option<Instant>,
    /// Samples currently held, checked against `opts.max_samples`.
    held: AtomicUsize,
}

impl<'q> Limits<'q> {
    pub fn new(opts: &'q EngineOptions, deadline: Option<Instant>) -> Self {
        Limits {
            opts,
            deadline,
            held: AtomicUsize::new(0),
        }
    }

    /// Fails once the deadline passed or the query was cancelled; `stage`
    /// names where, as Prometheus's messages do.
    pub fn check(&self, stage: &'static str) -> Result<()> {
        if let Some(c) = &self.opts.cancel
            && c.load(Ordering::Relaxed)
        {
            return Err(Error::Canceled(stage));
        }
        if let Some(d) = self.deadline
            && Instant::now() > d
        {
            return Err(Error::Timeout(stage));
        }
        Ok(())
    }

    /// Accounts for `n` more samples held in memory; fails (keeping the
    /// count) when that exceeds `max_samples`.
    pub fn hold(&self, n: usize, stage: &'static str) -> Result<()> {
        let now = self.held.fetch_add(n, Ordering::Relaxed).saturating_add(n);
        if now > self.opts.max_samples {
            return Err(Error::TooManySamples(stage));
        }
        Ok(())
    }

    /// Gives back `n` samples accounted with [`hold`](Self::hold).
    pub fn release(&self, n: usize) {
        let _ = self
            .held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |h| {
                Some(h.saturating_sub(n))
            });
    }
}
