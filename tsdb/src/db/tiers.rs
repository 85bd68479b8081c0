//! Downsampling tiers of the database: building tier blocks from raw (or
//! finer-tier) blocks once their data is old enough, re-deriving them when
//! new data lands in a window already built, the raw-retention guard and
//! the tiers' own retention. Runs under the maintenance lock.
//!
//! A window `(lo, hi]` of tier `i` (span [`Tier::span`]) is built when all
//! of it is older than the tier's `after` (measured from the newest sample
//! in the database) and the head holds nothing in it. Its block records
//! the level-1 raw blocks it summarises (`compaction.sources`): a window
//! whose overlapping source blocks name a level-1 block the tier block
//! does not (backfill, out-of-order data compacted later) is built again
//! and the old block replaced — as long as every source it was built from
//! is still there, so that a re-derived block never summarises less.
//!
//! Memory: one window at a time; per window, the chunk references of its
//! series (mapped, not read) and the samples of one series.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::Db;
use crate::block::{Block, BlockMeta};
use crate::downsample::StoredSummaries;
use crate::downsample::Tier;
use crate::downsample::blocks::{TierPlan, write_tier_block};
use crate::error::Result;
use crate::model::{Labels, Matcher, RawCutoff, TierSpan, Tiering};
use crate::querier::{BlockReader, MergeQuerier};

/// What one downsampling pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DownsampleReport {
    /// Tier blocks written (new windows and re-derived ones).
    pub written: usize,
    /// Of those, re-derived windows (their old block replaced).
    pub rederived: usize,
}

/// The level-1 raw blocks whose data `blocks` hold.
fn level1_sources<'a>(blocks: impl IntoIterator<Item = &'a Arc<Block>>) -> BTreeSet<String> {
    blocks
        .into_iter()
        .flat_map(|b| b.meta().compaction.sources.iter().cloned())
        .collect()
}

/// Whether `meta` is the tier block of resolution `res` for `(lo, hi]`.
fn is_window(meta: &BlockMeta, res: i64, lo: i64, hi: i64) -> bool {
    meta.resolution == res && meta.min_time == lo + 1 && meta.max_time == hi + 1
}

impl Db {
    /// The tier blocks, all resolutions, oldest first.
    pub fn tier_blocks(&self) -> Vec<Arc<Block>> {
        self.tiers.read().clone()
    }

    /// The summaries of resolution `res` of the series matching
    /// `matchers`, for the buckets ending in `(lo, hi]`, from the tier
    /// blocks of that resolution, to be read as buckets of resolution
    /// `into`; series without any chunk there are left out.
    pub fn select_summaries(
        &self,
        res: i64,
        into: i64,
        matchers: &[Matcher],
        lo: i64,
        hi: i64,
    ) -> Result<Vec<(Labels, StoredSummaries)>> {
        let readers: Vec<Arc<dyn BlockReader>> = self
            .tier_blocks()
            .into_iter()
            .filter(|b| b.meta().resolution == res && b.meta().overlaps(lo + 1, hi))
            .map(|b| b as Arc<dyn BlockReader>)
            .collect();
        let q = MergeQuerier::new(readers, lo + 1, hi);
        Ok(q.select_chunk_series(matchers, lo + 1, hi, 0)?
            .into_iter()
            .map(|(labels, cs)| (labels, StoredSummaries::new(cs, res, into, lo, hi)))
            .filter(|(_, s)| s.bucket_bound() > 0)
            .collect())
    }

    /// The tiers with data (each tier's blocks are contiguous: windows are
    /// built in order and re-derived in place) and where raw data starts.
    pub fn tier_spans(&self) -> Tiering {
        let raw_from = {
            let blocks = self.blocks.read().iter().map(|b| b.meta().min_time).min();
            let head = (self.head.min_time() <= self.head.max_time()).then(|| self.head.min_time());
            blocks.or(head)
        };
        let mut tiers: Vec<TierSpan> = Vec::new();
        for b in self.tier_blocks() {
            let (res, lo, hi) = (
                b.meta().resolution,
                b.meta().min_time - 1,
                b.meta().max_time - 1,
            );
            match tiers.iter_mut().find(|t| t.resolution == res) {
                Some(t) => {
                    t.lo = t.lo.min(lo);
                    t.hi = t.hi.max(hi);
                }
                None => tiers.push(TierSpan {
                    resolution: res,
                    lo,
                    hi,
                }),
            }
        }
        tiers.sort_by_key(|t| t.resolution);
        // As the querier's rule mask hides them (retention 0: forever).
        let newest = self.newest_time();
        let rules = self
            .opts
            .retention_rules
            .iter()
            .map(|r| RawCutoff {
                matchers: r.matchers.clone(),
                from: newest
                    .filter(|_| r.retention > 0)
                    .map(|n| n - r.retention + 1),
            })
            .collect();
        Tiering {
            raw_from,
            tiers,
            rules,
        }
    }

