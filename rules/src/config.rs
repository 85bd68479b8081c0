//! What the rule manager is configured with. The server reads these from
//! its flags and YAML file; durations arrive resolved to milliseconds.

use std::collections::BTreeMap;

use promql::eval::EngineOptions;
use serde::{Deserialize, Serialize};

/// Settings of the running rule groups, applied at start and on reload.
#[derive(Debug, Clone)]
pub struct ManagerConfig {
    /// Rule files (globs allowed), as Prometheus's `rule_files`.
    pub rule_files: Vec<String>,
    /// Rule files whose expressions are LogQL (Loki's ruler format).
    pub log_rule_files: Vec<String>,
    /// Interval of groups that set none.
    pub evaluation_interval_ms: i64,
    /// `query_offset` of groups that set none.
    pub query_offset_ms: i64,
    /// Options of the engine the rules' queries run on.
    pub engine: EngineOptions,
    /// Labels attached to alerts sent to Alertmanager (`$externalLabels`).
    pub external_labels: BTreeMap<String, String>,
    /// `$externalURL` and the base of alerts' `generatorURL`, without a
    /// trailing `/`.
    pub external_url: String,
    /// How often firing alerts are sent again.
    pub resend_ms: i64,
    /// Restore alerts' `for` state only from series this recent.
    pub outage_tolerance_ms: i64,
    /// Least time an alert stays pending after its `for` state is restored.
    pub grace_ms: i64,
    /// Alertmanagers to send alerts to.
    pub alertmanagers: Vec<AlertmanagerConfig>,
    /// Alerts waiting per Alertmanager; more are dropped and counted.
    pub notification_queue_capacity: usize,
}

impl Default for ManagerConfig {
    /// Prometheus's defaults: 1m interval, 1m resend delay, 1h outage
    /// tolerance, 10m grace period.
    fn default() -> Self {
        ManagerConfig {
            rule_files: Vec::new(),
            log_rule_files: Vec::new(),
            evaluation_interval_ms: 60_000,
            query_offset_ms: 0,
            engine: EngineOptions::default(),
            external_labels: BTreeMap::new(),
            external_url: String::new(),
            resend_ms: 60_000,
            outage_tolerance_ms: 3_600_000,
            grace_ms: 600_000,
            alertmanagers: Vec::new(),
            notification_queue_capacity: 10_000,
        }
    }
}

/// One Alertmanager (API v2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertmanagerConfig {
    /// Base URL (`http://host:9093`, optionally with a path prefix).
    pub url: String,
    /// Timeout of one request.
    pub timeout: String,
    pub basic_auth: Option<BasicAuth>,
    pub bearer_token: Option<String>,
}

impl Default for AlertmanagerConfig {
    fn default() -> Self {
        AlertmanagerConfig {
            url: String::new(),
            timeout: "10s".into(),
            basic_auth: None,
            bearer_token: None,
        }
    }
}

/// HTTP basic authentication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub username: String,
    #[serde(default)]
    pub password: String,
}
