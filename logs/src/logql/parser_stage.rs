//! The stages of a log pipeline after `|`.
//!
//! ```text
//! stage        := `|=` … (line filters, in `parser`)
//!               | `|` (`json` [param (`,` param)*]
//!                     | `logfmt` flag* [param (`,` param)*] | `regexp` string
//!                     | `pattern` string | `unpack`
//!                     | `line_format` string | `label_format` fmt (`,` fmt)*
//!                     | `drop` item (`,` item)* | `keep` item (`,` item)*
//!                     | `decolorize` | label_filter)
//! param        := label [`=` string]              (a JSON path or logfmt key;
//!                                                  the label's own name if left out)
//! flag         := `--strict` | `--keep-empty`
//! fmt          := label `=` (label | string)      (rename | template)
//! item         := label [(`=` | `!=` | `=~` | `!~`) string]
//! label_filter := and (`or` and)*
//! and          := atom ([`and` | `,`] atom)*      (juxtaposition is `and`)
//! atom         := `(` label_filter `)` | label op (string | number | duration | bytes)
//!               | label (`=` | `==` | `!=`) `ip(` string `)`
//! ```

use promql::parser::kit::{
    PResult, failure, identifier, keyword, punct, string_literal, unexpected, ws,
};
use tsdb::model::{MatchOp, Matcher};

use super::ast::{LabelFmt, LineOp, NameOrMatcher, Stage};
use super::parser::{ip_item, starts_ip};
use super::pipeline::ip::IpFilter;
use super::pipeline::label_filter::{CmpOp, LabelFilter, Literal, parse_bytes, parse_go_duration};
use super::pipeline::pattern::Pattern;
use super::pipeline::template::Template;

/// A stage after `|` (already consumed); `i` is what follows it.
pub(super) fn stage(i: &str) -> PResult<'_, Stage> {
    let at = ws(i);
    if at.starts_with('(') {
        return label_filter(at).map(|(r, f)| (r, Stage::Labels(f)));
    }
    let Ok((after, word)) = identifier(at) else {
        return unexpected(
            at,
            " in the pipeline, expected a parser, a formatter or a label filter",
        );
    };
    match word {
        "json" => {
            let (rest, params) = params(after)?;
            Ok((rest, Stage::Json(params)))
        }
        "logfmt" => {
            let (mut rest, mut strict, mut keep_empty) = (after, false, false);
            loop {
                if let Some(r) = ws(rest).strip_prefix("--strict") {
                    (rest, strict) = (r, true);
                } else if let Some(r) = ws(rest).strip_prefix("--keep-empty") {
                    (rest, keep_empty) = (r, true);
                } else {
                    break;
                }
            }
            let (rest, fields) = params(rest)?;
            Ok((
                rest,
                Stage::Logfmt {
                    strict,
                    keep_empty,
                    fields,
                },
            ))
        }
        "decolorize" => Ok((after, Stage::Decolorize)),
        "regexp" => {
            let (rest, p) = string_arg(after)?;
            if let Err(e) = regex::Regex::new(&p) {
                return failure(ws(after), format!("invalid regular expression {p:?}: {e}"));
            }
            Ok((rest, Stage::Regexp(p)))
        }
        "line_format" => {
            let (rest, t) = string_arg(after)?;
            match Template::parse(&t) {
                Ok(t) => Ok((rest, Stage::LineFormat(t))),
                Err(e) => failure(ws(after), format!("line_format: {e}")),
            }
        }
        "label_format" => label_format(after),
        "drop" => items(after).map(|(r, v)| (r, Stage::Drop(v))),
        "keep" => items(after).map(|(r, v)| (r, Stage::Keep(v))),
        "pattern" => {
            let (rest, p) = string_arg(after)?;
            match Pattern::parse(&p) {
                Ok(p) => Ok((rest, Stage::Pattern(p))),
                Err(e) => failure(ws(after), e),
            }
        }
        "unpack" => Ok((after, Stage::Unpack)),
        _ => label_filter(at).map(|(r, f)| (r, Stage::Labels(f))),
    }
}

