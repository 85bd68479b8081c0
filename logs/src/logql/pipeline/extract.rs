//! The parsers of a log pipeline: labels extracted from a line (`json`,
//! `logfmt`, `regexp`), as Loki extracts them.
//!
//! Names are sanitized as Loki does (every character that may not be in a
//! label name becomes `_`; nested JSON keys are joined with `_`); a line
//! that does not parse gives an error the pipeline turns into `__error__`.

use serde_json::Value;

/// Extracted `(name, value)` pairs, in line order.
pub type Extracted = Vec<(String, String)>;

/// A label name from any text: `[a-zA-Z0-9_]` kept, the rest `_`, and a
/// leading digit prefixed with `_`.
pub fn sanitize(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// `| json`: every scalar field, nested keys joined with `_`; arrays are
/// not extracted.
pub fn json_all(line: &str) -> Result<Extracted, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let Value::Object(map) = v else {
        return Err("not a JSON object".into());
    };
    let mut out = Vec::new();
    flatten("", &map, &mut out);
    Ok(out)
}

fn flatten(prefix: &str, map: &serde_json::Map<String, Value>, out: &mut Extracted) {
    for (k, v) in map {
        let name = if prefix.is_empty() {
            sanitize(k)
        } else {
            format!("{prefix}_{}", sanitize(k))
        };
        match v {
            Value::Object(inner) => flatten(&name, inner, out),
            Value::Array(_) => {}
            other => out.push((name, scalar(other))),
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// One step of a JSON path: a key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// Parses `a.b[0]["c d"]`.
pub fn parse_path(path: &str) -> Result<Vec<PathStep>, String> {
    let mut steps = Vec::new();
    let mut rest = path;
    let bad = || format!("invalid JSON path {path:?}");
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or_else(bad)?;
            let inner = &r[..end];
            let step = match inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                Some(key) => PathStep::Key(key.to_string()),
                None => PathStep::Index(inner.parse().map_err(|_| bad())?),
            };
            steps.push(step);
            rest = &r[end + 1..];
        } else {
            let r = rest.strip_prefix('.').unwrap_or(rest);
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end == 0 {
                return Err(bad());
            }
            steps.push(PathStep::Key(r[..end].to_string()));
            rest = &r[end..];
        }
    }
    if steps.is_empty() {
        return Err(bad());
    }
    Ok(steps)
}

/// `| json a="path", …`: the value at each path (objects and arrays as
/// their JSON text; a missing path gives nothing).
pub fn json_paths(line: &str, paths: &[(String, Vec<PathStep>)]) -> Result<Extracted, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (name, path) in paths {
        let mut at = Some(&v);
        for step in path {
            at = match (at, step) {
                (Some(Value::Object(m)), PathStep::Key(k)) => m.get(k),
                (Some(Value::Array(a)), PathStep::Index(i)) => a.get(*i),
                _ => None,
            };
        }
        if let Some(found) = at {
            out.push((name.clone(), scalar(found)));
        }
    }
    Ok(out)
}

/// `| unpack`: the string fields of a JSON object (as Promtail's `pack`
/// stage wrote them) and the line in `_entry`, if there is one.
pub fn unpack(line: &str) -> Result<(Extracted, Option<String>), String> {
    let v: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let Value::Object(map) = v else {
        return Err("not a JSON object".into());
    };
    let mut entry = None;
    let mut out = Vec::new();
    for (k, v) in map {
        match (k.as_str(), v) {
            ("_entry", Value::String(s)) => entry = Some(s),
            (_, Value::String(s)) => out.push((sanitize(&k), s)),
            _ => {}
        }
    }
    Ok((out, entry))
}

/// `| logfmt`: `key=value` and `key="quoted value"` pairs. A bare key is
/// kept (empty) only with `keep_empty`; a malformed pair fails the parse
/// when `strict`, and is skipped (to the next space) otherwise, as Loki's
/// parser does.
pub fn logfmt(line: &str, strict: bool, keep_empty: bool) -> Result<Extracted, String> {
    let mut out = Vec::new();
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        match logfmt_pair(line, &mut i) {
            Ok((key, Some(value))) => out.push((sanitize(key), value)),
            Ok((key, None)) if keep_empty => out.push((sanitize(key), String::new())),
            Ok(_) => {}
            Err(e) if strict => return Err(e),
            Err(_) => {
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
            }
        }
    }
    Ok(out)
}

