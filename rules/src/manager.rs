//! The running rule groups of a server: one task per group evaluating on
//! the group's aligned schedule against the database (recording rules and
//! `ALERTS` written through the normal appender and WAL), alerts handed to
//! the notifier, `for` state restored after a start, and reloads that keep
//! the state of rules that still exist.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};
use promql::eval::{Engine, EngineOptions};
use tokio::sync::watch;
use tsdb::db::Db;
use tsdb::model::histogram::HistogramValue;
use tsdb::model::{Labels, Queryable, STALE_NAN};

use super::file::{GroupSpec, Language};
use super::group::{EvalEnv, Group, Health, LogQueries, Outgoing, SampleValue};
use super::notifier::{AmAlert, Notifier};
use super::{file, glob, template};
use crate::config::{AlertmanagerConfig, ManagerConfig};
use crate::error::RuleError;

/// Wall-clock time in ms.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Settings read at every evaluation (changed by reloads).
#[derive(Debug, Clone)]
struct Settings {
    engine: EngineOptions,
    external_labels: BTreeMap<String, String>,
    external_url: String,
    resend_ms: i64,
    outage_tolerance_ms: i64,
    grace_ms: i64,
}

impl From<&ManagerConfig> for Settings {
    fn from(cfg: &ManagerConfig) -> Settings {
        Settings {
            engine: cfg.engine.clone(),
            external_labels: cfg.external_labels.clone(),
            external_url: cfg.external_url.clone(),
            resend_ms: cfg.resend_ms.max(1),
            outage_tolerance_ms: cfg.outage_tolerance_ms,
            grace_ms: cfg.grace_ms,
        }
    }
}

/// Counters of one group for `/metrics`.
#[derive(Debug, Default)]
pub struct GroupCounters {
    pub iterations: AtomicU64,
    pub missed: AtomicU64,
    pub failures: AtomicU64,
}

struct Running {
    group: Arc<Mutex<Group>>,
    counters: Arc<GroupCounters>,
    stop: watch::Sender<bool>,
}

/// The notifier with the settings it was started with.
type ActiveNotifier = (Vec<AlertmanagerConfig>, usize, Arc<Notifier>);

struct Inner {
    /// Where rule results are written.
    db: Arc<Db>,
    /// What rule expressions read (the database, or a wrapper of it).
    reads: Arc<dyn Queryable>,
    /// Where LogQL rules are evaluated.
    logs: RwLock<Option<Arc<dyn LogQueries>>>,
    settings: RwLock<Settings>,
    notifier: Mutex<Option<ActiveNotifier>>,
}

/// The server's rule groups.
pub struct RuleManager {
    inner: Arc<Inner>,
    rt: tokio::runtime::Handle,
    running: Mutex<BTreeMap<(String, String), Running>>,
    /// Set after the first successful load: later new groups start with
    /// nothing to restore.
    loaded_once: Mutex<bool>,
}

impl RuleManager {
    /// A manager with no groups; tasks are spawned on `rt`.
    pub fn new(db: Arc<Db>, rt: tokio::runtime::Handle) -> RuleManager {
        let reads: Arc<dyn Queryable> = db.clone();
        RuleManager::with_reads(db, reads, rt)
    }

    /// [`new`](Self::new) whose rule expressions read through `reads`
    /// (which must see what is written to `db`).
    pub fn with_reads(
        db: Arc<Db>,
        reads: Arc<dyn Queryable>,
        rt: tokio::runtime::Handle,
    ) -> RuleManager {
        RuleManager {
            inner: Arc::new(Inner {
                db,
                reads,
                logs: RwLock::new(None),
                settings: RwLock::new(Settings::from(&ManagerConfig::default())),
                notifier: Mutex::new(None),
            }),
            rt,
            running: Mutex::new(BTreeMap::new()),
            loaded_once: Mutex::new(false),
        }
    }

    /// Loads the rule files of `cfg` and replaces the running groups. On
    /// any invalid file nothing changes and every error is returned.
    /// Groups that exist before and after (same file and name) keep the
    /// state of their unchanged rules; removed groups' series are marked
    /// stale.
    pub fn apply(&self, cfg: &ManagerConfig) -> Result<(), Vec<RuleError>> {
        self.apply_groups(cfg, load_all(cfg)?);
        Ok(())
    }

