//! Rules end to end through a real server: recording rules' outputs are
//! queryable and survive a restart; alerts go pending, fire and resolve,
//! reach a real Alertmanager (Debian's `prometheus-alertmanager`) and its
//! webhook with their rendered labels and annotations, also when the
//! Alertmanager was down meanwhile; `/api/v1/rules` and reloads; recording
//! rules over native histograms record histograms.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use almanac::harness::{TestServer, urlencode};
use almanac::peers::{Alertmanager, wait_for};
use serde_json::Value;
use tsdb::model::{Labels, Sample};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn up(s: &TestServer, instance: &str, v: f64) {
    let l = Labels::from_pairs(&[("__name__", "up"), ("job", "node"), ("instance", instance)]);
    let r = s.remote_write(&[(l, vec![Sample::new(now_ms(), v)])]);
    assert_eq!(r.status, 204, "{}", r.text());
}

fn query(s: &TestServer, q: &str, time: Option<f64>) -> Vec<Value> {
    let mut path = format!("/api/v1/query?query={}", urlencode(q));
    if let Some(t) = time {
        path.push_str(&format!("&time={t}"));
    }
    let v = s.get(&path).json();
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

const RULES: &str = r#"
groups:
  - name: fast
    interval: 1s
    labels:
      team: infra
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: Down
        expr: up == 0
        for: 2s
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.instance }} is down"
          description: "{{ $labels.job }}/{{ $labels.instance }} value {{ $value }} ({{ $externalLabels.cluster }})"
"#;

fn rules_file(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("rules.yml");
    std::fs::write(&p, text).expect("write rules");
    p
}

fn start(data: &Path, rules: &Path, alertmanager: Option<String>) -> TestServer {
    let rules = rules.display().to_string();
    TestServer::start_in(data, move |c| {
        c.rule_files = vec![rules];
        c.evaluation_interval = "1s".into();
        c.external_labels.insert("cluster".into(), "e2e".into());
        c.external_url = "http://almanac.example:9009".into();
        if let Some(url) = alertmanager {
            c.alertmanagers = vec![server::config::AlertmanagerConfig {
                url,
                timeout: "2s".into(),
                ..Default::default()
            }];
        }
    })
}

#[test]
fn recording_rules_are_queryable_and_survive_restart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let rules = rules_file(tmp.path(), RULES);
    let mut s = start(&data, &rules, None);
    up(&s, "a", 1.0);
    up(&s, "b", 1.0);
    let got = wait_for(Duration::from_secs(30), || {
        let r = query(&s, "job:up:sum", None);
        (!r.is_empty()).then_some(r)
    })
    .expect("recording rule output never appeared");
    assert_eq!(got[0]["metric"]["__name__"], "job:up:sum");
    assert_eq!(got[0]["metric"]["team"], "infra", "group labels are added");
    assert_eq!(got[0]["value"][1], "2");
    let ts = query(&s, "timestamp(job:up:sum)", None)[0]["value"][1]
        .as_str()
        .and_then(|v| v.parse::<f64>().ok())
        .expect("timestamp");

    // The API shows both rules, healthy, and the group's metrics count.
    let v = s.get("/api/v1/rules").json();
    let g = &v["data"]["groups"][0];
    assert_eq!(g["name"], "fast");
    assert_eq!(g["interval"], 1.0);
    assert_eq!(g["rules"][0]["type"], "recording");
    assert_eq!(g["rules"][0]["health"], "ok");
    assert_eq!(g["rules"][1]["type"], "alerting");
    assert_eq!(g["rules"][1]["duration"], 2.0);
    let only = s.get("/api/v1/rules?type=record").json();
    assert_eq!(
        only["data"]["groups"][0]["rules"].as_array().map(Vec::len),
        Some(1)
    );
    let none = s.get("/api/v1/rules?rule_group[]=nope").json();
    assert_eq!(none["data"]["groups"], serde_json::json!([]));
    let metrics = s.get("/metrics").text();
    assert!(
        metrics.contains("almanac_rule_group_iterations_total{rule_group="),
        "{metrics}"
    );

    s.stop();
    let s = start(&data, &rules, None);
    let back = query(&s, "job:up:sum", Some(ts));
    assert_eq!(back.len(), 1, "recorded sample lost over restart");
    assert_eq!(back[0]["value"][1], "2");
}

