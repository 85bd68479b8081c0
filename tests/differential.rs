//! Differential test: the same data in a real Prometheus and in Almanac,
//! and the same PromQL queries against both.
//!
//! Prometheus is Debian's package (2.42; `scripts/test.sh` installs it),
//! started with `--web.enable-remote-write-receiver` and no scrape targets.
//! Both receive the same remote-write requests of generated data
//! ([`almanac::datagen`]: node and API targets with counters, gauges and
//! classic histograms, plus a few hand-made series with staleness markers,
//! gaps, NaN and +Inf). Every query runs as instant queries at several times
//! and as range queries with float start/end/step; the answers must have the
//! same series, the same timestamps and values equal within a relative
//! tolerance of 1e-6 (NaN equals NaN), or fail with the same error type and
//! message.
//!
//! Almanac follows Prometheus 3.x. Sample timestamps are kept off every
//! window boundary the queries produce (checked below), so that 2.42's
//! closed windows `[t-range, t]` and 3.x's left-open `(t-range, t]` select
//! the same samples. Where 2.42 and 3.x really differ, the query is listed
//! in [`KNOWN_DIFFERENCES`] with the reason, the evaluations it covers and a
//! check that the answers differ exactly so (a listing whose difference is
//! gone fails the test), or asked of Prometheus in its 2.42 spelling (see
//! [`Case::prom`]).
//!
//! Run: `cargo test --release --test differential -- --nocapture`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Instant;

use almanac::datagen::{Fleet, GenOptions};
use almanac::harness::{Response, TestServer, form, remote_write_to, request};
use almanac::peers::Prometheus;
use serde_json::Value;
use tsdb::model::{Labels, STALE_NAN, Sample};

const SEC: i64 = 1000;
const MIN: i64 = 60 * SEC;
/// Scrape 0 of the generated data (2023-11-14T22:13:20Z).
const S: i64 = 1_700_000_000_000;
const INTERVAL: i64 = 15 * SEC;
/// Two hours of scrapes.
const SCRAPES: i64 = 480;
/// Remote-write requests cover this much time each, oldest first (Prometheus
/// rejects samples older than an hour behind its newest).
const BATCH: i64 = 10 * MIN;

/// Instant-query times, relative to [`S`].
const INSTANT_TIMES: &[i64] = &[
    30 * MIN + 437,             // everything present
    52 * MIN + 10 * SEC + 777,  // demo_stale is stale
    75 * MIN + 437,             // demo_gone is gone for good
    122 * MIN + 30 * SEC + 777, // after the end, within the lookback
];
/// Range queries: start, end (relative to [`S`]) and the step as sent.
const RANGES: &[(i64, i64, &str)] = &[
    (10 * MIN + 123, 126 * MIN + 123, "15.5"),
    (-3 * MIN + 623, 132 * MIN + 623, "61"),
];
/// The time of `@ {AT}` in queries, relative to [`S`].
const AT: i64 = 45 * MIN + 437;

/// Millisecond residues (mod 1 s) of every window boundary the suite
/// produces: the evaluation times above, and 0 for subquery steps, which
/// are whole seconds. Ranges, offsets and steps of the queries are whole
/// seconds, so a boundary's residue is one of these. No sample may have one.
const BOUNDARY_RESIDUES: &[i64] = &[0, 123, 623, 437, 777];

/// How a case is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Instant queries at every time and range queries.
    Both,
    /// Instant queries only (range-vector or string results).
    Instant,
}

/// One query of the suite.
struct Case {
    /// The query as Almanac (PromQL 3.x) takes it; `{AT}` is replaced by
    /// the `@` time.
    query: &'static str,
    /// The same query in Prometheus 2.42's spelling, when it differs.
    prom: Option<&'static str>,
    mode: Mode,
    /// The order of the series matters (`sort`); instant queries only.
    ordered: bool,
}

const fn q(query: &'static str) -> Case {
    Case {
        query,
        prom: None,
        mode: Mode::Both,
        ordered: false,
    }
}

const fn instant(query: &'static str) -> Case {
    Case {
        query,
        prom: None,
        mode: Mode::Instant,
        ordered: false,
    }
}

const fn sorted(query: &'static str) -> Case {
    Case {
        query,
        prom: None,
        mode: Mode::Both,
        ordered: true,
    }
}

/// A query spelled differently in 2.42.
const fn renamed(query: &'static str, prom: &'static str) -> Case {
    Case {
        query,
        prom: Some(prom),
        mode: Mode::Both,
        ordered: false,
    }
}

/// Which evaluations of a query a known difference covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Covers {
    /// Every instant and range evaluation.
    Every,
    /// The range evaluations only (the instant times agree).
    Ranges,
}

impl Covers {
    fn includes(self, eval: &Eval) -> bool {
        match self {
            Covers::Every => true,
            Covers::Ranges => matches!(eval, Eval::Range(..)),
        }
    }
}

/// A query whose answers differ between Prometheus 2.42 and 3.x by design
/// (Almanac follows 3.x). Every evaluation it `covers` must differ, and
/// differ exactly as `explain` says; every other evaluation must agree. A
/// covered evaluation that agrees fails the test: the listing is stale. Only
/// real semantic differences belong here, never an Almanac bug.
struct KnownDifference {
    query: &'static str,
    why: &'static str,
    covers: Covers,
    /// Given Prometheus's and Almanac's answers: `Ok(what was excused)` when
    /// they differ exactly as `why` says, else `Err(what else differs)`.
    explain: fn(&Answer, &Answer) -> Result<String, String>,
}

