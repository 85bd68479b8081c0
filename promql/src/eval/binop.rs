//! Binary operators: arithmetic, comparisons and set operators, with
//! one-to-one, many-to-one and one-to-many vector matching.

use std::collections::HashMap;

use tsdb::model::{HistogramSample, Labels, Sample};

use tsdb::model::histogram::{CounterResetHint, FloatHistogram};

mod native;
mod trim;

use super::grid::{
    Grid, Point, SeriesSink, StepSeries, Val, drop_metric_name, for_each_step, for_each_step_mixed,
    hpoint,
};
use crate::ast::{Binary, BinaryOp, Cardinality, VectorMatching};
use crate::error::{Error, Result};

/// Applies `op` to two values: `(value, keep)`. Arithmetic always keeps;
/// a comparison keeps when true and returns the left value.
fn apply(op: BinaryOp, l: f64, r: f64) -> (f64, bool) {
    match op {
        BinaryOp::Add => (l + r, true),
        BinaryOp::Sub => (l - r, true),
        BinaryOp::Mul => (l * r, true),
        BinaryOp::Div => (l / r, true),
        BinaryOp::Mod => (l % r, true),
        BinaryOp::Pow => (l.powf(r), true),
        BinaryOp::Atan2 => (l.atan2(r), true),
        BinaryOp::Eql => (l, l == r),
        BinaryOp::Neq => (l, l != r),
        BinaryOp::Gtr => (l, l > r),
        BinaryOp::Lss => (l, l < r),
        BinaryOp::Gte => (l, l >= r),
        BinaryOp::Lte => (l, l <= r),
        BinaryOp::And
        | BinaryOp::Or
        | BinaryOp::Unless
        | BinaryOp::TrimUpper
        | BinaryOp::TrimLower => (f64::NAN, false),
    }
}

/// The result of `op` for one pair, or `None` to drop it. `vector_value`
/// is what a filtering comparison keeps.
fn combine(op: BinaryOp, return_bool: bool, l: f64, r: f64, vector_value: f64) -> Option<f64> {
    let (v, keep) = apply(op, l, r);
    if !op.is_comparison() {
        return Some(v);
    }
    if return_bool {
        return Some(if keep { 1.0 } else { 0.0 });
    }
    keep.then_some(vector_value)
}

/// `h * x`, `x * h` or `h / x`; other operators between a histogram and
/// a scalar have no result. A negative factor makes a gauge histogram;
/// dividing by zero leaves no buckets, only ±Inf or NaN count, sum and
/// zero bucket (as Prometheus does).
pub(super) fn histogram_by_scalar(
    op: BinaryOp,
    vector_left: bool,
    h: &FloatHistogram,
    x: f64,
) -> Option<FloatHistogram> {
    let mut out = h.clone();
    match op {
        BinaryOp::Mul => out.scale(x),
        BinaryOp::Div if vector_left && x == 0.0 => {
            out.count /= x;
            out.sum /= x;
            out.zero_count /= x;
            for side in [&mut out.positive_spans, &mut out.negative_spans] {
                side.clear();
            }
            out.positive_buckets.clear();
            out.negative_buckets.clear();
        }
        BinaryOp::Div if vector_left => {
            out.count /= x;
            out.sum /= x;
            out.zero_count /= x;
            out.positive_buckets.iter_mut().for_each(|c| *c /= x);
            out.negative_buckets.iter_mut().for_each(|c| *c /= x);
        }
        _ => return None,
    }
    if x < 0.0 {
        out.hint = CounterResetHint::Gauge;
    }
    Some(out)
}

/// The info for operands `op` cannot combine.
fn incompatible(op: BinaryOp, l: &str, r: &str) -> String {
    format!(
        "incompatible sample types encountered for binary operator {:?}: {l} {} {r}",
        op.as_str(),
        op.as_str()
    )
}

fn has_histograms(series: &[StepSeries]) -> bool {
    series.iter().any(|s| !s.hpoints.is_empty())
}