fn string_arg(i: &str) -> PResult<'_, String> {
    let at = ws(i);
    string_literal(at).or_else(|_| unexpected(at, ", expected a string"))
}

fn label(i: &str) -> PResult<'_, String> {
    let at = ws(i);
    identifier(at)
        .map(|(r, n)| (r, n.to_string()))
        .or_else(|_| unexpected(at, ", expected a label name"))
}

/// Comma-separated items after a keyword, each read by `item`; none when
/// the stage ends at once.
fn list<'a, T>(i: &'a str, item: impl Fn(&'a str) -> PResult<'a, T>) -> PResult<'a, Vec<T>> {
    let mut out = Vec::new();
    let mut i = i;
    loop {
        let (rest, x) = item(i)?;
        out.push(x);
        match punct(",")(rest) {
            Ok((rest, _)) => i = rest,
            Err(_) => return Ok((rest, out)),
        }
    }
}

/// `label="source", other, …` after `json` or `logfmt`: what to extract,
/// under which label; none when the stage ends at once.
fn params(i: &str) -> PResult<'_, Vec<(String, String)>> {
    if identifier(ws(i)).is_err() {
        return Ok((i, Vec::new()));
    }
    list(i, |i| {
        let (rest, name) = label(i)?;
        match punct("=")(rest) {
            Ok((rest, _)) => {
                let (rest, source) = string_arg(rest)?;
                Ok((rest, (name, source)))
            }
            Err(_) => Ok((rest, (name.clone(), name))),
        }
    })
}

fn label_format(i: &str) -> PResult<'_, Stage> {
    list(i, |i| {
        let (rest, dst) = label(i)?;
        let (rest, _) = punct("=")(rest).or_else(|_| unexpected(ws(rest), ", expected \"=\""))?;
        let at = ws(rest);
        if let Ok((rest, t)) = string_literal(at) {
            return match Template::parse(&t) {
                Ok(t) => Ok((
                    rest,
                    LabelFmt {
                        dst,
                        rename: None,
                        template: Some(t),
                    },
                )),
                Err(e) => failure(at, format!("label_format: {e}")),
            };
        }
        let (rest, src) = label(at)?;
        Ok((
            rest,
            LabelFmt {
                dst,
                rename: Some(src),
                template: None,
            },
        ))
    })
    .map(|(r, v)| (r, Stage::LabelFormat(v)))
}

fn match_op(i: &str) -> Option<(&str, MatchOp)> {
    let i = ws(i);
    [
        ("=~", MatchOp::RegexMatch),
        ("!~", MatchOp::RegexNoMatch),
        ("!=", MatchOp::NotEqual),
        ("=", MatchOp::Equal),
    ]
    .into_iter()
    .find_map(|(t, op)| i.strip_prefix(t).map(|r| (r, op)))
}

fn items(i: &str) -> PResult<'_, Vec<NameOrMatcher>> {
    list(i, |i| {
        let (rest, name) = label(i)?;
        let Some((after, op)) = match_op(rest) else {
            return Ok((rest, NameOrMatcher::Name(name)));
        };
        let at = ws(after);
        let (rest, v) = string_literal(at).or_else(|_| unexpected(at, ", expected a string"))?;
        match Matcher::new(op, name, v) {
            Ok(m) => Ok((rest, NameOrMatcher::Matcher(m))),
            Err(e) => failure(at, e.to_string()),
        }
    })
}

pub(super) fn label_filter(i: &str) -> PResult<'_, LabelFilter> {
    let (mut i, mut lhs) = and_filter(i)?;
    while let Ok((rest, _)) = keyword("or")(i) {
        let (rest, rhs) = and_filter(rest)?;
        lhs = LabelFilter::Or(Box::new(lhs), Box::new(rhs));
        i = rest;
    }
    Ok((i, lhs))
}

