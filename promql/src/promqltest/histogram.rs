//! Native histogram literals `{{schema:0 sum:5 count:4 buckets:[1 2 1]}}`,
//! their values as [`FloatHistogram`]s, and the comparison of a result
//! with an expected literal.

use tsdb::model::histogram::{self as model, FloatHistogram, IndexedBuckets, Span};

use super::compare::almost_equal;
use super::lex::scan_value;

/// A counter-reset hint as written in a literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterResetHint {
    Unknown,
    Reset,
    NotReset,
    Gauge,
}

/// One float histogram as written: absolute bucket counts, one span per
/// sign. Keys left out are zero / empty.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistogramLiteral {
    /// `-4..=8` exponential schemas, `-53` custom buckets.
    pub schema: i32,
    pub sum: f64,
    pub count: f64,
    /// `z_bucket`: the zero bucket's count.
    pub zero_count: f64,
    /// `z_bucket_w`: the zero bucket's half width.
    pub zero_threshold: f64,
    /// `buckets`: positive bucket counts starting at index `offset`.
    pub positive: Vec<f64>,
    pub offset: i32,
    /// `n_buckets`: negative bucket counts starting at index `n_offset`.
    pub negative: Vec<f64>,
    pub n_offset: i32,
    /// Upper bounds of custom buckets (schema -53), `+Inf` implicit.
    pub custom_values: Vec<f64>,
    /// `None` when the literal does not spell out `counter_reset_hint:`
    /// (the hint is then `unknown` and is not compared).
    pub counter_reset_hint: Option<CounterResetHint>,
}

/// The schema of native histograms with custom bucket bounds.
pub const CUSTOM_BUCKETS_SCHEMA: i32 = -53;

/// Parses the text between `{{` and `}}`: space-separated `key:value`
/// entries in any order, each key at most once.
pub fn parse_histogram(body: &str) -> Result<HistogramLiteral, String> {
    let mut h = HistogramLiteral::default();
    let mut seen: Vec<&str> = Vec::new();
    let mut rest = body.trim_start();
    while !rest.is_empty() {
        let colon = rest
            .find(':')
            .ok_or_else(|| format!("expected `key:value` in histogram at {rest:?}"))?;
        let key = &rest[..colon];
        if seen.contains(&key) {
            return Err(format!("histogram key {key} given twice"));
        }
        seen.push(key);
        let after = rest[colon + 1..].trim_start();
        let (value, r) = if let Some(list) = after.strip_prefix('[') {
            let close = list
                .find(']')
                .ok_or_else(|| format!("unclosed `[` after histogram key {key}"))?;
            (&list[..close], &list[close + 1..])
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            after.split_at(end)
        };
        rest = r.trim_start();
        let is_list = after.starts_with('[');
        match (key, is_list) {
            ("schema", false) => h.schema = int(key, value)?,
            ("sum", false) => h.sum = float(key, value)?,
            ("count", false) => h.count = float(key, value)?,
            ("z_bucket", false) => h.zero_count = float(key, value)?,
            ("z_bucket_w", false) => {
                h.zero_threshold = float(key, value)?;
                if value.starts_with(['-', '+']) {
                    return Err(format!("z_bucket_w must be unsigned, got {value}"));
                }
            }
            ("offset", false) => h.offset = int(key, value)?,
            ("n_offset", false) => h.n_offset = int(key, value)?,
            ("buckets", true) => h.positive = list(key, value)?,
            ("n_buckets", true) => h.negative = list(key, value)?,
            ("custom_values", true) => h.custom_values = list(key, value)?,
            ("counter_reset_hint", false) => {
                h.counter_reset_hint = Some(match value {
                    "unknown" => CounterResetHint::Unknown,
                    "reset" => CounterResetHint::Reset,
                    "not_reset" => CounterResetHint::NotReset,
                    "gauge" => CounterResetHint::Gauge,
                    other => return Err(format!("invalid counter_reset_hint {other}")),
                })
            }
            _ => return Err(format!("invalid histogram entry {key}:{value}")),
        }
    }
    let valid_schema = (-4..=8).contains(&h.schema) || h.schema == CUSTOM_BUCKETS_SCHEMA;
    if !valid_schema {
        return Err(format!("invalid histogram schema {}", h.schema));
    }
    if h.schema == CUSTOM_BUCKETS_SCHEMA && !h.custom_values.windows(2).all(|w| w[0] < w[1]) {
        return Err("custom_values must be ascending".into());
    }
    Ok(h)
}