/// The pair at `*i` (not whitespace): its key and value (`None` for a
/// bare key); `*i` moves past it.
fn logfmt_pair<'a>(line: &'a str, i: &mut usize) -> Result<(&'a str, Option<String>), String> {
    let b = line.as_bytes();
    let start = *i;
    while *i < b.len() && !b[*i].is_ascii_whitespace() && b[*i] != b'=' {
        if b[*i] == b'"' {
            return Err(format!("unexpected '\"' at {i}"));
        }
        *i += 1;
    }
    let key = &line[start..*i];
    if key.is_empty() {
        return Err(format!("empty key at {start}"));
    }
    if *i >= b.len() || b[*i] != b'=' {
        return Ok((key, None));
    }
    *i += 1; // '='
    if b.get(*i) != Some(&b'"') {
        let vs = *i;
        while *i < b.len() && !b[*i].is_ascii_whitespace() {
            *i += 1;
        }
        return Ok((key, Some(line[vs..*i].to_string())));
    }
    *i += 1;
    let mut v = String::new();
    loop {
        match b.get(*i) {
            None => return Err("unterminated quoted value".into()),
            Some(b'"') => {
                *i += 1;
                return Ok((key, Some(v)));
            }
            Some(b'\\') => {
                match b.get(*i + 1) {
                    Some(b'n') => v.push('\n'),
                    Some(b't') => v.push('\t'),
                    Some(&c) => v.push(c as char),
                    None => return Err("unterminated quoted value".into()),
                }
                *i += 2;
            }
            Some(_) => {
                let ch = line[*i..].chars().next().unwrap_or('\u{fffd}');
                v.push(ch);
                *i += ch.len_utf8();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Extracted {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn json() {
        let line = r#"{"level":"error","status":500,"ok":false,"req":{"path":"/a","user-agent":"curl"},"tags":["x"],"n":null}"#;
        let mut got = json_all(line).unwrap();
        got.sort();
        assert_eq!(
            got,
            pairs(&[
                ("level", "error"),
                ("n", ""),
                ("ok", "false"),
                ("req_path", "/a"),
                ("req_user_agent", "curl"),
                ("status", "500"),
            ])
        );
        assert!(json_all("not json").is_err());
        assert!(json_all("[1, 2]").is_err());
        let paths = vec![
            ("p".to_string(), parse_path("req.path").unwrap()),
            ("t".to_string(), parse_path("tags[0]").unwrap()),
            (
                "ua".to_string(),
                parse_path(r#"req["user-agent"]"#).unwrap(),
            ),
            ("missing".to_string(), parse_path("nope.x").unwrap()),
        ];
        assert_eq!(
            json_paths(line, &paths).unwrap(),
            pairs(&[("p", "/a"), ("t", "x"), ("ua", "curl")])
        );
        assert!(parse_path("a..b").is_err());
        assert!(parse_path("a[x]").is_err());
    }

    #[test]
    fn logfmt_table() {
        type Case<'a> = (&'a str, &'a str, Result<&'a [(&'a str, &'a str)], &'a str>);
        let cases: &[Case] = &[
            ("plain", "a=1 b=two", Ok(&[("a", "1"), ("b", "two")])),
            (
                "quoted",
                r#"msg="hello world" level=info"#,
                Ok(&[("msg", "hello world"), ("level", "info")]),
            ),
            (
                "escapes",
                r#"m="say \"hi\"\n""#,
                Ok(&[("m", "say \"hi\"\n")]),
            ),
            ("bare key", "debug a=1", Ok(&[("debug", ""), ("a", "1")])),
            ("empty value", "a= b=2", Ok(&[("a", ""), ("b", "2")])),
            (
                "names sanitized",
                "http.status=200 1x=y",
                Ok(&[("http_status", "200"), ("_1x", "y")]),
            ),
            (
                "unicode value",
                r#"u="ünï" v=é"#,
                Ok(&[("u", "ünï"), ("v", "é")]),
            ),
            ("unterminated", r#"a="open"#, Err("unterminated")),
            ("empty key", "=x", Err("empty key")),
        ];
        // Without --strict a malformed pair is skipped; without
        // --keep-empty a bare key is dropped.
        let loose: &[(&str, &[(&str, &str)])] = &[
            ("=x a=1 b\"c=2 d=3", &[("a", "1"), ("d", "3")]),
            (r#"a=1 m="open"#, &[("a", "1")]),
            ("debug a=1 e=", &[("a", "1"), ("e", "")]),
        ];
        for (line, want) in loose {
            assert_eq!(logfmt(line, false, false), Ok(pairs(want)), "{line}");
        }
        for (name, line, want) in cases {
            match (logfmt(line, true, true), want) {
                (Ok(g), Ok(w)) => assert_eq!(g, pairs(w), "{name}"),
                (Err(g), Err(w)) => assert!(g.contains(w), "{name}: {g}"),
                (g, w) => panic!("{name}: got {g:?}, want {w:?}"),
            }
        }
    }
}
