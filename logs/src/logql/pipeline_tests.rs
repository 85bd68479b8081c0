use tsdb::model::Labels;

use super::*;
use crate::logql::{Expr, parse};

/// Runs the pipeline of `q` on `line` of stream `{app="a", level="info"}`:
/// the line and every non-stream label, or `None` when dropped.
fn run(q: &str, line: &str) -> Option<(String, Vec<(String, String)>)> {
    let Ok(Expr::Log(l)) = parse(q) else {
        panic!("{q}: not a log query")
    };
    let p = Pipeline::new(&l.pipeline).unwrap_or_else(|e| panic!("{q}: {e}"));
    let stream = Labels::from_pairs(&[("app", "a"), ("level", "info")]);
    let e = Entry {
        ts: 1_000_000_000,
        line: line.into(),
        metadata: vec![("trace_id".into(), "t1".into())],
    };
    let h = p.run(&stream, &e)?;
    let mut labels: Vec<(String, String)> = h.parsed.clone();
    labels.extend(h.metadata.clone());
    if h.stream != stream {
        labels.push(("<stream>".into(), h.stream.to_string()));
    }
    labels.sort();
    Some((h.line, labels))
}

type Case<'a> = (
    &'a str,
    &'a str,
    &'a str,
    Option<(&'a str, &'a [(&'a str, &'a str)])>,
);

