//! Metric and label names from OTLP names and units, as Prometheus 3.x's
//! OTLP translation builds them for each `translation_strategy`.
//!
//! With suffixes, a name gains its unit (`s` → `_seconds`, `By` → `_bytes`,
//! `By/s` → `_bytes_per_second`; units in braces are annotations and add
//! nothing), `_total` for monotonic counters and `_ratio` for gauges of unit
//! `1`. Escaping replaces every character outside `[a-zA-Z0-9:]` (metric
//! names) or `[a-zA-Z0-9_]` (label names) with `_`.

use crate::config::TranslationStrategy;

/// How a metric is stored, which decides its suffixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A cumulative monotonic sum: gains `_total`.
    Counter,
    /// A non-monotonic sum, stored as a gauge (no `_ratio`, as Prometheus).
    UpDownCounter,
    Gauge,
    Histogram,
    ExponentialHistogram,
    Summary,
}

/// The Prometheus metric name of an OTLP metric.
pub fn metric_name(name: &str, unit: &str, kind: Kind, strategy: TranslationStrategy) -> String {
    use TranslationStrategy as T;
    match strategy {
        T::NoTranslation => name.to_string(),
        T::UnderscoreEscapingWithoutSuffixes => {
            let joined = name
                .split(|c: char| !is_metric_char(c) && c != '_')
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join("_");
            digit_guard(joined)
        }
        T::UnderscoreEscapingWithSuffixes => normalize(name, unit, kind),
        T::NoUtf8EscapingWithSuffixes => {
            let (main, per) = unit_suffixes(unit);
            let mut out = name.to_string();
            for s in [main, per] {
                if !s.is_empty() && !out.ends_with(&s) {
                    out = format!("{out}_{s}");
                }
            }
            if kind == Kind::Counter && !out.ends_with("_total") {
                out.push_str("_total");
            }
            if unit == "1" && kind == Kind::Gauge && !out.ends_with("_ratio") {
                out.push_str("_ratio");
            }
            out
        }
    }
}

/// The Prometheus label name of an attribute key; `None` for an empty key.
pub fn label_name(key: &str, strategy: TranslationStrategy) -> Option<String> {
    if key.is_empty() {
        return None;
    }
    if !strategy.escapes() {
        return Some(key.to_string());
    }
    let s: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Some(if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("key_{s}")
    } else if s.starts_with('_') && !s.starts_with("__") {
        format!("key{s}")
    } else {
        s
    })
}

/// The unit as metadata shows it: `seconds`, `bytes_per_second`, or empty.
pub fn unit_name(unit: &str) -> String {
    match unit_suffixes(unit) {
        (m, p) if p.is_empty() => m,
        (m, p) if m.is_empty() => p,
        (m, p) => format!("{m}_{p}"),
    }
}

fn is_metric_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

fn digit_guard(s: String) -> String {
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{s}")
    } else {
        s
    }
}

/// Tokens of the name (runs of `[a-zA-Z0-9:]`), then the unit's tokens
/// unless already present, then `total` or `ratio` moved to the end.
fn normalize(name: &str, unit: &str, kind: Kind) -> String {
    let mut tokens: Vec<String> = name
        .split(|c: char| !is_metric_char(c))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let (main, per) = unit_suffixes(unit);
    let main = clean_unit(&main);
    let per = clean_unit(&per);
    if !main.is_empty() && !tokens.contains(&main) {
        tokens.push(main);
    }
    if let Some(p) = per.strip_prefix("per_")
        && !p.is_empty()
        && !tokens.iter().any(|t| t == p)
    {
        tokens.push(per.clone());
    }
    if kind == Kind::Counter {
        tokens.retain(|t| t != "total");
        tokens.push("total".into());
    }
    if unit == "1" && kind == Kind::Gauge {
        tokens.retain(|t| t != "ratio");
        tokens.push("ratio".into());
    }
    digit_guard(tokens.join("_"))
}

