//! Range aggregations over unwrapped values: the samples a pipeline's
//! `| unwrap` gives, grouped, and the `*_over_time` functions of a window.
//!
//! Contracts, as Loki's:
//! - a label that does not read as its conversion gives
//!   `__error__="SampleExtractionErr"`; the label filters after `unwrap`
//!   may drop it, else the query fails naming it;
//! - a sample's series is the entry's labels less the unwrapped label,
//!   narrowed by the aggregation's `by`/`without` when it has one (the
//!   window then holds every sample of the group);
//! - `quantile_over_time` interpolates as PromQL's; `stddev` and `stdvar`
//!   are the population's; `rate` is the sum per second of the range.

use std::collections::BTreeMap;

use tsdb::model::Labels;

use super::ast::Stage;
use super::metric::{Conv, RangeAgg, RangeOp};
use super::pipeline::label_filter::{Verdict, parse_bytes, parse_go_duration};
use super::pipeline::{ERROR, Pipeline};
use crate::error::{Error, Result};
use crate::head::{Head, LineFilter};

/// The samples of `leaf` (which has an unwrap) with times in
/// `(after, through]`, by series, each ascending by time.
pub fn samples(
    head: &Head,
    leaf: &RangeAgg,
    pipeline: &Pipeline,
    after: i64,
    through: i64,
) -> Result<BTreeMap<Labels, Vec<(i64, f64)>>> {
    let Some(u) = &leaf.unwrap else {
        return Ok(BTreeMap::new());
    };
    let mut out: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
    let mut failed: Option<(String, Labels)> = None;
    head.for_each_stream(
        &leaf.log.matchers,
        after,
        through,
        &LineFilter::of(pipeline),
        &mut |labels, entries| {
            for e in entries {
                let Some(hit) = pipeline.run(labels, e) else {
                    continue;
                };
                let all = hit.all_labels();
                let raw = all.get(&u.label);
                let value = match u.conv {
                    Conv::Number => raw.trim().parse::<f64>().ok(),
                    Conv::Duration => parse_go_duration(raw),
                    Conv::Bytes => parse_bytes(raw),
                };
                let mut b = all.builder();
                b.del(&u.label);
                if value.is_none() && all.get(ERROR).is_empty() {
                    b.set(ERROR, "SampleExtractionErr");
                }
                let series = b.build();
                let kept = u.post.iter().all(|s| match s {
                    Stage::Labels(f) => f.eval(&|n| series.get(n)) != Verdict::Drop,
                    _ => true,
                });
                if !kept {
                    continue;
                }
                if series.has(ERROR) {
                    failed.get_or_insert_with(|| (series.get(ERROR).to_string(), series.clone()));
                    continue;
                }
                let key = match &leaf.grouping {
                    None => series,
                    Some(g) if g.without => series.drop_names(&g.labels),
                    Some(g) => series.keep(&g.labels),
                };
                out.entry(key)
                    .or_default()
                    .push((e.ts, value.unwrap_or(0.0)));
            }
        },
    )?;
    if let Some((err, labels)) = failed {
        return Err(Error::BadQuery(format!(
            "pipeline error: '{err}' for series: '{labels}'. Use a label filter to intentionally skip this error (e.g. | __error__!=\"{err}\")"
        )));
    }
    for points in out.values_mut() {
        points.sort_by_key(|p| p.0);
    }
    Ok(out)
}

/// The function of `op` over the values of one window (at least one).
pub fn over_time(op: RangeOp, param: Option<f64>, values: &[f64], seconds: f64) -> f64 {
    let n = values.len() as f64;
    let sum: f64 = values.iter().sum();
    let mean = sum / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    match op {
        RangeOp::SumOverTime => sum,
        RangeOp::Rate => sum / seconds,
        RangeOp::AvgOverTime => mean,
        RangeOp::MinOverTime => values.iter().copied().fold(f64::INFINITY, f64::min),
        RangeOp::MaxOverTime => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        RangeOp::StdvarOverTime => variance,
        RangeOp::StddevOverTime => variance.sqrt(),
        RangeOp::FirstOverTime => values[0],
        RangeOp::LastOverTime => values[values.len() - 1],
        RangeOp::QuantileOverTime => quantile(param.unwrap_or(f64::NAN), values),
        RangeOp::CountOverTime
        | RangeOp::RateCounter
        | RangeOp::BytesOverTime
        | RangeOp::BytesRate
        | RangeOp::AbsentOverTime => n,
    }
}

/// `rate_counter` over the samples `(ns, value)` of the window `(start,
/// end]`: the increase (a drop is a reset), extrapolated to the window's
/// edges as Prometheus's `rate` did before 3.0 and as Loki does, per second
/// of the window; `None` with fewer than two samples.
pub fn counter_rate(points: &[(i64, f64)], start: i64, end: i64) -> Option<f64> {
    let (&(first_t, first_v), &(last_t, last_v)) = (points.first()?, points.last()?);
    let sampled = (last_t - first_t) as f64 / 1e9;
    if points.len() < 2 || sampled <= 0.0 {
        return None;
    }
    let mut increase = last_v - first_v;
    for w in points.windows(2) {
        if w[1].1 < w[0].1 {
            increase += w[0].1;
        }
    }
    let average = sampled / (points.len() - 1) as f64;
    let mut to_start = (first_t - start) as f64 / 1e9;
    let to_end = (end - last_t) as f64 / 1e9;
    if increase > 0.0 && first_v >= 0.0 {
        // A counter does not go below zero: extrapolate no further back.
        to_start = to_start.min(sampled * (first_v / increase));
    }
    let threshold = average * 1.1;
    let mut interval = sampled;
    interval += if to_start < threshold {
        to_start
    } else {
        average / 2.0
    };
    interval += if to_end < threshold {
        to_end
    } else {
        average / 2.0
    };
    Some(increase * (interval / sampled) / ((end - start) as f64 / 1e9))
}

/// PromQL's quantile: linear interpolation between the closest ranks;
/// below 0 is -Inf, above 1 +Inf.
fn quantile(q: f64, values: &[f64]) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = q * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let w = rank - lo as f64;
    sorted[lo] * (1.0 - w) + sorted[hi] * w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions() {
        let v = [4.0, 1.0, 3.0, 2.0];
        let cases: &[(RangeOp, Option<f64>, f64)] = &[
            (RangeOp::SumOverTime, None, 10.0),
            (RangeOp::Rate, None, 1.0),
            (RangeOp::AvgOverTime, None, 2.5),
            (RangeOp::MinOverTime, None, 1.0),
            (RangeOp::MaxOverTime, None, 4.0),
            (RangeOp::StdvarOverTime, None, 1.25),
            (RangeOp::StddevOverTime, None, 1.25f64.sqrt()),
            (RangeOp::FirstOverTime, None, 4.0),
            (RangeOp::LastOverTime, None, 2.0),
            (RangeOp::QuantileOverTime, Some(0.5), 2.5),
            (RangeOp::QuantileOverTime, Some(0.9), 3.7),
            (RangeOp::QuantileOverTime, Some(1.5), f64::INFINITY),
        ];
        for (op, p, want) in cases {
            let got = over_time(*op, *p, &v, 10.0);
            assert!(
                (got - want).abs() < 1e-12 || got == *want,
                "{op:?} {p:?}: {got}"
            );
        }
    }
}
