//! Template functions: Go's built-ins (`printf`, `eq`, `index`, …) and
//! Prometheus's (`query`, `humanize*`, `reReplaceAll`, `label`, …).

use std::collections::BTreeMap;
use std::rc::Rc;

use super::exec::{Ctx, Val};
use super::gofmt::{self, Arg};

const NAMES: &[&str] = &[
    // Go built-ins.
    "and",
    "or",
    "not",
    "len",
    "index",
    "print",
    "printf",
    "println",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "html",
    "js",
    "urlquery",
    // Prometheus.
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "sortByLabel",
    "args",
    "reReplaceAll",
    "match",
    "title",
    "toUpper",
    "toLower",
    "safeHtml",
    "stripPort",
    "stripDomain",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "toTime",
    "parseDuration",
    "pathPrefix",
    "externalURL",
    "graphLink",
    "tableLink",
];

/// Whether a function of this name exists (checked when parsing).
pub fn exists(name: &str) -> bool {
    NAMES.contains(&name)
}

fn want(args: &[Val], n: usize) -> Result<(), String> {
    if args.len() == n {
        Ok(())
    } else {
        Err(format!("wrong number of args: want {n} got {}", args.len()))
    }
}

fn string(v: &Val) -> Result<String, String> {
    match v {
        Val::Str(s) => Ok(s.clone()),
        other => Err(format!("expected string; found {}", other.print())),
    }
}

/// Numbers and numeric strings as float64 (Prometheus's `convertToFloat`).
pub fn to_float(v: &Val) -> Result<f64, String> {
    match v {
        Val::Float(f) => Ok(*f),
        Val::Int(i) => Ok(*i as f64),
        Val::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax")),
        Val::Time(t) => Ok(*t),
        other => Err(format!("can't convert {} to float", other.type_name())),
    }
}

fn cmp(a: &Val, b: &Val) -> Result<std::cmp::Ordering, String> {
    use std::cmp::Ordering;
    match (a, b) {
        (Val::Str(x), Val::Str(y)) => Ok(x.cmp(y)),
        (Val::Bool(x), Val::Bool(y)) => Ok(x.cmp(y)),
        (Val::Int(x), Val::Int(y)) => Ok(x.cmp(y)),
        (Val::Int(_) | Val::Float(_), Val::Int(_) | Val::Float(_)) => {
            let (x, y) = (to_float(a)?, to_float(b)?);
            Ok(x.partial_cmp(&y).unwrap_or(Ordering::Less))
        }
        (Val::Nil, Val::Nil) => Ok(Ordering::Equal),
        _ => Err("incompatible types for comparison".into()),
    }
}

