//! One sampling policy, built from its configuration and evaluated on a
//! whole trace.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use parking_lot::Mutex;
use regex::Regex;

use super::Answer;
use super::config::PolicyConfig;
use crate::error::{Error, Result};
use crate::head::HeadSpan;
use crate::id::TraceId;

#[derive(Debug)]
pub struct Policy {
    name: String,
    rule: Rule,
}

#[derive(Debug)]
enum Rule {
    Always,
    Latency {
        min_ns: u64,
        max_ns: Option<u64>,
    },
    Status(Vec<i32>),
    Probabilistic {
        salt: Vec<u8>,
        threshold: u64,
    },
    StringAttr {
        key: String,
        matchers: Matchers,
        invert: bool,
    },
    NumericAttr {
        key: String,
        min: i64,
        max: i64,
        invert: bool,
    },
    BoolAttr {
        key: String,
        value: bool,
        invert: bool,
    },
    SpanCount {
        min: u64,
        max: u64,
    },
    RateLimit {
        per_second: u64,
        used: Mutex<(u64, u64)>,
    },
    And(Vec<Policy>),
    Drop(Vec<Policy>),
    Composite {
        subs: Vec<(Policy, u64)>,
        used: Mutex<(u64, Vec<u64>)>,
    },
}

#[derive(Debug)]
enum Matchers {
    Exact(Vec<String>),
    Regex(Vec<Regex>),
}

fn invalid(at: &str, reason: impl Into<String>) -> Error {
    Error::InvalidOption {
        name: "traces.tail_sampling",
        reason: format!("{at}: {}", reason.into()),
    }
}

fn section<'a, T>(s: &'a Option<T>, at: &str, kind: &str) -> Result<&'a T> {
    s.as_ref()
        .ok_or_else(|| invalid(at, format!("type {kind} needs a `{kind}:` section")))
}

