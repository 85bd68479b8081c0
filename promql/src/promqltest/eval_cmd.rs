//! `eval` commands: the header (instant or range), `expect` lines and
//! result lines.

use regex::Regex;
use tsdb::model::Labels;

use super::items::{Point, expand_values};
use super::lex::{parse_duration, parse_scalar_line, scan_series, scan_string};
use super::script::LineError;

/// A step grid `start, start+step, …, end` in ms (`step > 0`, `end >= start`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Steps {
    pub start: i64,
    pub end: i64,
    pub step: i64,
}

impl Steps {
    /// Number of grid times (1 for a malformed grid).
    pub fn len(&self) -> usize {
        if self.step <= 0 || self.end < self.start {
            return 1;
        }
        usize::try_from(self.end.abs_diff(self.start) / self.step.unsigned_abs())
            .map_or(usize::MAX, |n| n.saturating_add(1))
    }

    /// Always false: a grid has at least its start.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The `i`-th time, `None` past `end`.
    pub fn time(&self, i: usize) -> Option<i64> {
        let t = self.start.checked_add(self.step.checked_mul(i as i64)?)?;
        (t <= self.end).then_some(t)
    }

    fn new(start: i64, end: i64, step: i64) -> Result<Steps, String> {
        if end < start {
            return Err("end time is before start time".into());
        }
        if step <= 0 {
            return Err("step must be positive".into());
        }
        Ok(Steps { start, end, step })
    }
}

/// How the query is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalMode {
    /// `eval instant at <t>`.
    Instant { at: i64 },
    /// `eval range from <start> to <end> step <step>`.
    Range(Steps),
}

/// A message condition of `expect fail` / `expect warn` / `expect info`.
#[derive(Debug, Clone)]
pub enum MessageMatch {
    /// No `msg:`/`regex:`: anything matches.
    Any,
    /// `msg:`: the whole text must be equal.
    Exact(String),
    /// `regex:`: unanchored match.
    Regex(Regex),
}

impl MessageMatch {
    pub fn matches(&self, text: &str) -> bool {
        match self {
            MessageMatch::Any => true,
            MessageMatch::Exact(m) => m == text,
            MessageMatch::Regex(r) => r.is_match(text),
        }
    }
}

impl std::fmt::Display for MessageMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MessageMatch::Any => f.write_str("any message"),
            MessageMatch::Exact(m) => write!(f, "msg {m:?}"),
            MessageMatch::Regex(r) => write!(f, "regex {:?}", r.as_str()),
        }
    }
}

/// What one class of annotations (warnings or infos) must look like.
#[derive(Debug, Clone, Default)]
pub enum AnnotationExpect {
    /// No `expect` line for the class: not checked.
    #[default]
    Unchecked,
    /// `expect no_warn` / `expect no_info`: there must be none.
    Forbidden,
    /// One or more `expect warn|info` lines: at least one annotation; each
    /// condition matches one, and each annotation matches a condition.
    Required(Vec<MessageMatch>),
}

/// The expected value of a successful query.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// Result lines (none = an empty result): an instant vector, or a
    /// matrix for range evals and `expect range vector`.
    Series(Vec<ExpectedSeries>),
    /// A scalar line.
    Scalar(f64),
    /// `expect string "…"`.
    String(String),
}

/// One result line. For instant vectors `values` has exactly one point;
/// for matrices value `i` is at the grid's `i`-th time.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedSeries {
    pub line: usize,
    /// 1-based position among the result lines (for `expect ordered`).
    pub pos: usize,
    pub labels: Labels,
    pub values: Vec<Option<Point>>,
}

/// A parsed `eval` command.
#[derive(Debug, Clone)]
pub struct EvalCmd {
    pub line: usize,
    /// The PromQL text as written.
    pub expr: String,
    pub mode: EvalMode,
    /// `Some` when the query must fail.
    pub fail: Option<MessageMatch>,
    /// `expect ordered` / `eval_ordered` (instant vectors only).
    pub ordered: bool,
    pub warnings: AnnotationExpect,
    pub infos: AnnotationExpect,
    /// `expect range vector from … to … step …` (instant evals only).
    pub range_vector: Option<Steps>,
    pub expected: Expected,
}

impl EvalCmd {
    /// The evaluation time of an instant eval: `at`, or the `to` of
    /// `expect range vector`. `None` for range evals.
    pub fn instant_time(&self) -> Option<i64> {
        match self.mode {
            EvalMode::Instant { at } => Some(self.range_vector.map_or(at, |r| r.end)),
            EvalMode::Range(_) => None,
        }
    }

    /// The grid a matrix result is compared on, if one is expected.
    pub fn matrix_steps(&self) -> Option<Steps> {
        match self.mode {
            EvalMode::Range(s) => Some(s),
            EvalMode::Instant { .. } => self.range_vector,
        }
    }
}

/// The text after the first `k` whitespace-separated words, trimmed.
fn after_words(s: &str, k: usize) -> &str {
    let mut rest = s;
    for _ in 0..k {
        rest = rest.trim_start();
        rest = &rest[rest.find(char::is_whitespace).unwrap_or(rest.len())..];
    }
    rest.trim()
}