const KNOWN_DIFFERENCES: &[KnownDifference] = &[
    KnownDifference {
        query: "node_load1 atan2 node_load5",
        why: "3.x drops the metric name for atan2 as for the other arithmetic operators \
              (testdata/promql/operators.test: `trigy atan2 trigx` gives `{}`); 2.42 keeps the \
              left side's name. The values are compared by `(node_load1 + 0) atan2 node_load5`.",
        covers: Covers::Every,
        explain: only_prometheus_keeps_node_load1_name,
    },
    KnownDifference {
        query: "stddev(demo_special)",
        why: "3.x gives NaN for stddev/stdvar of a group whose only value is NaN or ±Inf \
              (testdata/promql/aggregators.test: `series NaN` and `{label=\"c\"} inf` give NaN); \
              2.42 gives 0. At the instant times demo_special is an ordinary number.",
        covers: Covers::Ranges,
        explain: only_non_finite_demo_special_steps_differ,
    },
];

/// Every series of Prometheus's answer carries `__name__="node_load1"`,
/// Almanac's none; without that label the answers agree.
fn only_prometheus_keeps_node_load1_name(prom: &Answer, alm: &Answer) -> Result<String, String> {
    let name = ("__name__".to_string(), "node_load1".to_string());
    let strip = |k: &Key| -> Result<Key, String> {
        let rest: Vec<_> = k.0.iter().filter(|l| **l != name).cloned().collect();
        if rest.len() + 1 == k.0.len() {
            Ok(Key(rest))
        } else {
            Err(format!("prometheus's series {k} is not named node_load1"))
        }
    };
    let (stripped, n) = match prom {
        Answer::Vector(v) => (
            Answer::Vector(
                v.iter()
                    .map(|(k, t, x)| Ok((strip(k)?, *t, *x)))
                    .collect::<Result<_, String>>()?,
            ),
            v.len(),
        ),
        Answer::Matrix(m) => (
            Answer::Matrix(
                m.iter()
                    .map(|(k, pts)| Ok((strip(k)?, pts.clone())))
                    .collect::<Result<_, String>>()?,
            ),
            m.len(),
        ),
        other => return Err(format!("prometheus answered {}", describe(other))),
    };
    if n == 0 {
        return Err("no series".into());
    }
    match compare(&stripped, alm, false) {
        None => Ok(format!("{n} series named node_load1 by prometheus only")),
        Some(d) => Err(format!("without the name: {d}")),
    }
}

/// At the steps where `demo_special`'s current value is NaN or ±Inf,
/// Prometheus gives 0 and Almanac NaN; every other step agrees, and there is
/// at least one such step.
fn only_non_finite_demo_special_steps_differ(
    prom: &Answer,
    alm: &Answer,
) -> Result<String, String> {
    let (Answer::Matrix(p), Answer::Matrix(a)) = (prom, alm) else {
        return Err(format!(
            "want two matrices: {} / {}",
            describe(prom),
            describe(alm)
        ));
    };
    let ([(kp, pp)], [(ka, pa)]) = (p.as_slice(), a.as_slice()) else {
        return Err(format!("want one series each: {} / {}", p.len(), a.len()));
    };
    if kp != ka || !kp.0.is_empty() {
        return Err(format!("want the series {{}} on both sides: {kp} / {ka}"));
    }
    if pp.len() != pa.len() {
        return Err(format!("{} vs {} points", pp.len(), pa.len()));
    }
    let special = demo_samples("demo_special");
    let mut excused = 0;
    for (&(t, vp), &(ta, va)) in pp.iter().zip(pa) {
        if t != ta {
            return Err(format!("timestamps differ: {t} / {ta}"));
        }
        match current_value(&special, t) {
            Some(v) if !v.is_finite() => {
                if !(vp == 0.0 && va.is_nan()) {
                    return Err(format!(
                        "@{t} (demo_special is {v}): want prometheus 0, almanac NaN; got {vp}, {va}"
                    ));
                }
                excused += 1;
            }
            _ if almost_equal(vp, va) => {}
            v => {
                return Err(format!(
                    "@{t} (demo_special is {v:?}): prometheus {vp}, almanac {va}"
                ));
            }
        }
    }
    if excused == 0 {
        return Err("no step where demo_special is NaN or ±Inf".into());
    }
    Ok(format!(
        "{excused} of {} steps, where demo_special is NaN or ±Inf",
        pp.len()
    ))
}

