//! Per-eval outcomes, per-file reports and the summary line.

use std::fmt::Write;

/// The outcome of one eval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// The reason, with a short diff.
    Failed(String),
}

/// One case: an eval, or a command that failed to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseReport {
    /// 1-based line of the eval header (or of the parse error).
    pub line: usize,
    /// The PromQL expression (or the header line of a broken command).
    pub expr: String,
    pub outcome: Outcome,
}

/// Everything that happened to one script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileReport {
    pub file: String,
    pub cases: Vec<CaseReport>,
}

/// Passed and failed cases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
    }

    /// `promqltest: P passed, F failed, 0 skipped`: the runner skips
    /// nothing; the count stays in the line so that it reads as earlier
    /// runs' summaries did.
    pub fn summary_line(&self) -> String {
        format!(
            "promqltest: {} passed, {} failed, 0 skipped",
            self.passed, self.failed
        )
    }
}

/// Longest reason printed when failures are limited.
const SHORT_REASON: usize = 400;

impl FileReport {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for case in &self.cases {
            match case.outcome {
                Outcome::Passed => c.passed += 1,
                Outcome::Failed(_) => c.failed += 1,
            }
        }
        c
    }

    pub fn failures(&self) -> impl Iterator<Item = (&CaseReport, &str)> {
        self.cases.iter().filter_map(|c| match &c.outcome {
            Outcome::Failed(r) => Some((c, r.as_str())),
            Outcome::Passed => None,
        })
    }

    /// `file: p/f`, then up to `max_failures` failures (all when `None`)
    /// as `  file:line: expr` with the reason indented below; reasons are
    /// shortened when failures are limited.
    pub fn render(&self, max_failures: Option<usize>) -> String {
        let c = self.counts();
        let mut out = format!("{}: {}/{}\n", self.file, c.passed, c.failed);
        let limit = max_failures.unwrap_or(usize::MAX);
        for (case, reason) in self.failures().take(limit) {
            let reason = match max_failures {
                Some(_) => shorten(reason, SHORT_REASON),
                None => reason.to_string(),
            };
            let _ = writeln!(out, "  {}:{}: {}", self.file, case.line, case.expr);
            let _ = writeln!(out, "      {reason}");
        }
        if c.failed > limit {
            let _ = writeln!(out, "  … {} more failures", c.failed - limit);
        }
        out
    }
}

fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(line: usize, outcome: Outcome) -> CaseReport {
        CaseReport {
            line,
            expr: format!("e{line}"),
            outcome,
        }
    }

    #[test]
    fn counting_and_rendering() {
        let r = FileReport {
            file: "f.test".into(),
            cases: vec![
                case(1, Outcome::Passed),
                case(2, Outcome::Failed("bad".into())),
                case(4, Outcome::Failed("x".repeat(500))),
            ],
        };
        let c = r.counts();
        assert_eq!((c.passed, c.failed), (1, 2));
        let mut total = Counts::default();
        total.add(c);
        total.add(c);
        assert_eq!(
            total.summary_line(),
            "promqltest: 2 passed, 4 failed, 0 skipped"
        );
        let short = r.render(Some(1));
        assert_eq!(
            short,
            "f.test: 1/2\n  f.test:2: e2\n      bad\n  … 1 more failures\n"
        );
        let all = r.render(None);
        assert!(
            all.contains("f.test:4: e4") && all.contains(&"x".repeat(500)),
            "{all}"
        );
        assert!(r.render(Some(5)).contains(&format!("{}…", "x".repeat(400))));
    }
}