/// Flags set by a deprecated header suffix.
#[derive(Default)]
struct Suffix {
    fail: bool,
    warn: bool,
    info: bool,
    ordered: bool,
}

fn parse_header(header: &str) -> Result<(EvalMode, String, Suffix), String> {
    let words: Vec<&str> = header.split_whitespace().collect();
    let mut suffix = Suffix::default();
    match words.first().copied() {
        Some("eval") => {}
        Some("eval_fail") => suffix.fail = true,
        Some("eval_warn") => suffix.warn = true,
        Some("eval_info") => suffix.info = true,
        Some("eval_ordered") => suffix.ordered = true,
        _ => return Err(format!("invalid eval command {header:?}")),
    }
    let dur = |i: usize| parse_duration(words.get(i).copied().unwrap_or(""));
    let (mode, skip) = match (words.get(1).copied(), words.get(2).copied()) {
        (Some("instant"), Some("at")) => (EvalMode::Instant { at: dur(3)? }, 4),
        (Some("range"), _) => {
            let shape = [(2, "from"), (4, "to"), (6, "step")];
            if shape.iter().any(|&(i, w)| words.get(i) != Some(&w)) {
                return Err("expected `eval range from <t> to <t> step <d> <expr>`".into());
            }
            if suffix.ordered {
                return Err("eval_ordered is not allowed for range evals".into());
            }
            (EvalMode::Range(Steps::new(dur(3)?, dur(5)?, dur(7)?)?), 8)
        }
        _ => return Err("expected `eval instant at <t> <expr>` or `eval range …`".into()),
    };
    let expr = after_words(header, skip);
    if expr.is_empty() {
        return Err("missing expression".into());
    }
    Ok((mode, expr.to_string(), suffix))
}

/// Parses `msg: text` / `regex: re` (or nothing) after an `expect` kind.
fn parse_matcher(rest: &str) -> Result<MessageMatch, String> {
    if rest.is_empty() {
        Ok(MessageMatch::Any)
    } else if let Some(m) = rest.strip_prefix("msg:") {
        Ok(MessageMatch::Exact(m.trim().to_string()))
    } else if let Some(r) = rest.strip_prefix("regex:") {
        Regex::new(r.trim())
            .map(MessageMatch::Regex)
            .map_err(|e| format!("invalid regex: {e}"))
    } else {
        Err(format!("expected `msg:` or `regex:`, got {rest:?}"))
    }
}

/// The `expect` lines and result lines of one eval, as they are read.
struct Body {
    fail: Option<MessageMatch>,
    ordered: bool,
    warn: Vec<MessageMatch>,
    no_warn: bool,
    info: Vec<MessageMatch>,
    no_info: bool,
    range_vector: Option<Steps>,
    string: Option<String>,
    scalar: Option<f64>,
    series: Vec<ExpectedSeries>,
}

fn parse_expect(text: &str, b: &mut Body) -> Result<(), String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let kind = words.get(1).copied().unwrap_or("");
    let rest = after_words(text, 2);
    match kind {
        "range" => {
            let shape = [(2, "vector"), (3, "from"), (5, "to"), (7, "step")];
            if words.len() != 9 || shape.iter().any(|&(i, w)| words[i] != w) {
                return Err("expected `expect range vector from <t> to <t> step <d>`".into());
            }
            let d = |i: usize| parse_duration(words[i]);
            b.range_vector = Some(Steps::new(d(4)?, d(6)?, d(8)?)?);
        }
        "string" => {
            if !rest.starts_with(['"', '`']) {
                return Err("expect string needs a double-quoted or backquoted string".into());
            }
            let (s, after) = scan_string(rest)?;
            if !after.trim().is_empty() {
                return Err(format!("unexpected {after:?} after the string"));
            }
            b.string = Some(s);
        }
        "fail" if b.fail.is_some() => return Err("more than one expected failure".into()),
        "fail" => b.fail = Some(parse_matcher(rest)?),
        "warn" => b.warn.push(parse_matcher(rest)?),
        "info" => b.info.push(parse_matcher(rest)?),
        "ordered" | "no_warn" | "no_info" => {
            if !rest.is_empty() {
                return Err(format!("expect {kind} takes no message"));
            }
            match kind {
                "ordered" => b.ordered = true,
                "no_warn" => b.no_warn = true,
                _ => b.no_info = true,
            }
        }
        _ => return Err(format!("unknown expectation {text:?}")),
    }
    Ok(())
}

/// Parses an eval command from its header and the non-blank lines after
/// it. Returns the command (errors carry the offending line) and how many
/// of `body` it used: a scalar line or a legacy failure line ends the
/// body, and the lines after it are read as further commands, as the
/// reference runner does. A failed command uses all of `body`.
pub(crate) fn parse_eval(
    line: usize,
    header: &str,
    body: &[(usize, &str)],
) -> (Result<EvalCmd, LineError>, usize) {
    let mut used = body.len();
    let cmd = parse_eval_lines(line, header, body, &mut used);
    let used = if cmd.is_ok() { used } else { body.len() };
    (cmd, used)
}