/// A recording rule over native histograms writes native histograms into
/// the real storage (through the rule manager's appender), and a rule
/// after it reads them.
#[test]
fn recording_rules_record_native_histograms() {
    use prost::Message;
    use server::prompb;
    use tsdb::model::histogram::{CounterResetHint, Histogram, Span};
    let tmp = tempfile::tempdir().expect("tempdir");
    let rules = rules_file(
        tmp.path(),
        "groups:\n  - name: h\n    interval: 1s\n    rules:\n      - record: lat:sum\n        expr: sum(lat)\n      - record: lat:count\n        expr: histogram_count(lat:sum)\n",
    );
    let s = start(&tmp.path().join("data"), &rules, None);
    let now = now_ms();
    let series = |instance: &str, n: u64| prompb::TimeSeries {
        labels: vec![
            prompb::Label {
                name: "__name__".into(),
                value: "lat".into(),
            },
            prompb::Label {
                name: "instance".into(),
                value: instance.into(),
            },
        ],
        histograms: vec![prompb::Histogram::from_int(
            &Histogram {
                hint: CounterResetHint::Unknown,
                schema: 0,
                zero_threshold: 0.001,
                zero_count: 0,
                count: n,
                sum: n as f64,
                positive_spans: vec![Span::new(0, 1)],
                negative_spans: vec![],
                positive_deltas: vec![n as i64],
                negative_deltas: vec![],
                custom_values: vec![],
            },
            now,
        )],
        ..Default::default()
    };
    let req = prompb::WriteRequest {
        timeseries: vec![series("a", 3), series("b", 4)],
        metadata: vec![],
    };
    let r = s.post(
        "/api/v1/write",
        &[
            ("Content-Encoding", "snappy"),
            ("Content-Type", "application/x-protobuf"),
        ],
        &almanac::harness::snappy(&req.encode_to_vec()),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    let got = wait_for(Duration::from_secs(30), || {
        let r = query(&s, "lat:count", None);
        (!r.is_empty()).then_some(r)
    })
    .expect("the second rule never saw the first's histograms");
    assert_eq!(got[0]["value"][1], "7");
    let h = query(&s, "lat:sum", None);
    assert_eq!(h.len(), 1);
    assert_eq!(h[0]["histogram"][1]["count"], "7", "{h:?}");
    assert_eq!(h[0]["histogram"][1]["sum"], "7", "{h:?}");
}

#[test]
fn reload_applies_new_rules_and_rejects_invalid_ones() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let rules = rules_file(tmp.path(), RULES);
    let s = start(&tmp.path().join("data"), &rules, None);
    let state = s.state().expect("state");
    let path = rules.display().to_string();
    let base = state.config.read().clone();
    state.set_reloader(Box::new(move || {
        let mut c = base.clone();
        c.rule_files = vec![path.clone()];
        Ok(c)
    }));
    let names = |s: &TestServer| -> Vec<String> {
        let v = s.get("/api/v1/rules").json();
        v["data"]["groups"][0]["rules"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(names(&s), vec!["job:up:sum", "Down"]);
    rules_file(
        tmp.path(),
        &RULES.replace(
            "      - record: job:up:sum\n        expr: sum by (job) (up)\n",
            "      - record: job:up:count\n        expr: count by (job) (up)\n",
        ),
    );
    let r = s.post("/-/reload", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(names(&s), vec!["job:up:count", "Down"]);
    rules_file(
        tmp.path(),
        "groups:\n- name: fast\n  rules:\n  - record: x\n    expr: sum(\n",
    );
    let r = s.post("/-/reload", &[], b"");
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .contains("rules.yml:5: group \\\"fast\\\", rule 1, \\\"x\\\""),
        "{}",
        r.text()
    );
    assert_eq!(
        names(&s),
        vec!["job:up:count", "Down"],
        "an invalid file keeps the running rules"
    );
}

/// A webhook receiver: keeps the JSON body of every POST.
fn webhook() -> (SocketAddr, Arc<Mutex<Vec<Value>>>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = got.clone();
    std::thread::spawn(move || {
        for stream in l.incoming() {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = Vec::new();
            let mut tmp = [0u8; 8192];
            let body = loop {
                let n = s.read(&mut tmp).unwrap_or(0);
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&tmp[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                let Some(end) = text.find("\r\n\r\n") else {
                    continue;
                };
                let len: usize = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().to_string())
                    })
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    break Some(buf[end + 4..end + 4 + len].to_vec());
                }
            };
            if let Some(b) = body.and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                && let Ok(mut g) = keep.lock()
            {
                g.push(b);
            }
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (addr, got)
}

/// The first webhook alert for `instance` with `status`.
fn find(hook: &Arc<Mutex<Vec<Value>>>, instance: &str, status: &str) -> Option<Value> {
    let got = hook.lock().ok()?;
    got.iter()
        .flat_map(|n| n["alerts"].as_array().cloned().unwrap_or_default())
        .find(|a| a["labels"]["instance"] == instance && a["status"] == status)
}

#[test]
fn alerts_reach_alertmanager_fire_and_resolve() {
    let (hook_addr, hook) = webhook();
    let mut am = Alertmanager::start(&format!(
        r#"
route:
  receiver: hook
  group_by: [alertname, instance]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://{hook_addr}/hook
        send_resolved: true
"#
    ));
    let tmp = tempfile::tempdir().expect("tempdir");
    let rules = rules_file(tmp.path(), RULES);
    let s = start(&tmp.path().join("data"), &rules, Some(am.url()));
    up(&s, "x", 0.0);

    let state_of = |instance: &str| -> Option<String> {
        let v = s.get("/api/v1/alerts").json();
        v["data"]["alerts"]
            .as_array()?
            .iter()
            .find(|a| a["labels"]["instance"] == instance)
            .and_then(|a| a["state"].as_str().map(str::to_string))
    };
    let pending = wait_for(Duration::from_secs(30), || {
        state_of("x").filter(|s| s == "pending")
    });
    assert!(pending.is_some(), "alert never pending");
    let firing = wait_for(Duration::from_secs(30), || {
        state_of("x").filter(|s| s == "firing")
    });
    assert!(firing.is_some(), "alert never fired");
    let pending_series = query(&s, "ALERTS{alertstate=\"pending\"}", None);
    let firing_series = query(&s, "ALERTS{alertstate=\"firing\"}", None);
    assert!(
        pending_series.is_empty() && firing_series.len() == 1,
        "{pending_series:?} {firing_series:?}"
    );

    let a = wait_for(Duration::from_secs(60), || find(&hook, "x", "firing"))
        .unwrap_or_else(|| panic!("no firing notification; alertmanager log:\n{}", am.log()));
    assert_eq!(a["labels"]["alertname"], "Down");
    assert_eq!(a["labels"]["severity"], "page");
    assert_eq!(a["labels"]["team"], "infra");
    assert_eq!(a["labels"]["cluster"], "e2e", "external labels attached");
    assert_eq!(a["annotations"]["summary"], "x is down");
    assert_eq!(a["annotations"]["description"], "node/x value 0 (e2e)");
    let url = a["generatorURL"].as_str().unwrap_or_default();
    assert!(
        url.starts_with("http://almanac.example:9009/graph?g0.expr=up+%3D%3D+0"),
        "{url}"
    );

    // Recovery: the alert resolves and Alertmanager says so.
    up(&s, "x", 1.0);
    let r = wait_for(Duration::from_secs(60), || find(&hook, "x", "resolved"));
    assert!(
        r.is_some(),
        "no resolved notification; alertmanager log:\n{}",
        am.log()
    );

    // Alertmanager down while a new alert fires: it arrives once it is back.
    am.stop();
    up(&s, "y", 0.0);
    let fired = wait_for(Duration::from_secs(30), || {
        state_of("y").filter(|s| s == "firing")
    });
    assert!(fired.is_some(), "second alert never fired");
    std::thread::sleep(Duration::from_secs(2));
    am.restart();
    let a = wait_for(Duration::from_secs(60), || find(&hook, "y", "firing"));
    assert!(
        a.is_some(),
        "notification lost while Alertmanager was down; log:\n{}",
        am.log()
    );
    let m = s.get("/metrics").text();
    assert!(
        m.contains("almanac_notifications_errors_total{alertmanager="),
        "{m}"
    );
}

#[test]
fn pending_alert_keeps_its_for_state_over_a_restart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let rules = rules_file(
        tmp.path(),
        "groups:\n- name: slow\n  interval: 1s\n  rules:\n  - alert: Long\n    expr: vector(1)\n    for: 1h\n",
    );
    let start_restoring = |data: &Path| {
        let rules = rules.display().to_string();
        TestServer::start_in(data, move |c| {
            c.rule_files = vec![rules];
            c.for_grace_period = "1s".into();
        })
    };
    let active_at = |s: &TestServer| -> Option<String> {
        let v = s.get("/api/v1/alerts").json();
        v["data"]["alerts"][0]["activeAt"]
            .as_str()
            .map(str::to_string)
    };
    let mut s = start_restoring(&data);
    let before = wait_for(Duration::from_secs(30), || {
        // Pending and written to ALERTS_FOR_STATE (after the restore step).
        let written = !query(&s, "ALERTS_FOR_STATE", None).is_empty();
        active_at(&s).filter(|_| written)
    })
    .expect("alert never pending");
    // Pending for a while before the restart.
    std::thread::sleep(Duration::from_secs(10));
    s.stop();
    std::thread::sleep(Duration::from_secs(2));
    let restarted = now_ms();
    let s = start_restoring(&data);
    // Fresh, the alert would be active since the restart; restored, it is
    // active since its first start plus the downtime (about 2 s).
    let after = wait_for(Duration::from_secs(30), || {
        // Written again (after the restore step) since the restart.
        let v = query(&s, "timestamp(ALERTS_FOR_STATE)", None);
        let restored = v.iter().any(|x| {
            let t = x["value"][1].as_str().and_then(|t| t.parse::<f64>().ok());
            t.unwrap_or(0.0) * 1000.0 >= restarted as f64
        });
        active_at(&s).filter(|_| restored)
    })
    .expect("alert state not restored");
    let ms = |t: &str| -> i64 {
        // 2026-11-30T18:40:37.123Z → ms within the day is enough here.
        let h: i64 = t[11..13].parse().unwrap_or(0);
        let m: i64 = t[14..16].parse().unwrap_or(0);
        let sec: i64 = t[17..19].parse().unwrap_or(0);
        let frac: i64 = t[20..23].parse().unwrap_or(0);
        ((h * 60 + m) * 60 + sec) * 1000 + frac
    };
    // Restored: activeAt moved by the downtime only, so it is still well
    // before the restart (a fresh alert would be active since after it).
    let restart_of_day = restarted.rem_euclid(86_400_000);
    assert!(
        ms(&after) > ms(&before) && ms(&after) < restart_of_day - 5_000,
        "activeAt {before} -> {after} (restart at {restart_of_day} ms of the day): the pending time was not kept"
    );
}
