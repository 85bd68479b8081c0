//! Differential test of native histograms: the same remote-write 1.0
//! histogram data in a real Prometheus and in Almanac, and the same PromQL
//! queries against both.
//!
//! Prometheus is Debian's package (2.42; `scripts/test.sh` installs it),
//! started with `--enable-feature=native-histograms` and
//! `--web.enable-remote-write-receiver`. The data: counter histograms of
//! several schemas (−2, 0, 1, 3), with zero buckets, negative buckets,
//! counter resets and bucket layouts that grow, a gauge histogram that
//! goes up and down, and two series of one name at different schemas and
//! zero-bucket widths for aggregations. Every query runs as instant
//! queries at several times and as range queries; answers must have the
//! same series and timestamps, floats equal within a relative 1e-6, and
//! histograms the same populated buckets (bounds and boundary rules) with
//! counts, count and sum equal within 1e-6.
//!
//! Almanac follows Prometheus 3.x. Sample timestamps sit off every window
//! boundary, so 2.42's closed windows and 3.x's left-open ones select the
//! same samples. Where 2.42 and 3.x differ, the case says how:
//! - [`Check::Interpolated`]: 3.x interpolates `histogram_quantile` and
//!   `histogram_fraction` exponentially inside exponential buckets, 2.42
//!   linearly. Prometheus is asked for the histogram (`X`), Almanac for
//!   the function of it (`f(X)`), and Almanac's answer must equal 3.x's
//!   rule applied to Prometheus's buckets (written out independently below).
//! - [`Check::Scaled`]: 2.42 returns `H * s` and `H / s` unscaled;
//!   Almanac's answer must be Prometheus's histogram scaled.
//! - [`Check::ZeroBucketShown`]: 2.42 leaves a zero bucket with a negative
//!   count (a `delta` of a gauge histogram) out of its JSON.
//! - [`Case::prom`]: functions 2.42 lacks (`histogram_avg`) are asked of
//!   it in an equivalent spelling.
//!
//! Not compared, because 2.42 has no histogram support there at all (it
//! answers the float 0): `irate`/`idelta` and `last_over_time` of
//! histograms, and subqueries returning histograms. Negative schemas are
//! left out: 2.42 renders their bucket bounds wrongly in JSON (a lower
//! bound above the upper one); they are covered by the golden-bytes test
//! and the PromQL scripts.
//!
//! Run: `cargo test --release --test histogram_differential -- --nocapture`.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use almanac::harness::{Response, TestServer, form, request, snappy};
use almanac::peers::Prometheus;
use prost::Message;
use serde_json::Value;
use server::prompb;
use tsdb::model::histogram::{CounterResetHint, Histogram, Span, deltas};

const SEC: i64 = 1000;
const MIN: i64 = 60 * SEC;
/// The first sample's time (2023-11-14T22:13:20.311Z): every sample sits
/// 311 ms past a whole second, off the queries' window boundaries.
const S: i64 = 1_700_000_000_311;
const INTERVAL: i64 = 15 * SEC;
/// Two hours of samples.
const SAMPLES: usize = 480;
/// Remote-write requests cover this much time each, oldest first.
const BATCH: i64 = 10 * MIN;

/// Instant-query times, relative to the whole second before [`S`].
const INSTANT_TIMES: &[i64] = &[
    20 * MIN + 437,
    47 * MIN + 30 * SEC + 777,
    91 * MIN + 437,
    119 * MIN + 45 * SEC + 777,
];
/// Range queries: start, end (relative to the second before [`S`]), step.
const RANGES: &[(i64, i64, &str)] = &[
    (10 * MIN + 123, 118 * MIN + 123, "61"),
    (31 * MIN + 623, 44 * MIN + 623, "15.5"),
];

// ---------------------------------------------------------------------
// Data

