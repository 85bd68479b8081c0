//! Parses every `eval` expression of the Prometheus 3.14 test scripts in
//! `testdata/promql/`. Expressions under `expect fail` may fail to parse
//! only when the expected message is a parse-time one (listed below).

use std::path::Path;

/// Expected failure messages that are reported at parse time: by
/// Prometheus, and (a `count_values` label that escapes made invalid
/// UTF-8, which the parsed string can no longer show) by Almanac.
const PARSE_TIME_FAILURES: &[&str] = &["modifier can only be used with", "invalid label name"];

struct Eval {
    file: String,
    line: usize,
    expr: String,
    /// The `expect fail` message, `Some("")` without one.
    fail: Option<String>,
}

fn evals() -> Vec<Eval> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/promql");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("testdata/promql")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "test"))
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 21, "expected the 21 Prometheus 3.14 scripts");
    let mut out = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("read script");
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for (n, line) in lines.iter().enumerate() {
            let words: Vec<&str> = line.split_whitespace().collect();
            let Some(head) = words.first() else { continue };
            if !head.starts_with("eval") {
                continue;
            }
            let skip = match words.get(1) {
                Some(&"instant") => 4, // eval instant at <t>
                Some(&"range") => 8,   // eval range from <a> to <b> step <c>
                _ => panic!("{file}:{}: unknown eval form", n + 1),
            };
            // The expression is the rest of the line after `skip` words.
            let mut rest = *line;
            for _ in 0..skip {
                rest = rest.trim_start();
                rest = &rest[rest.find(char::is_whitespace).unwrap_or(rest.len())..];
            }
            let mut fail = head.ends_with("_fail").then(String::new);
            for body in lines[n + 1..]
                .iter()
                .take_while(|l| !l.is_empty() && !l.starts_with('#'))
            {
                if let Some(rest) = body.strip_prefix("expect fail") {
                    let msg = rest
                        .trim()
                        .trim_start_matches("msg:")
                        .trim_start_matches("regex:")
                        .trim();
                    fail = Some(msg.to_string());
                }
            }
            out.push(Eval {
                file: file.clone(),
                line: n + 1,
                expr: rest.trim().to_string(),
                fail,
            });
        }
    }
    out
}

#[test]
fn every_script_expression_parses() {
    let evals = evals();
    let (mut ok, mut expected_failures, mut bad) = (0, Vec::new(), Vec::new());
    for e in &evals {
        match (promql::parse(&e.expr), &e.fail) {
            (Ok(_), _) => ok += 1,
            (Err(err), Some(msg)) if PARSE_TIME_FAILURES.iter().any(|p| msg.contains(p)) => {
                assert!(
                    err.to_string().contains(msg.as_str()),
                    "{}:{}: {err} != {msg}",
                    e.file,
                    e.line
                );
                expected_failures.push(format!("{}:{}: {} -> {err}", e.file, e.line, e.expr));
            }
            (Err(err), _) => bad.push(format!("{}:{}: {} -> {err}", e.file, e.line, e.expr)),
        }
    }
    println!(
        "{} eval expressions: {ok} parse, {} fail as expected",
        evals.len(),
        expected_failures.len()
    );
    for f in &expected_failures {
        println!("  expected parse failure: {f}");
    }
    assert!(
        bad.is_empty(),
        "{} expressions failed to parse:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert!(evals.len() > 2000);
}

#[test]
fn every_script_expression_round_trips() {
    for e in evals() {
        let Ok(first) = promql::parse(&e.expr) else {
            continue;
        };
        let printed = first.to_string();
        let second = promql::parse(&printed)
            .unwrap_or_else(|err| panic!("{}:{}: {printed}: {err}", e.file, e.line));
        assert_eq!(
            format!("{first:?}"),
            format!("{second:?}"),
            "{}:{}: {} -> {printed}",
            e.file,
            e.line,
            e.expr
        );
        assert_eq!(second.to_string(), printed);
    }
}
