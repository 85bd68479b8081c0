//! Series-major aggregation for the operators that fold values into one
//! number per group and step (`sum`, `avg`, `count`, `group`, `min`, `max`,
//! `stddev`, `stdvar`): every series' points are added straight into a
//! groups × steps grid of accumulators, in series order, so each cell sees
//! its values in the same order as the step-by-step path and gives the
//! same result, without gathering a vector per step.

use tsdb::model::{Labels, Sample};

use super::super::grid::{Frame, StepSeries};
use super::super::stats::{KahanSum, Mean, Variance};
use crate::ast::AggregateOp;

/// Largest grid (groups × steps) worth allocating; above it the
/// step-by-step path runs.
const MAX_CELLS: usize = 1 << 18;

#[derive(Clone, Copy, Default)]
struct Cell {
    count: u32,
    sum: KahanSum,
    mean: Mean,
    var: Variance,
    min: f64,
    max: f64,
}

#[cfg(test)]
thread_local! {
    /// Tests turn this path off to compare it with the step-by-step one.
    pub(crate) static DISABLED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether [`aggregate`] handles `op` for `groups` groups over `frame`.
pub(super) fn applies(op: AggregateOp, groups: usize, frame: Frame) -> bool {
    #[cfg(test)]
    if DISABLED.with(|d| d.get()) {
        return false;
    }
    matches!(
        op,
        AggregateOp::Sum
            | AggregateOp::Avg
            | AggregateOp::Count
            | AggregateOp::Group
            | AggregateOp::Min
            | AggregateOp::Max
            | AggregateOp::Stddev
            | AggregateOp::Stdvar
    ) && groups.saturating_mul(frame.len()) <= MAX_CELLS
}

/// Aggregates `series` into one output series per group (group `g` of
/// series `i` is `group_of[i]`, labelled `keys[i]`), in order of each
/// group's first series.
pub(super) fn aggregate(
    op: AggregateOp,
    frame: Frame,
    series: &[StepSeries],
    group_of: &[usize],
    keys: &[Labels],
    drops: &[bool],
    groups: usize,
) -> Vec<StepSeries> {
    let steps = frame.len();
    let mut cells = vec![Cell::default(); groups * steps];
    let mut first: Vec<Option<usize>> = vec![None; groups];
    let mut drop_name = vec![false; groups];
    for (i, s) in series.iter().enumerate() {
        let g = group_of[i];
        first[g].get_or_insert(i);
        drop_name[g] |= drops[i];
        let row = &mut cells[g * steps..(g + 1) * steps];
        for p in &s.points {
            let c = &mut row[frame.index(p.t)];
            add(op, c, p.v);
        }
    }
    let mut order: Vec<(usize, usize)> = first
        .iter()
        .enumerate()
        .filter_map(|(g, f)| f.map(|i| (i, g)))
        .collect();
    order.sort_unstable();
    order
        .into_iter()
        .filter_map(|(i, g)| {
            let points: Vec<Sample> = cells[g * steps..(g + 1) * steps]
                .iter()
                .enumerate()
                .filter(|(_, c)| c.count > 0)
                .map(|(step, c)| Sample::new(frame.time(step), value(op, c)))
                .collect();
            (!points.is_empty()).then(|| StepSeries {
                labels: keys[i].clone(),
                drop_name: drop_name[g],
                points,
                hpoints: Vec::new(),
            })
        })
        .collect()
}

fn add(op: AggregateOp, c: &mut Cell, v: f64) {
    if c.count == 0 {
        c.min = f64::NAN;
        c.max = f64::NAN;
    }
    c.count += 1;
    match op {
        AggregateOp::Sum => c.sum.add(v),
        AggregateOp::Avg => c.mean.add(v),
        AggregateOp::Stddev | AggregateOp::Stdvar => c.var.add(v),
        AggregateOp::Min if c.min.is_nan() || v < c.min => c.min = v,
        AggregateOp::Max if c.max.is_nan() || v > c.max => c.max = v,
        _ => {}
    }
}

fn value(op: AggregateOp, c: &Cell) -> f64 {
    match op {
        AggregateOp::Sum => c.sum.value(),
        AggregateOp::Avg => c.mean.value(),
        AggregateOp::Count => f64::from(c.count),
        AggregateOp::Group => 1.0,
        AggregateOp::Min => c.min,
        AggregateOp::Max => c.max,
        AggregateOp::Stdvar => c.var.variance(),
        AggregateOp::Stddev => c.var.variance().sqrt(),
        _ => f64::NAN,
    }
}