/// Calls a function. Errors are messages for the caller to wrap.
pub fn call(name: &str, args: Vec<Val>, ctx: &Ctx) -> Result<Val, String> {
    use std::cmp::Ordering::*;
    let s = |i: usize| string(&args[i]);
    let f = |i: usize| to_float(&args[i]);
    Ok(match name {
        "and" => args
            .iter()
            .find(|a| !a.truthy())
            .or(args.last())
            .cloned()
            .unwrap_or(Val::Nil),
        "or" => args
            .iter()
            .find(|a| a.truthy())
            .or(args.last())
            .cloned()
            .unwrap_or(Val::Nil),
        "not" => {
            want(&args, 1)?;
            Val::Bool(!args[0].truthy())
        }
        "len" => {
            want(&args, 1)?;
            Val::Int(match &args[0] {
                Val::Str(s) => s.len(),
                Val::List(l) => l.len(),
                Val::Map(m) => m.len(),
                other => return Err(format!("len of type {}", other.type_name())),
            } as i64)
        }
        "index" => {
            let Some((first, keys)) = args.split_first() else {
                return Err("wrong number of args: want at least 1".into());
            };
            let mut v = first.clone();
            for k in keys {
                v = match (&v, k) {
                    (Val::Map(m), Val::Str(k)) => {
                        m.get(k).cloned().unwrap_or(Val::Str(String::new()))
                    }
                    (Val::List(l), Val::Int(i)) => l
                        .get(usize::try_from(*i).map_err(|_| format!("index out of range: {i}"))?)
                        .cloned()
                        .ok_or_else(|| format!("index out of range: {i}"))?,
                    (v, k) => {
                        return Err(format!(
                            "can't index item of type {} with {}",
                            v.type_name(),
                            k.print()
                        ));
                    }
                };
            }
            v
        }
        "print" => {
            let mut out = String::new();
            for (i, a) in args.iter().enumerate() {
                let is_str = |v: &Val| matches!(v, Val::Str(_));
                if i > 0 && !is_str(a) && !is_str(&args[i - 1]) {
                    out.push(' ');
                }
                out.push_str(&a.print());
            }
            Val::Str(out)
        }
        "println" => Val::Str(format!(
            "{}\n",
            args.iter().map(Val::print).collect::<Vec<_>>().join(" ")
        )),
        "printf" => {
            let Some((fmt, rest)) = args.split_first() else {
                return Err("wrong number of args: want at least 1".into());
            };
            let rest: Vec<Arg> = rest
                .iter()
                .map(|a| match a {
                    Val::Int(i) => Arg::Int(*i),
                    Val::Float(f) => Arg::Float(*f),
                    Val::Str(s) => Arg::Str(s.clone()),
                    Val::Bool(b) => Arg::Bool(*b),
                    other => Arg::Other(other.print()),
                })
                .collect();
            Val::Str(gofmt::sprintf(&string(fmt)?, &rest))
        }
        "eq" => {
            if args.len() < 2 {
                return Err("missing argument for comparison".into());
            }
            let mut any = false;
            for b in &args[1..] {
                any |= cmp(&args[0], b)? == Equal;
            }
            Val::Bool(any)
        }
        "ne" | "lt" | "le" | "gt" | "ge" => {
            want(&args, 2)?;
            let o = cmp(&args[0], &args[1])?;
            Val::Bool(match name {
                "ne" => o != Equal,
                "lt" => o == Less,
                "le" => o != Greater,
                "gt" => o == Greater,
                _ => o != Less,
            })
        }
        "html" => Val::Str(html_escape(
            &args.iter().map(Val::print).collect::<String>(),
        )),
        "js" => Val::Str(
            args.iter()
                .map(Val::print)
                .collect::<String>()
                .chars()
                .map(|c| match c {
                    '\\' | '\'' | '"' => format!("\\{c}"),
                    '<' | '>' | '&' | '=' => format!("\\u{:04X}", c as u32),
                    '\n' => "\\n".into(),
                    c => c.to_string(),
                })
                .collect(),
        ),
        "urlquery" => Val::Str(query_escape(
            &args.iter().map(Val::print).collect::<String>(),
        )),
        "query" => {
            want(&args, 1)?;
            let q = ctx.query.ok_or("queries are not available here")?;
            let rows = q(&s(0)?)?;
            Val::List(Rc::new(
                rows.into_iter()
                    .map(|(l, v)| {
                        Val::sample(
                            Val::labels(l.iter().map(|(a, b)| (a.as_str(), b.as_str()))),
                            v,
                        )
                    })
                    .collect(),
            ))
        }
        "first" => {
            want(&args, 1)?;
            match &args[0] {
                Val::List(l) => l
                    .first()
                    .cloned()
                    .ok_or("first() called on vector with no elements")?,
                other => return Err(format!("first() of {}", other.type_name())),
            }
        }
        "label" => {
            want(&args, 2)?;
            let labels = field(&args[1], "Labels")?;
            match labels {
                Val::Map(m) => m.get(&s(0)?).cloned().unwrap_or(Val::Str(String::new())),
                _ => Val::Str(String::new()),
            }
        }
        "value" => {
            want(&args, 1)?;
            field(&args[0], "Value")?
        }
        "strvalue" => {
            want(&args, 1)?;
            match field(&args[0], "Labels")? {
                Val::Map(m) => m
                    .get("__value__")
                    .cloned()
                    .unwrap_or(Val::Str(String::new())),
                _ => Val::Str(String::new()),
            }
        }
        "sortByLabel" => {
            want(&args, 2)?;
            let key = s(0)?;
            let Val::List(l) = &args[1] else {
                return Err("sortByLabel needs a query result".into());
            };
            let mut v: Vec<Val> = l.to_vec();
            let label_of = |x: &Val| match field(x, "Labels") {
                Ok(Val::Map(m)) => m.get(&key).map(Val::print).unwrap_or_default(),
                _ => String::new(),
            };
            v.sort_by_key(label_of);
            Val::List(Rc::new(v))
        }
        "args" => Val::Map(Rc::new(
            args.iter()
                .enumerate()
                .map(|(i, a)| (format!("arg{i}"), a.clone()))
                .collect::<BTreeMap<_, _>>(),
        )),
        "reReplaceAll" => {
            want(&args, 3)?;
            let re = regex::Regex::new(&s(0)?).map_err(|e| e.to_string())?;
            Val::Str(re.replace_all(&s(2)?, s(1)?.as_str()).into_owned())
        }
        "match" => {
            want(&args, 2)?;
            let re = regex::Regex::new(&s(0)?).map_err(|e| e.to_string())?;
            Val::Bool(re.is_match(&s(1)?))
        }
        "title" => {
            want(&args, 1)?;
            Val::Str(title(&s(0)?))
        }
        "toUpper" => {
            want(&args, 1)?;
            Val::Str(s(0)?.to_uppercase())
        }
        "toLower" => {
            want(&args, 1)?;
            Val::Str(s(0)?.to_lowercase())
        }
        "safeHtml" => {
            want(&args, 1)?;
            Val::Str(s(0)?)
        }
        "stripPort" => {
            want(&args, 1)?;
            let hp = s(0)?;
            Val::Str(split_host_port(&hp).map_or(hp.clone(), |(h, _)| h))
        }
        "stripDomain" => {
            want(&args, 1)?;
            Val::Str(strip_domain(&s(0)?))
        }
        "humanize" => {
            want(&args, 1)?;
            Val::Str(humanize(f(0)?))
        }
        "humanize1024" => {
            want(&args, 1)?;
            Val::Str(humanize1024(f(0)?))
        }
        "humanizeDuration" => {
            want(&args, 1)?;
            Val::Str(humanize_duration(f(0)?))
        }
        "humanizePercentage" => {
            want(&args, 1)?;
            Val::Str(format!("{}%", g4(f(0)? * 100.0)))
        }
        "humanizeTimestamp" => {
            want(&args, 1)?;
            let v = f(0)?;
            Val::Str(if v.is_finite() { go_time(v) } else { g4(v) })
        }
        "toTime" => {
            want(&args, 1)?;
            Val::Time(f(0)?)
        }
        "parseDuration" => {
            want(&args, 1)?;
            let d = s(0)?;
            let ms = crate::api::parse_prom_duration(&d)
                .ok_or_else(|| format!("not a valid duration string: {d:?}"))?;
            Val::Float(ms as f64 / 1000.0)
        }
        "externalURL" => Val::Str(ctx.external_url.to_string()),
        "pathPrefix" => Val::Str(url_path(ctx.external_url)),
        "graphLink" | "tableLink" => {
            want(&args, 1)?;
            let tab = if name == "graphLink" { 0 } else { 1 };
            Val::Str(format!(
                "/graph?g0.expr={}&g0.tab={tab}",
                query_escape(&s(0)?)
            ))
        }
        other => return Err(format!("function {other:?} not defined")),
    })
}