impl Policy {
    /// Builds a policy; `at` names it in errors.
    pub fn build(c: &PolicyConfig, at: &str) -> Result<Policy> {
        let at = if c.name.is_empty() {
            at.to_owned()
        } else {
            format!("{at} ({})", c.name)
        };
        let at = at.as_str();
        let subs = |list: &[PolicyConfig], what: &str| -> Result<Vec<Policy>> {
            if list.is_empty() {
                return Err(invalid(at, format!("{what} is empty")));
            }
            list.iter()
                .enumerate()
                .map(|(i, s)| Policy::build(s, &format!("{at}.{what}[{i}]")))
                .collect()
        };
        let rule = match c.kind.as_str() {
            "always_sample" => Rule::Always,
            "latency" => {
                let l = section(&c.latency, at, "latency")?;
                let ms = |v: i64| u64::try_from(v).map(|v| v * 1_000_000);
                let min_ns =
                    ms(l.threshold_ms).map_err(|_| invalid(at, "threshold_ms is negative"))?;
                let max_ns = match l.upper_threshold_ms {
                    0 => None,
                    v => Some(ms(v).map_err(|_| invalid(at, "upper_threshold_ms is negative"))?),
                };
                Rule::Latency { min_ns, max_ns }
            }
            "status_code" => {
                let s = section(&c.status_code, at, "status_code")?;
                let codes = s
                    .status_codes
                    .iter()
                    .map(|c| match c.as_str() {
                        "UNSET" => Ok(0),
                        "OK" => Ok(1),
                        "ERROR" => Ok(2),
                        other => Err(invalid(
                            at,
                            format!("unknown status code {other:?} (UNSET, OK, ERROR)"),
                        )),
                    })
                    .collect::<Result<Vec<i32>>>()?;
                if codes.is_empty() {
                    return Err(invalid(at, "status_codes is empty"));
                }
                Rule::Status(codes)
            }
            "probabilistic" => {
                let p = section(&c.probabilistic, at, "probabilistic")?;
                if !(0.0..=100.0).contains(&p.sampling_percentage) {
                    return Err(invalid(at, "sampling_percentage is not within 0 and 100"));
                }
                let threshold = (p.sampling_percentage / 100.0 * u64::MAX as f64) as u64;
                Rule::Probabilistic {
                    salt: p.hash_salt.as_bytes().to_vec(),
                    threshold,
                }
            }
            "string_attribute" => {
                let s = section(&c.string_attribute, at, "string_attribute")?;
                let matchers = if s.enabled_regex_matching {
                    Matchers::Regex(
                        s.values
                            .iter()
                            .map(|v| {
                                Regex::new(v).map_err(|e| invalid(at, format!("regex {v:?}: {e}")))
                            })
                            .collect::<Result<_>>()?,
                    )
                } else {
                    Matchers::Exact(s.values.clone())
                };
                Rule::StringAttr {
                    key: s.key.clone(),
                    matchers,
                    invert: s.invert_match,
                }
            }
            "numeric_attribute" => {
                let n = section(&c.numeric_attribute, at, "numeric_attribute")?;
                Rule::NumericAttr {
                    key: n.key.clone(),
                    min: n.min_value.unwrap_or(i64::MIN),
                    max: n.max_value.unwrap_or(i64::MAX),
                    invert: n.invert_match,
                }
            }
            "boolean_attribute" => {
                let b = section(&c.boolean_attribute, at, "boolean_attribute")?;
                Rule::BoolAttr {
                    key: b.key.clone(),
                    value: b.value,
                    invert: b.invert_match,
                }
            }
            "span_count" => {
                let s = section(&c.span_count, at, "span_count")?;
                Rule::SpanCount {
                    min: s.min_spans,
                    max: if s.max_spans == 0 {
                        u64::MAX
                    } else {
                        s.max_spans
                    },
                }
            }
            "rate_limiting" => Rule::RateLimit {
                per_second: section(&c.rate_limiting, at, "rate_limiting")?.spans_per_second,
                used: Mutex::new((0, 0)),
            },
            "and" => Rule::And(subs(
                &section(&c.and, at, "and")?.and_sub_policy,
                "and_sub_policy",
            )?),
            "drop" => Rule::Drop(subs(
                &section(&c.drop, at, "drop")?.drop_sub_policy,
                "drop_sub_policy",
            )?),
            "composite" => {
                let comp = section(&c.composite, at, "composite")?;
                let built = subs(&comp.composite_sub_policy, "composite_sub_policy")?;
                let mut ordered = Vec::with_capacity(built.len());
                let mut rest: Vec<Option<Policy>> = built.into_iter().map(Some).collect();
                let order: Vec<&str> = if comp.policy_order.is_empty() {
                    comp.composite_sub_policy
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect()
                } else {
                    comp.policy_order.iter().map(String::as_str).collect()
                };
                for name in order {
                    let slot = rest
                        .iter_mut()
                        .find(|p| p.as_ref().is_some_and(|p| p.name == name));
                    let p = slot.and_then(Option::take).ok_or_else(|| {
                        invalid(
                            at,
                            format!("policy_order names {name:?}, not a composite_sub_policy"),
                        )
                    })?;
                    let percent = comp
                        .rate_allocation
                        .iter()
                        .find(|r| r.policy == name)
                        .map_or(0, |r| r.percent);
                    ordered.push((p, comp.max_total_spans_per_second * percent / 100));
                }
                let n = ordered.len();
                Rule::Composite {
                    subs: ordered,
                    used: Mutex::new((0, vec![0; n])),
                }
            }
            other => return Err(invalid(at, format!("unknown policy type {other:?}"))),
        };
        Ok(Policy {
            name: c.name.clone(),
            rule,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// What this policy says of the trace `id` with `spans`.
    pub fn evaluate(&self, id: &TraceId, spans: &[HeadSpan]) -> Answer {
        let yes = |b: bool| {
            if b {
                Answer::Sampled
            } else {
                Answer::NotSampled
            }
        };
        let inverted = |matched: bool, invert: bool| match (invert, matched) {
            (false, m) => yes(m),
            (true, true) => Answer::InvertNotSampled,
            (true, false) => Answer::InvertSampled,
        };
        match &self.rule {
            Rule::Always => Answer::Sampled,
            Rule::Latency { min_ns, max_ns } => {
                let start = spans
                    .iter()
                    .map(|s| s.span.start_time_unix_nano)
                    .min()
                    .unwrap_or(0);
                let end = spans
                    .iter()
                    .map(|s| s.span.end_time_unix_nano)
                    .max()
                    .unwrap_or(0);
                let d = end.saturating_sub(start);
                yes(d >= *min_ns && max_ns.is_none_or(|m| d <= m))
            }
            Rule::Status(codes) => yes(spans
                .iter()
                .any(|s| codes.contains(&s.span.status.as_ref().map_or(0, |st| st.code)))),
            Rule::Probabilistic { salt, threshold } => yes(fnv1a(salt, &id.0) <= *threshold),
            Rule::StringAttr {
                key,
                matchers,
                invert,
            } => {
                let matched = any_attr(spans, key, |v| match (&v.value, matchers) {
                    (Some(any_value::Value::StringValue(s)), Matchers::Exact(vs)) => {
                        vs.iter().any(|x| x == s)
                    }
                    (Some(any_value::Value::StringValue(s)), Matchers::Regex(rs)) => {
                        rs.iter().any(|r| r.is_match(s))
                    }
                    _ => false,
                });
                inverted(matched, *invert)
            }
            Rule::NumericAttr {
                key,
                min,
                max,
                invert,
            } => {
                let matched = any_attr(spans, key, |v| match v.value {
                    Some(any_value::Value::IntValue(i)) => (*min..=*max).contains(&i),
                    _ => false,
                });
                inverted(matched, *invert)
            }
            Rule::BoolAttr { key, value, invert } => {
                let matched = any_attr(spans, key, |v| {
                    v.value == Some(any_value::Value::BoolValue(*value))
                });
                inverted(matched, *invert)
            }
            Rule::SpanCount { min, max } => yes((*min..=*max).contains(&(spans.len() as u64))),
            Rule::RateLimit { per_second, used } => {
                let mut used = used.lock();
                let now = now_secs();
                if used.0 != now {
                    *used = (now, 0);
                }
                let n = spans.len() as u64;
                let fits = used.1 + n <= *per_second;
                if fits {
                    used.1 += n;
                }
                yes(fits)
            }
            Rule::And(subs) => yes(subs
                .iter()
                .all(|p| p.evaluate(id, spans) == Answer::Sampled)),
            Rule::Drop(subs) => {
                if subs
                    .iter()
                    .all(|p| p.evaluate(id, spans) == Answer::Sampled)
                {
                    Answer::Dropped
                } else {
                    Answer::NotSampled
                }
            }
            Rule::Composite { subs, used } => {
                let mut used = used.lock();
                let now = now_secs();
                if used.0 != now {
                    used.0 = now;
                    used.1.iter_mut().for_each(|u| *u = 0);
                }
                let n = spans.len() as u64;
                for (i, (p, budget)) in subs.iter().enumerate() {
                    let sampled = matches!(
                        p.evaluate(id, spans),
                        Answer::Sampled | Answer::InvertSampled
                    );
                    if sampled && used.1[i] + n <= *budget {
                        used.1[i] += n;
                        return Answer::Sampled;
                    }
                }
                Answer::NotSampled
            }
        }
    }
}

/// Whether any span (or its resource) has attribute `key` with a value
/// `f` accepts.
fn any_attr(spans: &[HeadSpan], key: &str, f: impl Fn(&AnyValue) -> bool) -> bool {
    spans.iter().any(|s| {
        let resource = s
            .origin
            .resource
            .as_ref()
            .map_or(&[][..], |r| &r.attributes[..]);
        s.span
            .attributes
            .iter()
            .chain(resource)
            .any(|kv| kv.key == key && kv.value.as_ref().is_some_and(&f))
    })
}

/// FNV-1a (64-bit) of `salt` then `id`: a stable per-trace draw.
fn fnv1a(salt: &[u8], id: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in salt.iter().chain(id) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