    /// The newest sample time in the database (raw data), if any.
    pub(super) fn newest_time(&self) -> Option<i64> {
        let head = (self.head.min_time() <= self.head.max_time()).then(|| self.head.max_time());
        let blocks = self
            .blocks
            .read()
            .iter()
            .map(|b| b.meta().max_time - 1)
            .max();
        head.max(blocks)
    }

    /// Builds every tier window that is due, finest tier first.
    pub(super) fn downsample(&self) -> Result<DownsampleReport> {
        let mut report = DownsampleReport::default();
        let Some(newest) = self.newest_time() else {
            return Ok(report);
        };
        let tiers = self.opts.downsampling.0.clone();
        for (i, tier) in tiers.iter().enumerate() {
            let source_res = if i == 0 { 0 } else { tiers[i - 1].resolution };
            self.downsample_tier(tier, source_res, newest, &mut report)?;
        }
        Ok(report)
    }

    /// The blocks a tier of `source_res`'s successor is built from.
    fn source_blocks(&self, source_res: i64) -> Vec<Arc<Block>> {
        if source_res == 0 {
            self.blocks()
        } else {
            self.tier_blocks()
                .into_iter()
                .filter(|b| b.meta().resolution == source_res)
                .collect()
        }
    }

    fn downsample_tier(
        &self,
        tier: &Tier,
        source_res: i64,
        newest: i64,
        report: &mut DownsampleReport,
    ) -> Result<()> {
        let sources = self.source_blocks(source_res);
        let Some(first) = sources.iter().map(|b| b.meta().min_time).min() else {
            return Ok(());
        };
        let span = tier.span();
        let due = newest.saturating_sub(tier.after);
        // The head's data is not in blocks yet: no window may reach it.
        let head_min = (self.head.min_time() <= self.head.max_time()).then(|| self.head.min_time());
        let mut lo = (first - 1).div_euclid(span) * span;
        while lo + span <= due && head_min.is_none_or(|h| lo + span < h) {
            let hi = lo + span;
            let parts: Vec<Arc<Block>> = sources
                .iter()
                .filter(|b| b.meta().overlaps(lo + 1, hi))
                .cloned()
                .collect();
            lo = hi;
            if parts.is_empty() {
                continue;
            }
            let want = level1_sources(&parts);
            let existing: Vec<Arc<Block>> = self
                .tier_blocks()
                .into_iter()
                .filter(|b| is_window(b.meta(), tier.resolution, hi - span, hi))
                .collect();
            let have = level1_sources(&existing);
            if !existing.is_empty() && (want.is_subset(&have) || !have.is_subset(&want)) {
                // Covered; or some source is gone and a rebuild would
                // summarise less than the block it replaces.
                continue;
            }
            let plan = TierPlan {
                resolution: tier.resolution,
                lo: hi - span,
                hi,
                source_resolution: source_res,
                sources: want.into_iter().collect(),
                parents: parts.iter().map(|b| b.meta().ulid.clone()).collect(),
                counters: self.opts.counter_suffixes.clone(),
                columns: self.opts.tier_columns,
            };
            let readers: Vec<Arc<dyn BlockReader>> = parts
                .iter()
                .map(|b| b.clone() as Arc<dyn BlockReader>)
                .collect();
            let meta = match write_tier_block(&self.dir.join("blocks"), readers, &plan) {
                Ok(Some(meta)) => meta,
                Ok(None) => continue,
                // A source whose files turn out corrupt is set aside and
                // the rest goes on; the window is built without it.
                Err(e) => {
                    let bad = match &e {
                        crate::Error::Corruption { path, .. } => {
                            parts.iter().find(|b| path.starts_with(b.dir())).cloned()
                        }
                        _ => None,
                    };
                    let Some(bad) = bad else { return Err(e) };
                    self.quarantine(&bad, &e)?;
                    return self.downsample_tier(tier, source_res, newest, report);
                }
            };
            let block = Arc::new(Block::open(&self.dir.join("blocks").join(&meta.ulid))?);
            {
                let mut tiers = self.tiers.write();
                tiers.push(block);
                tiers.sort_by_key(|b| (b.meta().resolution, b.meta().min_time));
            }
            report.written += 1;
            self.counters
                .tier_blocks_written
                .fetch_add(1, Ordering::Relaxed);
            if !existing.is_empty() {
                report.rederived += 1;
                self.remove_tier_blocks(&existing)?;
            }
        }
        Ok(())
    }

