//! Template functions: Go's built-ins (`printf`, `eq`, `index`, …) and
//! Prometheus's (`query`, `humanize*`, `reReplaceAll`, `label`, …).

use std::collections::BTreeMap;
use std::rc::Rc;

use super::exec::{Ctx, Val};
use super::gofmt::{self, Arg};
use super::humanize::{go_time, humanize, humanize_duration, humanize1024};

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
            let ms = promql::syntax::parse_duration(&d)
                .map_err(|_| format!("not a valid duration string: {d:?}"))?;
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
pub(crate) fn g4(v: f64) -> String {
    gofmt::format_float(v, 'g', Some(4))
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
