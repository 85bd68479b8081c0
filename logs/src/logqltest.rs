//! A script runner for LogQL, in the manner of Prometheus's promqltest:
//! scripts under `testdata/logql/` push lines and check what queries
//! answer. Times are durations from the Unix epoch (`10s`, `1m30s`).
//!
//! ```text
//! # a comment
//! push {app="a", env="prod"}
//!   10s level=info msg="started"
//!   20s level=error status=500
//!
//! eval logs from 0s to 1m [forward|backward] [limit N] <query>
//!   {app="a", env="prod"} 20s level=error status=500
//!
//! eval instant at 1m <query>
//!   {app="a"} 2
//!
//! eval range from 0s to 1m step 30s <query>
//!   {app="a"} _ 1 2
//!
//! eval_fail [instant at 1m] <query>
//!   <a text the error contains>
//! ```
//!
//! `eval logs` expects the entries in answer order, each with all its
//! labels (stream, metadata, parsed) as `Labels` print them; an `eval`
//! with no expected line expects nothing. `eval range` expects one value
//! per step, `_` where the series has none. Every expected series must be
//! there and no other. Pushed and expected lines may write the escape
//! character as `\x1b`.

use std::fmt::Write as _;

use promql::eval::EngineOptions;
use promql::value::Value;
use tsdb::model::Labels;

use crate::head::{Head, LineFilter};
use crate::logql::eval::{Grid, evaluate};
use crate::logql::pipeline::Pipeline;
use crate::logql::{Expr, parse};
use crate::model::{Direction, Entry, StreamPush};

/// What running a script found: one text per failed command.
#[derive(Debug, Default)]
pub struct Report {
    pub commands: usize,
    pub failures: Vec<String>,
}

fn duration_ns(s: &str) -> Result<i64, String> {
    promql::syntax::parse_duration(s)
        .map(|ms| ms * 1_000_000)
        .map_err(|e| format!("bad time {s:?}: {e}"))
}

fn labels(s: &str) -> Result<Labels, String> {
    if s.trim() == "{}" {
        return Ok(Labels::empty());
    }
    let ms = promql::parse_series_selector(s).map_err(|e| format!("bad labels {s:?}: {e}"))?;
    let pairs: Vec<(String, String)> = ms.into_iter().map(|m| (m.name, m.value)).collect();
    Ok(Labels::from_pairs(&pairs))
}

/// Splits `{…} rest` into the labels text and the rest.
fn split_labels(line: &str) -> Result<(&str, &str), String> {
    let end = line
        .find('}')
        .ok_or_else(|| format!("expected {{labels}} in {line:?}"))?;
    Ok((&line[..=end], line[end + 1..].trim_start()))
}

/// Runs one script; parse errors of the script itself are failures too.
pub fn run(script: &str) -> Report {
    let head = Head::default();
    let mut report = Report::default();
    let lines: Vec<(usize, &str)> = script
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    let mut i = 0;
    while i < lines.len() {
        let (no, cmd) = lines[i];
        let mut body = Vec::new();
        i += 1;
        while i < lines.len() && lines[i].1.starts_with(char::is_whitespace) {
            body.push(lines[i].1.trim());
            i += 1;
        }
        report.commands += 1;
        if let Err(e) = command(&head, cmd.trim(), &body) {
            report.failures.push(format!("line {no}: {cmd}\n  {e}"));
        }
    }
    report
}

fn command(head: &Head, cmd: &str, body: &[&str]) -> Result<(), String> {
    if let Some(rest) = cmd.strip_prefix("push ") {
        let stream = labels(rest.trim())?;
        let mut entries = Vec::new();
        for b in body {
            let (t, line) = b.split_once(' ').unwrap_or((b, ""));
            entries.push(Entry::new(duration_ns(t)?, unescape(line)));
        }
        head.apply(
            vec![StreamPush {
                labels: stream,
                entries,
            }],
            0,
        );
        return Ok(());
    }
    if let Some(rest) = cmd.strip_prefix("eval logs ") {
        return eval_logs(head, rest, body);
    }
    if let Some(rest) = cmd.strip_prefix("eval instant at ") {
        let (t, q) = rest.split_once(' ').ok_or("expected a time and a query")?;
        let grid = Grid::instant(duration_ns(t)? / 1_000_000);
        return eval_metric(head, q, grid, body);
    }
    if let Some(rest) = cmd.strip_prefix("eval range from ") {
        let words: Vec<&str> = rest.splitn(6, ' ').collect();
        let [start, "to", end, "step", step, q] = words.as_slice() else {
            return Err("expected: eval range from <t> to <t> step <d> <query>".into());
        };
        let grid = Grid {
            start: duration_ns(start)? / 1_000_000,
            end: duration_ns(end)? / 1_000_000,
            step: duration_ns(step)? / 1_000_000,
        };
        return eval_metric(head, q, grid, body);
    }
    if let Some(rest) = cmd.strip_prefix("eval_fail ") {
        let (grid, q) = match rest.strip_prefix("instant at ") {
            Some(r) => {
                let (t, q) = r.split_once(' ').ok_or("expected a time and a query")?;
                (Grid::instant(duration_ns(t)? / 1_000_000), q)
            }
            None => (Grid::instant(0), rest),
        };
        let err = match parse(q) {
            Err(e) => e.to_string(),
            Ok(Expr::Log(l)) => match Pipeline::new(&l.pipeline) {
                Err(e) => e,
                Ok(_) => return Err("expected an error, the query runs".into()),
            },
            Ok(Expr::Metric(m)) => match evaluate(head, &m, grid, EngineOptions::default()) {
                Err(e) => e.to_string(),
                Ok(_) => return Err("expected an error, the query runs".into()),
            },
        };
        return match body.first() {
            Some(want) if !err.contains(want) => {
                Err(format!("error {err:?} does not contain {want:?}"))
            }
            _ => Ok(()),
        };
    }
    Err(format!("unknown command {cmd:?}"))
}