    fn remove_tier_blocks(&self, gone: &[Arc<Block>]) -> Result<()> {
        self.tiers
            .write()
            .retain(|b| !gone.iter().any(|g| g.meta().ulid == b.meta().ulid));
        for b in gone {
            std::fs::remove_dir_all(b.dir()).map_err(|e| crate::Error::io("remove", b.dir(), e))?;
            self.counters.blocks_deleted.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Whether the first tier (if any) covers `raw`: every window of it
    /// that `raw` overlaps is built from `raw`'s data, or `raw` has no
    /// float sample in it. Without tiers everything is covered.
    pub(super) fn tier_covers(&self, raw: &Arc<Block>) -> Result<bool> {
        let Some(tier) = self.opts.downsampling.0.first() else {
            return Ok(true);
        };
        let span = tier.span();
        let (min, max) = (raw.meta().min_time, raw.meta().max_time - 1);
        let need: BTreeSet<String> = level1_sources([raw]);
        let tiers = self.tier_blocks();
        let mut lo = (min - 1).div_euclid(span) * span;
        while lo < max {
            let hi = lo + span;
            let built = tiers
                .iter()
                .filter(|b| is_window(b.meta(), tier.resolution, lo, hi))
                .any(|b| need.is_subset(&level1_sources([b])));
            if !built && has_float_samples(raw, lo, hi)? {
                return Ok(false);
            }
            lo = hi;
        }
        Ok(true)
    }

    /// Tier blocks past their tier's retention, whose data the next tier
    /// covers (or that are the coarsest): deleted. Returns how many.
    pub(super) fn apply_tier_retention(&self, newest: i64) -> Result<usize> {
        let tiers = self.opts.downsampling.0.clone();
        let blocks = self.tier_blocks();
        let mut gone = Vec::new();
        for (i, tier) in tiers.iter().enumerate() {
            if tier.retention == 0 {
                continue;
            }
            let cutoff = newest.saturating_sub(tier.retention);
            let next = tiers.get(i + 1);
            for b in &blocks {
                let m = b.meta();
                if m.resolution != tier.resolution || m.max_time > cutoff {
                    continue;
                }
                let covered = match next {
                    None => true,
                    Some(n) => blocks.iter().any(|c| {
                        c.meta().resolution == n.resolution
                            && c.meta().min_time <= m.min_time
                            && c.meta().max_time >= m.max_time
                    }),
                };
                if covered {
                    gone.push(b.clone());
                } else {
                    self.counters
                        .retention_blocked
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        self.remove_tier_blocks(&gone)?;
        Ok(gone.len())
    }
}

/// Whether `block` holds a float sample with `lo < t ≤ hi`.
fn has_float_samples(block: &Arc<Block>, lo: i64, hi: i64) -> Result<bool> {
    use crate::model::{MatchOp, SampleBuf, SeriesData};
    let q = MergeQuerier::new(vec![block.clone() as Arc<dyn BlockReader>], lo + 1, hi);
    let all = Matcher::new(MatchOp::RegexMatch, crate::model::METRIC_NAME, ".*")?;
    let mut buf = SampleBuf::new();
    for (_, cs) in q.select_chunk_series(&[all], lo + 1, hi, 0)? {
        cs.read(lo + 1, hi, &mut buf);
        if !buf.floats().is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
#[path = "tier_tests.rs"]
mod tests;
