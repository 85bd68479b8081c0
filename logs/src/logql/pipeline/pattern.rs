//! Loki's `pattern` parser: literals and captures (`<name>`, `<_>` to
//! skip). A literal must appear exactly where the pattern puts it; a
//! capture takes everything up to the next literal's first appearance (the
//! last capture, the rest of the line). A line that does not match
//! extracts nothing.
//!
//! The same patterns filter lines (`|> "<_> error <_>"`, `!>`): a line
//! matches when the pattern covers all of it, literals where the pattern
//! puts them and captures (possibly empty) in between.

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// The pattern as written, for printing.
    pub source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    /// `None` for `<_>`.
    Capture(Option<String>),
}

impl Pattern {
    /// A pattern for the `pattern` parser: at least one named capture,
    /// each name once.
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let p = Pattern::parse_filter(text)?;
        if !p.parts.iter().any(|p| matches!(p, Part::Capture(Some(_)))) {
            return Err(format!("pattern {text:?} has no named capture"));
        }
        let mut names = std::collections::HashSet::new();
        for p in &p.parts {
            if let Part::Capture(Some(n)) = p
                && !names.insert(n.as_str())
            {
                return Err(format!("pattern {text:?} captures <{n}> twice"));
            }
        }
        Ok(p)
    }

    /// A pattern for the `|>` and `!>` line filters (captures need no
    /// names).
    pub fn parse_filter(text: &str) -> Result<Pattern, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut lit = String::new();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('<')
                && let Some(end) = after.find('>')
                && is_name(&after[..end])
            {
                if !lit.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut lit)));
                }
                let name = &after[..end];
                if matches!(parts.last(), Some(Part::Capture(_))) {
                    return Err(format!(
                        "pattern {text:?}: consecutive captures <{name}> must be separated by a literal"
                    ));
                }
                parts.push(Part::Capture((name != "_").then(|| name.to_string())));
                rest = &after[end + 1..];
                continue;
            }
            let c = rest.chars().next().unwrap_or_default();
            lit.push(c);
            rest = &rest[c.len_utf8()..];
        }
        if !lit.is_empty() {
            parts.push(Part::Literal(lit));
        }
        Ok(Pattern {
            source: text.to_string(),
            parts,
        })
    }

    /// The literal texts, in order (a line the pattern matches contains
    /// each).
    pub fn literals(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Literal(l) => Some(l.as_str()),
            Part::Capture(_) => None,
        })
    }

    /// Whether the pattern covers all of `line` (the line filters).
    /// Captures match only wildcards here, so each literal at its
    /// leftmost place after the one before decides (the last one, when
    /// the pattern ends with it, at the line's end).
    pub fn matches(&self, line: &str) -> bool {
        let mut pos = 0;
        let last = self.parts.len().saturating_sub(1);
        for (i, part) in self.parts.iter().enumerate() {
            let Part::Literal(l) = part else {
                continue;
            };
            let after_capture = i > 0;
            if i == last {
                let fits = line.len() >= pos + l.len() && line.ends_with(l.as_str());
                return fits && (after_capture || line.len() == l.len());
            }
            if after_capture {
                match line[pos..].find(l.as_str()) {
                    Some(at) => pos += at + l.len(),
                    None => return false,
                }
            } else if line.starts_with(l.as_str()) {
                pos = l.len();
            } else {
                return false;
            }
        }
        true
    }

    /// The captures of `line`, or nothing when it does not match.
    pub fn extract(&self, line: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut rest = line;
        let mut i = 0;
        while i < self.parts.len() {
            match &self.parts[i] {
                Part::Literal(l) => match rest.strip_prefix(l.as_str()) {
                    Some(r) => rest = r,
                    None => return Vec::new(),
                },
                Part::Capture(name) => {
                    let (value, after) = match self.parts.get(i + 1) {
                        Some(Part::Literal(next)) => match rest.find(next.as_str()) {
                            Some(at) => (&rest[..at], &rest[at..]),
                            None => return Vec::new(),
                        },
                        _ => (rest, ""),
                    };
                    if let Some(n) = name {
                        out.push((n.clone(), value.to_string()));
                    }
                    rest = after;
                }
            }
            i += 1;
        }
        out
    }
}

fn is_name(s: &str) -> bool {
    s == "_"
        || (s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let nginx = r#"<ip> - - <_> "<method> <uri> <_>" <status> <size> <_> "<agent>" <_>"#;
        let line = r#"10.1.1.1 - - [24/Jan/2021:13:04:05 +0000] "GET /api/v1 HTTP/1.1" 200 932 "-" "curl/7.68" "-""#;
        let p = Pattern::parse(nginx).unwrap();
        let got = p.extract(line);
        let want: Vec<(String, String)> = [
            ("ip", "10.1.1.1"),
            ("method", "GET"),
            ("uri", "/api/v1"),
            ("status", "200"),
            ("size", "932"),
            ("agent", "curl/7.68"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(got, want);
        let p = Pattern::parse("level=<level> <msg>").unwrap();
        assert_eq!(
            p.extract("level=warn disk full"),
            vec![
                ("level".into(), "warn".into()),
                ("msg".into(), "disk full".into())
            ]
        );
        assert_eq!(
            p.extract("no match here"),
            Vec::<(String, String)>::new(),
            "a literal out of place"
        );
        assert_eq!(
            Pattern::parse("<a> <b>").unwrap().extract("one"),
            Vec::<(String, String)>::new()
        );
        assert_eq!(
            Pattern::parse("a<x>b").unwrap().extract("a<>b"),
            vec![("x".into(), "<>".into())]
        );
        type Case<'a> = (&'a str, &'a str, bool);
        let filters: Vec<Case> = vec![
            ("<_> error <_>", "level=x error in db", true),
            ("<_> error <_>", "error at start", false),
            ("<_> error <_>", "at end error", false),
            ("<_> error<_>", "an error", true),
            ("GET <_>", "GET /x", true),
            ("GET <_>", "POST /x", false),
            ("<_> ms", "took 12 ms", true),
            ("<_> ms", "took 12 ms!", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("a<_>b<_>c", "a-b-b-c", true),
            ("a<_>bc", "abcbc", true),
            ("<_>", "", true),
        ];
        for (pattern, line, want) in filters {
            let p = Pattern::parse_filter(pattern).unwrap();
            assert_eq!(p.matches(line), want, "{pattern:?} on {line:?}");
        }
        for (bad, why) in [
            ("<a><b>", "consecutive"),
            ("just text", "no named capture"),
            ("<_> x", "no named capture"),
            ("<a> <a>", "twice"),
        ] {
            let e = Pattern::parse(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
