//! The alerting rule's state machine: inactive → pending → firing (held by
//! `for`, kept by `keep_firing_for`), resolved alerts kept 15 minutes to be
//! sent as resolved, the `ALERTS` and `ALERTS_FOR_STATE` series, and which
//! alerts are due to be sent. Time is passed in (ms), never read here.

use std::collections::BTreeMap;

use tsdb::model::{Labels, LabelsBuilder, METRIC_NAME};

/// How long a resolved alert is still reported (and sent) as resolved.
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

/// Prometheus's `alertstate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    Inactive,
    Pending,
    Firing,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One alert of a rule: one label set of the rule's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Rendered labels, `alertname` included, no `__name__`.
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub value: f64,
    pub state: AlertState,
    pub active_at: i64,
    pub fired_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub last_sent_at: Option<i64>,
    pub valid_until: i64,
    pub keep_firing_since: Option<i64>,
}

impl Alert {
    /// Whether the alert should go to Alertmanager at `t`: never while
    /// pending; at once after it resolved; otherwise every `resend_ms`.
    pub fn needs_sending(&self, t: i64, resend_ms: i64) -> bool {
        if self.state == AlertState::Pending {
            return false;
        }
        match (self.resolved_at, self.last_sent_at) {
            (Some(r), Some(s)) if r > s => true,
            (_, None) => true,
            (_, Some(s)) => s + resend_ms < t,
        }
    }
}

/// One element of the rule's query result after templating: the alert's
/// labels and annotations and the sample value.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub value: f64,
}

/// The state of one alerting rule between evaluations.
#[derive(Debug, Clone, Default)]
pub struct AlertSet {
    pub active: BTreeMap<Labels, Alert>,
    /// Until `for` state is restored after a start, no `ALERTS` series are
    /// written (they would restart every `for` from scratch).
    pub restored: bool,
}

/// Why an evaluation of an alerting rule failed.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertEvalError {
    DuplicateLabels(Labels),
    Limit { limit: usize, got: usize },
}

impl std::fmt::Display for AlertEvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AlertEvalError::DuplicateLabels(l) => write!(
                f,
                "vector contains metrics with the same labelset after applying alert labels: {l}"
            ),
            AlertEvalError::Limit { limit, got } => {
                write!(f, "exceeded limit of {limit} with {got} alerts")
            }
        }
    }
}

/// Timing settings of one rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hold {
    pub for_ms: i64,
    pub keep_firing_for_ms: i64,
    /// Most alerts (pending or firing) allowed; 0 = unlimited.
    pub limit: usize,
}

impl AlertSet {
    /// Advances the state machine to `t` given this evaluation's
    /// candidates, and returns the `ALERTS`/`ALERTS_FOR_STATE` samples
    /// (labels, value) to write.
    pub fn eval(
        &mut self,
        t: i64,
        hold: Hold,
        candidates: Vec<Candidate>,
    ) -> Result<Vec<(Labels, f64)>, AlertEvalError> {
        let mut seen = std::collections::BTreeSet::new();
        for c in candidates {
            if !seen.insert(c.labels.clone()) {
                return Err(AlertEvalError::DuplicateLabels(c.labels));
            }
            match self.active.get_mut(&c.labels) {
                Some(a) if a.state != AlertState::Inactive => {
                    a.value = c.value;
                    a.annotations = c.annotations;
                }
                _ => {
                    self.active.insert(
                        c.labels.clone(),
                        Alert {
                            labels: c.labels,
                            annotations: c.annotations,
                            value: c.value,
                            state: AlertState::Pending,
                            active_at: t,
                            fired_at: None,
                            resolved_at: None,
                            last_sent_at: None,
                            valid_until: 0,
                            keep_firing_since: None,
                        },
                    );
                }
            }
        }
        let mut out = Vec::new();
        let mut active_count = 0;
        let mut remove = Vec::new();
        for (k, a) in self.active.iter_mut() {
            if !seen.contains(k) {
                let mut keep_firing = false;
                if a.state == AlertState::Firing && hold.keep_firing_for_ms > 0 {
                    let since = *a.keep_firing_since.get_or_insert(t);
                    keep_firing = t - since < hold.keep_firing_for_ms;
                }
                if a.state == AlertState::Pending
                    || a.resolved_at.is_some_and(|r| t - r > RESOLVED_RETENTION_MS)
                {
                    remove.push(k.clone());
                }
                if a.state != AlertState::Inactive && !keep_firing {
                    a.state = AlertState::Inactive;
                    a.resolved_at = Some(t);
                }
                if !keep_firing {
                    continue;
                }
            } else {
                a.keep_firing_since = None;
            }
            active_count += 1;
            if a.state == AlertState::Pending && t - a.active_at >= hold.for_ms {
                a.state = AlertState::Firing;
                a.fired_at = Some(t);
            }
            if self.restored {
                out.push((series_labels(&a.labels, "ALERTS", Some(a.state)), 1.0));
                out.push((
                    series_labels(&a.labels, "ALERTS_FOR_STATE", None),
                    a.active_at.div_euclid(1000) as f64,
                ));
            }
        }
        for k in remove {
            self.active.remove(&k);
        }
        if hold.limit > 0 && active_count > hold.limit {
            self.active.clear();
            return Err(AlertEvalError::Limit {
                limit: hold.limit,
                got: active_count,
            });
        }
        Ok(out)
    }

    /// Alerts due to be sent at `t`, marked as sent, with `valid_until` set
    /// to four resend periods (or intervals) ahead.
    pub fn due(&mut self, t: i64, resend_ms: i64, interval_ms: i64) -> Vec<Alert> {
        let mut out = Vec::new();
        for a in self.active.values_mut() {
            if a.needs_sending(t, resend_ms) {
                a.last_sent_at = Some(t);
                a.valid_until = t + 4 * resend_ms.max(interval_ms);
                out.push(a.clone());
            }
        }
        out
    }

    /// Restores `for` state after a restart from the last
    /// `ALERTS_FOR_STATE` sample of each active alert (`found` gives its
    /// time in ms and value in unix seconds). `now` is the restore time;
    /// `grace_ms` is the least time left before an alert may fire.
    pub fn restore(
        &mut self,
        now: i64,
        for_ms: i64,
        grace_ms: i64,
        found: impl Fn(&Labels) -> Option<(i64, f64)>,
    ) {
        for a in self.active.values_mut() {
            let Some((down_at, v)) = found(&a.labels) else {
                continue;
            };
            if tsdb::model::is_stale_nan(v) || !v.is_finite() {
                continue;
            }
            let down_at = down_at.div_euclid(1000) * 1000;
            let mut active_at = (v as i64) * 1000;
            let spent = down_at - active_at;
            let remaining = for_ms - spent;
            if remaining <= 0 {
                // It was firing already: keep its original start.
            } else if remaining < grace_ms {
                active_at = now + grace_ms - for_ms;
            } else {
                active_at += now - down_at;
            }
            a.active_at = active_at;
        }
        self.restored = true;
    }
}

/// The labels of an `ALERTS` (with `alertstate`) or `ALERTS_FOR_STATE`
/// series for an alert.
pub fn series_labels(alert: &Labels, name: &str, state: Option<AlertState>) -> Labels {
    let mut b = LabelsBuilder::new();
    for l in alert.iter() {
        b.set(&l.name, &l.value);
    }
    b.set(METRIC_NAME, name);
    if let Some(s) = state {
        b.set("alertstate", s.as_str());
    }
    b.build()
}

#[cfg(test)]
#[path = "alert_tests.rs"]
mod tests;