/// An integer histogram; `count` is the sum of all buckets.
fn hist(
    schema: i32,
    zero: (f64, u64),
    pos: (&[Span], &[u64]),
    neg: (&[Span], &[u64]),
    sum: f64,
    hint: CounterResetHint,
) -> Histogram {
    Histogram {
        hint,
        schema,
        zero_threshold: zero.0,
        zero_count: zero.1,
        count: zero.1 + pos.1.iter().sum::<u64>() + neg.1.iter().sum::<u64>(),
        sum,
        positive_spans: pos.0.to_vec(),
        negative_spans: neg.0.to_vec(),
        positive_deltas: deltas(pos.1),
        negative_deltas: deltas(neg.1),
        custom_values: vec![],
    }
}

type Generator = Box<dyn Fn(u64) -> Histogram>;

/// The series: labels and the histogram at sample `i`.
fn series() -> Vec<(Vec<(&'static str, &'static str)>, Generator)> {
    use CounterResetHint::{Gauge, Unknown};
    vec![
        (
            vec![("__name__", "hd"), ("kind", "schema0")],
            Box::new(|i| {
                let c = [1000 + 3 * i, 500 + 7 * i, 200 + i, 40 + i / 3];
                hist(
                    0,
                    (0.001, 10 + i / 5),
                    (&[Span::new(-1, 4)], &c),
                    (&[], &[]),
                    5e3 + 9.5 * i as f64,
                    Unknown,
                )
            }),
        ),
        (
            vec![("__name__", "hd"), ("kind", "negative")],
            Box::new(|i| {
                let pos = [300 + 2 * i, 100 + i, 50 + i / 2];
                let neg = [200 + i, 80 + i / 4];
                hist(
                    3,
                    (0.01, 50 + i),
                    (&[Span::new(2, 2), Span::new(3, 1)], &pos),
                    (&[Span::new(-2, 2)], &neg),
                    120.0 + 0.75 * i as f64,
                    Unknown,
                )
            }),
        ),
        (
            vec![("__name__", "hd"), ("kind", "reset")],
            Box::new(|i| {
                // Restarts every 100 samples, never from zero.
                let n = 2000 + (i % 100) * 11;
                let c = [n / 2, n / 4, n / 8, n - n / 2 - n / 4 - n / 8];
                hist(
                    2,
                    (1e-9, 0),
                    (&[Span::new(1, 4)], &c),
                    (&[], &[]),
                    3.5 * n as f64,
                    Unknown,
                )
            }),
        ),
        (
            vec![("__name__", "hd"), ("kind", "growing")],
            Box::new(|i| {
                if i < 160 {
                    hist(
                        1,
                        (1e-9, 0),
                        (&[Span::new(0, 2)], &[800 + i, 900 + i]),
                        (&[], &[]),
                        2e3 + i as f64,
                        Unknown,
                    )
                } else if i < 320 {
                    let spans = [Span::new(0, 2), Span::new(3, 1)];
                    hist(
                        1,
                        (1e-9, 0),
                        (&spans, &[800 + i, 900 + i, i - 159]),
                        (&[], &[]),
                        2e3 + 3.0 * i as f64,
                        Unknown,
                    )
                } else {
                    let spans = [Span::new(-2, 1), Span::new(1, 2), Span::new(3, 1)];
                    hist(
                        1,
                        (1e-9, 0),
                        (&spans, &[i - 319, 800 + i, 900 + i, i - 159]),
                        (&[], &[]),
                        2e3 + 5.0 * i as f64,
                        Unknown,
                    )
                }
            }),
        ),
        (
            vec![("__name__", "hd_gauge")],
            Box::new(|i| {
                // Up and down: a gauge histogram of, say, queue waits.
                let w = (i % 40).abs_diff(20);
                let c = [5 + w, 10 + 2 * w, 3 + w / 2];
                hist(
                    0,
                    (0.001, w / 4),
                    (&[Span::new(0, 3)], &c),
                    (&[], &[]),
                    7.0 * w as f64 + 1.0,
                    Gauge,
                )
            }),
        ),
        (
            vec![("__name__", "hd_pods"), ("pod", "a")],
            Box::new(|i| {
                let c = [100 + 2 * i, 60 + i, 20 + i / 2];
                hist(
                    0,
                    (0.001, 5 + i / 10),
                    (&[Span::new(0, 3)], &c),
                    (&[], &[]),
                    400.0 + 1.5 * i as f64,
                    Unknown,
                )
            }),
        ),
        (
            vec![("__name__", "hd_pods"), ("pod", "b")],
            Box::new(|i| {
                let c = [40 + i, 70 + i, 30 + 2 * i, 10 + i / 4];
                hist(
                    1,
                    (0.01, 2 + i / 20),
                    (&[Span::new(-1, 4)], &c),
                    (&[], &[]),
                    900.0 + 4.0 * i as f64,
                    Unknown,
                )
            }),
        ),
    ]
}

