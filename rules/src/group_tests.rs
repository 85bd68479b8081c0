//! Group evaluation against the real engine over an in-memory store.

use super::*;
use crate::file::parse;
use promql::promqltest::MemStorage;

const M: i64 = 60_000;

fn group(yaml: &str) -> Group {
    let f = parse("g.yml", yaml, false).unwrap_or_else(|e| panic!("{e:?}"));
    Group::new(&f.groups[0], M, 0)
}

struct Fixture {
    store: MemStorage,
    engine: Engine,
    ext: BTreeMap<String, String>,
    logs: Option<Box<dyn LogQueries>>,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            store: MemStorage::new(),
            engine: Engine::default(),
            ext: [("cluster".to_string(), "eu1".to_string())]
                .into_iter()
                .collect(),
            logs: None,
        }
    }

    fn eval(&self, g: &mut Group, t: i64) -> Outgoing {
        let env = EvalEnv {
            engine: &self.engine,
            storage: &self.store,
            logs: self.logs.as_deref(),
            external_labels: &self.ext,
            external_url: "http://x",
        };
        let store = &self.store;
        let mut write = |b: &[(Labels, i64, SampleValue)]| -> Result<usize, String> {
            Ok(b.iter()
                .filter(|(l, t, v)| {
                    match v {
                        SampleValue::Float(v) => store.append(l, *t, *v),
                        SampleValue::Histogram(h) => store.append_histogram(l, *t, h.clone()),
                    }
                    .is_err()
                })
                .count())
        };
        g.eval(t, t, M, &env, &mut write)
    }

    fn samples(&self, sel: &str) -> Vec<(String, i64, f64)> {
        let ms = promql::parse_series_selector(sel).unwrap();
        let q = self.store.querier(i64::MIN, i64::MAX).unwrap();
        let mut out = Vec::new();
        for s in q.select(&Default::default(), &ms).unwrap() {
            let mut v = Vec::new();
            s.samples_in(i64::MIN, i64::MAX, &mut v);
            out.extend(v.iter().map(|x| (s.labels.to_string(), x.t, x.v)));
        }
        out
    }

    fn put(&self, name: &str, instance: &str, t: i64, v: f64) {
        let l = Labels::from_pairs(&[("__name__", name), ("instance", instance)]);
        self.store.append(&l, t, v).unwrap();
    }
}

#[test]
fn rules_see_earlier_rules_output_and_labels_merge() {
    let fx = Fixture::new();
    fx.put("up", "a", 0, 1.0);
    fx.put("up", "b", 0, 0.0);
    let mut g = group(
        "groups:
- name: g
  labels: {team: db, tier: x}
  rules:
  - record: total:up
    expr: sum(up)
    labels: {tier: y}
  - record: total:up:doubled
    expr: total:up * 2
",
    );
    fx.eval(&mut g, 0);
    assert!(
        g.rules.iter().all(|r| r.health == Health::Ok),
        "{:?}",
        g.rules[0].last_error
    );
    assert_eq!(
        fx.samples("total:up"),
        vec![(
            "{__name__=\"total:up\", team=\"db\", tier=\"y\"}".to_string(),
            0,
            1.0
        )]
    );
    assert_eq!(fx.samples("total:up:doubled")[0].2, 2.0);
}

#[test]
fn vanished_series_get_stale_markers() {
    let fx = Fixture::new();
    fx.put("up", "a", 0, 1.0);
    fx.put("up", "b", 0, 1.0);
    fx.put("up", "a", M, 1.0);
    let mut g = group("groups:\n- name: g\n  rules:\n  - record: r\n    expr: up\n");
    fx.eval(&mut g, 0);
    // `b` is still within lookback at 1m; drop it by evaluating past it.
    fx.put("up", "a", 6 * M, 1.0);
    fx.eval(&mut g, 6 * M);
    let b = fx.samples("r{instance=\"b\"}");
    assert_eq!(b.len(), 2, "{b:?}");
    assert!(tsdb::model::is_stale_nan(b[1].2));
    assert_eq!(b[1].1, 6 * M);
}