fn parse_eval_lines(
    line: usize,
    header: &str,
    body: &[(usize, &str)],
    used: &mut usize,
) -> Result<EvalCmd, LineError> {
    let (mode, expr, suffix) = parse_header(header).map_err(|e| (line, e))?;
    let mut b = Body {
        fail: suffix.fail.then_some(MessageMatch::Any),
        ordered: suffix.ordered,
        warn: if suffix.warn {
            vec![MessageMatch::Any]
        } else {
            vec![]
        },
        no_warn: false,
        info: if suffix.info {
            vec![MessageMatch::Any]
        } else {
            vec![]
        },
        no_info: false,
        range_vector: None,
        string: None,
        scalar: None,
        series: Vec::new(),
    };
    let mut result_lines = 0;
    for (i, &(n, text)) in body.iter().enumerate() {
        let first = text.split_whitespace().next().unwrap_or("");
        let legacy = ["expected_fail_message", "expected_fail_regexp"];
        if legacy.contains(&first) {
            if !suffix.fail {
                return Err((n, format!("{first} is only allowed after eval_fail")));
            }
            let rest = after_words(text, 1);
            b.fail = Some(if first == legacy[0] {
                MessageMatch::Exact(rest.to_string())
            } else {
                Regex::new(rest)
                    .map(MessageMatch::Regex)
                    .map_err(|e| (n, format!("invalid regex: {e}")))?
            });
            *used = i + 1;
            break;
        } else if first == "expect" {
            if suffix.fail && text.split_whitespace().nth(1) == Some("fail") {
                return Err((n, "eval_fail together with expect fail".into()));
            }
            parse_expect(text, &mut b).map_err(|e| (n, e))?;
        } else if let Some(v) = parse_scalar_line(text) {
            b.scalar = Some(v);
            *used = i + 1;
            break;
        } else {
            let (labels, rest) = scan_series(text).map_err(|e| (n, e))?;
            let values = expand_values(rest).map_err(|e| (n, e))?;
            result_lines += 1;
            let s = ExpectedSeries {
                line: n,
                pos: result_lines,
                labels,
                values,
            };
            match b.series.iter_mut().find(|o| o.labels == s.labels) {
                Some(old) => *old = s,
                None => b.series.push(s),
            }
        }
    }
    finish(line, expr, mode, b)
}

fn annotations(
    required: Vec<MessageMatch>,
    forbidden: bool,
    what: &str,
) -> Result<AnnotationExpect, String> {
    match (required.is_empty(), forbidden) {
        (false, true) => Err(format!("expect {what} together with expect no_{what}")),
        (false, false) => Ok(AnnotationExpect::Required(required)),
        (true, true) => Ok(AnnotationExpect::Forbidden),
        (true, false) => Ok(AnnotationExpect::Unchecked),
    }
}

fn finish(line: usize, expr: String, mode: EvalMode, b: Body) -> Result<EvalCmd, LineError> {
    let warnings = annotations(b.warn, b.no_warn, "warn").map_err(|e| (line, e))?;
    let infos = annotations(b.info, b.no_info, "info").map_err(|e| (line, e))?;
    let is_range = matches!(mode, EvalMode::Range(_));
    if b.range_vector.is_some() && is_range {
        return Err((line, "expect range vector is only for instant evals".into()));
    }
    let steps = match mode {
        EvalMode::Range(s) => Some(s),
        EvalMode::Instant { .. } => b.range_vector,
    };
    if b.ordered && steps.is_some() {
        return Err((
            line,
            "expect ordered is not allowed for range vectors".into(),
        ));
    }
    for s in &b.series {
        match steps {
            Some(st) if s.values.len() > st.len() => {
                let msg = format!(
                    "{} values but the range has {} steps",
                    s.values.len(),
                    st.len()
                );
                return Err((s.line, msg));
            }
            None if !matches!(s.values.as_slice(), [Some(_)]) => {
                return Err((
                    s.line,
                    "an instant result line needs exactly one value".into(),
                ));
            }
            _ => {}
        }
    }
    let expected = match (b.string, b.scalar, b.series.is_empty()) {
        (Some(s), None, true) => Expected::String(s),
        (None, Some(v), true) => Expected::Scalar(v),
        (None, None, _) => Expected::Series(b.series),
        _ => {
            return Err((
                line,
                "conflicting expectations (string, scalar, series)".into(),
            ));
        }
    };
    if steps.is_some() && !matches!(expected, Expected::Series(_)) {
        return Err((line, "a range vector result needs series lines".into()));
    }
    Ok(EvalCmd {
        line,
        expr,
        mode,
        fail: b.fail,
        ordered: b.ordered,
        warnings,
        infos,
        range_vector: b.range_vector,
        expected,
    })
}

#[cfg(test)]
#[path = "eval_cmd_tests.rs"]
mod tests;
