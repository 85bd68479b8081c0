//! Label matchers with Prometheus semantics.
//!
//! Regexes are fully anchored and `.` matches newlines (Prometheus 3.x). A
//! missing label has the value `""`, so `{a=""}` selects series without `a`
//! and `{a=~".*"}` selects every series. Common regex shapes (`.*`, `.+`,
//! literal alternations `a|b|c`) are answered without running a regex.

use std::fmt;

use regex::Regex;

use crate::error::{Error, Result};

/// The four matching operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    Equal,
    NotEqual,
    RegexMatch,
    RegexNoMatch,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::RegexMatch => "=~",
            MatchOp::RegexNoMatch => "!~",
        }
    }
}

/// How a regex is answered: the fast shapes, else the compiled regex.
#[derive(Debug, Clone)]
enum Pattern {
    /// `=` / `!=`.
    Literal,
    /// `.*`: matches everything, including `""`.
    Any,
    /// `.+`: matches every non-empty value.
    NonEmpty,
    /// `a|b|c` of plain literals (sorted for binary search).
    Set(Vec<String>),
    Regex(Regex),
}

/// One `name op "value"` condition on a label.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub op: MatchOp,
    pub name: String,
    pub value: String,
    pattern: Pattern,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.op == other.op && self.name == other.name && self.value == other.value
    }
}

impl Eq for Matcher {}

impl std::hash::Hash for Matcher {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.op.hash(state);
        self.name.hash(state);
        self.value.hash(state);
    }
}

impl Matcher {
    /// Builds a matcher; fails only for a regex that does not compile.
    pub fn new(op: MatchOp, name: impl Into<String>, value: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let value = value.into();
        let pattern = match op {
            MatchOp::Equal | MatchOp::NotEqual => Pattern::Literal,
            MatchOp::RegexMatch | MatchOp::RegexNoMatch => compile(&value)?,
        };
        Ok(Matcher {
            op,
            name,
            value,
            pattern,
        })
    }

    /// `name="value"`, which cannot fail.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Matcher {
            op: MatchOp::Equal,
            name: name.into(),
            value: value.into(),
            pattern: Pattern::Literal,
        }
    }

    /// Whether a label value (`""` for a missing label) satisfies the matcher.
    #[inline]
    pub fn matches(&self, v: &str) -> bool {
        match self.op {
            MatchOp::Equal => v == self.value,
            MatchOp::NotEqual => v != self.value,
            MatchOp::RegexMatch => self.pattern_matches(v),
            MatchOp::RegexNoMatch => !self.pattern_matches(v),
        }
    }

    fn pattern_matches(&self, v: &str) -> bool {
        match &self.pattern {
            Pattern::Literal => v == self.value,
            Pattern::Any => true,
            Pattern::NonEmpty => !v.is_empty(),
            Pattern::Set(set) => set.binary_search_by(|s| s.as_str().cmp(v)).is_ok(),
            Pattern::Regex(re) => re.is_match(v),
        }
    }

    /// Whether the matcher accepts the empty string, i.e. series *without*
    /// the label. Such matchers cannot be answered from postings alone.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// For `=~` with a literal alternation (or `=`), the exact values it
    /// accepts; lets the index union postings lists instead of scanning.
    pub fn set_matches(&self) -> Option<Vec<&str>> {
        match (self.op, &self.pattern) {
            (MatchOp::Equal, _) => Some(vec![self.value.as_str()]),
            (MatchOp::RegexMatch, Pattern::Set(s)) => Some(s.iter().map(String::as_str).collect()),
            _ => None,
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.as_str(), self.value)
    }
}

/// Recognises the fast shapes, else compiles `^(?s:(?:value))$`.
fn compile(value: &str) -> Result<Pattern> {
    // Compile first in every case so that invalid syntax is always reported.
    let re = Regex::new(&format!("^(?s:{value})$")).map_err(|e| Error::InvalidRegex {
        pattern: value.to_string(),
        reason: e.to_string(),
    })?;
    Ok(match value {
        ".*" => Pattern::Any,
        ".+" => Pattern::NonEmpty,
        _ => match literal_alternation(value) {
            Some(mut set) => {
                set.sort();
                set.dedup();
                Pattern::Set(set)
            }
            None => Pattern::Regex(re),
        },
    })
}

/// `a|b|c` where every branch is free of regex metacharacters.
fn literal_alternation(value: &str) -> Option<Vec<String>> {
    const META: &[char] = &[
        '\\', '.', '+', '*', '?', '(', ')', '[', ']', '{', '}', '^', '$',
    ];
    if value.contains(META) {
        return None;
    }
    Some(value.split('|').map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(op: MatchOp, v: &str) -> Matcher {
        Matcher::new(op, "a", v).unwrap()
    }

    #[test]
    fn table() {
        use MatchOp::*;
        let cases: &[(&str, MatchOp, &str, &str, bool)] = &[
            ("equal", Equal, "x", "x", true),
            ("equal other", Equal, "x", "y", false),
            ("equal empty on missing", Equal, "", "", true),
            ("not equal", NotEqual, "x", "y", true),
            ("regex anchored", RegexMatch, "fo", "foo", false),
            ("regex full", RegexMatch, "fo+", "foo", true),
            ("regex any matches empty", RegexMatch, ".*", "", true),
            ("regex nonempty", RegexMatch, ".+", "", false),
            ("regex dot matches newline", RegexMatch, "a.b", "a\nb", true),
            ("regex set", RegexMatch, "x|y|z", "y", true),
            ("regex set miss", RegexMatch, "x|y|z", "xy", false),
            ("regex set with empty branch", RegexMatch, "x|", "", true),
            ("not regex", RegexNoMatch, "x.*", "xyz", false),
            ("not regex empty", RegexNoMatch, "x.*", "", true),
            (
                "alternation anchored as a whole",
                RegexMatch,
                "a|b.*",
                "xb",
                false,
            ),
        ];
        for (name, op, pat, v, want) in cases {
            assert_eq!(m(*op, pat).matches(v), *want, "case {name}");
        }
    }

    #[test]
    fn invalid_regex_is_an_error() {
        let err = Matcher::new(MatchOp::RegexMatch, "a", "(").unwrap_err();
        assert!(err.to_string().contains("invalid regular expression"));
    }

    #[test]
    fn set_matches() {
        assert_eq!(
            m(MatchOp::RegexMatch, "b|a").set_matches(),
            Some(vec!["a", "b"])
        );
        assert_eq!(m(MatchOp::RegexMatch, "a.*").set_matches(), None);
    }
}
