//! `label_replace` and `label_join` on one element's labels.
//!
//! Both may turn distinct series into equal label sets; rejecting that
//! (`vector cannot contain metrics with the same labelset`) is the
//! evaluator's job. With delayed name removal, an element whose
//! destination label is `__name__` keeps its (new) name: the evaluator
//! resets `drop_name` for it — for `label_replace` only when the regex
//! matched ([`LabelReplace::apply`] returns `Some`), for `label_join`
//! always.

use regex::Regex;
use tsdb::model::{Labels, METRIC_NAME};

use crate::error::{Error, Result};

/// A compiled `label_replace(v, dst, replacement, src, regex)`: compile once
/// per call, apply to every element.
#[derive(Debug, Clone)]
pub struct LabelReplace {
    dst: String,
    replacement: String,
    src: String,
    regex: Regex,
}

impl LabelReplace {
    /// Compiles `regex` anchored at both ends (`^(?s:regex)$`) and checks
    /// `dst`. Errors, with Prometheus's texts:
    /// `invalid regular expression in label_replace(): <regex>`, then
    /// `invalid destination label name in label_replace(): <dst>`.
    pub fn new(dst: &str, replacement: &str, src: &str, regex: &str) -> Result<LabelReplace> {
        let compiled = Regex::new(&format!("^(?s:{regex})$")).map_err(|_| {
            Error::Execution(format!(
                "invalid regular expression in label_replace(): {regex}"
            ))
        })?;
        if !is_valid_label_name(dst) {
            return Err(Error::Execution(format!(
                "invalid destination label name in label_replace(): {dst}"
            )));
        }
        Ok(LabelReplace {
            dst: dst.to_string(),
            replacement: replacement.to_string(),
            src: src.to_string(),
            regex: compiled,
        })
    }

    /// Whether the destination is `__name__` (see the module docs on
    /// `drop_name`).
    pub fn sets_metric_name(&self) -> bool {
        self.dst == METRIC_NAME
    }

    /// `None` when the regex does not match the value of `src` (`""` if
    /// absent): the element keeps its labels. Otherwise the labels with
    /// `dst` set to the expanded replacement (`$1`, `${1}`, `$name`,
    /// `${name}`, `$$`), or removed when that is empty.
    pub fn apply(&self, labels: &Labels) -> Option<Labels> {
        let caps = self.regex.captures(labels.get(&self.src))?;
        let value = expand(&self.replacement, &caps, &self.regex);
        let mut b = labels.builder();
        b.set(&self.dst, &value);
        Some(b.build())
    }
}

/// `label_replace` for one element: [`LabelReplace::new`] then
/// [`LabelReplace::apply`], returning `labels` unchanged when the regex
/// does not match. Compiling per element is slow; callers with many
/// elements should use [`LabelReplace`].
#[cfg(test)]
pub fn label_replace(
    labels: &Labels,
    dst: &str,
    replacement: &str,
    src: &str,
    regex: &str,
) -> Result<Labels> {
    let f = LabelReplace::new(dst, replacement, src, regex)?;
    Ok(f.apply(labels).unwrap_or_else(|| labels.clone()))
}

/// `label_join(v, dst, separator, src...)` for one element: the values of
/// `srcs` (`""` for absent ones) joined by `sep` become `dst`; an empty
/// result removes `dst`.
///
/// Errors (checked in this order, Prometheus's texts):
/// `invalid source label name in label_join(): <src>`,
/// `invalid destination label name in label_join(): <dst>`.
pub fn label_join(labels: &Labels, dst: &str, sep: &str, srcs: &[String]) -> Result<Labels> {
    if let Some(src) = srcs.iter().find(|s| !is_valid_label_name(s)) {
        return Err(Error::Execution(format!(
            "invalid source label name in label_join(): {src}"
        )));
    }
    if !is_valid_label_name(dst) {
        return Err(Error::Execution(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    let mut value = String::new();
    for (i, src) in srcs.iter().enumerate() {
        if i > 0 {
            value.push_str(sep);
        }
        value.push_str(labels.get(src));
    }
    let mut b = labels.builder();
    b.set(dst, &value);
    Ok(b.build())
}

/// Prometheus 3 accepts any non-empty UTF-8 label name. Rust strings are
/// always UTF-8, but the parser turns invalid UTF-8 escapes in string
/// literals (`"\xff"`) into U+FFFD; a name containing U+FFFD is rejected
/// so that such literals fail as they do in Prometheus.
fn is_valid_label_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('\u{FFFD}')
}

/// Expands `template` as Go's `Regexp.Expand`: `$name` / `${name}` is the
/// named or numbered group (empty if it did not participate or does not
/// exist), where a bare name extends over as many letters, digits and `_`
/// as possible (`$1x` is group `1x`); `$$` is `$`; a `$` not followed by a
/// valid reference is kept literally. Numbers with leading zeros are
/// names, so `$01` refers to nothing.
fn expand(template: &str, caps: &regex::Captures<'_>, regex: &Regex) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        let Some((name, after)) = reference(rest) else {
            out.push('$');
            continue;
        };
        rest = after;
        let group = match group_number(name) {
            Some(i) => caps.get(i),
            None => regex
                .capture_names()
                .position(|n| n == Some(name))
                .and_then(|i| caps.get(i)),
        };
        if let Some(m) = group {
            out.push_str(m.as_str());
        }
    }
    out.push_str(rest);
    out
}

