//! `sum`, `avg`, `count` and `group` of vectors holding native histograms.
//!
//! At each step a group's histograms are added (at the coarsest schema,
//! the widest zero bucket; custom buckets reconciled to the bounds all
//! share); a group holding floats and histograms has no `sum`/`avg` at
//! that step, with Prometheus's warning. `count` and `group` count both
//! kinds. The other operators ignore histograms (see [`ignores`]).

use tsdb::model::Sample;
use tsdb::model::histogram::FloatHistogram;

use crate::ast::AggregateOp;
use crate::error::Result;
use crate::eval::grid::{Frame, StepSeries, hpoint};
use crate::eval::hstats::{Combine, combine};
use crate::eval::stats::{KahanSum, Mean};
use crate::value::Annotations;

/// Whether `op` leaves histogram samples out (with an info per query).
pub(super) fn ignores(op: AggregateOp) -> bool {
    !matches!(
        op,
        AggregateOp::Sum | AggregateOp::Avg | AggregateOp::Count | AggregateOp::Group
    )
}

/// One group's samples at one step.
#[derive(Default)]
struct Cell {
    floats: Vec<f64>,
    hists: Vec<std::sync::Arc<FloatHistogram>>,
}

/// How the input series fall into groups: series `i` is in group `of[i]`
/// (`0..n`), labelled `keys[i]`, with a pending name drop `drops[i]`.
pub(super) struct Groups<'a> {
    pub of: &'a [usize],
    pub keys: &'a [tsdb::model::Labels],
    pub drops: &'a [bool],
    pub n: usize,
}

/// `op` (sum, avg, count or group) over `series` by `groups`.
pub(super) fn aggregate(
    op: AggregateOp,
    frame: Frame,
    series: &[StepSeries],
    groups: &Groups<'_>,
    ann: &mut Annotations,
) -> Result<Vec<StepSeries>> {
    let (group_of, keys, drops, ngroups) = (groups.of, groups.keys, groups.drops, groups.n);
    let mut group_drop = vec![false; ngroups];
    for (i, &g) in group_of.iter().enumerate() {
        group_drop[g] |= drops[i];
    }
    let mut out: Vec<Option<StepSeries>> = vec![None; ngroups];
    let mut order: Vec<usize> = Vec::new();
    let mut cursors = vec![(0usize, 0usize); series.len()];
    for t in frame.times() {
        let mut cells: Vec<Cell> = (0..ngroups).map(|_| Cell::default()).collect();
        for (i, s) in series.iter().enumerate() {
            let (f, h) = &mut cursors[i];
            while *f < s.points.len() && s.points[*f].t < t {
                *f += 1;
            }
            while *h < s.hpoints.len() && s.hpoints[*h].t < t {
                *h += 1;
            }
            let g = group_of[i];
            if let Some(p) = s.points.get(*f).filter(|p| p.t == t) {
                cells[g].floats.push(p.v);
            } else if let Some(p) = s.hpoints.get(*h).filter(|p| p.t == t) {
                cells[g].hists.push(p.h.clone());
            } else {
                continue;
            }
            if out[g].is_none() {
                order.push(g);
                out[g] = Some(StepSeries::floats(
                    keys[i].clone(),
                    group_drop[g],
                    Vec::new(),
                ));
            }
        }
        for (g, cell) in cells.into_iter().enumerate() {
            let Some(s) = out[g].as_mut() else { continue };
            let n = cell.floats.len() + cell.hists.len();
            if n == 0 {
                continue;
            }
            match op {
                AggregateOp::Count => s.points.push(Sample::new(t, n as f64)),
                AggregateOp::Group => s.points.push(Sample::new(t, 1.0)),
                _ if !cell.floats.is_empty() && !cell.hists.is_empty() => {
                    ann.warn(format_args!(
                        "encountered a mix of histograms and floats for aggregation"
                    ));
                }
                _ if cell.hists.is_empty() => {
                    let v = if op == AggregateOp::Sum {
                        let mut k = KahanSum::default();
                        cell.floats.iter().for_each(|&v| k.add(v));
                        k.value()
                    } else {
                        let mut m = Mean::new();
                        cell.floats.iter().for_each(|&v| m.add(v));
                        m.value()
                    };
                    s.points.push(Sample::new(t, v));
                }
                _ => {
                    let how = if op == AggregateOp::Avg {
                        Combine::Mean
                    } else {
                        Combine::Sum
                    };
                    if let Some(h) = combined(cell.hists.iter().map(|h| &**h), how, ann) {
                        s.hpoints.push(hpoint(t, h));
                    }
                }
            }
        }
    }
    Ok(order
        .into_iter()
        .filter_map(|g| out[g].take())
        .filter(|s| !s.is_empty())
        .collect())
}

/// The sum or mean of `hists`, with Prometheus's annotations; `None`
/// (and a warning) when exponential and custom buckets mix.
pub(crate) fn combined<'a>(
    hists: impl IntoIterator<Item = &'a FloatHistogram> + Clone,
    how: Combine,
    ann: &mut Annotations,
) -> Option<FloatHistogram> {
    let Ok(out) = combine(hists, how) else {
        ann.warn(format_args!(
            "vector contains a mix of histograms with exponential and custom buckets schemas for aggregation"
        ));
        return None;
    };
    Some(out?.annotated(ann))
}
