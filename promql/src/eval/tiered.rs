//! The query planner's use of downsampling tiers: which tier a range
//! function's selector reads ([`choose`]), the per-series data it reads
//! ([`TieredData`]: stored buckets, then finer tiers', then raw samples,
//! joined with no seam), and the evaluation of a rollup over it.
//!
//! A tier answers exactly when the function is one a window summary
//! covers ([`summary::from_summary`]), the range is plain, and the range,
//! the first evaluation time (after `offset`) and the step are multiples
//! of its resolution; the coarsest such tier with data in the query's
//! range is used (`max_source_resolution` bounds it). When the raw data
//! has expired where the query starts and no tier is exact, the finest
//! tier holding that range answers approximately — windows snapped down
//! to its buckets — and an info annotation names it.
//!
//! Native histogram series read their histogram summaries the same way
//! for the functions those cover; plain selectors over expired raw data
//! are in [`instant`].

mod instant;

use std::borrow::Cow;
use std::collections::HashMap;

use tsdb::downsample::{
    Bucket, Column, Columns, HistSummary, StoredSummaries, Summary, coarsen_into, points_of,
    summarize, summarize_histograms,
};
use tsdb::model::{
    HistogramSample, LABELS_ONLY, Labels, Sample, SampleBuf, Series, TIER_TAIL, TierSpan, Tiering,
};

use super::grid::Grid;
use super::rollup::hsummary::{self, from_hist_summary};
use super::rollup::native::{self, Out};
use super::rollup::summary::{self, SummaryWindow, from_summary, needs};
use super::rollup::{RangeMode, Rollup};
use super::selector::{RangeInput, RawData, RawSeries};
use crate::ast::{DurationExpr, VectorSelector};
use crate::error::Result;
use crate::value::Annotations;

/// How fine the data a query reads may be (Thanos's
/// `max_source_resolution`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SourceResolution {
    /// Any tier that answers exactly; approximately only where nothing
    /// else has the data.
    #[default]
    Auto,
    /// Raw samples only.
    Raw,
    /// Tiers of at most this resolution (ms).
    AtMost(i64),
}

/// The tier a selector reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Choice {
    pub resolution: i64,
    /// Windows are snapped to the tier's buckets: not the raw answer.
    pub approximate: bool,
}

/// What [`choose`] looks at.
pub(crate) struct Request {
    pub f: Rollup,
    pub mode: RangeMode,
    pub range: i64,
    /// The first and last window end (evaluation time after offset/@).
    pub first_end: i64,
    pub last_end: i64,
    /// Step between window ends (0: one window).
    pub step: i64,
}

/// The tier `req` reads, if any (see the module doc).
pub(crate) fn choose(t: &Tiering, req: &Request, max: SourceResolution) -> Option<Choice> {
    let allowed = |s: &&TierSpan| match max {
        SourceResolution::Auto => true,
        SourceResolution::Raw => false,
        SourceResolution::AtMost(r) => s.resolution <= r,
    };
    let first_start = req.first_end - req.range;
    let has_data = |s: &&TierSpan| s.hi > first_start && s.lo < req.last_end;
    let exact = |s: &&TierSpan| {
        let r = s.resolution;
        req.mode == RangeMode::Plain
            && from_summary(req.f)
            && req.range % r == 0
            && req.first_end.rem_euclid(r) == 0
            && req.step % r == 0
    };
    let candidates = || t.tiers.iter().filter(allowed).filter(has_data);
    if let Some(s) = candidates().filter(exact).max_by_key(|s| s.resolution) {
        return Some(Choice {
            resolution: s.resolution,
            approximate: false,
        });
    }
    // Some series (a retention rule's) may have lost raw data the others
    // still have.
    let raw_missing = t.latest_raw_from().is_none_or(|r| r > first_start + 1);
    if !raw_missing || req.mode != RangeMode::Plain || !from_summary(req.f) {
        return None;
    }
    candidates()
        .filter(|s| s.lo <= first_start || t.raw_from.is_none())
        .min_by_key(|s| s.resolution)
        .map(|s| Choice {
            resolution: s.resolution,
            approximate: true,
        })
}

/// The tiers whose buckets make up `res`'s, coarsest first: `res` itself
/// and the finer tiers that divide it, which hold newer windows.
pub(crate) fn sources(t: &Tiering, res: i64) -> Vec<TierSpan> {
    let mut out: Vec<TierSpan> = t
        .tiers
        .iter()
        .filter(|s| s.resolution <= res && res % s.resolution == 0)
        .copied()
        .collect();
    out.sort_by_key(|s| std::cmp::Reverse(s.resolution));
    out
}