    /// Where LogQL rules (from `log_rule_files`) are evaluated.
    pub fn set_log_queries(&self, logs: Arc<dyn LogQueries>) {
        *self.inner.logs.write() = Some(logs);
    }

    /// [`apply`](Self::apply) with groups already read by [`load_groups`].
    pub fn apply_groups(&self, cfg: &ManagerConfig, specs: Vec<GroupSpec>) {
        let interval = cfg.evaluation_interval_ms;
        let offset = cfg.query_offset_ms;
        *self.inner.settings.write() = Settings::from(cfg);
        self.apply_notifier(&cfg.alertmanagers, cfg.notification_queue_capacity);
        let mut first = self.loaded_once.lock();
        let mut running = self.running.lock();
        let mut old = std::mem::take(&mut *running);
        for spec in &specs {
            let key = (spec.file.clone(), spec.name.clone());
            let mut g = Group::new(spec, interval, offset);
            let mut restore = !*first;
            if let Some(prev) = old.remove(&key) {
                let _ = prev.stop.send(true);
                g.copy_state(&prev.group.lock());
                restore = false;
                self.spawn(&mut running, key, g, prev.counters, restore);
                continue;
            }
            if !restore {
                g.set_restored();
            }
            self.spawn(&mut running, key, g, Arc::default(), restore);
        }
        let now = now_ms();
        for (_, gone) in old {
            let _ = gone.stop.send(true);
            let series = gone.group.lock().last_series();
            let stale: Vec<(Labels, i64, SampleValue)> = series
                .into_iter()
                .map(|l| (l, now, SampleValue::Float(STALE_NAN)))
                .collect();
            if let Err(e) = write(&self.inner.db, &stale) {
                tracing::warn!(error = %e, "writing stale markers of a removed group");
            }
        }
        *first = true;
    }

    fn apply_notifier(&self, ams: &[AlertmanagerConfig], capacity: usize) {
        let mut n = self.inner.notifier.lock();
        if let Some((cfg, cap, _)) = &*n
            && cfg.as_slice() == ams
            && *cap == capacity
        {
            return;
        }
        if let Some((_, _, old)) = n.take() {
            old.stop();
        }
        if !ams.is_empty() {
            let _guard = self.rt.enter();
            *n = Some((
                ams.to_vec(),
                capacity,
                Arc::new(Notifier::start(ams, capacity)),
            ));
        }
    }

    fn spawn(
        &self,
        running: &mut BTreeMap<(String, String), Running>,
        key: (String, String),
        g: Group,
        counters: Arc<GroupCounters>,
        restore: bool,
    ) {
        let group = Arc::new(Mutex::new(g));
        let (stop, stop_rx) = watch::channel(false);
        self.rt.spawn(run(
            group.clone(),
            self.inner.clone(),
            counters.clone(),
            stop_rx,
            restore,
        ));
        running.insert(
            key,
            Running {
                group,
                counters,
                stop,
            },
        );
    }

    /// Stops every group and the notifier.
    pub fn stop(&self) {
        for r in self.running.lock().values() {
            let _ = r.stop.send(true);
        }
        if let Some((_, _, n)) = self.inner.notifier.lock().take() {
            n.stop();
        }
    }

    /// The running groups, in file and name order.
    pub fn groups(&self) -> Vec<Arc<Mutex<Group>>> {
        self.running
            .lock()
            .values()
            .map(|r| r.group.clone())
            .collect()
    }

