//! `histogram_quantile` and `histogram_fraction` over classic histograms:
//! the elements of one step, grouped into histograms by their labels
//! without `le`.
//!
//! Output elements carry the group's labels without `le` but with the
//! metric name, marked `drop_name: true` (Prometheus 3's delayed name
//! removal). Two histograms differing only in name therefore collide when
//! the evaluator removes names (`histograms.test`: "expect fail" for
//! `{__name__=~"request_duration_seconds\\d*_bucket"}`).
//!
//! Only float elements exist in this engine, so the native-histogram half
//! of these functions (and the mixed classic/native warning) does not
//! apply.

use std::collections::HashMap;

use tsdb::model::Labels;

use super::buckets::{Bucket, bucket_fraction, bucket_quantile};
use super::go_float::parse_float;
use crate::ast::{format_float, quote_string};
use crate::error::Result;
use crate::eval::Elem;
use crate::value::Annotations;

/// The label holding a classic bucket's upper bound.
const BUCKET_LABEL: &str = "le";

/// `histogram_quantile(q, input)` at one step.
///
/// One output element per histogram, with [`bucket_quantile`]'s value
/// (NaN for an incomplete histogram, ±Inf for `q` outside `[0, 1]`).
/// Annotations, with Prometheus's texts:
/// - warning `quantile value should be between 0 and 1, got <q>` when `q`
///   is NaN or outside `[0, 1]`, even when `input` is empty (so the
///   evaluator should call this at every step);
/// - warning `bucket label "le" is missing or has a malformed value of
///   "<le>"[ for metric name "<name>"]` for each element skipped for it;
/// - info `input to histogram_quantile needed to be fixed for monotonicity
///   (see …#histogram_quantile)[ for metric name "<name>"]`.
///
/// The output order is the order in which histograms first appear in
/// `input`. Never fails (the `Result` leaves room for limits).
pub fn histogram_quantile(q: f64, input: Vec<Elem>, ann: &mut Annotations) -> Result<Vec<Elem>> {
    if !(0.0..=1.0).contains(&q) {
        ann.warn(format!(
            "quantile value should be between 0 and 1, got {}",
            format_float(q)
        ));
    }
    let groups = group_buckets(input, ann);
    Ok(groups
        .into_iter()
        .map(|mut g| {
            let r = bucket_quantile(q, &mut g.buckets);
            if r.forced_monotonic {
                ann.info(with_metric_name(
                    "input to histogram_quantile needed to be fixed for monotonicity \
                     (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)"
                        .to_string(),
                    g.labels.metric_name(),
                ));
            }
            output(g.labels, r.value)
        })
        .collect())
}

/// `histogram_fraction(lower, upper, input)` at one step: the estimated
/// fraction of observations between `lower` and `upper` in each classic
/// histogram (Prometheus 3 supports classic histograms here; see
/// [`bucket_fraction`] for the rules). Skipped elements get the same
/// `le` warning as [`histogram_quantile`]. Output order as there.
pub fn histogram_fraction(
    lower: f64,
    upper: f64,
    input: Vec<Elem>,
    ann: &mut Annotations,
) -> Result<Vec<Elem>> {
    let groups = group_buckets(input, ann);
    Ok(groups
        .into_iter()
        .map(|mut g| {
            let v = bucket_fraction(lower, upper, &mut g.buckets);
            output(g.labels, v)
        })
        .collect())
}

/// One classic histogram at one step.
struct Group {
    /// The buckets' labels without `le` (the metric name kept).
    labels: Labels,
    buckets: Vec<Bucket>,
}

/// Groups elements by their labels without `le`, in order of first
/// appearance. Elements without a parsable `le` (Go's `ParseFloat`
/// grammar) are skipped with a warning.
fn group_buckets(input: Vec<Elem>, ann: &mut Annotations) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for e in input {
        let le = e.labels.get(BUCKET_LABEL);
        let Some(upper) = parse_float(le) else {
            ann.warn(with_metric_name(
                format!(
                    "bucket label \"{BUCKET_LABEL}\" is missing or has a malformed value of {}",
                    quote_string(le)
                ),
                e.labels.metric_name(),
            ));
            continue;
        };
        let bucket = Bucket { upper, count: e.v };
        let key = e.labels.drop_names(&[BUCKET_LABEL]);
        match index.get(&key) {
            Some(&i) => groups[i].buckets.push(bucket),
            None => {
                index.insert(key.clone(), groups.len());
                groups.push(Group {
                    labels: key,
                    buckets: vec![bucket],
                });
            }
        }
    }
    groups
}

fn output(labels: Labels, v: f64) -> Elem {
    Elem {
        labels,
        v,
        drop_name: true,
    }
}