/// The group reference at the start of `s` (just after a `$`): `name` or
/// `{name}`, and what follows it.
fn reference(s: &str) -> Option<(&str, &str)> {
    let (body, braced) = match s.strip_prefix('{') {
        Some(b) => (b, true),
        None => (s, false),
    };
    let end = body
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
        .map_or(body.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let name = &body[..end];
    if braced {
        let after = body[end..].strip_prefix('}')?;
        Some((name, after))
    } else {
        Some((name, &body[end..]))
    }
}

/// A group number: ASCII digits without a leading zero (except `0`
/// itself), below 10^8 as in Go.
fn group_number(name: &str) -> Option<usize> {
    if !name.bytes().all(|b| b.is_ascii_digit()) || (name.len() > 1 && name.starts_with('0')) {
        return None;
    }
    name.parse().ok().filter(|&n: &usize| n < 100_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs)
    }

    fn err_text(r: Result<impl std::fmt::Debug>) -> String {
        match r {
            Err(e) => e.to_string(),
            Ok(v) => panic!("expected an error, got {v:?}"),
        }
    }

    /// Cases from testdata/promql/functions.test ("Tests for label_replace")
    /// and name_label_dropping.test.
    #[test]
    fn label_replace_table() {
        let m = ls(&[
            ("__name__", "testmetric"),
            ("src", "source-value-10"),
            ("dst", "original-destination-value"),
        ]);
        /// Name, dst, replacement, src, regex, expected labels.
        type Case<'a> = (
            &'a str,
            &'a str,
            &'a str,
            &'a str,
            &'a str,
            &'a [(&'a str, &'a str)],
        );
        let cases: &[Case] = &[
            (
                "full-string match",
                "dst",
                "destination-value-$1",
                "src",
                "source-value-(.*)",
                &[("dst", "destination-value-10")],
            ),
            (
                "no substring match",
                "dst",
                "destination-value-$1",
                "src",
                "value-(.*)",
                &[("dst", "original-destination-value")],
            ),
            (
                "several groups",
                "dst",
                "$1-value-$2",
                "src",
                "(.*)-value-(.*)",
                &[("dst", "source-value-10")],
            ),
            (
                "missing source does not match",
                "dst",
                "value-$1",
                "nonexistent-src",
                "source-value-(.*)",
                &[("dst", "original-destination-value")],
            ),
            (
                "missing source matches empty",
                "dst",
                "value-$1",
                "nonexistent-src",
                "(.*)",
                &[("dst", "value-")],
            ),
            (
                "empty result deletes",
                "dst",
                "",
                "dst",
                ".*",
                &[("dst", "")],
            ),
            (
                "name copied",
                "my_name",
                "rate_$1",
                "__name__",
                "(.+)",
                &[("my_name", "rate_testmetric")],
            ),
            (
                "name replaced",
                "__name__",
                "rate_$1",
                "__name__",
                "(.+)",
                &[("__name__", "rate_testmetric")],
            ),
            (
                "braced group",
                "x",
                "${1}y",
                "src",
                "(.*)",
                &[("x", "source-value-10y")],
            ),
            (
                "bare name is greedy",
                "x",
                "$1y",
                "src",
                "(.*)",
                &[("x", "")],
            ),
            (
                "named group",
                "x",
                "<$v>",
                "src",
                ".*-(?P<v>\\d+)",
                &[("x", "<10>")],
            ),
            (
                "braced named group",
                "x",
                "${v}s",
                "src",
                ".*-(?<v>\\d+)",
                &[("x", "10s")],
            ),
            ("dollar dollar", "x", "$$1", "src", "(.*)", &[("x", "$1")]),
            ("lone dollar", "x", "a$", "src", "(.*)", &[("x", "a$")]),
            (
                "dollar before symbol",
                "x",
                "$-$1",
                "src",
                "(.*)",
                &[("x", "$-source-value-10")],
            ),
            ("unclosed brace", "x", "${1", "src", "(.*)", &[("x", "${1")]),
            (
                "leading zero is a name",
                "x",
                "$01",
                "src",
                "(.*)",
                &[("x", "")],
            ),
            (
                "group zero",
                "x",
                "$0",
                "src",
                "source-(.*)",
                &[("x", "source-value-10")],
            ),
            ("unknown group", "x", "[$9]", "src", "(.*)", &[("x", "[]")]),
            (
                "dot matches newline",
                "x",
                "ok",
                "nl",
                "a.b",
                &[("x", "ok")],
            ),
        ];
        let with_newline = m.builder().set("nl", "a\nb").build();
        for (name, dst, repl, src, re, want) in cases {
            let got = label_replace(&with_newline, dst, repl, src, re).unwrap();
            for (k, v) in *want {
                assert_eq!(got.get(k), *v, "{name}: label {k} of {got}");
            }
            assert_eq!(got.get("src"), "source-value-10", "{name}");
        }
    }

    #[test]
    fn label_replace_reports_whether_it_matched() {
        let m = ls(&[("__name__", "x"), ("a", "1")]);
        let f = LabelReplace::new("__name__", "$1", "__name__", "(.+)").unwrap();
        assert!(f.sets_metric_name());
        // Same labels after the replacement, but it matched: the evaluator
        // must keep the name (name_label_dropping.test).
        assert_eq!(f.apply(&m), Some(m.clone()));
        let g = LabelReplace::new("b", "$1", "a", "2").unwrap();
        assert!(!g.sets_metric_name());
        assert_eq!(g.apply(&m), None);
    }

    #[test]
    fn label_replace_errors() {
        let m = ls(&[("src", "v")]);
        assert_eq!(
            err_text(label_replace(&m, "dst", "value-$1", "src", "(.*")),
            "invalid regular expression in label_replace(): (.*"
        );
        // The parser turns "\xff" into U+FFFD.
        assert_eq!(
            err_text(label_replace(&m, "\u{FFFD}", "", "src", "(.*)")),
            "invalid destination label name in label_replace(): \u{FFFD}"
        );
        assert_eq!(
            err_text(label_replace(&m, "", "", "src", "(.*)")),
            "invalid destination label name in label_replace(): "
        );
        // The regex is checked before the name.
        assert_eq!(
            err_text(label_replace(&m, "", "", "src", "(")),
            "invalid regular expression in label_replace(): ("
        );
        // UTF-8 names are fine in Prometheus 3.
        assert_eq!(
            label_replace(&m, "ä.b", "$1", "src", "(.*)")
                .unwrap()
                .get("ä.b"),
            "v"
        );
    }

    /// Cases from testdata/promql/functions.test ("Tests for label_join")
    /// and name_label_dropping.test.
    #[test]
    fn label_join_table() {
        let m = ls(&[
            ("__name__", "testmetric"),
            ("src", "a"),
            ("src1", "b"),
            ("src2", "c"),
            ("dst", "original-destination-value"),
            ("env", "1"),
        ]);
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        /// Name, dst, separator, sources, label to check, its value.
        type Case<'a> = (&'a str, &'a str, &'a str, Vec<String>, &'a str, &'a str);
        let cases: &[Case] = &[
            (
                "in order",
                "dst",
                "-",
                s(&["src", "src1", "src2"]),
                "dst",
                "a-b-c",
            ),
            (
                "missing is empty",
                "dst",
                "-",
                s(&["src", "src3", "src1"]),
                "dst",
                "a--b",
            ),
            (
                "empty deletes",
                "dst",
                "",
                s(&["e1", "e2", "e3"]),
                "dst",
                "",
            ),
            ("no sources deletes", "dst", ", ", s(&[]), "dst", ""),
            (
                "creates",
                "new",
                ", ",
                s(&["src", "src1", "src2"]),
                "new",
                "a, b, c",
            ),
            (
                "name into label",
                "my_name",
                "_",
                s(&["__name__"]),
                "my_name",
                "testmetric",
            ),
            (
                "into name",
                "__name__",
                "_",
                s(&["__name__", "env"]),
                "__name__",
                "testmetric_1",
            ),
        ];
        for (name, dst, sep, srcs, key, want) in cases {
            let got = label_join(&m, dst, sep, srcs).unwrap();
            assert_eq!(got.get(key), *want, "{name}: {got}");
        }
    }

    #[test]
    fn label_join_errors() {
        let m = ls(&[("a", "1")]);
        let srcs = vec!["a".to_string(), String::new()];
        assert_eq!(
            err_text(label_join(&m, "", ",", &srcs)),
            "invalid source label name in label_join(): "
        );
        assert_eq!(
            err_text(label_join(&m, "", ",", &srcs[..1])),
            "invalid destination label name in label_join(): "
        );
    }
}
