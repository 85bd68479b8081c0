//! Tail-sampling policies in the OpenTelemetry collector's
//! `tailsamplingprocessor` schema, so a collector's `policies:` list can be
//! pasted as is.

use serde::{Deserialize, Serialize};

/// One policy: a `name`, a `type` and the section named by the type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<StatusCodeConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probabilistic: Option<ProbabilisticConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub string_attribute: Option<StringAttributeConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numeric_attribute: Option<NumericAttributeConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boolean_attribute: Option<BooleanAttributeConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_count: Option<SpanCountConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limiting: Option<RateLimitingConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub and: Option<AndConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop: Option<DropConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub composite: Option<CompositeConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LatencyConfig {
    pub threshold_ms: i64,
    /// 0: no upper bound.
    pub upper_threshold_ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatusCodeConfig {
    /// `ERROR`, `OK`, `UNSET`.
    pub status_codes: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProbabilisticConfig {
    pub hash_salt: String,
    pub sampling_percentage: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StringAttributeConfig {
    pub key: String,
    pub values: Vec<String>,
    pub enabled_regex_matching: bool,
    /// Accepted for compatibility; regexes here are compiled once.
    pub cache_max_size: usize,
    pub invert_match: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NumericAttributeConfig {
    pub key: String,
    pub min_value: Option<i64>,
    pub max_value: Option<i64>,
    pub invert_match: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BooleanAttributeConfig {
    pub key: String,
    pub value: bool,
    pub invert_match: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpanCountConfig {
    pub min_spans: u64,
    /// 0: no upper bound.
    pub max_spans: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitingConfig {
    pub spans_per_second: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AndConfig {
    pub and_sub_policy: Vec<PolicyConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DropConfig {
    pub drop_sub_policy: Vec<PolicyConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompositeConfig {
    pub max_total_spans_per_second: u64,
    pub policy_order: Vec<String>,
    pub composite_sub_policy: Vec<PolicyConfig>,
    pub rate_allocation: Vec<RateAllocation>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateAllocation {
    pub policy: String,
    pub percent: u64,
}