#[test]
fn alerting_rule_writes_alerts_and_renders_templates() {
    let fx = Fixture::new();
    for m in 0..=3 {
        fx.put("up", "h1:9100", m * M, 0.0);
    }
    let mut g = group(
        "groups:
- name: g
  rules:
  - alert: Down
    expr: up == 0
    for: 2m
    labels:
      severity: page
      host: '{{ $labels.instance | stripPort }}'
    annotations:
      summary: '{{ $labels.instance }} down ({{ $value }}), {{ $externalLabels.cluster }}'
      count: '{{ query \"count(up)\" | first | value }}'
",
    );
    g.set_restored();
    let mut sent = Vec::new();
    for m in 0..=3 {
        sent.extend(fx.eval(&mut g, m * M));
    }
    assert_eq!(g.rules[0].health, Health::Ok, "{:?}", g.rules[0].last_error);
    let a = g.rules[0].alerts.active.values().next().unwrap();
    assert_eq!(a.labels.get("host"), "h1");
    assert_eq!(a.labels.get("alertname"), "Down");
    assert!(!a.labels.has("__name__"));
    assert_eq!(a.annotations["summary"], "h1:9100 down (0), eu1");
    assert_eq!(a.annotations["count"], "1");
    let states: Vec<f64> = fx
        .samples("ALERTS{alertstate=\"pending\"}")
        .iter()
        .map(|s| s.1 as f64 / M as f64)
        .collect();
    assert_eq!(
        states,
        vec![0.0, 1.0, 2.0],
        "pending series ends with a stale marker at 2m"
    );
    assert_eq!(fx.samples("ALERTS{alertstate=\"firing\"}").len(), 2);
    let for_state = fx.samples("ALERTS_FOR_STATE");
    assert!(for_state.iter().all(|s| s.2 == 0.0), "{for_state:?}");
    assert_eq!(
        sent.len(),
        1,
        "sent when it fires, not again within a minute"
    );
}

#[test]
fn failing_rules_record_their_error() {
    let fx = Fixture::new();
    fx.put("a", "x", 0, 1.0);
    fx.put("a", "y", 0, 1.0);
    let mut g = group(
        "groups:\n- name: g\n  rules:\n  - record: r\n    expr: sum without(instance) (a) + on() group_left a\n  - record: ok\n    expr: vector(1)\n",
    );
    fx.eval(&mut g, 0);
    assert_eq!(g.rules[0].health, Health::Err);
    assert!(g.rules[0].last_error.is_some());
    assert_eq!(
        g.rules[1].health,
        Health::Ok,
        "one failure does not stop the group"
    );
}

#[test]
fn alignment_and_state_copy() {
    let g = group(
        "groups:\n- name: g\n  interval: 30s\n  rules:\n  - record: r\n    expr: vector(1)\n",
    );
    let off = g.offset();
    assert!((0..30_000).contains(&off));
    let cases: &[(&str, i64)] = &[("zero", 0), ("mid", 1_000_017), ("big", 1_700_000_000_123)];
    for (name, now) in cases {
        let t = g.eval_timestamp(*now);
        assert!(t <= *now && now - t < 30_000, "{name}");
        assert_eq!((t - off).rem_euclid(30_000), 0, "{name}");
    }
    let fx = Fixture::new();
    let yaml = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: vector(1)\n    for: 5m\n";
    let mut old = group(yaml);
    old.set_restored();
    fx.eval(&mut old, 0);
    let mut new = group(yaml);
    new.copy_state(&old);
    assert_eq!(new.rules[0].alerts.active.len(), 1);
    let changed =
        group("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: vector(2)\n    for: 5m\n");
    let mut changed = changed;
    changed.copy_state(&old);
    assert!(
        changed.rules[0].alerts.active.is_empty(),
        "a changed rule starts afresh"
    );
}

#[test]
fn for_state_is_restored_from_storage() {
    let fx = Fixture::new();
    let yaml = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: vector(1)\n    for: 30m\n";
    let mut before = group(yaml);
    before.set_restored();
    for m in 0..=5 {
        fx.eval(&mut before, m * M);
    }
    // Restart at 20m: a fresh group sees the alert as new, then restores.
    let mut after = group(yaml);
    fx.eval(&mut after, 20 * M);
    assert!(
        fx.samples("ALERTS_FOR_STATE").iter().all(|s| s.1 <= 5 * M),
        "not written before restore"
    );
    after.restore_for_state(20 * M, &fx.store, 60 * M, 10 * M);
    // 5m spent pending before going down at 5m; the outage does not count.
    assert_eq!(
        after.rules[0]
            .alerts
            .active
            .values()
            .next()
            .unwrap()
            .active_at,
        15 * M
    );
}

