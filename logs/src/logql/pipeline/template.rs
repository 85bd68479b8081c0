//! The templates of `line_format` and `label_format`: a subset of Go's
//! `text/template` as Loki uses it — text, `{{ .label }}`,
//! `{{ __line__ }}`, `{{ __timestamp__ }}`, and the functions `ToUpper`,
//! `ToLower`, `TrimSpace` (and their aliases `upper`, `lower`, `trim`),
//! called (`{{ ToUpper .a }}`) or piped (`{{ .a | lower }}`). Anything
//! else is refused when the query is parsed, naming the action.

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The source, for printing.
    pub source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Action { value: Source, funcs: Vec<Func> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Label(String),
    Line,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Upper,
    Lower,
    TrimSpace,
}

fn func(name: &str) -> Option<Func> {
    match name {
        "ToUpper" | "upper" => Some(Func::Upper),
        "ToLower" | "lower" => Some(Func::Lower),
        "TrimSpace" | "trim" => Some(Func::TrimSpace),
        _ => None,
    }
}

fn source(word: &str) -> Option<Source> {
    match word {
        "__line__" => Some(Source::Line),
        "__timestamp__" => Some(Source::Timestamp),
        w => w
            .strip_prefix('.')
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .map(|n| Source::Label(n.to_string())),
    }
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| format!("template {source:?}: unclosed action"))?;
            parts.push(action(
                after[..close].trim_matches(|c: char| c == '-' || c.is_whitespace()),
            )?);
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template {
            source: source.to_string(),
            parts,
        })
    }

    /// The template applied: `label` reads a label (empty when absent).
    pub fn render(&self, label: &dyn Fn(&str) -> String, line: &str, ts_ns: i64) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Action { value, funcs } => {
                    let mut v = match value {
                        Source::Label(n) => label(n),
                        Source::Line => line.to_string(),
                        Source::Timestamp => {
                            promql::syntax::format_rfc3339(ts_ns.div_euclid(1_000_000))
                        }
                    };
                    for f in funcs {
                        v = match f {
                            Func::Upper => v.to_uppercase(),
                            Func::Lower => v.to_lowercase(),
                            Func::TrimSpace => v.trim().to_string(),
                        };
                    }
                    out.push_str(&v);
                }
            }
        }
        out
    }
}

/// One action: `value (| func)*` or `func value`.
fn action(text: &str) -> Result<Part, String> {
    let unsupported = || {
        format!(
            "template action {{{{ {text} }}}} is not supported (labels, __line__, __timestamp__, ToUpper, ToLower, TrimSpace)"
        )
    };
    let mut stages = text.split('|').map(str::trim);
    let head: Vec<&str> = stages.next().unwrap_or("").split_whitespace().collect();
    let (value, mut funcs) = match head.as_slice() {
        [v] => (source(v).ok_or_else(unsupported)?, Vec::new()),
        [f, v] => (
            source(v).ok_or_else(unsupported)?,
            vec![func(f).ok_or_else(unsupported)?],
        ),
        _ => return Err(unsupported()),
    };
    for s in stages {
        funcs.push(func(s).ok_or_else(unsupported)?);
    }
    Ok(Part::Action { value, funcs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let label = |n: &str| match n {
            "status" => "500".to_string(),
            "path" => " /API ".to_string(),
            _ => String::new(),
        };
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("{{.status}} {{ .path }}", Ok("500  /API ")),
            ("{{ .path | lower | TrimSpace }}!", Ok("/api!")),
            ("{{ ToUpper __line__ }}", Ok("GET X")),
            ("{{- .missing -}}x", Ok("x")),
            ("plain", Ok("plain")),
            ("{{ __timestamp__ }}", Ok("1970-01-01T00:00:01.500Z")),
            ("{{ printf \"%s\" .a }}", Err("not supported")),
            ("{{ .a", Err("unclosed")),
        ];
        for (src, want) in cases {
            match (Template::parse(src), want) {
                (Ok(t), Ok(w)) => assert_eq!(t.render(&label, "get x", 1_500_000_000), *w, "{src}"),
                (Err(e), Err(w)) => assert!(e.contains(w), "{src}: {e}"),
                (g, w) => panic!("{src}: got {g:?}, want {w:?}"),
            }
        }
    }
}