/// Remote-write requests of [`BATCH`] each, oldest first.
fn requests() -> Vec<Vec<u8>> {
    let all = series();
    let per_batch = (BATCH / INTERVAL) as usize;
    (0..SAMPLES)
        .step_by(per_batch)
        .map(|from| {
            let to = (from + per_batch).min(SAMPLES);
            let req = prompb::WriteRequest {
                timeseries: all
                    .iter()
                    .map(|(labels, f)| prompb::TimeSeries {
                        labels: labels
                            .iter()
                            .map(|(n, v)| prompb::Label {
                                name: (*n).into(),
                                value: (*v).into(),
                            })
                            .collect(),
                        histograms: (from..to)
                            .map(|i| {
                                prompb::Histogram::from_int(&f(i as u64), S + i as i64 * INTERVAL)
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                metadata: vec![],
            };
            snappy(&req.encode_to_vec())
        })
        .collect()
}

// ---------------------------------------------------------------------
// Cases

/// How an answer pair is judged.
#[derive(Clone, Copy)]
enum Check {
    /// Equal answers.
    Same,
    /// Almanac answers `f(X)`, Prometheus `X`; see the module doc.
    Interpolated(Interp),
    /// Almanac answers `X * f`, Prometheus `X` (2.42 does not scale
    /// histograms by scalars).
    Scaled(f64),
    /// Equal, except that 2.42 leaves a zero bucket with a negative count
    /// out of its JSON (its count and sum still hold it); Almanac shows it.
    ZeroBucketShown,
}

/// 3.x's `histogram_quantile(q, ·)` or `histogram_fraction(lo, hi, ·)`.
#[derive(Clone, Copy)]
enum Interp {
    Quantile(f64),
    Fraction(f64, f64),
}

struct Case {
    query: &'static str,
    /// Prometheus 2.42's spelling, when it differs.
    prom: Option<&'static str>,
    check: Check,
}

const fn q(query: &'static str) -> Case {
    Case {
        query,
        prom: None,
        check: Check::Same,
    }
}

const fn spelled(query: &'static str, prom: &'static str) -> Case {
    Case {
        query,
        prom: Some(prom),
        check: Check::Same,
    }
}

const fn scaled(query: &'static str, prom: &'static str, f: f64) -> Case {
    Case {
        query,
        prom: Some(prom),
        check: Check::Scaled(f),
    }
}

const fn interpolated(query: &'static str, prom: &'static str, how: Interp) -> Case {
    Case {
        query,
        prom: Some(prom),
        check: Check::Interpolated(how),
    }
}

const SUITE: &[Case] = &[
    // Selection.
    q("hd"),
    q("hd_gauge"),
    q("hd_pods"),
    q("hd offset 7m"),
    q(r#"hd{kind="growing"}"#),
    q("count_over_time(hd[5m])"),
    q("present_over_time(hd_pods[2m])"),
    q("timestamp(hd)"),
    // Functions of one histogram.
    q("histogram_count(hd)"),
    q("histogram_sum(hd)"),
    q("histogram_count(hd_gauge)"),
    q("histogram_sum(hd_pods)"),
    spelled(
        "histogram_avg(hd)",
        "histogram_sum(hd) / histogram_count(hd)",
    ),
    q("histogram_count(hd) > 2000"),
    q("histogram_count(hd) > bool 2000"),
    q("histogram_sum(hd) / histogram_count(hd)"),
    // Rates.
    q("rate(hd[5m])"),
    q("rate(hd[1m])"),
    q("increase(hd[10m])"),
    q("rate(hd_pods[3m])"),
    Case {
        query: "delta(hd_gauge[5m])",
        prom: None,
        check: Check::ZeroBucketShown,
    },
    q("histogram_count(rate(hd[5m]))"),
    q("histogram_sum(rate(hd[5m]))"),
    q(r#"histogram_count(increase(hd{kind="reset"}[30m]))"#),
    q(r#"increase(hd{kind="reset"}[30m])"#),
    q(r#"rate(hd{kind="growing"}[10m])"#),
    // Aggregations.
    q("sum(hd_pods)"),
    q("sum(rate(hd_pods[5m]))"),
    q("sum by (kind) (rate(hd[5m]))"),
    q("sum(rate(hd[5m]))"),
    q("count(hd)"),
    q("count by (pod) (hd_pods)"),
    q("histogram_count(sum(rate(hd[5m])))"),
    q("sum(histogram_count(rate(hd[5m])))"),
    q("topk(2, histogram_count(hd))"),
    q("max(histogram_sum(rate(hd[5m])))"),
    // Arithmetic: 2.42 leaves histograms unscaled.
    scaled("hd * 2", "hd", 2.0),
    scaled("3 * hd_pods", "hd_pods", 3.0),
    scaled("hd / 4", "hd", 0.25),
    scaled("rate(hd[5m]) * 60", "rate(hd[5m])", 60.0),
    q("histogram_count(hd) - histogram_count(hd offset 5m)"),
    q("histogram_sum(increase(hd[10m]))"),
    q("sum by (kind) (histogram_count(increase(hd[15m])))"),
    q("avg_over_time(histogram_count(hd)[10m:1m])"),
    // Subqueries.
    q("max_over_time(histogram_count(rate(hd[5m]))[30m:1m])"),
    // Quantiles and fractions: 3.x interpolation over Prometheus's buckets.
    interpolated(
        "histogram_quantile(0.9, rate(hd[5m]))",
        "rate(hd[5m])",
        Interp::Quantile(0.9),
    ),
    interpolated(
        "histogram_quantile(0.5, sum(rate(hd_pods[5m])))",
        "sum(rate(hd_pods[5m]))",
        Interp::Quantile(0.5),
    ),
    interpolated(
        "histogram_quantile(0.99, sum by (kind) (rate(hd[10m])))",
        "sum by (kind) (rate(hd[10m]))",
        Interp::Quantile(0.99),
    ),
    interpolated(
        "histogram_quantile(0.25, hd_gauge)",
        "hd_gauge",
        Interp::Quantile(0.25),
    ),
    interpolated(
        "histogram_fraction(0, 2, rate(hd[5m]))",
        "rate(hd[5m])",
        Interp::Fraction(0.0, 2.0),
    ),
    interpolated(
        "histogram_fraction(-1, 1.5, hd)",
        "hd",
        Interp::Fraction(-1.0, 1.5),
    ),
];

// ---------------------------------------------------------------------
// Answers

/// One bucket: boundary rule, lower, upper, count.
type Bucket = (u8, f64, f64, f64);

#[derive(Debug, Clone)]
enum Val {
    F(f64),
    H {
        count: f64,
        sum: f64,
        buckets: Vec<Bucket>,
    },
}

/// Series (sorted labels) → points, or an error.
type Answer = Result<BTreeMap<String, Vec<(i64, Val)>>, String>;

fn num(v: &Value) -> f64 {
    match v.as_str() {
        Some("+Inf") => f64::INFINITY,
        Some("-Inf") => f64::NEG_INFINITY,
        Some(s) => s.parse().unwrap_or(f64::NAN),
        None => v.as_f64().unwrap_or(f64::NAN),
    }
}

fn ms(v: &Value) -> i64 {
    (v.as_f64().unwrap_or(f64::NAN) * 1000.0).round() as i64
}

fn hval(v: &Value) -> Val {
    let mut buckets: Vec<Bucket> = v["buckets"]
        .as_array()
        .map(|bs| {
            bs.iter()
                .map(|b| {
                    (
                        b[0].as_u64().unwrap_or(9) as u8,
                        num(&b[1]),
                        num(&b[2]),
                        num(&b[3]),
                    )
                })
                .filter(|b| b.3 != 0.0)
                .collect()
        })
        .unwrap_or_default();
    buckets.sort_by(|a, b| a.1.total_cmp(&b.1));
    Val::H {
        count: num(&v["count"]),
        sum: num(&v["sum"]),
        buckets,
    }
}

fn answer(r: &Response) -> Answer {
    let v = r.json();
    if v["status"] != "success" {
        return Err(format!("{}: {}", v["errorType"], v["error"]));
    }
    let mut out = BTreeMap::new();
    for s in v["data"]["result"].as_array().into_iter().flatten() {
        let mut labels: Vec<(String, String)> = s["metric"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        labels.sort();
        let key = format!("{labels:?}");
        let mut pts: Vec<(i64, Val)> = Vec::new();
        if let Some(p) = s.get("value") {
            pts.push((ms(&p[0]), Val::F(num(&p[1]))));
        }
        if let Some(p) = s.get("histogram") {
            pts.push((ms(&p[0]), hval(&p[1])));
        }
        for p in s["values"].as_array().into_iter().flatten() {
            pts.push((ms(&p[0]), Val::F(num(&p[1]))));
        }
        for p in s["histograms"].as_array().into_iter().flatten() {
            pts.push((ms(&p[0]), hval(&p[1])));
        }
        pts.sort_by_key(|p| p.0);
        out.insert(key, pts);
    }
    Ok(out)
}

#[derive(Clone, Copy, Debug)]
enum Eval {
    Instant(i64),
    Range(i64, i64, &'static str),
}

fn secs(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

fn run(addr: SocketAddr, query: &str, eval: Eval) -> Answer {
    let (path, body) = match eval {
        Eval::Instant(t) => (
            "/api/v1/query",
            form(&[("query", query), ("time", &secs(t))]),
        ),
        Eval::Range(a, b, step) => (
            "/api/v1/query_range",
            form(&[
                ("query", query),
                ("start", &secs(a)),
                ("end", &secs(b)),
                ("step", step),
            ]),
        ),
    };
    let r = request(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .map_err(|e| e.to_string())?;
    answer(&r)
}

fn close(a: f64, b: f64) -> bool {
    if a == b || (a.is_nan() && b.is_nan()) {
        return true;
    }
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs())
}

fn same_val(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::F(x), Val::F(y)) => close(*x, *y),
        (
            Val::H {
                count: c1,
                sum: s1,
                buckets: b1,
            },
            Val::H {
                count: c2,
                sum: s2,
                buckets: b2,
            },
        ) => {
            close(*c1, *c2)
                && close(*s1, *s2)
                && b1.len() == b2.len()
                && b1.iter().zip(b2).all(|(x, y)| {
                    x.0 == y.0 && close(x.1, y.1) && close(x.2, y.2) && close(x.3, y.3)
                })
        }
        _ => false,
    }
}

/// Why two answers differ, or `None` when they agree.
fn compare(prom: &Answer, alm: &Answer) -> Option<String> {
    match (prom, alm) {
        (Err(p), Err(a)) => (p != a).then(|| format!("errors differ: {p} / {a}")),
        (Ok(p), Ok(a)) => {
            if p.keys().ne(a.keys()) {
                return Some(format!(
                    "series differ: prometheus {:?}, almanac {:?}",
                    p.keys().collect::<Vec<_>>(),
                    a.keys().collect::<Vec<_>>()
                ));
            }
            for (k, pp) in p {
                let ap = &a[k];
                if pp.len() != ap.len() {
                    return Some(format!("{k}: {} points vs {}", pp.len(), ap.len()));
                }
                for ((t1, v1), (t2, v2)) in pp.iter().zip(ap) {
                    if t1 != t2 || !same_val(v1, v2) {
                        return Some(format!("{k} at {t1}/{t2}: {v1:?} vs {v2:?}"));
                    }
                }
            }
            None
        }
        (p, a) => Some(format!("{p:?} vs {a:?}")),
    }
}

// ---------------------------------------------------------------------
// 3.x interpolation, written out from Prometheus's documentation: inside
// an exponential bucket values are spread exponentially (linearly on a
// log scale, on absolute values for negative buckets); inside the zero
// bucket linearly.

/// The value `f` of the way through bucket `b` (by population).
fn at_fraction(b: &Bucket, f: f64) -> f64 {
    let (lo, hi) = (b.1, b.2);
    if lo > 0.0 {
        lo * (hi / lo).powf(f)
    } else if hi < 0.0 {
        -((-lo) * (hi / lo).powf(f))
    } else {
        lo + f * (hi - lo)
    }
}

/// The share of bucket `b` below `x`.
fn below_in(b: &Bucket, x: f64) -> f64 {
    let (lo, hi) = (b.1, b.2);
    if x <= lo {
        0.0
    } else if x >= hi {
        1.0
    } else if lo > 0.0 {
        (x / lo).ln() / (hi / lo).ln()
    } else if hi < 0.0 {
        (lo / x).ln() / (lo / hi).ln()
    } else {
        (x - lo) / (hi - lo)
    }
}

/// The zero bucket holds only non-negative values when no negative
/// bucket is populated (and the other way round).
fn biased(buckets: &[Bucket]) -> Vec<Bucket> {
    let neg = buckets.iter().any(|b| b.2 <= 0.0 && b.1 < 0.0 && b.0 != 3);
    let pos = buckets.iter().any(|b| b.1 >= 0.0 && b.2 > 0.0 && b.0 != 3);
    buckets
        .iter()
        .map(|&b| match (b.0, pos, neg) {
            (3, true, false) => (3, 0.0, b.2, b.3),
            (3, false, true) => (3, b.1, 0.0, b.3),
            _ => b,
        })
        .collect()
}

fn interpolate(how: Interp, count: f64, buckets: &[Bucket]) -> f64 {
    let buckets = biased(buckets);
    match how {
        Interp::Quantile(q) => {
            if count == 0.0 || buckets.is_empty() {
                return f64::NAN;
            }
            let rank = q * count;
            let mut seen = 0.0;
            for b in &buckets {
                if seen + b.3 >= rank {
                    return at_fraction(b, (rank - seen) / b.3);
                }
                seen += b.3;
            }
            buckets.last().map_or(f64::NAN, |b| b.2)
        }
        Interp::Fraction(lo, hi) => {
            if count == 0.0 {
                return f64::NAN;
            }
            let below = |x: f64| -> f64 { buckets.iter().map(|b| b.3 * below_in(b, x)).sum() };
            (below(hi) - below(lo)) / count
        }
    }
}

/// Prometheus's answer with every histogram mapped by `f` and the metric
/// name dropped, as `f(X)` or `X * s` drop it.
fn map_histograms(prom: &Answer, f: impl Fn(f64, f64, &[Bucket]) -> Val) -> Answer {
    let p = prom.as_ref().map_err(Clone::clone)?;
    let mut out = BTreeMap::new();
    for (k, pts) in p {
        let vals = pts
            .iter()
            .map(|(t, v)| match v {
                Val::H {
                    count,
                    sum,
                    buckets,
                } => (*t, f(*count, *sum, buckets)),
                other => (*t, other.clone()),
            })
            .collect();
        out.insert(drop_name(k), vals);
    }
    Ok(out)
}

/// A series key (`[("__name__", "m"), ("a", "b")]`, sorted) without its
/// metric name.
fn drop_name(key: &str) -> String {
    let Some(rest) = key.strip_prefix(r#"[("__name__", ""#) else {
        return key.to_string();
    };
    let Some(end) = rest.find(r#"")"#) else {
        return key.to_string();
    };
    let after = &rest[end + 2..];
    format!("[{}", after.strip_prefix(", ").unwrap_or(after))
}

/// Prometheus's histogram answer turned into 3.x's `f(X)` answer.
fn derived(prom: &Answer, how: Interp) -> Answer {
    map_histograms(prom, |count, _, buckets| {
        Val::F(interpolate(how, count, buckets))
    })
}

/// Prometheus's histograms times `f`.
fn scale(prom: &Answer, f: f64) -> Answer {
    map_histograms(prom, |count, sum, buckets| Val::H {
        count: count * f,
        sum: sum * f,
        buckets: buckets.iter().map(|b| (b.0, b.1, b.2, b.3 * f)).collect(),
    })
}

/// Almanac's answer without zero buckets of negative count.
fn hide_negative_zero_buckets(a: Answer) -> Answer {
    let mut a = a?;
    for pts in a.values_mut() {
        for (_, v) in pts.iter_mut() {
            if let Val::H { buckets, .. } = v {
                buckets.retain(|b| !(b.0 == 3 && b.3 < 0.0));
            }
        }
    }
    Ok(a)
}

// ---------------------------------------------------------------------

#[test]
fn native_histogram_answers_match_prometheus() {
    let prom = Prometheus::start(
        "global: {scrape_interval: 1h}\n",
        &[
            "--enable-feature=native-histograms",
            "--web.enable-remote-write-receiver",
        ],
    );
    let almanac = TestServer::start();
    for body in requests() {
        let headers = [
            ("Content-Encoding", "snappy"),
            ("Content-Type", "application/x-protobuf"),
        ];
        let r = request(prom.addr, "POST", "/api/v1/write", &headers, &body).expect("write");
        assert_eq!(r.status, 204, "prometheus: {} {}", r.text(), prom.log());
        let r = request(almanac.addr, "POST", "/api/v1/write", &headers, &body).expect("write");
        assert_eq!(r.status, 204, "almanac: {}", r.text());
    }
    let base = S - S.rem_euclid(SEC);
    let mut evals: Vec<Eval> = INSTANT_TIMES
        .iter()
        .map(|t| Eval::Instant(base + t))
        .collect();
    evals.extend(
        RANGES
            .iter()
            .map(|&(a, b, s)| Eval::Range(base + a, base + b, s)),
    );

    let (mut agree, mut nonempty) = (0, 0);
    let mut failures = Vec::new();
    for case in SUITE {
        let mut case_nonempty = false;
        for &eval in &evals {
            let p = run(prom.addr, case.prom.unwrap_or(case.query), eval);
            let a = run(almanac.addr, case.query, eval);
            let (expected, a) = match case.check {
                Check::Same => (p, a),
                Check::Interpolated(how) => (derived(&p, how), a),
                Check::Scaled(f) => (scale(&p, f), a),
                Check::ZeroBucketShown => (p, hide_negative_zero_buckets(a)),
            };
            case_nonempty |= expected.as_ref().is_ok_and(|m| !m.is_empty());
            match compare(&expected, &a) {
                None => agree += 1,
                Some(why) => failures.push(format!("{} at {eval:?}: {why}", case.query)),
            }
        }
        if case_nonempty {
            nonempty += 1;
        } else {
            failures.push(format!("{}: no evaluation returned data", case.query));
        }
    }
    println!(
        "histogram differential: {} queries ({nonempty} with data), {agree} of {} evaluations agree",
        SUITE.len(),
        SUITE.len() * evals.len()
    );
    assert!(SUITE.len() >= 40);
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
