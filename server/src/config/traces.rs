//! The `traces:` section: the span store.

use ::traces::sampling::PolicyConfig;
use serde::{Deserialize, Serialize};

use super::{Config, ConfigError, bad};

/// How spans are kept and sampled. Read at start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TracesConfig {
    /// Keep span blocks this long after their newest span (`7d`).
    pub retention: String,
    /// Without tail sampling: a trace goes to a block once quiet this long.
    pub trace_idle_period: String,
    /// Cut a span block once the kept traces hold this many bytes …
    pub max_block_bytes: usize,
    /// … or the oldest of them waited this long.
    pub max_block_duration: String,
    /// Largest attribute (key and value) of a span; larger spans are refused.
    pub max_attribute_bytes: usize,
    /// Tail sampling (none: every trace is kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tail_sampling: Option<TailSamplingConfig>,
    /// RED metrics and the service graph derived from spans.
    pub span_metrics: SpanMetricsConfig,
}

/// `span_metrics:`: series derived from every span, before sampling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpanMetricsConfig {
    pub enabled: bool,
    /// Current values are written into the metric store this often.
    pub interval: String,
    /// Most series held (by service, span name, kind and status, plus
    /// service-graph edges); spans of further series are counted only in
    /// `almanac_span_metrics_series_dropped_total`.
    pub max_series: usize,
    /// A series with no span for this long is no longer written.
    pub stale_after: String,
    /// `native` (a native histogram), `classic` (`_bucket`/`_sum`/`_count`
    /// with `classic_buckets`) or `both`.
    pub latency_histogram: String,
    /// Bucket bounds in seconds for classic latency buckets.
    pub classic_buckets: Vec<f64>,
}

impl Default for SpanMetricsConfig {
    fn default() -> Self {
        SpanMetricsConfig {
            enabled: true,
            interval: "15s".into(),
            max_series: 10_000,
            stale_after: "15m".into(),
            latency_histogram: "native".into(),
            classic_buckets: ::traces::spanmetrics::classic::DEFAULT_BOUNDS.to_vec(),
        }
    }
}

impl SpanMetricsConfig {
    /// How often span metrics are written.
    pub fn interval(&self) -> Result<std::time::Duration, ConfigError> {
        let d = ms("traces.span_metrics.interval", &self.interval)?;
        if d.is_zero() {
            return Err(bad("traces.span_metrics.interval", "must be positive"));
        }
        Ok(d)
    }
}

/// `tail_sampling:`, as the collector's `tail_sampling` processor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TailSamplingConfig {
    /// A trace is decided once no span of it came for this long.
    pub decision_wait: String,
    /// Most undecided traces held; past it the oldest are decided early.
    pub num_traces: usize,
    /// Verdicts remembered for late spans.
    pub decision_cache_size: usize,
    pub policies: Vec<PolicyConfig>,
}

impl Default for TracesConfig {
    fn default() -> Self {
        TracesConfig {
            retention: "7d".into(),
            trace_idle_period: "10s".into(),
            max_block_bytes: 64 << 20,
            max_block_duration: "5m".into(),
            max_attribute_bytes: ::traces::validate::Limits::default().max_attribute_bytes,
            tail_sampling: None,
            span_metrics: SpanMetricsConfig::default(),
        }
    }
}

impl Default for TailSamplingConfig {
    fn default() -> Self {
        TailSamplingConfig {
            decision_wait: "30s".into(),
            num_traces: 50_000,
            decision_cache_size: 100_000,
            policies: Vec::new(),
        }
    }
}

fn ms(field: &str, v: &str) -> Result<std::time::Duration, ConfigError> {
    Config::duration(field, v).map(|d| std::time::Duration::from_millis(d as u64))
}