/// One series' data for a tier read: stored buckets (read coarsened to
/// the tier's resolution, up to `raw_after`; one source per tier, oldest
/// first), and the raw series whose samples after `raw_after` complete
/// it. Nothing is decoded until its buckets are read (by
/// [`eval`](Self::eval), on the query's threads).
#[derive(Debug, Clone)]
pub(crate) struct TieredData {
    pub resolution: i64,
    pub approximate: bool,
    pub stored: Vec<StoredSummaries>,
    pub raw: Option<Series>,
    /// Raw samples count from just after this time.
    pub raw_after: i64,
    /// The optional columns the raw samples' summaries need.
    pub columns: Columns,
    pub maxt: i64,
    /// A native histogram series: the stored buckets are histogram
    /// summaries, and so are its raw samples'.
    pub histograms: bool,
}

/// The memory a thread reuses from one tiered series to the next (fresh
/// memory for each cost more in page faults than decoding the buckets).
#[derive(Default)]
pub(crate) struct TierBuffers {
    buckets: Vec<Summary>,
    scratch: Vec<Summary>,
    hbuckets: Vec<HistSummary>,
    hscratch: Vec<HistSummary>,
    samples: SampleBuf,
}

impl TieredData {
    /// Every bucket of the series at the tier's resolution, ascending.
    fn buckets<'b>(&self, bufs: &'b mut TierBuffers) -> &'b [Summary] {
        bufs.buckets.clear();
        for s in &self.stored {
            s.read_into(&mut bufs.scratch, &mut bufs.buckets);
        }
        if let Some(series) = &self.raw {
            series.read(self.raw_after + 1, self.maxt, &mut bufs.samples);
            let tail = summarize(points_of(&bufs.samples), self.resolution, self.columns);
            coarsen_into(&tail, self.resolution, &mut bufs.buckets);
        }
        &bufs.buckets
    }

    /// Every histogram bucket of the series at the tier's resolution.
    fn hist_buckets<'b>(&self, bufs: &'b mut TierBuffers) -> &'b [HistSummary] {
        bufs.hbuckets.clear();
        for s in &self.stored {
            s.read_hist_into(&mut bufs.hscratch, &mut bufs.hbuckets);
        }
        if let Some(series) = &self.raw {
            let samples = &mut bufs.samples;
            series.read(self.raw_after + 1, self.maxt, samples);
            let tail =
                summarize_histograms(samples.floats(), samples.histograms(), self.resolution);
            coarsen_into(&tail, self.resolution, &mut bufs.hbuckets);
        }
        &bufs.hbuckets
    }

    /// The window `(start, end]` a step ending at `end` reads: as asked,
    /// or snapped down to the tier's buckets when approximate.
    fn window(&self, end: i64, range: i64) -> (i64, i64) {
        let res = self.resolution;
        if self.approximate {
            let end = end.div_euclid(res) * res;
            (end - (range + res - 1).div_euclid(res) * res, end)
        } else {
            (end - range, end)
        }
    }

    /// `f` at every step `(t, end)` (windows `(end − range, end]`), as
    /// float and histogram points at `t`; `args[i][step]` is the step's
    /// `i`-th scalar argument.
    #[allow(clippy::too_many_arguments)]
    pub fn eval(
        &self,
        f: Rollup,
        range: i64,
        windows: impl Iterator<Item = (i64, i64)>,
        args: &[Vec<f64>],
        name: &str,
        ann: &mut Annotations,
        bufs: &mut TierBuffers,
    ) -> (Vec<Sample>, Vec<HistogramSample>) {
        if self.histograms {
            return self.eval_histograms(f, range, windows, name, ann, bufs);
        }
        let buckets = self.buckets(bufs);
        let mut out = Vec::new();
        let mut lo = 0;
        let mut step_args = Vec::with_capacity(args.len());
        for (step, (t, end)) in windows.enumerate() {
            let (start, end) = self.window(end, range);
            let merged = merged_window(buckets, &mut lo, start, end);
            step_args.clear();
            step_args.extend(args.iter().filter_map(|a| a.get(step).copied()));
            let w = SummaryWindow {
                start,
                end,
                ts: t,
                args: &step_args,
            };
            if let Some(s) = merged
                && let Some(v) = summary::eval(f, &s, w, name, ann)
            {
                out.push(Sample::new(t, v));
            }
        }
        (out, Vec::new())
    }

    /// [`eval`](Self::eval) of a native histogram series.
    fn eval_histograms(
        &self,
        f: Rollup,
        range: i64,
        windows: impl Iterator<Item = (i64, i64)>,
        name: &str,
        ann: &mut Annotations,
        bufs: &mut TierBuffers,
    ) -> (Vec<Sample>, Vec<HistogramSample>) {
        let buckets = self.hist_buckets(bufs);
        let (mut points, mut hpoints) = (Vec::new(), Vec::new());
        let mut lo = 0;
        for (t, end) in windows {
            let (start, end) = self.window(end, range);
            let Some(merged) = merged_window(buckets, &mut lo, start, end) else {
                continue;
            };
            match hsummary::eval(f, &merged, start, end, name, ann) {
                Some(Out::Float(v)) => points.push(Sample::new(t, v)),
                Some(Out::Hist(h)) => hpoints.push(native::point(t, h)),
                None => {}
            }
        }
        (points, hpoints)
    }
}