    /// Renders rule-group and notifier metrics.
    pub fn render_metrics(&self, out: &mut String) {
        use promql::syntax::exposition::{escape, header};
        use std::fmt::Write;
        let running = self.running.lock();
        let rows: Vec<(String, &Running)> = running
            .iter()
            .map(|((f, n), r)| (escape(&format!("{f};{n}")), r))
            .collect();
        let counter =
            |out: &mut String, name: &str, help: &str, f: &dyn Fn(&GroupCounters) -> u64| {
                header(out, name, help, "counter");
                for (g, r) in &rows {
                    let _ = writeln!(out, "{name}{{rule_group=\"{g}\"}} {}", f(&r.counters));
                }
            };
        counter(
            out,
            "almanac_rule_group_iterations_total",
            "Scheduled evaluations of rule groups.",
            &|c| c.iterations.load(Ordering::Relaxed),
        );
        counter(
            out,
            "almanac_rule_group_iterations_missed_total",
            "Evaluations skipped because the group was too slow.",
            &|c| c.missed.load(Ordering::Relaxed),
        );
        counter(
            out,
            "almanac_rule_evaluation_failures_total",
            "Rule evaluations that failed.",
            &|c| c.failures.load(Ordering::Relaxed),
        );
        let gauge = |out: &mut String, name: &str, help: &str, f: &dyn Fn(&Group) -> f64| {
            header(out, name, help, "gauge");
            for (g, r) in &rows {
                let v = f(&r.group.lock());
                let _ = writeln!(out, "{name}{{rule_group=\"{g}\"}} {v}");
            }
        };
        gauge(
            out,
            "almanac_rule_group_last_duration_seconds",
            "Duration of the last evaluation.",
            &|g| g.eval_seconds,
        );
        gauge(
            out,
            "almanac_rule_group_interval_seconds",
            "Evaluation interval.",
            &|g| g.interval as f64 / 1000.0,
        );
        gauge(
            out,
            "almanac_rule_group_rules",
            "Rules in the group.",
            &|g| g.rules.len() as f64,
        );
        gauge(
            out,
            "almanac_rule_group_last_evaluation_timestamp_seconds",
            "When the group was last evaluated.",
            &|g| g.last_eval.map_or(0.0, |t| t as f64 / 1000.0),
        );
        drop(running);
        if let Some((_, _, n)) = &*self.inner.notifier.lock() {
            n.render_metrics(out);
        }
    }
}

/// Appends and commits a batch; returns how many samples were rejected.
fn write(db: &Db, batch: &[(Labels, i64, SampleValue)]) -> Result<usize, String> {
    let mut app = db.appender();
    let mut rejected = 0;
    for (l, t, v) in batch {
        let r = match v {
            SampleValue::Float(v) => app.append(l, *t, *v).map(drop),
            SampleValue::Histogram(h) => app
                .append_histogram(l, *t, HistogramValue::Float((**h).clone()))
                .map(drop),
        };
        if r.is_err() {
            rejected += 1;
        }
    }
    app.commit().map_err(|e| e.to_string())?;
    Ok(rejected)
}

async fn run(
    group: Arc<Mutex<Group>>,
    inner: Arc<Inner>,
    counters: Arc<GroupCounters>,
    mut stop: watch::Receiver<bool>,
    restore: bool,
) {
    let (interval, mut ts) = {
        let g = group.lock();
        (g.interval, g.eval_timestamp(now_ms()) + g.interval)
    };
    let mut evals = 0u64;
    loop {
        let wait = ts - now_ms();
        if wait > 0 {
            tokio::select! {
                biased;
                _ = stop.changed() => return,
                _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            }
        }
        if *stop.borrow() {
            return;
        }
        let (g, i) = (group.clone(), inner.clone());
        let failures = tokio::task::spawn_blocking(move || eval_once(&g, &i, ts))
            .await
            .unwrap_or(0);
        counters.iterations.fetch_add(1, Ordering::Relaxed);
        counters.failures.fetch_add(failures, Ordering::Relaxed);
        evals += 1;
        if restore && evals == 2 {
            // As Prometheus: restore after the second evaluation, when
            // recording rules the alerts may depend on have run.
            let (g, i) = (group.clone(), inner.clone());
            let _ = tokio::task::spawn_blocking(move || {
                let s = i.settings.read().clone();
                g.lock()
                    .restore_for_state(now_ms(), &*i.db, s.outage_tolerance_ms, s.grace_ms);
            })
            .await;
        }
        let (next, missed) = next_slot(ts, now_ms(), interval);
        if missed > 0 {
            counters.missed.fetch_add(missed, Ordering::Relaxed);
            tracing::warn!(missed, "rule group evaluation is slower than its interval");
        }
        ts = next;
    }
}

/// After an evaluation at `ts` that ended at `now`: the next slot to
/// evaluate and how many slots were missed. A late group evaluates the
/// most recent slot that has passed rather than catching up on each.
pub fn next_slot(ts: i64, now: i64, interval: i64) -> (i64, u64) {
    let behind = ((now - ts) / interval).max(1);
    (ts + behind * interval, (behind - 1) as u64)
}