impl TracesConfig {
    /// The span store's options (sampling policies built and checked).
    pub fn to_options(&self) -> Result<::traces::Options, ConfigError> {
        let mut o = ::traces::Options {
            retention: ms("traces.retention", &self.retention)?,
            decision_wait: ms("traces.trace_idle_period", &self.trace_idle_period)?,
            max_block_bytes: self.max_block_bytes.max(1),
            max_block_age: ms("traces.max_block_duration", &self.max_block_duration)?,
            span_metrics: None,
            ..::traces::Options::default()
        };
        let sm = &self.span_metrics;
        if sm.enabled {
            sm.interval()?;
            let (native, classic) = match sm.latency_histogram.as_str() {
                "native" => (true, false),
                "classic" => (false, true),
                "both" => (true, true),
                other => {
                    return Err(bad(
                        "traces.span_metrics.latency_histogram",
                        format!("{other:?}: expected native, classic or both"),
                    ));
                }
            };
            let b = &sm.classic_buckets;
            if classic
                && (b.is_empty()
                    || b.windows(2).any(|w| w[0] >= w[1])
                    || b.iter().any(|x| !x.is_finite()))
            {
                return Err(bad(
                    "traces.span_metrics.classic_buckets",
                    "expected finite bounds in ascending order",
                ));
            }
            o.span_metrics = Some(::traces::spanmetrics::MetricsOptions {
                max_series: sm.max_series.max(1),
                stale_after: ms("traces.span_metrics.stale_after", &sm.stale_after)?,
                native_latency: native,
                classic_bounds: if classic { b.clone() } else { Vec::new() },
            });
        }
        if self.max_attribute_bytes == 0 {
            return Err(bad("traces.max_attribute_bytes", "must be positive"));
        }
        if let Some(ts) = &self.tail_sampling {
            if ts.policies.is_empty() {
                return Err(bad(
                    "traces.tail_sampling.policies",
                    "empty: every trace would be dropped; remove tail_sampling to keep all",
                ));
            }
            let sampler = ::traces::sampling::Sampler::new(&ts.policies)
                .map_err(|e| bad("traces.tail_sampling", e.to_string()))?;
            o.decision_wait = ms("traces.tail_sampling.decision_wait", &ts.decision_wait)?;
            o.num_traces = ts.num_traces.max(1);
            o.decision_cache = ts.decision_cache_size.max(1);
            o.sampler = Some(std::sync::Arc::new(sampler));
        }
        Ok(o)
    }

    /// The span validation limits.
    pub fn limits(&self) -> ::traces::validate::Limits {
        ::traces::validate::Limits {
            max_attribute_bytes: self.max_attribute_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("defaults", "{}", None),
            (
                "collector policies",
                "tail_sampling: {decision_wait: 5s, policies: [{name: e, type: status_code, status_code: {status_codes: [ERROR]}}, {name: p, type: probabilistic, probabilistic: {sampling_percentage: 10}}]}",
                None,
            ),
            ("no policies", "tail_sampling: {}", Some("policies: empty")),
            (
                "bad policy",
                "tail_sampling: {policies: [{name: x, type: latency}]}",
                Some("needs a `latency:` section"),
            ),
            ("bad retention", "retention: 7x", Some("traces.retention")),
            ("unknown field", "nope: 1", Some("unknown field")),
            ("span metrics off", "span_metrics: {enabled: false}", None),
            (
                "classic latency",
                "span_metrics: {latency_histogram: both, classic_buckets: [0.1, 1]}",
                None,
            ),
            (
                "unknown latency histogram",
                "span_metrics: {latency_histogram: sparse}",
                Some("expected native, classic or both"),
            ),
            (
                "unsorted buckets",
                "span_metrics: {latency_histogram: classic, classic_buckets: [1, 0.1]}",
                Some("ascending"),
            ),
            (
                "span metrics interval",
                "span_metrics: {interval: 0s}",
                Some("traces.span_metrics.interval"),
            ),
        ];
        for (name, yaml, want) in cases {
            let parsed: Result<TracesConfig, String> =
                serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string());
            let got = parsed.and_then(|c| c.to_options().map(|_| ()).map_err(|e| e.to_string()));
            match (got, want) {
                (Ok(()), None) => {}
                (Err(e), Some(w)) => assert!(e.contains(w), "{name}: {e}"),
                (g, w) => panic!("{name}: got {g:?}, want {w:?}"),
            }
        }
    }
}