impl Grid<'_> {
    pub(crate) fn eval_binary(&mut self, b: &Binary) -> Result<Val> {
        if matches!(b.op, BinaryOp::TrimUpper | BinaryOp::TrimLower) {
            return self.eval_trim(b);
        }
        let lhs = self.eval(&b.lhs)?;
        let rhs = self.eval(&b.rhs)?;
        let drops_name = !b.op.is_comparison() || b.return_bool;
        match (lhs, rhs) {
            (Val::Scalar(l), Val::Scalar(r)) => Ok(Val::Scalar(
                l.into_iter()
                    .zip(r)
                    .map(|(l, r)| {
                        let (v, keep) = apply(b.op, l, r);
                        if b.op.is_comparison() {
                            if keep { 1.0 } else { 0.0 }
                        } else {
                            v
                        }
                    })
                    .collect(),
            )),
            (Val::Vector(mut series), Val::Scalar(s))
            | (Val::Scalar(s), Val::Vector(mut series)) => {
                let vector_left =
                    matches!(b.lhs.unparen().value_type(), crate::ast::ValueType::Vector);
                let frame = self.frame;
                for ser in &mut series {
                    ser.drop_name |= drops_name;
                    ser.points.retain_mut(|p| {
                        let x = s[frame.index(p.t)];
                        let (l, r) = if vector_left { (p.v, x) } else { (x, p.v) };
                        match combine(b.op, b.return_bool, l, r, p.v) {
                            Some(v) => {
                                p.v = v;
                                true
                            }
                            None => false,
                        }
                    });
                    let hs = std::mem::take(&mut ser.hpoints);
                    let before = hs.len();
                    ser.hpoints = hs
                        .into_iter()
                        .filter_map(|p| {
                            let x = s[frame.index(p.t)];
                            let h = histogram_by_scalar(b.op, vector_left, &p.h, x)?;
                            Some(hpoint(p.t, h))
                        })
                        .collect();
                    if ser.hpoints.len() < before {
                        let (l, r) = if vector_left {
                            ("histogram", "float")
                        } else {
                            ("float", "histogram")
                        };
                        self.ann.info(incompatible(b.op, l, r));
                    }
                }
                series.retain(|s| !s.is_empty());
                Ok(Val::Vector(series))
            }
            (Val::Vector(l), Val::Vector(r)) => {
                let default = VectorMatching {
                    card: if b.op.is_set_operator() {
                        Cardinality::ManyToMany
                    } else {
                        Cardinality::OneToOne
                    },
                    on: false,
                    labels: Vec::new(),
                    include: Vec::new(),
                    fill: Default::default(),
                };
                let m = b.matching.clone().unwrap_or(default);
                let hists = (has_histograms(&l) || has_histograms(&r)) && !b.op.is_set_operator();
                let hist_out = if hists {
                    let mut ann = std::mem::take(&mut self.ann);
                    let out = native::pairs(b, &m, &l, &r, self.frame, &mut ann);
                    self.ann = ann;
                    out
                } else {
                    Vec::new()
                };
                if b.op.is_set_operator() {
                    self.set_op(b.op, &m, l, r)
                } else {
                    let Val::Vector(mut out) = self.vector_op(b, &m, l, r, drops_name)? else {
                        return Err(Error::Execution("vector operation gave no vector".into()));
                    };
                    if !hist_out.is_empty() {
                        let index: HashMap<Labels, usize> = out
                            .iter()
                            .enumerate()
                            .map(|(i, s)| (s.labels.clone(), i))
                            .collect();
                        for h in hist_out {
                            match index.get(&h.labels) {
                                Some(&i) => out[i].hpoints.extend(h.hpoints),
                                None => out.push(h),
                            }
                        }
                    }
                    Ok(Val::Vector(out))
                }
            }
            _ => Err(Error::Execution(format!(
                "invalid operand types for binary operator {}",
                b.op.as_str()
            ))),
        }
    }

    /// `</` and `>/`: histograms on the left trimmed at the floats or
    /// scalar on the right (the metric name kept against a scalar); other
    /// operand kinds drop the element with an info.
    fn eval_trim(&mut self, b: &Binary) -> Result<Val> {
        let upper = b.op == BinaryOp::TrimUpper;
        match (self.eval(&b.lhs)?, self.eval(&b.rhs)?) {
            (Val::Vector(mut series), Val::Scalar(s)) => {
                let frame = self.frame;
                for ser in &mut series {
                    if !ser.points.is_empty() {
                        ser.points.clear();
                        self.ann.info(incompatible(b.op, "float", "float"));
                    }
                    for p in &mut ser.hpoints {
                        let h = trim::trim(&p.h, s[frame.index(p.t)], upper);
                        *p = hpoint(p.t, h);
                    }
                }
                series.retain(|s| !s.is_empty());
                Ok(Val::Vector(series))
            }
            (Val::Scalar(_), Val::Vector(r)) => {
                for s in &r {
                    let kind = if s.hpoints.is_empty() {
                        "float"
                    } else {
                        "histogram"
                    };
                    self.ann.info(incompatible(b.op, "float", kind));
                }
                Ok(Val::Vector(Vec::new()))
            }
            (Val::Vector(l), Val::Vector(r)) => {
                let default = VectorMatching {
                    card: Cardinality::OneToOne,
                    on: false,
                    labels: Vec::new(),
                    include: Vec::new(),
                    fill: Default::default(),
                };
                let m = b.matching.clone().unwrap_or(default);
                let mut ann = std::mem::take(&mut self.ann);
                let out = native::pairs(b, &m, &l, &r, self.frame, &mut ann);
                self.ann = ann;
                Ok(Val::Vector(out))
            }
            _ => Err(Error::Execution(format!(
                "operator {:?} is only defined for native histograms on its left",
                b.op.as_str()
            ))),
        }
    }

    fn set_op(
        &mut self,
        op: BinaryOp,
        m: &VectorMatching,
        l: Vec<StepSeries>,
        r: Vec<StepSeries>,
    ) -> Result<Val> {
        let lsig: Vec<Labels> = l.iter().map(|s| signature(m, s)).collect();
        let rsig: Vec<Labels> = r.iter().map(|s| signature(m, s)).collect();
        let frame = self.frame;
        // Which signatures each side has at every step.
        let mut keep_l: Vec<Vec<(i64, Point)>> = vec![Vec::new(); l.len()];
        let mut keep_r: Vec<Vec<(i64, Point)>> = vec![Vec::new(); r.len()];
        let mut rpresent: Vec<Vec<(usize, Point)>> = Vec::with_capacity(frame.len());
        for_each_step_mixed(frame, &r, |_, _, present| {
            rpresent.push(present.to_vec());
            Ok(())
        })?;
        for_each_step_mixed(frame, &l, |step, t, present| {
            let rs = &rpresent[step];
            let rhs_sigs: std::collections::HashSet<&Labels> =
                rs.iter().map(|(i, _)| &rsig[*i]).collect();
            let lhs_sigs: std::collections::HashSet<&Labels> =
                present.iter().map(|(i, _)| &lsig[*i]).collect();
            for (i, v) in present {
                let matched = rhs_sigs.contains(&lsig[*i]);
                let keep = match op {
                    BinaryOp::And => matched,
                    BinaryOp::Unless => !matched,
                    _ => true,
                };
                if keep {
                    keep_l[*i].push((t, v.clone()));
                }
            }
            if op == BinaryOp::Or {
                for (i, v) in rs {
                    if !lhs_sigs.contains(&rsig[*i]) {
                        keep_r[*i].push((t, v.clone()));
                    }
                }
            }
            Ok(())
        })?;
        let mut out = Vec::new();
        for (s, pts) in l.into_iter().zip(keep_l).chain(r.into_iter().zip(keep_r)) {
            if pts.is_empty() {
                continue;
            }
            let mut series = StepSeries::floats(s.labels, s.drop_name, Vec::new());
            for (t, p) in pts {
                match p {
                    Point::Float(v) => series.points.push(Sample::new(t, v)),
                    Point::Hist(h) => series.hpoints.push(HistogramSample { t, st: 0, h }),
                }
            }
            out.push(series);
        }
        Ok(Val::Vector(out))
    }

    fn vector_op(
        &mut self,
        b: &Binary,
        m: &VectorMatching,
        l: Vec<StepSeries>,
        r: Vec<StepSeries>,
        drops_name: bool,
    ) -> Result<Val> {
        // The "one" side is the right one except for group_right.
        let right_is_one = m.card != Cardinality::OneToMany;
        let (many, one) = if right_is_one { (&l, &r) } else { (&r, &l) };
        let many_sig: Vec<Labels> = many.iter().map(|s| signature(m, s)).collect();
        let one_sig: Vec<Labels> = one.iter().map(|s| signature(m, s)).collect();
        // Signature ids, so that steps index arrays instead of hashing labels.
        let mut ids: HashMap<&Labels, usize> = HashMap::new();
        let mut many_id = Vec::with_capacity(many_sig.len());
        for sig in &many_sig {
            let n = ids.len();
            many_id.push(*ids.entry(sig).or_insert(n));
        }
        let mut one_id = Vec::with_capacity(one_sig.len());
        for sig in &one_sig {
            let n = ids.len();
            one_id.push(*ids.entry(sig).or_insert(n));
        }
        let nids = ids.len();
        let frame = self.frame;
        let mut one_present: Vec<Vec<(usize, f64)>> = Vec::with_capacity(frame.len());
        for_each_step(frame, one, |_, _, present| {
            one_present.push(present.to_vec());
            Ok(())
        })?;
        let mut sink = SeriesSink::default();
        let side = if right_is_one { "right" } else { "left" };
        const NONE: usize = usize::MAX;
        // Per signature id at the current step: the one-side series there,
        // and the many-side series matched to it (one-to-one check).
        let mut one_at: Vec<(usize, f64)> = vec![(NONE, 0.0); nids];
        let mut matched: Vec<usize> = vec![NONE; nids];
        let mut many_at: Vec<bool> = vec![false; nids];
        // Per many-side series: the one-side series of its last output and
        // where that output went, to skip rebuilding labels every step.
        let mut out_of: Vec<(usize, usize)> = vec![(NONE, NONE); many.len()];
        for_each_step(frame, many, |step, t, present| {
            for &(j, v) in &one_present[step] {
                let id = one_id[j];
                if one_at[id].0 != NONE {
                    let k = one_at[id].0;
                    // The series just met first, then the one met before,
                    // as Prometheus lists them.
                    return Err(Error::Execution(format!(
                        "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                        one_sig[j], one[j].labels, one[k].labels
                    )));
                }
                one_at[id] = (j, v);
            }
            let mut inserted: HashMap<Labels, ()> = HashMap::new();
            let mut res = Ok(());
            for &(i, mv) in present {
                let id = many_id[i];
                many_at[id] = true;
                let (j, ov) = one_at[id];
                let (ov, one_idx) = if j != NONE {
                    (ov, Some(j))
                } else {
                    match m.fill.rhs {
                        Some(f) => (f, None),
                        None => continue,
                    }
                };
                if m.card == Cardinality::OneToOne && one_idx.is_some() {
                    if matched[id] != NONE {
                        res = Err(Error::Execution(
                            "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into(),
                        ));
                        break;
                    }
                    matched[id] = i;
                }
                let (lv, rv) = if right_is_one { (mv, ov) } else { (ov, mv) };
                let Some(v) = combine(b.op, b.return_bool, lv, rv, lv) else {
                    continue;
                };
                let (prev_j, out) = out_of[i];
                if m.card == Cardinality::OneToOne
                    && out != NONE
                    && prev_j == one_idx.unwrap_or(NONE)
                {
                    sink.push_at(out, t, v)?;
                    continue;
                }
                let labels = result_labels(m, &many[i], one_idx.map(|j| &one[j]));
                if m.card != Cardinality::OneToOne && inserted.insert(labels.clone(), ()).is_some()
                {
                    res = Err(Error::Execution(
                        "multiple matches for labels: grouping labels must ensure unique matches"
                            .into(),
                    ));
                    break;
                }
                let out = sink.push(labels, many[i].drop_name || drops_name, t, v)?;
                out_of[i] = (one_idx.unwrap_or(NONE), out);
            }
            // Unmatched elements of the one side, when the many side may be
            // filled (`fill_left` names the many side, also for group_right).
            if res.is_ok()
                && let Some(f) = m.fill.lhs
            {
                for &(j, ov) in &one_present[step] {
                    if many_at[one_id[j]] {
                        continue;
                    }
                    let (lv, rv) = if right_is_one { (f, ov) } else { (ov, f) };
                    let Some(v) = combine(b.op, b.return_bool, lv, rv, lv) else {
                        continue;
                    };
                    // A filled-in match takes the match group's labels.
                    if let Err(e) = sink.push(one_sig[j].clone(), false, t, v) {
                        res = Err(e);
                        break;
                    }
                }
            }
            for &(j, _) in &one_present[step] {
                one_at[one_id[j]] = (NONE, 0.0);
                matched[one_id[j]] = NONE;
            }
            for &(i, _) in present {
                many_at[many_id[i]] = false;
                matched[many_id[i]] = NONE;
            }
            res
        })?;
        Ok(Val::Vector(sink.out))
    }
}