/// Evaluates a group once at `ts`; returns the number of failed rules.
fn eval_once(group: &Mutex<Group>, inner: &Inner, ts: i64) -> u64 {
    let s = inner.settings.read().clone();
    let engine = Engine::new(s.engine.clone());
    let logs = inner.logs.read().clone();
    let env = EvalEnv {
        engine: &engine,
        storage: &*inner.reads,
        logs: logs.as_deref(),
        external_labels: &s.external_labels,
        external_url: &s.external_url,
    };
    let mut w = |b: &[(Labels, i64, SampleValue)]| write(&inner.db, b);
    let mut g = group.lock();
    let out = g.eval(ts, now_ms(), s.resend_ms, &env, &mut w);
    let failures = g.rules.iter().filter(|r| r.health == Health::Err).count() as u64;
    drop(g);
    if !out.is_empty()
        && let Some((_, _, n)) = &*inner.notifier.lock()
    {
        n.send(&to_am(out, &s.external_labels, &s.external_url));
    }
    failures
}

/// Alerts as Alertmanager takes them: external labels added (an alert's
/// own label wins), `endsAt` the resolve time or four resend periods
/// ahead, `generatorURL` a link to the expression.
pub fn to_am(
    out: Outgoing,
    external: &BTreeMap<String, String>,
    external_url: &str,
) -> Vec<AmAlert> {
    let mut v = Vec::new();
    for (expr, alerts) in out {
        let url = format!(
            "{external_url}/graph?g0.expr={}&g0.tab=1",
            template::query_escape(&expr)
        );
        for a in alerts {
            let mut labels: BTreeMap<String, String> = external.clone();
            for l in a.labels.iter() {
                labels.insert(l.name.to_string(), l.value.to_string());
            }
            v.push(AmAlert {
                labels: labels.into_iter().collect(),
                annotations: a.annotations.into_iter().collect(),
                starts_at: promql::syntax::format_rfc3339(a.fired_at.unwrap_or(a.active_at)),
                ends_at: promql::syntax::format_rfc3339(a.resolved_at.unwrap_or(a.valid_until)),
                generator_url: url.clone(),
            });
        }
    }
    v
}

/// Reads and validates every rule file the patterns name (globs
/// expanded): all groups, or every error found.
pub fn load_groups(patterns: &[String]) -> Result<Vec<GroupSpec>, Vec<RuleError>> {
    load_groups_as(patterns, Language::PromQl)
}

/// The groups of a configuration: `rule_files` in PromQL, then
/// `log_rule_files` in LogQL; every error of both.
pub fn load_all(cfg: &ManagerConfig) -> Result<Vec<GroupSpec>, Vec<RuleError>> {
    let metric = load_groups(&cfg.rule_files);
    let log = load_groups_as(&cfg.log_rule_files, Language::LogQl);
    match (metric, log) {
        (Ok(mut a), Ok(b)) => {
            a.extend(b);
            Ok(a)
        }
        (Err(mut a), Err(b)) => {
            a.extend(b);
            Err(a)
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

/// [`load_groups`] for files whose expressions are in `lang`.
pub fn load_groups_as(
    patterns: &[String],
    lang: Language,
) -> Result<Vec<GroupSpec>, Vec<RuleError>> {
    let mut errors = Vec::new();
    let mut specs = Vec::new();
    for pattern in patterns {
        match glob::expand(pattern) {
            Ok(paths) => {
                for p in paths {
                    match file::load_as(&p.display().to_string(), false, lang) {
                        Ok(f) => specs.extend(f.groups),
                        Err(e) => errors.extend(e),
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(specs)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn slow_groups_skip_to_the_latest_slot_and_count_the_rest() {
        let cases: &[(&str, i64, i64, (i64, u64))] = &[
            ("on_time", 1_000, 1_200, (2_000, 0)),
            ("just_before_next", 1_000, 1_999, (2_000, 0)),
            // The next slot passed during the evaluation: run it late.
            ("late_into_next", 1_000, 2_500, (2_000, 0)),
            // A whole slot passed: it is skipped and counted.
            ("one_slot_missed", 1_000, 3_500, (3_000, 1)),
            ("two_slots_missed", 1_000, 4_000, (4_000, 2)),
            ("clock_behind", 1_000, 900, (2_000, 0)),
        ];
        for (name, ts, now, want) in cases {
            assert_eq!(super::next_slot(*ts, *now, 1_000), *want, "{name}");
        }
    }
}
