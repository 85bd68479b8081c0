//! Raw retention per selector (`retention_rules`): ordered rules, the
//! first whose matchers all match a series gives its raw retention;
//! series no rule matches keep the database's.
//!
//! - At query time, at once: a querier hides a ruled series' samples older
//!   than the newest sample minus its retention ([`RuleMask`]).
//! - At maintenance: a raw block past the database's retention that still
//!   holds series a longer rule keeps is not deleted; and a block in which
//!   some series is entirely past its retention is rewritten without them
//!   (so data hidden by a shorter rule, and data a longer rule kept the
//!   block for but whose other series have expired, leave the disk) — once
//!   the first downsampling tier covers the block, like any raw data.

use std::sync::Arc;

use super::Db;
use crate::block::Block;
use crate::error::Result;
use crate::model::{Labels, Matcher, Querier, SampleBuf, SelectHints, Series, SeriesData};
use crate::querier::BlockReader;

/// One rule: series matching every matcher keep raw samples `retention`
/// ms (0 = forever).
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionRule {
    pub matchers: Vec<Matcher>,
    pub retention: i64,
}

impl Db {
    /// The rule (its index) that decides `labels`' raw retention, if any,
    /// and that retention in ms (0 = forever).
    pub fn effective_retention(&self, labels: &Labels) -> (Option<usize>, i64) {
        let rules = &self.opts.retention_rules;
        match rules
            .iter()
            .position(|r| r.matchers.iter().all(|m| m.matches(labels.get(&m.name))))
        {
            Some(i) => (Some(i), rules[i].retention),
            None => (None, self.opts.retention.time),
        }
    }

    /// Whether `b` (past the database's retention) still holds a series a
    /// rule keeps longer, up to the block's end.
    pub(super) fn kept_by_rules(&self, b: &Arc<Block>, newest: i64) -> Result<bool> {
        let longer = |r: i64| r == 0 || r > self.opts.retention.time;
        if !self
            .opts
            .retention_rules
            .iter()
            .any(|r| longer(r.retention))
        {
            return Ok(false);
        }
        for (labels, _) in block_series(b)? {
            let (rule, r) = self.effective_retention(&labels);
            if rule.is_some() && (r == 0 || b.meta().max_time > newest - r) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Rewrites every raw block in which some series is entirely past its
    /// rule's retention (or, in a block kept for a longer rule, past the
    /// database's), without those series. Returns how many were rewritten.
    pub(super) fn apply_retention_rules(&self) -> Result<usize> {
        if self.opts.retention_rules.is_empty() {
            return Ok(0);
        }
        let Some(newest) = self.newest_time() else {
            return Ok(0);
        };
        // Unruled series expire as whole blocks do: from the newest
        // block's end (`retention::expired`).
        let blocks = self.blocks();
        let global = self.opts.retention.time;
        let block_cutoff = blocks.iter().map(|b| b.meta().max_time).max().unwrap_or(0) - global;
        // No series of a block newer than every cutoff can have expired:
        // its series are not read.
        let latest_cutoff = self
            .opts
            .retention_rules
            .iter()
            .filter(|r| r.retention > 0)
            .map(|r| newest - r.retention)
            .chain((global > 0).then_some(block_cutoff))
            .max();
        let Some(latest_cutoff) = latest_cutoff else {
            return Ok(0);
        };
        let mut rewritten = 0;
        for b in blocks {
            if b.meta().max_time > latest_cutoff {
                continue;
            }
            let mut gone = Vec::new();
            for (labels, id) in block_series(&b)? {
                let cutoff = match self.effective_retention(&labels) {
                    (Some(_), r) if r > 0 => newest - r,
                    (None, _) if global > 0 => block_cutoff,
                    _ => continue,
                };
                if b.meta().max_time <= cutoff {
                    gone.push(id);
                }
            }
            if gone.is_empty() {
                continue;
            }
            if !self.tier_covers(&b)? {
                // Raw data leaves only once the first tier holds it.
                self.counters
                    .retention_blocked
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                continue;
            }
            let (min, max) = (b.meta().min_time, b.meta().max_time - 1);
            b.delete_ids(&gone, min, max)?;
            if self.replace_blocks(std::slice::from_ref(&b))? {
                rewritten += 1;
            }
        }
        Ok(rewritten)
    }
}

/// Every series of block `b` with its id.
fn block_series(b: &Arc<Block>) -> Result<Vec<(Labels, u32)>> {
    let all = Matcher::new(
        crate::model::MatchOp::RegexMatch,
        crate::model::METRIC_NAME,
        ".*",
    )?;
    let mut out = Vec::new();
    for id in b.postings(&[all])? {
        if let Some(entry) = b.series(id, i64::MIN, i64::MAX)? {
            out.push((entry.labels, id));
        }
    }
    Ok(out)
}

/// A querier that hides each ruled series' samples older than its
/// retention allows, counted back from `newest`.
pub(super) struct RuleMask {
    pub inner: Box<dyn Querier>,
    pub rules: Vec<RetentionRule>,
    pub newest: i64,
}

/// A series' samples from `from` on.
struct From {
    inner: Arc<dyn SeriesData>,
    from: i64,
}

impl SeriesData for From {
    fn read(&self, mint: i64, maxt: i64, buf: &mut SampleBuf) {
        self.inner.read(mint.max(self.from), maxt, buf);
    }
}

impl Querier for RuleMask {
    fn select(&self, hints: &SelectHints, matchers: &[Matcher]) -> Result<Vec<Series>> {
        let mut out = self.inner.select(hints, matchers)?;
        for s in &mut out {
            let rule = self
                .rules
                .iter()
                .find(|r| r.matchers.iter().all(|m| m.matches(s.labels.get(&m.name))));
            if let Some(r) = rule
                && r.retention > 0
            {
                s.data = Arc::new(From {
                    inner: s.data.clone(),
                    from: self.newest - r.retention + 1,
                });
            }
        }
        Ok(out)
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>> {
        self.inner.label_names(matchers)
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>> {
        self.inner.label_values(name, matchers)
    }
}

#[cfg(test)]
#[path = "retention_rules_tests.rs"]
mod tests;