fn field(v: &Val, name: &str) -> Result<Val, String> {
    match v {
        Val::Struct(f) => f
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("no field {name}")),
        other => Err(format!("expected a sample, got {}", other.type_name())),
    }
}

/// `%.4g`.
fn g4(v: f64) -> String {
    gofmt::format_float(v, 'g', Some(4))
}

/// SI prefixes: `1234567` → `1.235M`, `0.001234` → `1.234m`.
pub fn humanize(mut v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return g4(v);
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", g4(v))
}

/// Binary prefixes: `1048576` → `1Mi`.
pub fn humanize1024(mut v: f64) -> String {
    if v.abs() <= 1.0 || !v.is_finite() {
        return g4(v);
    }
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", g4(v))
}

/// Seconds as `1d 2h 3m 4s`, or with a sub-second prefix (`1.5ms`).
pub fn humanize_duration(mut v: f64) -> String {
    if !v.is_finite() {
        return g4(v);
    }
    if v == 0.0 {
        return "0s".into();
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        let v = v.abs();
        let d = v as i64;
        let (days, hours, minutes, seconds) = (d / 86_400, d / 3600 % 24, d / 60 % 60, d % 60);
        return if days != 0 {
            format!("{sign}{days}d {hours}h {minutes}m {seconds}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {minutes}m {seconds}s")
        } else if minutes != 0 {
            format!("{sign}{minutes}m {seconds}s")
        } else {
            format!("{sign}{}s", g4(v))
        };
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", g4(v))
}

/// Go's `time.Time.String()` in UTC for unix seconds:
/// `2015-06-23 13:19:44.128 +0000 UTC`.
pub fn go_time(secs: f64) -> String {
    let nanos = (secs * 1e9) as i64;
    let s = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    let (y, m, d) = civil(s.div_euclid(86_400));
    let r = s.rem_euclid(86_400);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        r / 3600,
        r / 60 % 60,
        r % 60
    );
    if frac != 0 {
        out.push_str(format!(".{frac:09}").trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
    out
}

/// (year, month, day) of a day number since 1970-01-01.
pub(crate) fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Go's deprecated `strings.Title`: upper-cases the first letter of every
/// word (a word starts after anything but a letter, digit or `_`).
fn title(s: &str) -> String {
    let mut prev_sep = true;
    s.chars()
        .map(|c| {
            let out = if prev_sep {
                c.to_uppercase().next().unwrap_or(c)
            } else {
                c
            };
            prev_sep = !(c.is_alphanumeric() || c == '_');
            out
        })
        .collect()
}

fn split_host_port(hp: &str) -> Option<(String, String)> {
    if let Some(rest) = hp.strip_prefix('[') {
        let (h, p) = rest.split_once("]:")?;
        return Some((h.to_string(), p.to_string()));
    }
    let (h, p) = hp.rsplit_once(':')?;
    (!h.contains(':')).then(|| (h.to_string(), p.to_string()))
}

fn strip_domain(hp: &str) -> String {
    let (host, port) = split_host_port(hp).unwrap_or((hp.to_string(), String::new()));
    if host.parse::<std::net::IpAddr>().is_ok() {
        return hp.to_string();
    }
    let host = host.split('.').next().unwrap_or_default().to_string();
    if port.is_empty() {
        host
    } else if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn url_path(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    after_scheme.find('/').map_or(String::new(), |i| {
        after_scheme[i..].trim_end_matches('/').to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanize_table() {
        type Case = (&'static str, fn(f64) -> String, f64, &'static str);
        let cases: &[Case] = &[
            ("si_mega", humanize, 1234567.0, "1.235M"),
            ("si_unit", humanize, 12.0, "12"),
            ("si_milli", humanize, 0.001234, "1.234m"),
            ("si_micro", humanize, 0.0000012, "1.2u"),
            ("si_zero", humanize, 0.0, "0"),
            ("si_neg_kilo", humanize, -1500.0, "-1.5k"),
            ("si_nan", humanize, f64::NAN, "NaN"),
            ("si_inf", humanize, f64::INFINITY, "+Inf"),
            ("bin_mebi", humanize1024, 1048576.0, "1Mi"),
            ("bin_small", humanize1024, 0.5, "0.5"),
            ("bin_kibi", humanize1024, 1536.0, "1.5ki"),
            ("dur_minutes", humanize_duration, 899.99, "14m 59s"),
            ("dur_days", humanize_duration, 90061.0, "1d 1h 1m 1s"),
            ("dur_hours", humanize_duration, 3600.0, "1h 0m 0s"),
            ("dur_seconds", humanize_duration, 1.5, "1.5s"),
            ("dur_zero", humanize_duration, 0.0, "0s"),
            ("dur_millis", humanize_duration, 0.0015, "1.5ms"),
            ("dur_negative", humanize_duration, -65.0, "-1m 5s"),
            (
                "time_ms",
                go_time,
                1435065584.128,
                "2015-06-23 13:19:44.128 +0000 UTC",
            ),
            ("time_epoch", go_time, 0.0, "1970-01-01 00:00:00 +0000 UTC"),
        ];
        for (name, f, v, want) in cases {
            assert_eq!(f(*v), *want, "{name}");
        }
    }

    #[test]
    fn strings_table() {
        let cases: &[(&str, String, &str)] = &[
            ("title", title("aa bb-cc CC"), "Aa Bb-Cc CC"),
            (
                "strip_port",
                split_host_port("localhost:9090").unwrap().0,
                "localhost",
            ),
            (
                "strip_port_v6",
                split_host_port("[::1]:80").unwrap().0,
                "::1",
            ),
            (
                "strip_domain",
                strip_domain("foo.example.com:9090"),
                "foo:9090",
            ),
            (
                "strip_domain_ip",
                strip_domain("10.0.0.1:80"),
                "10.0.0.1:80",
            ),
            ("strip_domain_bare", strip_domain("foo.bar"), "foo"),
            (
                "query_escape",
                query_escape("up{a=\"b c\"}"),
                "up%7Ba%3D%22b+c%22%7D",
            ),
            ("path_prefix", url_path("http://h:9090/prom/"), "/prom"),
        ];
        for (name, got, want) in cases {
            assert_eq!(got, want, "{name}");
        }
    }
}