/// Appends ` for metric name "<name>"` unless the name is empty, as
/// Prometheus's annotations do.
fn with_metric_name(mut msg: String, name: &str) -> String {
    if !name.is_empty() {
        msg.push_str(" for metric name ");
        msg.push_str(&quote_string(name));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    fn el(pairs: &[(&str, &str)], v: f64) -> Elem {
        Elem {
            labels: Labels::from_pairs(pairs),
            v,
            drop_name: false,
        }
    }

    /// `testhistogram_bucket` at 50m (testdata/promql/histograms.test).
    fn testhistogram() -> Vec<Elem> {
        let n = ("__name__", "testhistogram_bucket");
        let p = ("start", "positive");
        let m = ("start", "negative");
        vec![
            el(&[n, p, ("le", "0.1")], 50.0),
            el(&[n, m, ("le", "-.2")], 10.0),
            el(&[n, p, ("le", ".2")], 70.0),
            el(&[n, p, ("le", "1e0")], 110.0),
            el(&[n, m, ("le", "-0.1")], 20.0),
            el(&[n, p, ("le", "+Inf")], 120.0),
            el(&[n, m, ("le", "0.3")], 20.0),
            el(&[n, m, ("le", "+Inf")], 30.0),
        ]
    }

    fn by_start(out: &[Elem], start: &str) -> f64 {
        out.iter()
            .find(|e| e.labels.get("start") == start)
            .map(|e| e.v)
            .unwrap()
    }

    #[test]
    fn quantiles_per_histogram_keep_name_for_delayed_removal() {
        let cases: &[(&str, f64, f64, f64)] = &[
            ("lowest bucket", 0.0, 0.0, -0.2),
            ("highest bucket", 1.0, 1.0, 0.3),
            ("q 0.2", 0.2, 0.048, -0.2),
            ("q 0.5", 0.5, 0.15, -0.15),
            ("q 0.8", 0.8, 0.72, 0.3),
        ];
        for (name, q, pos, neg) in cases {
            let mut ann = Annotations::default();
            let out = histogram_quantile(*q, testhistogram(), &mut ann).unwrap();
            assert_eq!(out.len(), 2, "{name}");
            assert!((by_start(&out, "positive") - pos).abs() < 1e-12, "{name}");
            assert!((by_start(&out, "negative") - neg).abs() < 1e-12, "{name}");
            for e in &out {
                assert!(e.drop_name, "{name}");
                assert!(!e.labels.has("le"), "{name}");
                assert_eq!(e.labels.metric_name(), "testhistogram_bucket", "{name}");
            }
            assert!(
                ann.warnings.is_empty() && ann.infos.is_empty(),
                "{name}: {ann:?}"
            );
        }
        // Output in order of first appearance.
        let out = histogram_quantile(0.5, testhistogram(), &mut Annotations::default()).unwrap();
        assert_eq!(out[0].labels.get("start"), "positive");
    }

    #[test]
    fn quantile_out_of_range_warns_even_without_input() {
        let cases: &[(f64, f64, &str)] = &[
            (-0.1, -INF, "-0.1"),
            (1.01, INF, "1.01"),
            (f64::NAN, f64::NAN, "NaN"),
            (1e21, INF, "1e+21"),
        ];
        for (q, want, shown) in cases {
            let mut ann = Annotations::default();
            let out = histogram_quantile(*q, testhistogram(), &mut ann).unwrap();
            assert!(
                out.iter()
                    .all(|e| e.v == *want || (e.v.is_nan() && want.is_nan()))
            );
            let msg =
                format!("PromQL warning: quantile value should be between 0 and 1, got {shown}");
            assert!(ann.warnings.contains(&msg), "{ann:?}");

            let mut ann = Annotations::default();
            assert!(histogram_quantile(*q, vec![], &mut ann).unwrap().is_empty());
            assert!(ann.warnings.contains(&msg));
        }
    }

    #[test]
    fn monotonicity_fix_is_an_info() {
        // nonmonotonic_bucket at 50m (histograms.test).
        let n = ("__name__", "nonmonotonic_bucket");
        let input: Vec<Elem> = [
            ("0.1", 20.0),
            ("1", 10.0),
            ("10", 50.0),
            ("100", 40.0),
            ("1000", 90.0),
            ("+Inf", 80.0),
        ]
        .iter()
        .map(|&(le, v)| el(&[n, ("le", le)], v))
        .collect();
        let mut ann = Annotations::default();
        let out = histogram_quantile(0.5, input.clone(), &mut ann).unwrap();
        assert_eq!(out[0].v, 8.5);
        let info = "PromQL info: input to histogram_quantile needed to be fixed for monotonicity \
                    (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) \
                    for metric name \"nonmonotonic_bucket\"";
        assert!(ann.infos.contains(info), "{ann:?}");
        assert!(ann.warnings.is_empty());

        // Without a name (e.g. after `sum by (le)`), no name in the text.
        let anonymous: Vec<Elem> = input
            .into_iter()
            .map(|mut e| {
                e.labels = e.labels.drop_names(&["__name__"]);
                e
            })
            .collect();
        let mut ann = Annotations::default();
        histogram_quantile(0.5, anonymous, &mut ann).unwrap();
        let bare = "PromQL info: input to histogram_quantile needed to be fixed for monotonicity \
                    (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)";
        assert!(ann.infos.contains(bare), "{ann:?}");
    }

    #[test]
    fn bad_or_missing_le_is_skipped_with_a_warning() {
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case] = &[
            (
                "missing",
                &[("__name__", "series"), ("ale", "0.1")],
                "PromQL warning: bucket label \"le\" is missing or has a malformed value of \"\" for metric name \"series\"",
            ),
            (
                "malformed",
                &[("__name__", "series"), ("le", "Hello World")],
                "PromQL warning: bucket label \"le\" is missing or has a malformed value of \"Hello World\" for metric name \"series\"",
            ),
            (
                "no name",
                &[("le", "x\"y")],
                "PromQL warning: bucket label \"le\" is missing or has a malformed value of \"x\\\"y\"",
            ),
        ];
        for (name, labels, msg) in cases {
            let mut ann = Annotations::default();
            let out = histogram_quantile(0.8, vec![el(labels, 2.0)], &mut ann).unwrap();
            assert!(out.is_empty(), "{name}");
            assert!(ann.warnings.contains(*msg), "{name}: {ann:?}");
            let mut ann = Annotations::default();
            let out = histogram_fraction(-INF, 1.0, vec![el(labels, 2.0)], &mut ann).unwrap();
            assert!(out.is_empty(), "{name}");
            assert!(ann.warnings.contains(*msg), "{name}: {ann:?}");
        }
    }

    #[test]
    fn same_labels_with_different_names_stay_apart() {
        // histograms.test: request_duration_seconds{,2}_bucket must produce
        // two elements, which collide once the names are removed.
        let mk = |name: &str| {
            [("0.1", 1.0), ("0.2", 3.0), ("+Inf", 4.0)]
                .iter()
                .map(|&(le, v)| el(&[("__name__", name), ("job", "job1"), ("le", le)], v))
                .collect::<Vec<_>>()
        };
        let mut input = mk("request_duration_seconds_bucket");
        input.extend(mk("request_duration_seconds2_bucket"));
        let out = histogram_quantile(0.99, input, &mut Annotations::default()).unwrap();
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|e| e.drop_name));
        assert_eq!(
            out[0].labels.drop_names(&["__name__"]),
            out[1].labels.drop_names(&["__name__"])
        );
    }

    #[test]
    fn duplicate_le_spellings_merge() {
        // mixed_bucket ins1 and ins2 after rate (histograms.test).
        let ins1 = ("instance", "ins1");
        let ins2 = ("instance", "ins2");
        let input = vec![
            el(&[ins1, ("le", "0.1")], 1.0),
            el(&[ins1, ("le", "0.2")], 1.0),
            el(&[ins1, ("le", "2e-1")], 1.0),
            el(&[ins1, ("le", "2.0e-1")], 1.0),
            el(&[ins1, ("le", "+Inf")], 4.0),
            el(&[ins2, ("le", "+inf")], 0.0),
            el(&[ins2, ("le", "+Inf")], 0.0),
        ];
        let out = histogram_quantile(0.5, input, &mut Annotations::default()).unwrap();
        assert_eq!(out.len(), 2);
        assert!((out[0].v - 0.15).abs() < 1e-12);
        assert!(out[1].v.is_nan());
    }

    #[test]
    fn fraction_per_histogram() {
        let mut ann = Annotations::default();
        let out = histogram_fraction(0.0, 0.2, testhistogram(), &mut ann).unwrap();
        assert_eq!(out.len(), 2);
        // 70 of 120 observations are <= 0.2 in the positive histogram; the
        // negative one has none between 0 and 0.2.
        assert!((by_start(&out, "positive") - 70.0 / 120.0).abs() < 1e-12);
        assert_eq!(by_start(&out, "negative"), 0.0);
        assert!(out.iter().all(|e| e.drop_name && !e.labels.has("le")));
        assert!(ann.warnings.is_empty() && ann.infos.is_empty());
    }
}