fn and_filter(i: &str) -> PResult<'_, LabelFilter> {
    let (mut i, mut lhs) = atom(i)?;
    loop {
        let next = if let Ok((rest, _)) = keyword("and")(i) {
            rest
        } else if let Ok((rest, _)) = punct(",")(i) {
            rest
        } else if starts_atom(i) {
            i
        } else {
            return Ok((i, lhs));
        };
        let (rest, rhs) = atom(next)?;
        lhs = LabelFilter::And(Box::new(lhs), Box::new(rhs));
        i = rest;
    }
}

/// Whether an atom follows (juxtaposed filters mean `and`).
fn starts_atom(i: &str) -> bool {
    let at = ws(i);
    if at.starts_with('(') {
        return true;
    }
    match identifier(at) {
        Ok((rest, word)) => {
            word != "or" && word != "and" && (match_op(rest).is_some() || cmp_op(rest).is_some())
        }
        Err(_) => false,
    }
}

fn cmp_op(i: &str) -> Option<(&str, CmpOp)> {
    let i = ws(i);
    CmpOp::TOKENS
        .into_iter()
        .find_map(|(t, op)| i.strip_prefix(t).map(|r| (r, op)))
}

fn atom(i: &str) -> PResult<'_, LabelFilter> {
    let at = ws(i);
    if let Ok((rest, _)) = punct("(")(at) {
        let (rest, f) = label_filter(rest)?;
        let (rest, _) = punct(")")(rest).or_else(|_| unexpected(ws(rest), ", expected \")\""))?;
        return Ok((rest, LabelFilter::Paren(Box::new(f))));
    }
    let (rest, name) = label(at)?;
    let value_at = ws(rest);
    // `addr = ip("10.0.0.0/8")`, `!=`.
    let ip_op = [("!=", true), ("==", false), ("=", false)]
        .into_iter()
        .find_map(|(tok, negate)| value_at.strip_prefix(tok).map(|r| (r, negate)))
        .filter(|(r, _)| starts_ip(r));
    if let Some((after, negate)) = ip_op {
        let (rest, set) = ip_item(after, LineOp::ContainsIp)?;
        return match IpFilter::parse(&set) {
            Ok(set) => Ok((rest, LabelFilter::Ip { name, negate, set })),
            Err(e) => failure(ws(after), e),
        };
    }
    // A string value: a label matcher.
    if let Some((after, op)) = match_op(rest).or_else(|| {
        let r = ws(rest).strip_prefix("==")?;
        Some((r, MatchOp::Equal))
    }) && let Ok((after_str, v)) = string_literal(ws(after))
    {
        return match Matcher::new(op, name, v) {
            Ok(m) => Ok((after_str, LabelFilter::Matcher(m))),
            Err(e) => failure(ws(after), e.to_string()),
        };
    }
    let Some((after, op)) = cmp_op(rest) else {
        return unexpected(value_at, " in label filter, expected a comparison operator");
    };
    let v_at = ws(after);
    if matches!(op, CmpOp::Eq | CmpOp::Ne) && v_at.starts_with(['~']) {
        return unexpected(v_at, " in label filter, expected a string");
    }
    let end = v_at
        .find(|c: char| {
            !(c.is_ascii_alphanumeric() || c == '.' || c == 'µ' || c == '-' || c == '+')
        })
        .unwrap_or(v_at.len());
    let token = &v_at[..end];
    let value = if let Ok(n) = token.parse::<f64>() {
        Literal::Number(n)
    } else if let Some(seconds) = parse_go_duration(token) {
        Literal::Duration {
            seconds,
            text: token.to_string(),
        }
    } else if let Some(bytes) = parse_bytes(token) {
        Literal::Bytes {
            bytes,
            text: token.to_string(),
        }
    } else {
        return unexpected(
            v_at,
            " in label filter, expected a string, number, duration or byte size",
        );
    };
    Ok((&v_at[end..], LabelFilter::Compare { name, op, value }))
}
