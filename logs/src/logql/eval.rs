//! Metric queries evaluated: each range aggregation is computed from the
//! log head on the query's step grid into an in-memory series store,
//! under its placeholder name; the PromQL engine then evaluates the
//! query's PromQL form over that store, so aggregations, binary operators
//! and `vector()` behave exactly as PromQL's.
//!
//! Contracts:
//! - a range aggregation at `t` reads the entries in `(t - range - offset,
//!   t - offset]` that pass its line filters (left-open, as Loki's);
//! - `count_over_time`, `rate`, `bytes_over_time` and `bytes_rate` give a
//!   sample only where the window holds an entry (no zeros), per stream;
//!   `rate` and `bytes_rate` are per second of the range;
//! - `absent_over_time` gives 1 where no selected stream has an entry in
//!   the window, labelled with the selector's equality matchers;
//! - results carry the labels after the pipeline (stream, structured
//!   metadata, extracted; the placeholder name removed); an entry left
//!   with `__error__` fails the query, naming the error and the series,
//!   as Loki's does.

use std::collections::BTreeMap;

use promql::eval::{Engine, EngineOptions, QueryResult};
use promql::promqltest::MemStorage;
use promql::value::Value;
use tsdb::model::{Labels, METRIC_NAME, MatchOp};

use super::metric::{MetricExpr, RangeAgg, RangeOp};
use super::pipeline::{ERROR, Pipeline};
use super::unwrapped;
use crate::error::{Error, Result};
use crate::head::{Head, LineFilter};

/// Most samples the range aggregations of one query may produce.
const MAX_SAMPLES: usize = 50_000_000;

/// Where a metric query is evaluated, in milliseconds: one time (`step`
/// 0) or `start..=end` every `step`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    pub start: i64,
    pub end: i64,
    pub step: i64,
}

impl Grid {
    pub fn instant(t: i64) -> Grid {
        Grid {
            start: t,
            end: t,
            step: 0,
        }
    }

    fn times(&self) -> Vec<i64> {
        if self.step <= 0 {
            return vec![self.start];
        }
        let n = ((self.end - self.start) / self.step) as usize + 1;
        (0..n).map(|k| self.start + k as i64 * self.step).collect()
    }
}

/// Evaluates `e` over `head` on `grid`.
pub fn evaluate(
    head: &Head,
    e: &MetricExpr,
    grid: Grid,
    opts: EngineOptions,
) -> Result<QueryResult> {
    let mut leaves = Vec::new();
    let text = e.to_promql(&mut leaves);
    let expr = promql::parse(&text).map_err(|err| Error::BadQuery(err.to_string()))?;
    let storage = MemStorage::new();
    let times = grid.times();
    let mut produced = 0usize;
    for (i, leaf) in leaves.iter().enumerate() {
        produced += compute(head, i, leaf, &times, &storage)?;
        if produced > MAX_SAMPLES {
            return Err(Error::BadQuery(format!(
                "the query's range aggregations produce more than {MAX_SAMPLES} samples; narrow the selector or the range"
            )));
        }
    }
    // Placeholder samples lie exactly on the grid: a lookback of 1 ms
    // reads the sample at `t` and nothing older.
    let engine = Engine::new(EngineOptions {
        lookback: 1,
        ..opts
    });
    let mut res = if grid.step <= 0 {
        engine.instant(&storage, &expr, grid.start)
    } else {
        engine.range(&storage, &expr, grid.start, grid.end, grid.step)
    }
    .map_err(|err| Error::BadQuery(err.to_string()))?;
    strip_placeholders(&mut res.value);
    Ok(res)
}

/// (time, bytes) of the entries a pipeline keeps, by their labels after
/// it (streams whose labels become equal merge), and the first pipeline
/// error met.
#[derive(Default)]
struct Sized {
    by_labels: BTreeMap<Labels, Vec<(i64, u64)>>,
    failed: Option<(String, Labels)>,
}

impl Sized {
    fn add(&mut self, pipeline: &Pipeline, labels: &Labels, entries: &[crate::model::Entry]) {
        for e in entries {
            let Some(hit) = pipeline.run(labels, e) else {
                continue;
            };
            let all = hit.all_labels();
            if all.has(ERROR) {
                self.failed
                    .get_or_insert_with(|| (all.get(ERROR).to_string(), all.clone()));
                continue;
            }
            self.by_labels
                .entry(all)
                .or_default()
                .push((e.ts, hit.line.len() as u64));
        }
    }
}