fn eval_logs(head: &Head, rest: &str, body: &[&str]) -> Result<(), String> {
    let words: Vec<&str> = rest.splitn(4, ' ').collect();
    let ["from", start, "to", tail] = words.as_slice() else {
        return Err(
            "expected: eval logs from <t> to <t> [forward|backward] [limit N] <query>".into(),
        );
    };
    let (end, mut q) = tail.split_once(' ').ok_or("expected a query")?;
    let mut direction = Direction::Backward;
    let mut limit = 1000;
    loop {
        if let Some(r) = q.strip_prefix("forward ") {
            direction = Direction::Forward;
            q = r;
        } else if let Some(r) = q.strip_prefix("backward ") {
            q = r;
        } else if let Some(r) = q.strip_prefix("limit ") {
            let (n, r) = r.split_once(' ').ok_or("expected a limit and a query")?;
            limit = n.parse().map_err(|_| format!("bad limit {n:?}"))?;
            q = r;
        } else {
            break;
        }
    }
    let Expr::Log(log) = parse(q).map_err(|e| e.to_string())? else {
        return Err("eval logs takes a log query".into());
    };
    let pipeline = Pipeline::new(&log.pipeline)?;
    let hits = head
        .select(
            &log.matchers,
            duration_ns(start)?,
            duration_ns(end)?,
            direction,
            limit,
            &LineFilter::of(&pipeline),
            &mut |l, e| pipeline.run(l, e),
        )
        .map_err(|e| e.to_string())?;
    let got: Vec<String> = hits
        .iter()
        .map(|h| format!("{} {} {}", h.all_labels(), format_time(h.ts), h.line))
        .collect();
    let mut want = Vec::new();
    for b in body {
        let (l, rest) = split_labels(b)?;
        let (t, line) = rest.split_once(' ').unwrap_or((rest, ""));
        let line = unescape(line);
        want.push(format!(
            "{} {} {line}",
            labels(l)?,
            format_time(duration_ns(t)?)
        ));
    }
    if got != want {
        return Err(format!(
            "got:\n    {}\n  want:\n    {}",
            got.join("\n    "),
            want.join("\n    ")
        ));
    }
    Ok(())
}

/// Lines may write the escape character as `\x1b` (colour codes).
fn unescape(line: &str) -> String {
    line.replace("\\x1b", "\x1b")
}

fn format_time(ns: i64) -> String {
    promql::syntax::format_duration(ns / 1_000_000)
}

fn eval_metric(head: &Head, q: &str, grid: Grid, body: &[&str]) -> Result<(), String> {
    let Expr::Metric(m) = parse(q).map_err(|e| e.to_string())? else {
        return Err("eval instant/range takes a metric query".into());
    };
    let res = evaluate(head, &m, grid, EngineOptions::default()).map_err(|e| e.to_string())?;
    let steps = if grid.step > 0 {
        ((grid.end - grid.start) / grid.step + 1) as usize
    } else {
        1
    };
    // Series → value per step (None where absent), as printed.
    let mut got: Vec<(String, Vec<Option<f64>>)> = match res.value {
        Value::Vector(v) => v
            .into_iter()
            .map(|s| (s.labels.to_string(), vec![Some(s.v)]))
            .collect(),
        Value::Scalar(s) => vec![("scalar".into(), vec![Some(s.v)])],
        Value::Matrix(series) => series
            .into_iter()
            .map(|s| {
                let mut vals = vec![None; steps];
                for p in s.samples {
                    let k = ((p.t - grid.start) / grid.step.max(1)) as usize;
                    if k < steps {
                        vals[k] = Some(p.v);
                    }
                }
                (s.labels.to_string(), vals)
            })
            .collect(),
        Value::String { .. } => return Err("a string result".into()),
    };
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let mut want: Vec<(String, Vec<Option<f64>>)> = Vec::new();
    for b in body {
        let (l, rest) = if b.starts_with('{') {
            let (l, r) = split_labels(b)?;
            (labels(l)?.to_string(), r)
        } else {
            let (w, r) = b.split_once(' ').ok_or("expected labels and values")?;
            (w.to_string(), r)
        };
        let vals = rest
            .split_whitespace()
            .map(|v| match v {
                "_" => Ok(None),
                v => v
                    .parse::<f64>()
                    .map(Some)
                    .map_err(|_| format!("bad value {v:?}")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        want.push((l, vals));
    }
    want.sort_by(|a, b| a.0.cmp(&b.0));
    let close = |a: &Option<f64>, b: &Option<f64>| match (a, b) {
        (Some(x), Some(y)) => {
            x == y || (x - y).abs() <= 1e-9 * y.abs().max(1.0) || (x.is_nan() && y.is_nan())
        }
        (None, None) => true,
        _ => false,
    };
    let same = got.len() == want.len()
        && got.iter().zip(&want).all(|(g, w)| {
            g.0 == w.0 && g.1.len() == w.1.len() && g.1.iter().zip(&w.1).all(|(a, b)| close(a, b))
        });
    if !same {
        let show = |v: &[(String, Vec<Option<f64>>)]| {
            let mut out = String::new();
            for (l, vals) in v {
                let vals: Vec<String> = vals
                    .iter()
                    .map(|x| x.map_or("_".to_string(), |x| x.to_string()))
                    .collect();
                let _ = write!(out, "\n    {l} {}", vals.join(" "));
            }
            out
        };
        return Err(format!("got:{}\n  want:{}", show(&got), show(&want)));
    }
    Ok(())
}