/// The buckets of `buckets` (ascending) ending in `(start, end]`, merged;
/// `lo` is where the previous (earlier) window's began, moved to this
/// one's. One bucket (a window of the tier's resolution) is read in
/// place; more are merged into a copy.
fn merged_window<'b, B: Bucket>(
    buckets: &'b [B],
    lo: &mut usize,
    start: i64,
    end: i64,
) -> Option<Cow<'b, B>> {
    while *lo < buckets.len() && buckets[*lo].end() <= start {
        *lo += 1;
    }
    let n = buckets[*lo..].iter().take_while(|b| b.end() <= end).count();
    match &buckets[*lo..*lo + n] {
        [] => None,
        [one] => Some(Cow::Borrowed(one)),
        [first, rest @ ..] => {
            let mut m = first.clone();
            rest.iter().for_each(|b| m.absorb_next(b));
            Some(Cow::Owned(m))
        }
    }
}

impl Grid<'_> {
    /// The range input of `f`'s selector `vs[range]` read from the tier
    /// [`choose`] picks (each series' stored buckets joined with its raw
    /// samples after them); `None` when no tier is chosen.
    pub(crate) fn tier_input(
        &mut self,
        f: Rollup,
        vs: &VectorSelector,
        range: &DurationExpr,
    ) -> Result<Option<RangeInput>> {
        let tiering = self.storage.tiering();
        if tiering.tiers.is_empty() {
            return Ok(None);
        }
        let input = self.range_shape(vs, range)?;
        let (first, last) = (input.end(self.frame.start), input.end(self.frame.end));
        let req = Request {
            f,
            mode: input.mode,
            range: input.range,
            first_end: first,
            last_end: last,
            step: if input.at.is_some() {
                0
            } else {
                self.frame.step
            },
        };
        let Some(choice) = choose(&tiering, &req, self.opts.max_source_resolution) else {
            return Ok(None);
        };
        let res = choice.resolution;
        let mut boundary = (first - input.range).div_euclid(res) * res - res;
        let mut stored: Vec<(Labels, Vec<StoredSummaries>)> = Vec::new();
        let mut index: HashMap<Labels, usize> = HashMap::new();
        for s in sources(&tiering, res) {
            let hi = s.hi.min(last);
            if hi <= boundary {
                continue;
            }
            self.check("query preparation")?;
            let selected =
                self.storage
                    .select_summaries(s.resolution, res, &vs.matchers, boundary, hi)?;
            // A bucket summary counts as one sample toward the query's
            // sample limit.
            self.hold(
                selected.iter().map(|(_, b)| b.bucket_bound()).sum(),
                "query preparation",
            )?;
            for (labels, buckets) in selected {
                match index.get(&labels) {
                    Some(&i) => stored[i].1.push(buckets),
                    None => {
                        index.insert(labels.clone(), stored.len());
                        stored.push((labels, vec![buckets]));
                    }
                }
            }
            boundary = hi;
        }
        // Series the tiers hold read raw samples only after the stored
        // buckets; the others (native histograms, which tiers do not hold,
        // series with no data before the boundary, and series whose tiers
        // lack a column `f` needs) read raw samples over the whole range,
        // as without tiers.
        let first_start = first - input.range;
        let raw_covers = |labels: &Labels| {
            tiering
                .raw_from_of(labels)
                .is_some_and(|r| r <= first_start + 1)
        };
        let (mut stored_of, order) =
            self.keep_answerable(f, stored, raw_covers, choice.approximate);
        if order.is_empty() {
            return Ok(None);
        }
        if choice.approximate {
            self.ann.info(format_args!(
                "raw data has expired for part of the range: {} evaluated approximately on the {} downsampling tier (windows aligned to its buckets)",
                f.name(),
                format_duration(res)
            ));
        }
        self.tiers_used.insert(res);
        let (mint, view) = (first - input.range + 1, self.hint_view(vs));
        let raw = self.raw_for_tiers(vs, mint, boundary, last, input.range, &stored_of)?;
        let mut series = Vec::with_capacity(raw.len().max(order.len()));
        let mut tail_of: HashMap<Labels, Series> = HashMap::new();
        for s in raw {
            if stored_of.contains_key(&s.labels) {
                tail_of.insert(s.labels.clone(), s);
            } else {
                series.push(RawSeries {
                    labels: s.labels.clone(),
                    drop_name: false,
                    data: RawData::Stored {
                        series: s,
                        mint,
                        maxt: last,
                        view,
                    },
                });
            }
        }
        for labels in order {
            let stored = stored_of.remove(&labels).unwrap_or_default();
            let histograms = !stored.is_empty() && stored.iter().all(StoredSummaries::histograms);
            let data = TieredData {
                resolution: res,
                approximate: choice.approximate,
                stored,
                raw: tail_of.remove(&labels),
                raw_after: boundary,
                maxt: last,
                columns: Columns {
                    moments: needs(f) == Some(Column::Moments),
                    trend: needs(f) == Some(Column::Trend),
                },
                histograms,
            };
            series.push(RawSeries {
                labels,
                drop_name: false,
                data: RawData::Tiered(Box::new(data)),
            });
        }
        Ok(Some(RangeInput { series, ..input }))
    }
}