/// Computes range aggregation `i` at `times` into `storage`; returns the
/// samples written.
fn compute(
    head: &Head,
    i: usize,
    leaf: &RangeAgg,
    times: &[i64],
    storage: &MemStorage,
) -> Result<usize> {
    let pipeline = Pipeline::new(&leaf.log.pipeline).map_err(Error::BadQuery)?;
    let name = format!("__logql_{i}__");
    let window_ns = leaf.range.saturating_mul(1_000_000);
    let end_of = |t: i64| (t - leaf.offset).saturating_mul(1_000_000);
    let (Some(&first), Some(&last)) = (times.first(), times.last()) else {
        return Ok(0);
    };
    if leaf.unwrap.is_some() {
        let seconds = leaf.range as f64 / 1000.0;
        let by = unwrapped::samples(
            head,
            leaf,
            &pipeline,
            end_of(first) - window_ns,
            end_of(last),
        )?;
        let mut written = 0usize;
        for (labels, points) in by {
            let series = labels.builder().set(METRIC_NAME, &name).build();
            let mut window: Vec<f64> = Vec::new();
            for (k, end, at) in windows(&points, times, &end_of, window_ns) {
                let t = times[k];
                window.clear();
                window.extend(points[at.clone()].iter().map(|p| p.1));
                let v = if leaf.op == RangeOp::RateCounter {
                    match unwrapped::counter_rate(&points[at], end - window_ns, end) {
                        Some(v) => v,
                        None => continue,
                    }
                } else {
                    unwrapped::over_time(leaf.op, leaf.param, &window, seconds)
                };
                storage
                    .append(&series, t, v)
                    .map_err(|e| Error::BadQuery(format!("range aggregation: {e}")))?;
                written += 1;
            }
        }
        return Ok(written);
    }
    // (time, bytes) of the entries the pipeline keeps, by their labels
    // after it (streams whose labels become equal merge).
    let mut sized = Sized::default();
    let (after, through) = (end_of(first) - window_ns, end_of(last));
    let filter = LineFilter::of(&pipeline);
    if pipeline.line_only() {
        // Entries without metadata that the line filters keep belong to
        // the stream's own series: counted by time and size alone.
        let keeps = |line: &str| pipeline.leading_lines_pass(line);
        head.for_each_stream_split(
            &leaf.log.matchers,
            after,
            through,
            &filter,
            &keeps,
            &mut |labels, split| {
                if !split.plain.is_empty() {
                    let points = sized.by_labels.entry(labels.clone()).or_default();
                    points.extend_from_slice(&split.plain);
                }
                sized.add(&pipeline, labels, &split.rich);
            },
        )?;
    } else {
        head.for_each_stream(
            &leaf.log.matchers,
            after,
            through,
            &filter,
            &mut |labels, entries| sized.add(&pipeline, labels, entries),
        )?;
    }
    let Sized { by_labels, failed } = sized;
    if let Some((err, labels)) = failed {
        return Err(Error::BadQuery(format!(
            "pipeline error: '{err}' for series: '{labels}'. Use a label filter to intentionally skip this error (e.g. | __error__!=\"{err}\"), or drop it (| drop __error__, __error_details__)"
        )));
    }
    let seconds = leaf.range as f64 / 1000.0;
    let mut written = 0usize;
    let mut any_at = vec![false; times.len()];
    let mut append = |labels: &Labels, t: i64, v: f64| {
        written += 1;
        storage
            .append(labels, t, v)
            .map_err(|e| Error::BadQuery(format!("range aggregation: {e}")))
    };
    for (labels, mut points) in by_labels {
        points.sort_by_key(|p| p.0);
        let mut cumulative = 0u64;
        for p in &mut points {
            cumulative += p.1;
            p.1 = cumulative;
        }
        let series = labels.builder().set(METRIC_NAME, &name).build();
        for (k, _, at) in windows(&points, times, &end_of, window_ns) {
            let t = times[k];
            any_at[k] = true;
            let count = at.len();
            let before = if at.start == 0 {
                0
            } else {
                points[at.start - 1].1
            };
            let bytes = (points[at.end - 1].1 - before) as f64;
            let v = match leaf.op {
                RangeOp::CountOverTime => count as f64,
                RangeOp::Rate => count as f64 / seconds,
                RangeOp::BytesOverTime => bytes,
                RangeOp::BytesRate => bytes / seconds,
                RangeOp::AbsentOverTime => continue,
                // Unwrapped aggregations are computed above.
                _ => continue,
            };
            append(&series, t, v)?;
        }
    }
    if leaf.op == RangeOp::AbsentOverTime {
        let mut pairs: Vec<(&str, &str)> = leaf
            .log
            .matchers
            .iter()
            .filter(|m| m.op == MatchOp::Equal)
            .map(|m| (m.name.as_str(), m.value.as_str()))
            .collect();
        pairs.push((METRIC_NAME, &name));
        let series = Labels::from_pairs(&pairs);
        for (k, &t) in times.iter().enumerate() {
            if !any_at[k] {
                append(&series, t, 1.0)?;
            }
        }
    }
    Ok(written)
}

/// For each time of `times`, the positions in `points` (ascending by
/// time) of the window `(end - window, end]` ending at `end_of(t)`, with
/// the time's index and that end; windows with no point are left out.
fn windows<'a, T>(
    points: &'a [(i64, T)],
    times: &'a [i64],
    end_of: &'a dyn Fn(i64) -> i64,
    window: i64,
) -> impl Iterator<Item = (usize, i64, std::ops::Range<usize>)> + 'a {
    let (mut lo, mut hi) = (0usize, 0usize);
    times.iter().enumerate().filter_map(move |(k, &t)| {
        let end = end_of(t);
        while hi < points.len() && points[hi].0 <= end {
            hi += 1;
        }
        while lo < hi && points[lo].0 <= end - window {
            lo += 1;
        }
        (lo < hi).then_some((k, end, lo..hi))
    })
}

fn strip(labels: &mut Labels) {
    if labels.get(METRIC_NAME).starts_with("__logql_") {
        *labels = labels.drop_names(&[METRIC_NAME]);
    }
}

fn strip_placeholders(v: &mut Value) {
    match v {
        Value::Vector(samples) => samples.iter_mut().for_each(|s| strip(&mut s.labels)),
        Value::Matrix(series) => series.iter_mut().for_each(|s| strip(&mut s.labels)),
        Value::Scalar(_) | Value::String { .. } => {}
    }
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