#[test]
fn recording_rules_record_native_histograms() {
    use tsdb::model::histogram::{FloatHistogram, Span};
    let fx = Fixture::new();
    for (instance, per_minute) in [("a", 1.0), ("b", 3.0)] {
        let l = Labels::from_pairs(&[("__name__", "lat"), ("instance", instance)]);
        for m in 0..=10 {
            let n = per_minute * m as f64;
            let h = FloatHistogram {
                count: n,
                sum: n * 0.5,
                positive_spans: vec![Span::new(0, 1)],
                positive_buckets: vec![n],
                ..FloatHistogram::default()
            };
            fx.store.append_histogram(&l, m * M, Arc::new(h)).unwrap();
        }
    }
    let yaml = "groups:\n- name: g\n  rules:\n  - record: lat:rate5m\n    expr: sum(rate(lat[5m]))\n  - record: lat:count\n    expr: histogram_count(lat:rate5m) * 60\n";
    let mut g = group(yaml);
    fx.eval(&mut g, 10 * M);
    assert!(
        g.rules.iter().all(|r| r.last_error.is_none()),
        "{:?}",
        g.rules[0].last_error
    );
    let q = fx.store.querier(i64::MIN, i64::MAX).unwrap();
    let ms = promql::parse_series_selector("lat:rate5m").unwrap();
    let got = q.select(&Default::default(), &ms).unwrap();
    assert_eq!(got.len(), 1);
    let mut buf = tsdb::model::SampleBuf::new();
    got[0].read(i64::MIN, i64::MAX, &mut buf);
    let hs = buf.histograms();
    assert_eq!(hs.len(), 1, "one histogram sample recorded");
    assert!((hs[0].h.count * 60.0 - 4.0).abs() < 1e-9, "{:?}", hs[0].h);
    // The next rule sees the recorded histogram.
    let count = fx.samples("lat:count");
    assert_eq!(count.len(), 1);
    assert!((count[0].2 - 4.0).abs() < 1e-9, "{count:?}");
}

/// A log head answering LogQL rules.
struct HeadLogs(logs::head::Head);

impl LogQueries for HeadLogs {
    fn instant(&self, expr: &logs::logql::MetricExpr, t: i64) -> Result<Value, String> {
        logs::logql::eval::evaluate(
            &self.0,
            expr,
            logs::logql::eval::Grid::instant(t),
            promql::eval::EngineOptions::default(),
        )
        .map(|r| r.value)
        .map_err(|e| e.to_string())
    }
}

#[test]
fn logql_rules_record_and_alert() {
    let head = logs::head::Head::default();
    let line = |t: i64, l: &str| logs::model::Entry::new(t * 1_000_000, l);
    head.apply(
        vec![logs::model::StreamPush {
            labels: Labels::from_pairs(&[("app", "api")]),
            entries: vec![
                line(10_000, "level=error msg=boom"),
                line(20_000, "level=info msg=ok"),
                line(30_000, "level=error msg=again"),
            ],
        }],
        0,
    );
    let mut fx = Fixture::new();
    fx.logs = Some(Box::new(HeadLogs(head)));
    let yaml = r#"
groups:
  - name: logs
    rules:
      - record: app:errors:count1m
        expr: sum by (app) (count_over_time({app="api"} |= "level=error" [1m]))
      - alert: ErrorsInLogs
        expr: sum by (app) (count_over_time({app="api"} | logfmt | level="error" [1m])) > 1
        labels: {severity: page}
"#;
    let f = crate::file::parse_as("l.yml", yaml, false, crate::file::Language::LogQl)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let mut g = Group::new(&f.groups[0], M, 0);
    let sent = fx.eval(&mut g, 40_000);
    assert!(
        g.rules.iter().all(|r| r.health != Health::Err),
        "{:?}",
        g.rules.iter().map(|r| &r.last_error).collect::<Vec<_>>()
    );
    let recorded = fx
        .store
        .querier(0, 100_000)
        .and_then(|q| {
            q.select(
                &Default::default(),
                &[tsdb::model::Matcher::new(
                    tsdb::model::MatchOp::Equal,
                    "__name__",
                    "app:errors:count1m",
                )
                .unwrap()],
            )
        })
        .unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].labels.get("app"), "api");
    let alerts: Vec<&Alert> = sent.iter().flat_map(|(_, a)| a).collect();
    assert_eq!(alerts.len(), 1, "the alert fires (no for:): {sent:?}");
    assert_eq!(alerts[0].labels.get("severity"), "page");
    assert_eq!(alerts[0].value, 2.0);

    // A PromQL rule file refuses a log query; a LogQL one refuses a log
    // query that is not a metric.
    let bad = "groups: [{name: x, rules: [{record: r, expr: '{app=\"api\"} |= \"x\"'}]}]";
    let e = crate::file::parse_as("b.yml", bad, false, crate::file::Language::LogQl).unwrap_err();
    assert!(
        format!("{e:?}").contains("a log query is not a rule expression"),
        "{e:?}"
    );
}