impl Grid<'_> {
    /// The raw series a tier read joins: those the tiers answer need only
    /// their samples after `boundary`; any other series matching `vs` with
    /// data in `[mint, last]` needs all of them. Reads the chunks after
    /// the boundary, and all of them only when such another series exists
    /// (its labels are looked up first, without data).
    fn raw_for_tiers(
        &mut self,
        vs: &VectorSelector,
        mint: i64,
        boundary: i64,
        last: i64,
        range: i64,
        stored_of: &HashMap<Labels, Vec<StoredSummaries>>,
    ) -> Result<Vec<Series>> {
        let tail_from = boundary.saturating_add(1);
        if tail_from <= mint {
            return self.select_series(vs, mint, last, range);
        }
        let everyone = self.select_series_as(vs, mint, last, range, Some(LABELS_ONLY))?;
        let from = if everyone.iter().any(|s| !stored_of.contains_key(&s.labels)) {
            mint
        } else if tail_from > last {
            return Ok(Vec::new());
        } else {
            tail_from
        };
        self.select_series_as(vs, from, last, range, Some(TIER_TAIL))
    }

    /// The stored series that answer `f` from their tiers, by labels, and
    /// their order. A series whose raw data covers the query (`raw_covers`)
    /// reads it instead when the tier would answer only approximately, or
    /// lacks a column `f` needs. Where raw data does not cover it, a
    /// counter's missing sums are estimated, and a missing optional column
    /// leaves the raw data alone to answer; an info annotation says which.
    /// A native histogram series answers from its histogram summaries
    /// where its raw data does not cover the query and `f` is one they
    /// cover, else it reads its raw data. A series
    /// whose tiers mix floats and native histograms is always read raw
    /// (annotated where raw data does not cover it).
    fn keep_answerable(
        &mut self,
        f: Rollup,
        stored: Vec<(Labels, Vec<StoredSummaries>)>,
        raw_covers: impl Fn(&Labels) -> bool,
        approximate: bool,
    ) -> (HashMap<Labels, Vec<StoredSummaries>>, Vec<Labels>) {
        let need = needs(f);
        let (mut estimated, mut missing, mut mixed, mut uncovered) = (false, false, false, false);
        let mut stored_of: HashMap<Labels, Vec<StoredSummaries>> = HashMap::new();
        let mut order: Vec<Labels> = Vec::with_capacity(stored.len());
        for (labels, buckets) in stored {
            let covered = raw_covers(&labels);
            if approximate && covered {
                continue;
            }
            // A series mixing floats and native histograms is read raw,
            // as far as raw data reaches.
            let hist_tiers = buckets.iter().filter(|s| s.histograms()).count();
            if buckets.iter().any(StoredSummaries::histograms_too)
                || (hist_tiers != 0 && hist_tiers != buckets.len())
            {
                mixed |= !covered;
                continue;
            }
            // A native histogram series reads its raw data while that
            // covers the query: raw samples after the tiers may be floats
            // (a type change), which only raw data answers exactly.
            if hist_tiers != 0 && (covered || !from_hist_summary(f)) {
                uncovered |= !covered;
                continue;
            }
            if hist_tiers != 0 {
                order.push(labels.clone());
                stored_of.insert(labels, buckets);
                continue;
            }
            if let Some(col) = need
                && !buckets.iter().all(|s| s.keeps(col))
            {
                if covered {
                    continue;
                }
                if col != Column::Sum {
                    missing = true;
                    continue;
                }
                estimated = true;
            }
            order.push(labels.clone());
            stored_of.insert(labels, buckets);
        }
        if estimated {
            self.ann.info(format_args!(
                "{} of counters is estimated where their raw data has expired: the downsampling tiers keep no sums of counters (each bucket's values taken on the line from its first to its last)",
                f.name()
            ));
        }
        if mixed {
            self.ann.info(format_args!(
                "{} of series mixing floats and native histograms answered from raw data only: the downsampling tiers keep either kind of series, not both",
                f.name()
            ));
        }
        if uncovered {
            self.ann.info(format_args!(
                "{} of native histograms answered from raw data only: the downsampling tiers keep no sums of native histograms",
                f.name()
            ));
        }
        if missing {
            let column = if need == Some(Column::Moments) {
                "stddev"
            } else {
                "deriv"
            };
            self.ann.info(format_args!(
                "{} answered from raw data only: the downsampling tiers do not keep its column (downsampling.columns: [{column}])",
                f.name()
            ));
        }
        (stored_of, order)
    }
}

