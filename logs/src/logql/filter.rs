//! Line filters compiled once per query: substrings searched with
//! `memchr::memmem`, patterns with `regex` (unanchored, as Loki's RE2).

use memchr::memmem::Finder;
use regex::Regex;

use super::ast::{LineOp, Stage};

/// A log pipeline's line filters, in order.
pub struct LineFilters {
    filters: Vec<Compiled>,
}

enum Compiled {
    Contains {
        any: Vec<Finder<'static>>,
        negate: bool,
    },
    Match {
        any: Vec<Regex>,
        negate: bool,
    },
}

impl LineFilters {
    /// Compiles the line filters of `pipeline`. Patterns were checked by
    /// the parser; one that does not compile is an error here too.
    pub fn new(pipeline: &[Stage]) -> Result<LineFilters, String> {
        let mut filters = Vec::new();
        for s in pipeline {
            let Stage::Line(f) = s;
            let negate = matches!(f.op, LineOp::NotContains | LineOp::NotMatch);
            filters.push(match f.op {
                LineOp::Contains | LineOp::NotContains => Compiled::Contains {
                    any: f
                        .patterns
                        .iter()
                        .map(|p| Finder::new(p.as_bytes()).into_owned())
                        .collect(),
                    negate,
                },
                LineOp::Match | LineOp::NotMatch => Compiled::Match {
                    any: f
                        .patterns
                        .iter()
                        .map(|p| {
                            Regex::new(p)
                                .map_err(|e| format!("invalid regular expression {p:?}: {e}"))
                        })
                        .collect::<Result<_, _>>()?,
                    negate,
                },
            });
        }
        Ok(LineFilters { filters })
    }

    /// Whether `line` passes every filter.
    pub fn keep(&self, line: &str) -> bool {
        self.filters.iter().all(|f| match f {
            Compiled::Contains { any, negate } => {
                any.iter().any(|p| p.find(line.as_bytes()).is_some()) != *negate
            }
            Compiled::Match { any, negate } => any.iter().any(|r| r.is_match(line)) != *negate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logql::{Expr, parse};

    fn filters(q: &str) -> LineFilters {
        let Ok(Expr::Log(l)) = parse(q) else {
            panic!("{q}: not a log query")
        };
        LineFilters::new(&l.pipeline).unwrap()
    }

    #[test]
    fn table() {
        let cases: &[(&str, &str, &str, bool)] = &[
            ("contains", r#"{a="b"} |= "err""#, "an error", true),
            ("contains, absent", r#"{a="b"} |= "err""#, "fine", false),
            ("empty matches all", r#"{a="b"} |= """#, "x", true),
            ("not contains", r#"{a="b"} != "debug""#, "debug line", false),
            ("or: either", r#"{a="b"} |= "x" or "y""#, "has y", true),
            (
                "not, or: neither",
                r#"{a="b"} != "x" or "y""#,
                "has y",
                false,
            ),
            (
                "not, or: none present",
                r#"{a="b"} != "x" or "y""#,
                "zzz",
                true,
            ),
            (
                "regex unanchored",
                r#"{a="b"} |~ "5\\d\\d""#,
                "status=503 ms=2",
                true,
            ),
            ("not regex", r#"{a="b"} !~ "^GET""#, "GET /", false),
            (
                "regex special characters",
                r#"{a="b"} |= "a.b[c]""#,
                "xa.b[c]y",
                true,
            ),
            (
                "regex special, literal not regex",
                r#"{a="b"} |= "a.b""#,
                "axb",
                false,
            ),
            (
                "chained",
                r#"{a="b"} |= "GET" != "/health""#,
                "GET /health",
                false,
            ),
            (
                "chained, kept",
                r#"{a="b"} |= "GET" != "/health""#,
                "GET /api",
                true,
            ),
            ("unicode", r#"{a="b"} |= "ü""#, "grüße", true),
        ];
        for (name, q, line, want) in cases {
            assert_eq!(filters(q).keep(line), *want, "{name}");
        }
    }
}