const SUITE: &[Case] = &[
    // ---- selectors, every matcher type, offset and @ ----
    q("up"),
    q(r#"up{job="node"}"#),
    q(r#"up{job!="node"}"#),
    q(r#"up{nonexistent=""}"#),
    q(r#"http_requests_total{handler=~"/api/.*"}"#),
    q(r#"http_requests_total{handler!~"/api/v1/(users|orders)", code="200"}"#),
    q(r#"{__name__=~"node_load.*"}"#),
    q(r#"{__name__=~"node_load(1|5)", instance=~"node-000[01].*"}"#),
    q(r#"node_cpu_seconds_total{mode="idle", cpu="0", env!~"stag.*"}"#),
    q(r#"{job="demo"}"#),
    q("demo_stale"),
    q("demo_gone"),
    q("demo_special"),
    q("node_load1 offset 10m"),
    q("node_load1 offset -5m"),
    q("node_load1 @ {AT}"),
    q("node_load1 @ end() offset 1m"),
    q("go_goroutines @ start()"),
    instant(r#"node_cpu_seconds_total{mode="user", cpu="1"}[2m]"#),
    instant("demo_gauge[1m] offset 3m"),
    instant("demo_stale[3m]"),
    // ---- the rate family ----
    q(r#"rate(node_cpu_seconds_total{mode!="idle"}[5m])"#),
    q("rate(http_requests_total[1m])"),
    q("irate(node_network_receive_bytes_total[2m])"),
    q(r#"increase(http_requests_total{code="500"}[10m])"#),
    q("increase(http_requests_total[1h] @ {AT})"),
    q("delta(node_load1[5m])"),
    q("idelta(node_load5[3m])"),
    q("deriv(node_memory_MemAvailable_bytes[10m])"),
    q("predict_linear(node_filesystem_avail_bytes[30m], 3600)"),
    q("predict_linear(demo_gauge[10m], -600)"),
    q("resets(http_requests_total[30m])"),
    q("changes(node_load1[10m])"),
    q("rate(http_request_duration_seconds_count[5m])"),
    q("rate(node_cpu_seconds_total[5m] offset 30m)"),
    q("rate(demo_stale[5m])"),
    q("irate(demo_gauge[1m])"),
    // ---- *_over_time ----
    q("avg_over_time(node_load1[10m])"),
    q("min_over_time(demo_gauge[10m])"),
    q("max_over_time(demo_gauge[10m])"),
    q("sum_over_time(node_load15[5m])"),
    q("count_over_time(up[5m])"),
    q("quantile_over_time(0.9, node_load1[15m])"),
    q("quantile_over_time(0, demo_gauge[5m])"),
    q("stddev_over_time(node_load1[10m])"),
    q("stdvar_over_time(go_goroutines[10m])"),
    q("last_over_time(demo_gone[10m])"),
    q("present_over_time(demo_stale[2m])"),
    q("absent_over_time(demo_stale[2m])"),
    q("absent_over_time(nonexistent_metric[5m])"),
    q("max_over_time(demo_special[2m])"),
    q("sum_over_time(demo_special[1m])"),
    renamed(
        "double_exponential_smoothing(node_load1[10m], 0.3, 0.7)",
        "holt_winters(node_load1[10m], 0.3, 0.7)",
    ),
    // ---- aggregations ----
    q("sum(rate(http_requests_total[5m]))"),
    q("sum by (job) (up)"),
    q("sum without (cpu, mode) (rate(node_cpu_seconds_total[5m]))"),
    q("avg by (mode) (rate(node_cpu_seconds_total[5m]))"),
    q("min by (zone) (node_load1)"),
    q("max without (instance) (node_load5)"),
    q("count by (env) (up)"),
    q("group by (job, env) (up)"),
    q("stddev(node_load1)"),
    q("stdvar by (zone) (node_load15)"),
    q("topk(3, node_load1)"),
    q("bottomk(2, rate(http_requests_total[5m]))"),
    q("topk by (handler) (1, rate(http_requests_total[5m]))"),
    q("quantile(0.9, rate(http_requests_total[5m]))"),
    q("quantile by (env) (0.25, node_load1)"),
    q(r#"count_values("cpus", count by (instance) (node_cpu_seconds_total))"#),
    q(r#"count_values by (job) ("v", up)"#),
    q("sum by (le) (rate(http_request_duration_seconds_bucket[5m]))"),
    q("avg(demo_gauge)"),
    q("sum(demo_special)"),
    q("sum(node_memory_MemAvailable_bytes) / sum(node_memory_MemTotal_bytes)"),
    q("count(count by (instance) (up))"),
    // ---- classic histograms ----
    q("histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"),
    q(
        "histogram_quantile(0.5, sum by (le, handler) (rate(http_request_duration_seconds_bucket[10m])))",
    ),
    q("histogram_quantile(0.9, rate(http_request_duration_seconds_bucket[5m]))"),
    q("histogram_quantile(0, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"),
    q("histogram_quantile(1.5, sum by (le) (http_request_duration_seconds_bucket))"),
    q(
        "rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])",
    ),
    // ---- arithmetic and comparison, vector matching ----
    q("node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes * 100"),
    q("1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes"),
    q("node_load1 > 1"),
    q("node_load1 > bool 1"),
    q("node_load1 < node_load15"),
    q("node_load1 >= bool on (instance) node_load5"),
    q("demo_gauge != bool 0"),
    q("demo_gauge == -1"),
    q("demo_special > 5"),
    q("sum by (job) (up) >= 4"),
    q("http_requests_total * 2 + 1"),
    q("-node_load1"),
    q("2 ^ node_load1"),
    q("node_load1 % 0.3"),
    q("node_load1 atan2 node_load5"),
    q("(node_load1 + 0) atan2 node_load5"),
    q("scalar(sum(up)) * 2"),
    q("time() - timestamp(node_load1)"),
    q(
        "rate(http_requests_total[5m]) / on (instance, method, handler) group_left sum by (instance, method, handler) (rate(http_requests_total[5m]))",
    ),
    q(
        r#"rate(http_requests_total{code="500"}[5m]) / ignoring (code) rate(http_requests_total{code="200"}[5m])"#,
    ),
    q("node_memory_MemTotal_bytes * on (instance) group_right (env) node_filesystem_size_bytes"),
    q("node_filesystem_avail_bytes / on (instance) group_left (zone) node_memory_MemTotal_bytes"),
    q("http_requests_total + ignoring (code) http_requests_total"),
    q("node_load1 + on () group_left node_load5"),
    q(r#"{__name__=~"node_load.*"} * 2"#),
    q(r#"rate({__name__=~"node_network_.*_bytes_total"}[5m])"#),
    // ---- and / or / unless ----
    q("node_load1 and node_load5 > 1"),
    q("node_load1 or demo_gauge"),
    q("up unless on (instance) node_load1 > 1.5"),
    q(r#"up{job="api"} and on (instance) go_goroutines > 200"#),
    q("demo_stale or demo_gone"),
    q("nonexistent_metric or node_load1"),
    q("sum(nonexistent_metric) or vector(0)"),
    // ---- label functions, sort ----
    q(r#"label_replace(up, "host", "$1", "instance", "(.*):.*")"#),
    q(r#"label_replace(node_load1, "foo", "bar", "nonexistent", ".*")"#),
    q(r#"label_replace(up, "job", "", "job", "node")"#),
    q(r#"label_join(up, "id", "/", "job", "instance")"#),
    q(r#"label_join(node_load1, "all", "-", "zone", "env", "instance")"#),
    sorted("sort(node_load1)"),
    sorted("sort_desc(sum by (instance) (rate(node_cpu_seconds_total[5m])))"),
    // ---- time functions ----
    q("time()"),
    q("timestamp(node_load1)"),
    q("timestamp(demo_gone)"),
    q("hour()"),
    q("minute(timestamp(node_load1))"),
    q("day_of_week()"),
    q("day_of_month(vector(1700000000))"),
    q("day_of_year()"),
    q("days_in_month(vector(1706745600))"),
    q("month()"),
    q("year(vector(0))"),
    q("vector(time())"),
    // ---- math ----
    q("abs(demo_gauge)"),
    q("ceil(node_load1)"),
    q("floor(node_load1 * 10)"),
    q("round(node_load1, 0.5)"),
    q("round(demo_gauge)"),
    q("sqrt(node_load1)"),
    q("exp(node_load1)"),
    q("ln(node_load1)"),
    q("log2(node_memory_MemTotal_bytes)"),
    q("log10(node_filesystem_size_bytes)"),
    q("sgn(demo_gauge)"),
    q("clamp(demo_gauge, -0.5, 0.5)"),
    q("clamp(demo_gauge, 1, 0)"),
    q("clamp_min(node_load1, 1)"),
    q("clamp_max(node_load1, 1)"),
    q("sin(demo_gauge) + cos(demo_gauge) + tan(demo_gauge)"),
    q("asin(clamp(demo_gauge, -1, 1)) + acos(clamp(demo_gauge, -1, 1)) + atan(demo_gauge)"),
    q("sinh(demo_gauge) + cosh(demo_gauge) + tanh(demo_gauge)"),
    q("asinh(demo_gauge) + atanh(clamp(demo_gauge, -0.9, 0.9))"),
    q("acosh(node_load1 + 1)"),
    q("deg(demo_gauge) - rad(demo_gauge)"),
    q("pi()"),
    // ---- absent, scalar, vector ----
    q("absent(nonexistent)"),
    q(r#"absent(nonexistent{job="x", instance=~"y"})"#),
    q("absent(up)"),
    q("absent(demo_gone)"),
    q(r#"scalar(up{instance="node-0000:9100"})"#),
    q("scalar(up)"),
    q("vector(1)"),
    // ---- subqueries ----
    q("max_over_time(rate(http_requests_total[5m])[30m:1m])"),
    q("avg_over_time(node_load1[10m:30s])"),
    q("min_over_time(sum by (job) (up)[15m:])"),
    q("rate(sum(http_requests_total)[10m:1m])"),
    q("max_over_time(deriv(node_memory_MemAvailable_bytes[5m])[20m:2m] offset 10m)"),
    q("sum_over_time(node_load1[5m:1m] @ {AT})"),
    instant("node_load1[5m:1m]"),
    // ---- special values, staleness and common dashboard shapes ----
    q("-demo_special"),
    q("demo_special == bool Inf"),
    q("max(demo_special)"),
    q("min(demo_special)"),
    q("avg_over_time(demo_special[5m])"),
    q("stddev_over_time(demo_special[2m])"),
    q("changes(demo_special[5m])"),
    q("deriv(demo_special[5m])"),
    q("irate(demo_special[1m])"),
    q("quantile_over_time(0.5, demo_special[5m])"),
    q("timestamp(demo_special)"),
    q("topk(1, demo_special)"),
    sorted("sort(demo_special or demo_gauge)"),
    sorted("sort_desc(demo_special or demo_gauge)"),
    q(r#"count_values("value", demo_gauge)"#),
    q("count_over_time(demo_stale[10m])"),
    q("last_over_time(demo_stale[10m])"),
    q("increase(demo_stale[10m])"),
    q("resets(demo_gauge[10m])"),
    q("rate(up[5m])"),
    q("absent_over_time(up[5m])"),
    q("sum(up) by (job)"),
    q(
        r#"sum by (instance) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (instance) (rate(http_requests_total[5m]))"#,
    ),
    q(r#"avg without (cpu) (1 - rate(node_cpu_seconds_total{mode="idle"}[5m]))"#),
    q("bottomk(1, node_load1 offset 1h)"),
    q("node_load1 @ {AT} offset 10m"),
    q("rate(http_requests_total[5m] @ start())"),
    q("max_over_time(sum(up)[1h:5m] @ end())"),
    q("predict_linear(node_load1[10m:1m], 60)"),
    q("rate(http_requests_total[5m:30s])"),
    q("irate(http_requests_total[5m] offset 1m)"),
    q(r#"label_replace(rate(http_requests_total[5m]), "__name__", "rate_$1", "method", "(.*)")"#),
    q(r#"sum by (__name__) ({__name__=~"node_load.*"})"#),
    q(r#"count by (__name__) ({job="node"})"#),
    q("topk(2, sum by (instance) (rate(node_network_receive_bytes_total[5m])))"),
    q("quantile(0.5, demo_special)"),
    q("stddev(demo_special)"),
    q(
        r#"histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{handler="/healthz"}[1m])))"#,
    ),
    q(
        r#"sum by (instance) (rate(http_request_duration_seconds_bucket{le="0.25"}[5m])) / ignoring (le) sum by (instance) (rate(http_request_duration_seconds_count[5m]))"#,
    ),
    q("vector(1) and on () absent(nonexistent)"),
    q("last_over_time(demo_special[1m])"),
    q("node_filesystem_avail_bytes / on (instance) node_memory_MemTotal_bytes"),
    q("sum_over_time(demo_stale[20m:1m])"),
    q("max by (job) (timestamp(up))"),
    // ---- errors: both sides must fail with the same type and message ----
    q("rate(node_load1)"),
    q(r#"topk("a", node_load1)"#),
    q("histogram_quantile(0.5)"),
    q("absent(up, up)"),
    q(r#"vector("a")"#),
    q(r#"count_values(1, up)"#),
    q(r#"{__name__=""}"#),
    q("node_load1[5m] + 1"),
    q("sum by (job) (up) and 1"),
    q("nonexistent_function(up)"),
    q("1 +"),
    q(r#"label_replace(node_load1, "a", "b", "c", "(")"#),
    // A range vector as a range query.
    q("demo_gauge[1m]"),
    // ---- literals ----
    q("1 + 1"),
    q("1 / 0"),
    q("-1 / 0"),
    q("0 / 0"),
    q("vector(NaN)"),
    instant(r#""hello""#),
];

// ---------------------------------------------------------------------
// Data

/// A hand-made series: `(labels, scrape index → value)` at a fixed offset.
fn demo_series() -> Vec<(Labels, Vec<Sample>)> {
    let at = |k: i64, off: i64| S + k * INTERVAL + off;
    let demo = |instance: &str, name: &str| {
        Labels::from_pairs(&[("__name__", name), ("job", "demo"), ("instance", instance)])
    };
    let mut out = Vec::new();
    // A wave through negative and positive values, 3 decimals.
    out.push((
        demo("g1", "demo_gauge"),
        (0..SCRAPES)
            .map(|k| {
                let v = (1.5 * (k as f64 / 20.0).sin() * 1000.0).round() / 1000.0;
                Sample::new(at(k, 311), v)
            })
            .collect(),
    ));
    // Small integers, zero included.
    out.push((
        demo("g2", "demo_gauge"),
        (0..SCRAPES)
            .map(|k| Sample::new(at(k, 5_311), (k % 7 - 3) as f64))
            .collect(),
    ));
    // A counter that goes stale at 50m15s (staleness marker) and comes
    // back at 70m.
    let mut stale: Vec<Sample> = (0..=200)
        .map(|k| Sample::new(at(k, 2_211), k as f64))
        .collect();
    stale.push(Sample::new(at(201, 2_211), STALE_NAN));
    stale.extend((280..SCRAPES).map(|k| Sample::new(at(k, 2_211), k as f64)));
    out.push((demo("s", "demo_stale"), stale));
    // A gauge that ends at 60m without a marker (lookback ends it).
    out.push((
        demo("x", "demo_gone"),
        (0..240)
            .map(|k| Sample::new(at(k, 9_911), (k % 13) as f64))
            .collect(),
    ));
    // NaN and +Inf among ordinary values.
    out.push((
        demo("n", "demo_special"),
        (0..SCRAPES)
            .map(|k| {
                let v = match k % 10 {
                    3 => f64::NAN,
                    7 => f64::INFINITY,
                    _ => k as f64,
                };
                Sample::new(at(k, 7_411), v)
            })
            .collect(),
    ));
    out
}

/// The samples of the hand-made series named `name`.
fn demo_samples(name: &str) -> Vec<Sample> {
    demo_series()
        .into_iter()
        .find(|(l, _)| l.get("__name__") == name)
        .map(|(_, s)| s)
        .unwrap_or_default()
}

/// A series' value at `t`: its newest sample in the lookback `(t - 5m, t]`.
fn current_value(samples: &[Sample], t: i64) -> Option<f64> {
    samples
        .iter()
        .rev()
        .find(|s| s.t <= t)
        .filter(|s| s.t > t - 5 * MIN)
        .map(|s| s.v)
}

/// The generated fleet (8 targets: node and API, counters, gauges, classic
/// histograms with resets) and the hand-made series, each in time order.
fn generate() -> Vec<(Labels, Vec<Sample>)> {
    let mut fleet = Fleet::new(GenOptions {
        series: 4 * 31 + 4 * 88,
        seed: 1,
        interval_ms: INTERVAL,
        start_ms: S,
        reset_prob: 0.004,
    });
    let mut series: Vec<(Labels, Vec<Sample>)> = fleet
        .labels()
        .into_iter()
        .map(|l| (l, Vec::with_capacity(SCRAPES as usize)))
        .collect();
    for _ in 0..SCRAPES {
        fleet.scrape(|i, t, v| series[i].1.push(Sample::new(t, v)));
    }
    series.extend(demo_series());
    series
}

/// The series cut into remote-write requests of [`BATCH`] each.
fn batches(series: &[(Labels, Vec<Sample>)]) -> Vec<Vec<(Labels, Vec<Sample>)>> {
    let end = series
        .iter()
        .flat_map(|(_, s)| s.last().map(|s| s.t))
        .max()
        .unwrap_or(S);
    let mut out = Vec::new();
    let mut from = S;
    while from <= end {
        let to = from + BATCH;
        let batch: Vec<(Labels, Vec<Sample>)> = series
            .iter()
            .map(|(l, s)| {
                let part: Vec<Sample> = s
                    .iter()
                    .filter(|p| p.t >= from && p.t < to)
                    .copied()
                    .collect();
                (l.clone(), part)
            })
            .filter(|(_, s)| !s.is_empty())
            .collect();
        out.push(batch);
        from = to;
    }
    out
}

// ---------------------------------------------------------------------
// Answers

/// A query's answer, normalised for comparison.
#[derive(Debug, Clone)]
enum Answer {
    Error {
        error_type: String,
        message: String,
    },
    Scalar(i64, f64),
    Str(i64, String),
    /// `(labels, t, v)`, in the answer's order.
    Vector(Vec<(Key, i64, f64)>),
    Matrix(Vec<(Key, Vec<(i64, f64)>)>),
}

/// A series' labels, sorted by name.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key(Vec<(String, String)>);

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("{")?;
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{k}={v:?}")?;
        }
        f.write_str("}")
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

fn labels_key(m: &Value) -> Key {
    let map: BTreeMap<String, String> = m
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("?").to_string()))
                .collect()
        })
        .unwrap_or_default();
    Key(map.into_iter().collect())
}

fn point(p: &Value) -> (i64, f64) {
    let t = p[0]
        .as_f64()
        .map_or(i64::MIN, |f| (f * 1000.0).round() as i64);
    let v = p[1]
        .as_str()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    (t, v)
}

fn answer(r: &Response) -> Answer {
    let v: Value = match serde_json::from_slice(&r.body) {
        Ok(v) => v,
        Err(e) => {
            return Answer::Error {
                error_type: format!("http {}", r.status),
                message: format!("not JSON ({e}): {}", r.text()),
            };
        }
    };
    if v["status"] != "success" {
        return Answer::Error {
            error_type: v["errorType"].as_str().unwrap_or("?").to_string(),
            message: v["error"].as_str().unwrap_or("?").to_string(),
        };
    }
    let data = &v["data"];
    let result = &data["result"];
    match data["resultType"].as_str() {
        Some("scalar") => {
            let (t, v) = point(result);
            Answer::Scalar(t, v)
        }
        Some("string") => Answer::Str(
            point(result).0,
            result[1].as_str().unwrap_or("").to_string(),
        ),
        Some("vector") => Answer::Vector(
            result
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    let (t, v) = point(&s["value"]);
                    (labels_key(&s["metric"]), t, v)
                })
                .collect(),
        ),
        Some("matrix") => Answer::Matrix(
            result
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    let points = s["values"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(point)
                        .collect();
                    (labels_key(&s["metric"]), points)
                })
                .collect(),
        ),
        other => Answer::Error {
            error_type: format!("unknown resultType {other:?}"),
            message: v.to_string(),
        },
    }
}

/// Prometheus's own comparison (`promqltest`'s `almost_equal`): relative
/// to the sum of magnitudes, NaN equal to NaN.
fn almost_equal(a: f64, b: f64) -> bool {
    const EPSILON: f64 = 1e-6;
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let diff = (a - b).abs();
    let abs_sum = a.abs() + b.abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < EPSILON * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < EPSILON
}

fn describe(a: &Answer) -> String {
    const MAX: usize = 6;
    match a {
        Answer::Error {
            error_type,
            message,
        } => format!("error {error_type}: {message}"),
        Answer::Scalar(t, v) => format!("scalar {v} @{t}"),
        Answer::Str(t, s) => format!("string {s:?} @{t}"),
        Answer::Vector(v) => {
            let mut s = format!("vector of {}:", v.len());
            for (l, t, x) in v.iter().take(MAX) {
                let _ = write!(s, " {l} {x} @{t};");
            }
            if v.len() > MAX {
                s.push_str(" …");
            }
            s
        }
        Answer::Matrix(m) => {
            let mut s = format!("matrix of {}:", m.len());
            for (l, pts) in m.iter().take(MAX) {
                let _ = write!(s, " {l} ({} points);", pts.len());
            }
            if m.len() > MAX {
                s.push_str(" …");
            }
            s
        }
    }
}

/// Whether the answer holds no series (an empty vector or matrix).
fn is_empty(a: &Answer) -> bool {
    match a {
        Answer::Vector(v) => v.is_empty(),
        Answer::Matrix(m) => m.is_empty(),
        _ => false,
    }
}

/// `None` when the answers agree, else what differs first.
fn compare(prom: &Answer, alm: &Answer, ordered: bool) -> Option<String> {
    let num = |what: &str, a: f64, b: f64| -> Option<String> {
        (!almost_equal(a, b)).then(|| format!("{what}: prometheus {a}, almanac {b}"))
    };
    match (prom, alm) {
        (
            Answer::Error {
                error_type: a,
                message: ma,
            },
            Answer::Error {
                error_type: b,
                message: mb,
            },
        ) => {
            if a != b {
                Some(format!("error types differ: prometheus {a}, almanac {b}"))
            } else {
                // Compared verbatim: nothing is documented to differ.
                (ma != mb)
                    .then(|| format!("error messages differ: prometheus {ma:?}, almanac {mb:?}"))
            }
        }
        (Answer::Scalar(ta, va), Answer::Scalar(tb, vb)) => {
            if ta != tb {
                return Some(format!("scalar time: prometheus {ta}, almanac {tb}"));
            }
            num("scalar", *va, *vb)
        }
        (Answer::Str(ta, a), Answer::Str(tb, b)) => (ta != tb || a != b)
            .then(|| format!("string: prometheus {a:?}@{ta}, almanac {b:?}@{tb}")),
        (Answer::Vector(a), Answer::Vector(b)) => {
            let (mut a, mut b) = (a.clone(), b.clone());
            if !ordered {
                a.sort_by(|x, y| x.0.cmp(&y.0));
                b.sort_by(|x, y| x.0.cmp(&y.0));
            }
            let la: BTreeSet<&Key> = a.iter().map(|x| &x.0).collect();
            let lb: BTreeSet<&Key> = b.iter().map(|x| &x.0).collect();
            if la != lb || a.len() != b.len() {
                let only_p: Vec<_> = la.difference(&lb).take(3).collect();
                let only_a: Vec<_> = lb.difference(&la).take(3).collect();
                return Some(format!(
                    "series differ ({} vs {}): only in prometheus {only_p:?}, only in almanac {only_a:?}",
                    a.len(),
                    b.len()
                ));
            }
            for ((l, ta, va), (lb, tb, vb)) in a.iter().zip(&b) {
                if l != lb {
                    return Some(format!("order differs: prometheus {l}, almanac {lb}"));
                }
                if ta != tb {
                    return Some(format!("{l}: time: prometheus {ta}, almanac {tb}"));
                }
                if let Some(d) = num(&l.to_string(), *va, *vb) {
                    return Some(d);
                }
            }
            None
        }
        (Answer::Matrix(a), Answer::Matrix(b)) => {
            let (mut a, mut b) = (a.clone(), b.clone());
            a.sort_by(|x, y| x.0.cmp(&y.0));
            b.sort_by(|x, y| x.0.cmp(&y.0));
            let la: BTreeSet<&Key> = a.iter().map(|x| &x.0).collect();
            let lb: BTreeSet<&Key> = b.iter().map(|x| &x.0).collect();
            if la != lb || a.len() != b.len() {
                let only_p: Vec<_> = la.difference(&lb).take(3).collect();
                let only_a: Vec<_> = lb.difference(&la).take(3).collect();
                return Some(format!(
                    "series differ ({} vs {}): only in prometheus {only_p:?}, only in almanac {only_a:?}",
                    a.len(),
                    b.len()
                ));
            }
            for ((l, pa), (_, pb)) in a.iter().zip(&b) {
                let ta: Vec<i64> = pa.iter().map(|p| p.0).collect();
                let tb: Vec<i64> = pb.iter().map(|p| p.0).collect();
                for (who, ts) in [("prometheus", &ta), ("almanac", &tb)] {
                    if let Some(w) = ts.windows(2).find(|w| w[0] >= w[1]) {
                        return Some(format!(
                            "{l}: {who} repeats or reorders timestamps: {} then {}",
                            w[0], w[1]
                        ));
                    }
                }
                if ta != tb {
                    let first = ta.iter().zip(&tb).position(|(x, y)| x != y);
                    return Some(format!(
                        "{l}: timestamps differ ({} vs {} points; first difference at index {first:?}: prometheus {:?}, almanac {:?})",
                        ta.len(),
                        tb.len(),
                        first.and_then(|i| ta.get(i)).or(ta.get(tb.len())),
                        first.and_then(|i| tb.get(i)).or(tb.get(ta.len())),
                    ));
                }
                for ((t, va), (_, vb)) in pa.iter().zip(pb) {
                    if let Some(d) = num(&format!("{l} @{t}"), *va, *vb) {
                        return Some(d);
                    }
                }
            }
            None
        }
        _ => Some("result types differ".to_string()),
    }
}

// ---------------------------------------------------------------------
// The run

/// Unix seconds with milliseconds, as Grafana sends them.
fn secs(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let a = ms.unsigned_abs();
    format!("{sign}{}.{:03}", a / 1000, a % 1000)
}

/// One evaluation of a query.
#[derive(Debug, Clone)]
enum Eval {
    Instant(i64),
    Range(i64, i64, &'static str),
}

impl std::fmt::Display for Eval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Eval::Instant(t) => write!(f, "instant@{}", secs(*t)),
            Eval::Range(a, b, s) => write!(f, "range {}..{} step {s}", secs(*a), secs(*b)),
        }
    }
}

/// The one documented difference in error messages: Prometheus 2.42
/// returns a range query's parse error bare, where 3.x (and Almanac) prefix
/// it with `invalid parameter "query": ` as for instant queries (3.x's
/// `queryRange` returns `invalidParamError(err, "query")`). Almanac's
/// range-query errors lose that prefix; nothing else is normalised.
fn in_2_42_words(eval: &Eval, alm: Answer) -> Answer {
    match (eval, alm) {
        (
            Eval::Range(..),
            Answer::Error {
                error_type,
                message,
            },
        ) => Answer::Error {
            message: message
                .strip_prefix(r#"invalid parameter "query": "#)
                .map_or(message.clone(), str::to_string),
            error_type,
        },
        (_, alm) => alm,
    }
}

fn run(addr: SocketAddr, query: &str, eval: &Eval) -> Answer {
    let (path, body) = match eval {
        Eval::Instant(t) => (
            "/api/v1/query",
            form(&[("query", query), ("time", &secs(*t))]),
        ),
        Eval::Range(a, b, step) => (
            "/api/v1/query_range",
            form(&[
                ("query", query),
                ("start", &secs(*a)),
                ("end", &secs(*b)),
                ("step", step),
            ]),
        ),
    };
    match request(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    ) {
        Ok(r) => answer(&r),
        Err(e) => Answer::Error {
            error_type: "connection".into(),
            message: e.to_string(),
        },
    }
}

#[test]
fn promql_answers_match_prometheus() {
    let series = generate();
    // No sample sits on a window boundary of the suite.
    for (l, samples) in &series {
        for s in samples {
            assert!(
                !BOUNDARY_RESIDUES.contains(&s.t.rem_euclid(SEC)),
                "{l} has a sample at {} on a window boundary residue; change the seed or offsets",
                s.t
            );
        }
    }
    let total: usize = series.iter().map(|(_, s)| s.len()).sum();

    let prom = Prometheus::start(
        "global:\n  evaluation_interval: 1m\nscrape_configs: []\n",
        &["--web.enable-remote-write-receiver"],
    );
    let almanac = TestServer::start();
    let started = Instant::now();
    for batch in batches(&series) {
        let r = remote_write_to(prom.addr, &batch).expect("write to prometheus");
        assert!(
            r.status / 100 == 2,
            "prometheus rejected a write: {} {}\n{}",
            r.status,
            r.text(),
            prom.log()
        );
        let r = remote_write_to(almanac.addr, &batch).expect("write to almanac");
        assert_eq!(r.status, 204, "almanac rejected a write: {}", r.text());
    }
    println!(
        "differential: wrote {} series, {total} samples to both in {:.1?}",
        series.len(),
        started.elapsed()
    );

    let mut evals: Vec<Eval> = INSTANT_TIMES.iter().map(|t| Eval::Instant(S + t)).collect();
    let n_instant = evals.len();
    evals.extend(
        RANGES
            .iter()
            .map(|&(a, b, step)| Eval::Range(S + a, S + b, step)),
    );
    let at = secs(S + AT);

    let started = Instant::now();
    let (mut agree, mut differ, mut known, mut evaluations, mut both_failed) = (0, 0, 0, 0, 0);
    let mut failing: Vec<String> = Vec::new();
    let mut vacuous: Vec<&str> = Vec::new();
    // DIFFERENTIAL_FILTER=text runs only the queries that contain it;
    // DIFFERENTIAL_VERBOSE=1 prints both answers in full where they differ.
    let filter = std::env::var("DIFFERENTIAL_FILTER").unwrap_or_default();
    let verbose = std::env::var_os("DIFFERENTIAL_VERBOSE").is_some();
    for case in SUITE.iter().filter(|c| c.query.contains(&filter)) {
        let alm_q = case.query.replace("{AT}", &at);
        let prom_q = case.prom.unwrap_or(case.query).replace("{AT}", &at);
        let listed = KNOWN_DIFFERENCES.iter().find(|k| k.query == case.query);
        let evals: &[Eval] = match case.mode {
            Mode::Both => &evals,
            Mode::Instant => &evals[..n_instant],
        };
        // Unexcused differences, and what the listing excused.
        let mut diffs = Vec::new();
        let mut excused = Vec::new();
        let mut all_empty = true;
        for eval in evals {
            evaluations += 1;
            let p = run(prom.addr, &prom_q, eval);
            let a = in_2_42_words(eval, run(almanac.addr, &alm_q, eval));
            all_empty &= is_empty(&p);
            let ordered = case.ordered && matches!(eval, Eval::Instant(_));
            let covering = listed.filter(|k| k.covers.includes(eval));
            let d = match (compare(&p, &a, ordered), covering) {
                (None, None) => {
                    if matches!(p, Answer::Error { .. }) {
                        both_failed += 1;
                    }
                    continue;
                }
                (Some(d), None) => d,
                (None, Some(_)) => {
                    "agrees, but KNOWN_DIFFERENCES says it differs: the listing is stale".into()
                }
                (Some(d), Some(k)) => match (k.explain)(&p, &a) {
                    Ok(what) => {
                        excused.push(format!("    {eval}: {what}"));
                        continue;
                    }
                    Err(e) => format!("{d}; not the listed difference: {e}"),
                },
            };
            let (dp, da) = if verbose {
                (format!("{p:?}"), format!("{a:?}"))
            } else {
                (describe(&p), describe(&a))
            };
            diffs.push(format!(
                "    {eval}: {d}\n      prometheus: {dp}\n      almanac:    {da}"
            ));
        }
        if all_empty {
            vacuous.push(case.query);
        }
        if diffs.is_empty() && excused.is_empty() {
            agree += 1;
            println!("ok      {}", case.query);
        } else if let (true, Some(k)) = (diffs.is_empty(), listed) {
            known += 1;
            println!("known   {} ({})", case.query, k.why);
            for e in &excused {
                println!("{e}");
            }
        } else {
            differ += 1;
            println!("DIFFERS {}", case.query);
            for d in &diffs {
                println!("{d}");
            }
            failing.push(case.query.to_string());
        }
    }
    // A listing must name a query of the suite (evaluations that no longer
    // differ failed above).
    let stale_known: Vec<&str> = KNOWN_DIFFERENCES
        .iter()
        .map(|k| k.query)
        .filter(|k| !SUITE.iter().any(|c| c.query == *k))
        .collect();
    if !vacuous.is_empty() {
        println!("empty in every evaluation (by design or not): {vacuous:?}");
    }
    println!(
        "differential: {} queries ({evaluations} evaluations) in {:.1?}: {agree} agree ({both_failed} evaluations failed alike on both sides), {differ} differ, {known} known differences",
        SUITE.len(),
        started.elapsed()
    );
    assert!(
        SUITE.len() >= 100,
        "the suite must keep at least 100 queries"
    );
    assert!(
        stale_known.is_empty(),
        "KNOWN_DIFFERENCES lists queries that are not in the suite: {stale_known:?}"
    );
    assert!(
        failing.is_empty(),
        "{} queries differ from Prometheus:\n  {}",
        failing.len(),
        failing.join("\n  ")
    );
}

/// The listings' checks excuse only the difference they describe: agreeing
/// answers (a stale listing) and any other difference are refused.
#[test]
fn known_difference_checks_refuse_anything_else() {
    let key = |pairs: &[(&str, &str)]| {
        let mut v: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        v.sort();
        Key(v)
    };
    let named = key(&[("__name__", "node_load1"), ("instance", "a")]);
    let bare = key(&[("instance", "a")]);
    let atan2 = only_prometheus_keeps_node_load1_name;
    let vector = |k: &Key, v: f64| Answer::Vector(vec![(k.clone(), 1000, v)]);
    let table: &[(&str, Answer, Answer, bool)] = &[
        (
            "name kept by prometheus only",
            vector(&named, 0.5),
            vector(&bare, 0.5),
            true,
        ),
        (
            "stale: the same on both sides",
            vector(&bare, 0.5),
            vector(&bare, 0.5),
            false,
        ),
        (
            "the name and a value differ",
            vector(&named, 0.5),
            vector(&bare, 0.6),
            false,
        ),
        (
            "another name",
            vector(&key(&[("__name__", "x"), ("instance", "a")]), 0.5),
            vector(&bare, 0.5),
            false,
        ),
        (
            "no series",
            Answer::Vector(vec![]),
            Answer::Vector(vec![]),
            false,
        ),
    ];
    for (name, p, a, ok) in table {
        assert_eq!(atan2(p, a).is_ok(), *ok, "atan2: {name}: {:?}", atan2(p, a));
    }

    // demo_special is NaN at scrape 3 (S + 45s + 7.411s) and ordinary at 4.
    let nan_step = S + 55 * SEC;
    let ordinary_step = S + 70 * SEC;
    let matrix = |pts: &[(i64, f64)]| Answer::Matrix(vec![(Key(vec![]), pts.to_vec())]);
    let stddev = only_non_finite_demo_special_steps_differ;
    let table: &[(&str, Answer, Answer, bool)] = &[
        (
            "0 and NaN where demo_special is NaN",
            matrix(&[(nan_step, 0.0), (ordinary_step, 0.0)]),
            matrix(&[(nan_step, f64::NAN), (ordinary_step, 0.0)]),
            true,
        ),
        (
            "stale: agree where demo_special is NaN",
            matrix(&[(nan_step, 0.0), (ordinary_step, 0.0)]),
            matrix(&[(nan_step, 0.0), (ordinary_step, 0.0)]),
            false,
        ),
        (
            "a difference at an ordinary step",
            matrix(&[(nan_step, 0.0), (ordinary_step, 0.0)]),
            matrix(&[(nan_step, f64::NAN), (ordinary_step, f64::NAN)]),
            false,
        ),
        (
            "no step where demo_special is NaN",
            matrix(&[(ordinary_step, 0.0)]),
            matrix(&[(ordinary_step, 0.0)]),
            false,
        ),
    ];
    for (name, p, a, ok) in table {
        assert_eq!(
            stddev(p, a).is_ok(),
            *ok,
            "stddev: {name}: {:?}",
            stddev(p, a)
        );
    }
}