/// A resolution as a duration (`5m`, `1h`).
pub(super) fn format_duration(ms: i64) -> String {
    crate::ast::DurationExpr::Duration(ms).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: i64 = 60_000;
    const H: i64 = 60 * M;

    fn tiering(raw_from: Option<i64>) -> Tiering {
        Tiering {
            raw_from,
            rules: vec![],
            tiers: vec![
                TierSpan {
                    resolution: 5 * M,
                    lo: 0,
                    hi: 48 * H,
                },
                TierSpan {
                    resolution: H,
                    lo: 0,
                    hi: 24 * H,
                },
            ],
        }
    }

    fn req(f: Rollup, range: i64, first_end: i64, step: i64) -> Request {
        Request {
            f,
            mode: RangeMode::Plain,
            range,
            first_end,
            last_end: first_end + 10 * step,
            step,
        }
    }

    #[test]
    fn choice_table() {
        use SourceResolution::*;
        let exact = |resolution| {
            Some(Choice {
                resolution,
                approximate: false,
            })
        };
        let approx = |resolution| {
            Some(Choice {
                resolution,
                approximate: true,
            })
        };
        let cases = [
            (
                "hourly aligned: coarsest",
                req(Rollup::Rate, H, 10 * H, H),
                Auto,
                Some(0),
                exact(H),
            ),
            (
                "5m step: 5m tier",
                req(Rollup::Rate, H, 10 * H, 5 * M),
                Auto,
                Some(0),
                exact(5 * M),
            ),
            (
                "capped at 5m",
                req(Rollup::Rate, H, 10 * H, H),
                AtMost(5 * M),
                Some(0),
                exact(5 * M),
            ),
            (
                "raw requested",
                req(Rollup::Rate, H, 10 * H, H),
                Raw,
                None,
                None,
            ),
            (
                "unaligned, raw there",
                req(Rollup::Rate, H, 10 * H + 1, H),
                Auto,
                Some(0),
                None,
            ),
            (
                "unaligned, raw gone",
                req(Rollup::Rate, H, 10 * H + 1, H),
                Auto,
                Some(30 * H),
                approx(5 * M),
            ),
            (
                "quantiles never",
                req(Rollup::QuantileOverTime, H, 10 * H, H),
                Auto,
                Some(0),
                None,
            ),
            (
                "after every tier",
                req(Rollup::Rate, H, 60 * H, H),
                Auto,
                Some(0),
                None,
            ),
            (
                "1h tier ends: 5m",
                req(Rollup::Rate, H, 30 * H, H),
                Auto,
                Some(0),
                exact(5 * M),
            ),
        ];
        for (name, r, max, raw_from, want) in cases {
            assert_eq!(choose(&tiering(raw_from), &r, max), want, "{name}");
        }
    }

    #[test]
    fn sources_are_coarsest_first_and_divide() {
        let got: Vec<i64> = sources(&tiering(None), H)
            .iter()
            .map(|s| s.resolution)
            .collect();
        assert_eq!(got, [H, 5 * M]);
        let got: Vec<i64> = sources(&tiering(None), 5 * M)
            .iter()
            .map(|s| s.resolution)
            .collect();
        assert_eq!(got, [5 * M]);
    }
}
