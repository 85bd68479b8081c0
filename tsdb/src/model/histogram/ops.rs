//! Arithmetic on float histograms: the operations PromQL needs (sum,
//! difference, scaling, resolution changes, reset detection), each a merge
//! over the buckets' `(index, count)` sequences.

use super::bounds::bucket_bound;
use super::{CounterResetHint, FloatHistogram, Span};
use crate::error::HistogramError;

/// The `(index, count)` of each bucket of one side, ascending by index.
pub struct IndexedBuckets<'a> {
    spans: &'a [Span],
    counts: &'a [f64],
    span: usize,
    left_in_span: u32,
    index: i32,
    pos: usize,
}

impl<'a> IndexedBuckets<'a> {
    pub fn new(spans: &'a [Span], counts: &'a [f64]) -> Self {
        IndexedBuckets {
            spans,
            counts,
            span: 0,
            left_in_span: 0,
            index: 0,
            pos: 0,
        }
    }
}

impl Iterator for IndexedBuckets<'_> {
    type Item = (i32, f64);

    fn next(&mut self) -> Option<(i32, f64)> {
        while self.left_in_span == 0 {
            let s = self.spans.get(self.span)?;
            // The first offset is an index; later ones are gaps after the
            // previous span's last bucket.
            self.index = if self.span == 0 {
                s.offset
            } else {
                self.index.wrapping_add(s.offset).wrapping_add(1)
            };
            self.left_in_span = s.length;
            self.span += 1;
            if s.length > 0 {
                let c = *self.counts.get(self.pos)?;
                self.pos += 1;
                self.left_in_span -= 1;
                return Some((self.index, c));
            }
        }
        self.index = self.index.wrapping_add(1);
        let c = *self.counts.get(self.pos)?;
        self.pos += 1;
        self.left_in_span -= 1;
        Some((self.index, c))
    }
}

/// Spans and counts for `(index, count)` pairs in ascending index order;
/// buckets whose indexes are at most `max_gap + 1` apart share a span (the
/// gap filled with empty buckets). `keep_empty` keeps empty buckets given.
pub(super) fn from_indexed(
    items: impl IntoIterator<Item = (i32, f64)>,
    max_gap: u32,
    keep_empty: bool,
) -> (Vec<Span>, Vec<f64>) {
    let mut spans: Vec<Span> = Vec::new();
    let mut counts = Vec::new();
    let mut last: Option<i32> = None;
    for (i, c) in items {
        if c == 0.0 && !keep_empty {
            continue;
        }
        match (last, spans.last_mut()) {
            (Some(l), Some(span)) if i64::from(i) - i64::from(l) - 1 <= i64::from(max_gap) => {
                let gap = (i - l - 1) as u32;
                counts.extend(std::iter::repeat_n(0.0, gap as usize));
                span.length += gap + 1;
            }
            (Some(l), _) => spans.push(Span::new(i - l - 1, 1)),
            (None, _) => spans.push(Span::new(i, 1)),
        }
        counts.push(c);
        last = Some(i);
    }
    (spans, counts)
}

/// Merges two ascending `(index, count)` sequences, combining counts of
/// equal indexes with `f` (and a missing side as 0).
fn merge(
    a: impl Iterator<Item = (i32, f64)>,
    b: impl Iterator<Item = (i32, f64)>,
    f: impl Fn(f64, f64) -> f64,
) -> Vec<(i32, f64)> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    let mut out = Vec::new();
    loop {
        let item = match (a.peek().copied(), b.peek().copied()) {
            (Some((i, x)), Some((j, y))) if i == j => {
                a.next();
                b.next();
                (i, f(x, y))
            }
            (Some((i, x)), Some((j, _))) if i < j => {
                a.next();
                (i, f(x, 0.0))
            }
            (Some(_), Some((j, y))) | (None, Some((j, y))) => {
                b.next();
                (j, f(0.0, y))
            }
            (Some((i, x)), None) => {
                a.next();
                (i, f(x, 0.0))
            }
            (None, None) => return out,
        };
        out.push(item);
    }
}

/// The index at `target` schema of the bucket holding bucket `index` of
/// `schema` (`target <= schema`).
fn coarser_index(index: i32, schema: i32, target: i32) -> i32 {
    ((index - 1) >> (schema - target)) + 1
}

/// Sums buckets into their coarser buckets (indexes stay ascending).
fn reduce(items: impl Iterator<Item = (i32, f64)>, schema: i32, target: i32) -> Vec<(i32, f64)> {
    let mut out: Vec<(i32, f64)> = Vec::new();
    for (i, c) in items {
        let j = coarser_index(i, schema, target);
        match out.last_mut() {
            Some((k, acc)) if *k == j => *acc += c,
            _ => out.push((j, c)),
        }
    }
    out
}