#[test]
fn table() {
    let json = r#"{"level":"error","status":500,"req":{"path":"/x"},"took":"1.5s"}"#;
    let logfmt = r#"level=warn status=503 took=250ms size=2KB msg="disk full""#;
    let cases: Vec<Case> = vec![
        (
            "line filter only",
            r#"{app="a"} |= "disk""#,
            logfmt,
            Some((logfmt, &[("trace_id", "t1")])),
        ),
        (
            "json, a stream label's name gets _extracted",
            r#"{app="a"} | json"#,
            json,
            Some((
                json,
                &[
                    ("level_extracted", "error"),
                    ("req_path", "/x"),
                    ("status", "500"),
                    ("took", "1.5s"),
                    ("trace_id", "t1"),
                ],
            )),
        ),
        (
            "json paths",
            r#"{app="a"} | json p="req.path", s="status""#,
            json,
            Some((json, &[("p", "/x"), ("s", "500"), ("trace_id", "t1")])),
        ),
        (
            "json error kept with __error__",
            r#"{app="a"} | json"#,
            "not json",
            Some((
                "not json",
                &[
                    ("__error__", "JSONParserErr"),
                    ("__error_details__", "expected ident at line 1 column 2"),
                    ("trace_id", "t1"),
                ],
            )),
        ),
        (
            "json error filtered out",
            r#"{app="a"} | json | __error__ = """#,
            "not json",
            None,
        ),
        (
            "json error dropped",
            r#"{app="a"} | json | drop __error__, __error_details__"#,
            "not json",
            Some(("not json", &[("trace_id", "t1")])),
        ),
        (
            "logfmt fields: only those keys, renamed",
            r#"{app="a"} | logfmt status, t="took", gone="absent""#,
            logfmt,
            Some((
                logfmt,
                &[("status", "503"), ("t", "250ms"), ("trace_id", "t1")],
            )),
        ),
        (
            "number filter keeps",
            r#"{app="a"} | logfmt | status >= 500"#,
            logfmt,
            Some((
                logfmt,
                &[
                    ("level_extracted", "warn"),
                    ("msg", "disk full"),
                    ("size", "2KB"),
                    ("status", "503"),
                    ("took", "250ms"),
                    ("trace_id", "t1"),
                ],
            )),
        ),
        (
            "number filter drops",
            r#"{app="a"} | logfmt | status < 500"#,
            logfmt,
            None,
        ),
        (
            "duration filter",
            r#"{app="a"} | logfmt | took > 200ms and took <= 1s | keep app"#,
            logfmt,
            Some((logfmt, &[("<stream>", r#"{app="a"}"#)])),
        ),
        (
            "duration filter drops",
            r#"{app="a"} | logfmt | took > 1s"#,
            logfmt,
            None,
        ),
        (
            "bytes filter",
            r#"{app="a"} | logfmt | size > 1KB | keep trace_id"#,
            logfmt,
            Some((logfmt, &[("trace_id", "t1"), ("<stream>", "{}")])),
        ),
        (
            "conversion error keeps the entry",
            r#"{app="a"} | logfmt | msg > 5 | keep __error__"#,
            logfmt,
            Some((
                logfmt,
                &[("__error__", "LabelFilterErr"), ("<stream>", "{}")],
            )),
        ),
        (
            "string filter on a stream label",
            r#"{app="a"} | level = "info""#,
            "x",
            Some(("x", &[("trace_id", "t1")])),
        ),
        (
            "or and parentheses",
            r#"{app="a"} | logfmt | (status = 404 or status = 503) , msg =~ "disk.*" | keep msg"#,
            logfmt,
            Some((logfmt, &[("<stream>", "{}"), ("msg", "disk full")])),
        ),
        (
            "or, neither",
            r#"{app="a"} | logfmt | status == 404 or level_extracted = "error""#,
            logfmt,
            None,
        ),
        (
            "regexp",
            r#"{app="a"} | regexp "(?P<method>\\w+) (?P<path>\\S+)" | keep method, path"#,
            "GET /api 200",
            Some((
                "GET /api 200",
                &[("<stream>", "{}"), ("method", "GET"), ("path", "/api")],
            )),
        ),
        (
            "line_format",
            r#"{app="a"} | logfmt | line_format "{{.level_extracted | ToUpper}}: {{ .msg }}" | keep app"#,
            logfmt,
            Some(("WARN: disk full", &[("<stream>", r#"{app="a"}"#)])),
        ),
        (
            "label_format rename and template",
            r#"{app="a"} | logfmt | label_format code=status, where="{{.app}}-{{.took}}" | keep code, where"#,
            logfmt,
            Some((
                logfmt,
                &[("<stream>", "{}"), ("code", "503"), ("where", "a-250ms")],
            )),
        ),
        (
            "drop by value",
            r#"{app="a"} | drop level="info", trace_id"#,
            "x",
            Some(("x", &[("<stream>", r#"{app="a"}"#)])),
        ),
        (
            "drop by value, other value kept",
            r#"{app="a"} | drop level="debug""#,
            "x",
            Some(("x", &[("trace_id", "t1")])),
        ),
        (
            "decolorize",
            r#"{app="a"} | decolorize"#,
            "\x1b[31mred\x1b[0m text",
            Some(("red text", &[("trace_id", "t1")])),
        ),
        (
            "pattern",
            r#"{app="a"} | pattern "<method> <path> <_>" | keep method, path"#,
            "GET /api 200",
            Some((
                "GET /api 200",
                &[("<stream>", "{}"), ("method", "GET"), ("path", "/api")],
            )),
        ),
        (
            "unpack",
            r#"{app="a"} | unpack | keep pod"#,
            r#"{"pod":"p-1","_entry":"original line","n":5}"#,
            Some(("original line", &[("<stream>", "{}"), ("pod", "p-1")])),
        ),
    ];
    for (name, q, line, want) in cases {
        let got = run(q, line);
        let want = want.map(|(l, ls)| {
            let mut ls: Vec<(String, String)> = ls
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
            ls.sort();
            (l.to_string(), ls)
        });
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn compile_errors() {
    let cases: &[(&str, &str)] = &[
        (r#"{a="b"} | regexp "(x)""#, "no named capture group"),
        (r#"{a="b"} | json p="a..b""#, "invalid JSON path"),
    ];
    for (q, want) in cases {
        let Ok(Expr::Log(l)) = parse(q) else {
            panic!("{q}: not a log query")
        };
        let e = Pipeline::new(&l.pipeline).err().unwrap_or_default();
        assert!(e.contains(want), "{q}: {e}");
    }
}