/// Runs of characters outside `[a-zA-Z0-9:]` become one `_`, trimmed.
fn clean_unit(u: &str) -> String {
    u.split(|c: char| !is_metric_char(c))
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// The main and the `per_…` suffix of an OTLP (UCUM) unit.
fn unit_suffixes(unit: &str) -> (String, String) {
    let mut parts = unit.splitn(2, '/');
    let usable = |s: &str| !s.is_empty() && !s.contains(['{', '}']);
    let main = parts.next().map(str::trim).unwrap_or("");
    let main = if usable(main) {
        main_unit(main).to_string()
    } else {
        String::new()
    };
    let per = parts.next().map(str::trim).unwrap_or("");
    let per = if usable(per) {
        format!("per_{}", per_unit(per))
    } else {
        String::new()
    };
    (main, per)
}

fn main_unit(u: &str) -> &str {
    match u {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "",
        "%" => "percent",
        other => other,
    }
}

fn per_unit(u: &str) -> &str {
    match u {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TranslationStrategy as T;

    #[test]
    fn metric_names_table() {
        let cases: &[(&str, &str, &str, Kind, T, &str)] = &[
            (
                "counter gains total",
                "http.requests",
                "",
                Kind::Counter,
                T::UnderscoreEscapingWithSuffixes,
                "http_requests_total",
            ),
            (
                "total moves to the end",
                "requests.total.count",
                "",
                Kind::Counter,
                T::UnderscoreEscapingWithSuffixes,
                "requests_count_total",
            ),
            (
                "seconds",
                "http.server.duration",
                "s",
                Kind::Histogram,
                T::UnderscoreEscapingWithSuffixes,
                "http_server_duration_seconds",
            ),
            (
                "unit already in name",
                "latency_seconds",
                "s",
                Kind::Histogram,
                T::UnderscoreEscapingWithSuffixes,
                "latency_seconds",
            ),
            (
                "bytes per second",
                "net.io",
                "By/s",
                Kind::Gauge,
                T::UnderscoreEscapingWithSuffixes,
                "net_io_bytes_per_second",
            ),
            (
                "counter with unit",
                "sent",
                "By",
                Kind::Counter,
                T::UnderscoreEscapingWithSuffixes,
                "sent_bytes_total",
            ),
            (
                "ratio for gauges of unit 1",
                "cpu.utilization",
                "1",
                Kind::Gauge,
                T::UnderscoreEscapingWithSuffixes,
                "cpu_utilization_ratio",
            ),
            (
                "no ratio for counters of unit 1",
                "items",
                "1",
                Kind::Counter,
                T::UnderscoreEscapingWithSuffixes,
                "items_total",
            ),
            (
                "no ratio for up-down counters",
                "queue",
                "1",
                Kind::UpDownCounter,
                T::UnderscoreEscapingWithSuffixes,
                "queue",
            ),
            (
                "annotation adds nothing",
                "jobs",
                "{job}",
                Kind::UpDownCounter,
                T::UnderscoreEscapingWithSuffixes,
                "jobs",
            ),
            (
                "unknown unit kept",
                "temp",
                "degF",
                Kind::Gauge,
                T::UnderscoreEscapingWithSuffixes,
                "temp_degF",
            ),
            (
                "per unknown unit",
                "rate",
                "{req}/min2",
                Kind::Gauge,
                T::UnderscoreEscapingWithSuffixes,
                "rate_per_min2",
            ),
            (
                "leading digit",
                "1st.metric",
                "",
                Kind::Gauge,
                T::UnderscoreEscapingWithSuffixes,
                "_1st_metric",
            ),
            (
                "repeated separators collapse",
                "a..b__c",
                "",
                Kind::Gauge,
                T::UnderscoreEscapingWithSuffixes,
                "a_b_c",
            ),
            (
                "colons kept",
                "ns:metric",
                "",
                Kind::Gauge,
                T::UnderscoreEscapingWithSuffixes,
                "ns:metric",
            ),
            (
                "percent",
                "disk.used",
                "%",
                Kind::Gauge,
                T::UnderscoreEscapingWithSuffixes,
                "disk_used_percent",
            ),
            (
                "without suffixes",
                "http.requests",
                "s",
                Kind::Counter,
                T::UnderscoreEscapingWithoutSuffixes,
                "http_requests",
            ),
            (
                "utf8 with suffixes",
                "http.requests",
                "s",
                Kind::Counter,
                T::NoUtf8EscapingWithSuffixes,
                "http.requests_seconds_total",
            ),
            (
                "utf8 keeps existing total",
                "x_total",
                "",
                Kind::Counter,
                T::NoUtf8EscapingWithSuffixes,
                "x_total",
            ),
            (
                "utf8 ratio",
                "cpu.util",
                "1",
                Kind::Gauge,
                T::NoUtf8EscapingWithSuffixes,
                "cpu.util_ratio",
            ),
            (
                "no translation",
                "http.requests",
                "s",
                Kind::Counter,
                T::NoTranslation,
                "http.requests",
            ),
        ];
        for (case, name, unit, kind, strategy, want) in cases {
            assert_eq!(
                metric_name(name, unit, *kind, *strategy),
                *want,
                "case {case}"
            );
        }
    }

    #[test]
    fn label_names_table() {
        let cases: &[(&str, &str, T, Option<&str>)] = &[
            (
                "dots",
                "http.method",
                T::UnderscoreEscapingWithSuffixes,
                Some("http_method"),
            ),
            (
                "leading digit",
                "2xx",
                T::UnderscoreEscapingWithSuffixes,
                Some("key_2xx"),
            ),
            (
                "leading underscore",
                "_private",
                T::UnderscoreEscapingWithSuffixes,
                Some("key_private"),
            ),
            (
                "double underscore kept",
                "__reserved",
                T::UnderscoreEscapingWithSuffixes,
                Some("__reserved"),
            ),
            (
                "unicode",
                "größe",
                T::UnderscoreEscapingWithSuffixes,
                Some("gr__e"),
            ),
            ("empty", "", T::UnderscoreEscapingWithSuffixes, None),
            (
                "utf8 kept",
                "http.method",
                T::NoUtf8EscapingWithSuffixes,
                Some("http.method"),
            ),
            (
                "no translation kept",
                "größe",
                T::NoTranslation,
                Some("größe"),
            ),
        ];
        for (case, key, strategy, want) in cases {
            assert_eq!(label_name(key, *strategy).as_deref(), *want, "case {case}");
        }
    }

    #[test]
    fn unit_names() {
        assert_eq!(unit_name("s"), "seconds");
        assert_eq!(unit_name("By/s"), "bytes_per_second");
        assert_eq!(unit_name("1"), "");
        assert_eq!(unit_name("{request}"), "");
    }
}