impl FloatHistogram {
    /// `(index, count)` of the positive buckets.
    pub fn positive(&self) -> IndexedBuckets<'_> {
        IndexedBuckets::new(&self.positive_spans, &self.positive_buckets)
    }

    /// `(index, count)` of the negative buckets.
    pub fn negative(&self) -> IndexedBuckets<'_> {
        IndexedBuckets::new(&self.negative_spans, &self.negative_buckets)
    }

    /// Drops empty buckets, joining spans separated by at most `max_empty`
    /// empty buckets.
    pub fn compact(&mut self, max_empty: u32) {
        let (ps, pb) = from_indexed(self.positive().collect::<Vec<_>>(), max_empty, false);
        let (ns, nb) = from_indexed(self.negative().collect::<Vec<_>>(), max_empty, false);
        (self.positive_spans, self.positive_buckets) = (ps, pb);
        (self.negative_spans, self.negative_buckets) = (ns, nb);
    }

    /// The same observations at a coarser exponential schema (a no-op when
    /// `target` is not coarser, or for custom buckets).
    pub fn reduce_resolution(&mut self, target: i32) {
        if self.uses_custom_buckets() || target >= self.schema {
            return;
        }
        let p = reduce(self.positive(), self.schema, target);
        let n = reduce(self.negative(), self.schema, target);
        (self.positive_spans, self.positive_buckets) = from_indexed(p, 0, true);
        (self.negative_spans, self.negative_buckets) = from_indexed(n, 0, true);
        self.schema = target;
    }

    /// Multiplies every count and the sum by `f`.
    pub fn scale(&mut self, f: f64) {
        self.count *= f;
        self.sum *= f;
        self.zero_count *= f;
        self.positive_buckets.iter_mut().for_each(|c| *c *= f);
        self.negative_buckets.iter_mut().for_each(|c| *c *= f);
    }

    /// Moves buckets that lie within `threshold` into the zero bucket. When
    /// the threshold falls inside a populated bucket, it grows to that
    /// bucket's upper bound. Returns the threshold used.
    pub(super) fn widen_zero_bucket(&mut self, mut threshold: f64) -> f64 {
        if threshold <= self.zero_threshold || self.uses_custom_buckets() {
            return self.zero_threshold;
        }
        loop {
            let mut moved = 0.0;
            let mut grow = None;
            let (schema, cv) = (self.schema, &self.custom_values);
            let mut keep = |items: Vec<(i32, f64)>| -> Vec<(i32, f64)> {
                items
                    .into_iter()
                    .filter(|&(i, c)| {
                        let upper = bucket_bound(schema, i, cv);
                        let lower = bucket_bound(schema, i - 1, cv);
                        if upper <= threshold {
                            moved += c;
                            false
                        } else {
                            if lower < threshold && c != 0.0 {
                                grow = Some(upper);
                            }
                            true
                        }
                    })
                    .collect()
            };
            let p = keep(self.positive().collect());
            let n = keep(self.negative().collect());
            if let Some(upper) = grow.filter(|&u| u > threshold) {
                threshold = upper;
                continue;
            }
            self.zero_count += moved;
            (self.positive_spans, self.positive_buckets) = from_indexed(p, 0, true);
            (self.negative_spans, self.negative_buckets) = from_indexed(n, 0, true);
            self.zero_threshold = threshold;
            return threshold;
        }
    }

    /// `self += other` (or `-=` with `negate`): the coarser schema, the
    /// wider zero bucket. Custom buckets with different bounds are
    /// reconciled to the bounds both have; returns whether that happened.
    /// Mixing exponential and custom buckets is an error.
    pub fn add_assign(
        &mut self,
        other: &FloatHistogram,
        negate: bool,
    ) -> Result<bool, HistogramError> {
        if self.uses_custom_buckets() != other.uses_custom_buckets() {
            return Err(HistogramError::IncompatibleSchemas);
        }
        let mut other = other.clone();
        let mut reconciled = false;
        if self.uses_custom_buckets() && self.custom_values != other.custom_values {
            let common: Vec<f64> = self
                .custom_values
                .iter()
                .copied()
                .filter(|b| other.custom_values.contains(b))
                .collect();
            self.rebucket_custom(&common);
            other.rebucket_custom(&common);
            reconciled = true;
        }
        let schema = self.schema.min(other.schema);
        self.reduce_resolution(schema);
        other.reduce_resolution(schema);
        let threshold = self.zero_threshold.max(other.zero_threshold);
        let threshold = other.widen_zero_bucket(self.widen_zero_bucket(threshold));
        self.widen_zero_bucket(threshold);
        let sign = if negate { -1.0 } else { 1.0 };
        let combine = |x: f64, y: f64| x + sign * y;
        let p = merge(self.positive(), other.positive(), combine);
        let n = merge(self.negative(), other.negative(), combine);
        (self.positive_spans, self.positive_buckets) = from_indexed(p, 0, true);
        (self.negative_spans, self.negative_buckets) = from_indexed(n, 0, true);
        self.count += sign * other.count;
        self.sum += sign * other.sum;
        self.zero_count += sign * other.zero_count;
        if other.hint == CounterResetHint::Gauge || negate {
            self.hint = CounterResetHint::Gauge;
        }
        Ok(reconciled)
    }

    /// Maps custom buckets onto `bounds` (a subset of the current bounds):
    /// each bucket goes to the new bucket that contains it.
    pub(super) fn rebucket_custom(&mut self, bounds: &[f64]) {
        let mut items: Vec<(i32, f64)> = Vec::new();
        for (i, c) in self.positive() {
            let upper = bucket_bound(self.schema, i, &self.custom_values);
            let j = bounds.partition_point(|&b| b < upper) as i32;
            match items.last_mut() {
                Some((k, acc)) if *k == j => *acc += c,
                _ => items.push((j, c)),
            }
        }
        (self.positive_spans, self.positive_buckets) = from_indexed(items, 0, true);
        self.custom_values = bounds.to_vec();
    }

    /// Whether `self` follows a counter reset after `prev`: the hint says
    /// so, or (hint unknown or gauge) a count, the zero bucket or any
    /// bucket went down, or the bucket layout became incompatible (finer
    /// schema, narrower zero bucket, exponential versus custom buckets).
    /// Custom buckets with other bounds are compared on the bounds both
    /// have, as Prometheus 3 reconciles them.
    pub fn detect_reset(&self, prev: &FloatHistogram) -> bool {
        match self.hint {
            CounterResetHint::CounterReset => true,
            CounterResetHint::NotCounterReset => false,
            CounterResetHint::Unknown | CounterResetHint::Gauge => self.detect_reset_by_value(prev),
        }
    }

    /// [`detect_reset`](Self::detect_reset) from the values alone, whatever
    /// the hint says.
    pub fn detect_reset_by_value(&self, prev: &FloatHistogram) -> bool {
        if self.count < prev.count
            || self.uses_custom_buckets() != prev.uses_custom_buckets()
            || self.schema > prev.schema
            || self.zero_threshold < prev.zero_threshold
        {
            return true;
        }
        if self.uses_custom_buckets() && self.custom_values != prev.custom_values {
            let common: Vec<f64> = self
                .custom_values
                .iter()
                .copied()
                .filter(|b| prev.custom_values.contains(b))
                .collect();
            let (mut cur, mut old) = (self.clone(), prev.clone());
            cur.rebucket_custom(&common);
            old.rebucket_custom(&common);
            return cur.detect_reset_by_value(&old);
        }
        let mut p = prev.clone();
        p.reduce_resolution(self.schema);
        if p.widen_zero_bucket(self.zero_threshold) != self.zero_threshold
            || self.zero_count < p.zero_count
        {
            return true;
        }
        let went_down = |cur: IndexedBuckets<'_>, old: IndexedBuckets<'_>| {
            merge(old, cur, |o, c| if c < o { -1.0 } else { 0.0 })
                .iter()
                .any(|&(_, d)| d < 0.0)
        };
        went_down(self.positive(), p.positive()) || went_down(self.negative(), p.negative())
    }

    /// Equality of the observations, ignoring empty buckets and how spans
    /// are laid out; NaN sums compare equal to each other.
    pub fn same_observations(&self, other: &FloatHistogram) -> bool {
        let nonempty = |it: IndexedBuckets<'_>| it.filter(|&(_, c)| c != 0.0).collect::<Vec<_>>();
        self.schema == other.schema
            && self.zero_threshold == other.zero_threshold
            && self.zero_count == other.zero_count
            && self.count == other.count
            && (self.sum == other.sum || (self.sum.is_nan() && other.sum.is_nan()))
            && self.custom_values == other.custom_values
            && nonempty(self.positive()) == nonempty(other.positive())
            && nonempty(self.negative()) == nonempty(other.negative())
    }
}