impl HistogramLiteral {
    /// The histogram the literal writes: one span per sign.
    pub fn to_float(&self) -> FloatHistogram {
        let span = |offset: i32, n: usize| {
            if n == 0 {
                Vec::new()
            } else {
                vec![Span::new(offset, n as u32)]
            }
        };
        FloatHistogram {
            hint: match self.counter_reset_hint {
                Some(CounterResetHint::Reset) => model::CounterResetHint::CounterReset,
                Some(CounterResetHint::NotReset) => model::CounterResetHint::NotCounterReset,
                Some(CounterResetHint::Gauge) => model::CounterResetHint::Gauge,
                Some(CounterResetHint::Unknown) | None => model::CounterResetHint::Unknown,
            },
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero_count: self.zero_count,
            count: self.count,
            sum: self.sum,
            positive_spans: span(self.offset, self.positive.len()),
            negative_spans: span(self.n_offset, self.negative.len()),
            positive_buckets: self.positive.clone(),
            negative_buckets: self.negative.clone(),
            custom_values: self.custom_values.clone(),
        }
    }
}

/// Whether `got` is the histogram `want`: the same schema, zero threshold
/// and custom bounds, counts and sum equal up to the runner's float
/// tolerance, the same non-empty buckets, and (with `check_hint`) the
/// same counter-reset hint.
pub fn histogram_matches(want: &FloatHistogram, check_hint: bool, got: &FloatHistogram) -> bool {
    let nonempty = |it: IndexedBuckets<'_>| it.filter(|b| b.1 != 0.0).collect::<Vec<_>>();
    let same_buckets = |a: Vec<(i32, f64)>, b: Vec<(i32, f64)>| {
        a.len() == b.len()
            && a.iter()
                .zip(&b)
                .all(|(x, y)| x.0 == y.0 && almost_equal(x.1, y.1))
    };
    want.schema == got.schema
        && want.zero_threshold == got.zero_threshold
        && want.custom_values == got.custom_values
        && almost_equal(want.count, got.count)
        && almost_equal(want.sum, got.sum)
        && almost_equal(want.zero_count, got.zero_count)
        && same_buckets(nonempty(want.positive()), nonempty(got.positive()))
        && same_buckets(nonempty(want.negative()), nonempty(got.negative()))
        && (!check_hint || want.hint == got.hint)
}

fn int(key: &str, v: &str) -> Result<i32, String> {
    v.parse()
        .map_err(|_| format!("histogram key {key} needs an integer, got {v:?}"))
}

fn float(key: &str, v: &str) -> Result<f64, String> {
    match scan_value(v) {
        Ok((f, "")) => Ok(f),
        _ => Err(format!("histogram key {key} needs a number, got {v:?}")),
    }
}

fn list(key: &str, v: &str) -> Result<Vec<f64>, String> {
    v.split_whitespace().map(|x| float(key, x)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        let h = parse_histogram(
            "schema:1 sum:-5 count:4 z_bucket:1 z_bucket_w:0.001 buckets:[1 2 1 ] offset:-2 \
             n_buckets:[3] n_offset:1 counter_reset_hint:gauge",
        )
        .unwrap();
        assert_eq!(h.schema, 1);
        assert_eq!(
            (h.sum, h.count, h.zero_count, h.zero_threshold),
            (-5.0, 4.0, 1.0, 0.001)
        );
        assert_eq!(
            (h.positive.as_slice(), h.offset),
            (&[1.0, 2.0, 1.0][..], -2)
        );
        assert_eq!((h.negative.as_slice(), h.n_offset), (&[3.0][..], 1));
        assert_eq!(h.counter_reset_hint, Some(CounterResetHint::Gauge));

        assert_eq!(parse_histogram(" ").unwrap(), HistogramLiteral::default());
        let c =
            parse_histogram("schema:-53 custom_values:[0.1 1] buckets:[1 0 2] sum:Inf").unwrap();
        assert_eq!(c.custom_values, vec![0.1, 1.0]);
        assert!(c.sum.is_infinite());

        for (name, s) in [
            ("unknown_key", "foo:1"),
            ("twice", "sum:1 sum:2"),
            ("bad_schema", "schema:9"),
            ("list_for_scalar", "sum:[1]"),
            ("signed_width", "z_bucket_w:-1"),
            ("bad_hint", "counter_reset_hint:maybe"),
            ("unsorted_custom", "schema:-53 custom_values:[2 1]"),
            ("no_colon", "sum"),
        ] {
            assert!(parse_histogram(s).is_err(), "{name}");
        }
    }
}