/// The labels two series are matched on. The metric name never takes
/// part unless named in `on`; `__type__`/`__unit__` do, as in Prometheus.
fn signature(m: &VectorMatching, s: &StepSeries) -> Labels {
    if m.on {
        if s.drop_name {
            drop_metric_name(&s.labels).keep(&m.labels)
        } else {
            s.labels.keep(&m.labels)
        }
    } else {
        let mut names: Vec<&str> = m.labels.iter().map(String::as_str).collect();
        names.push("__name__");
        s.labels.drop_names(&names)
    }
}

/// The output labels of a matched pair: the "many" side's labels, cut to
/// the matching labels for one-to-one matching, plus the `group_x` extra
/// labels from the "one" side.
fn result_labels(m: &VectorMatching, many: &StepSeries, one: Option<&StepSeries>) -> Labels {
    let mut labels = many.labels.clone();
    if m.card == Cardinality::OneToOne {
        labels = if m.on {
            labels.keep(&m.labels)
        } else {
            labels.drop_names(&m.labels)
        };
    }
    if !m.include.is_empty()
        && let Some(one) = one
    {
        let mut b = labels.builder();
        for name in &m.include {
            let v = one.labels.get(name);
            if v.is_empty() {
                b.del(name);
            } else {
                b.set(name, v);
            }
        }
        labels = b.build();
    }
    labels
}
