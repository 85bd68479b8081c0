//! Expression rules: binary (precedence climbing), unary, postfix
//! modifiers (`[range]`, `[range:step]`, `offset`, `@`, `anchored`,
//! `smoothed`), and primaries (literals, selectors, calls, aggregations).

use super::check;
use super::duration::{at_modifier, offset_duration, range_duration};
use super::internal::{
    PResult, backtrack, enter, expect, failure, keyword, metric_identifier, punct, unexpected, ws,
};
use super::literal::{label_name, number_or_duration, string_literal};
use super::precedence::{Assoc, POW_PREC, binary_op};
use super::selector::vector_selector;
use crate::ast::{
    AggregateOp, Cardinality, Expr, Fill, MatrixSelector, Subquery, UnaryOp, VectorSelector,
};
use crate::functions;

/// expression := binary_expr(lowest precedence)
pub(crate) fn expression(i: &str) -> PResult<'_, Expr> {
    binary_expr(i, 0)
}

/// Turns a backtrack into a committed "unexpected …<context>" failure.
fn commit<'a, T>(r: PResult<'a, T>, context: &str) -> PResult<'a, T> {
    match r {
        Err(nom::Err::Error(e)) => unexpected(e.input, context),
        r => r,
    }
}

/// binary_expr(p) := unary_expr (binary_op bin_modifiers binary_expr(p'))*
/// for operators of precedence >= p; p' is one more than the operator's
/// precedence for left-associative operators, equal for `^`.
fn binary_expr(i: &str, min_prec: u8) -> PResult<'_, Expr> {
    let start = ws(i);
    let _depth = enter(start)?;
    let (mut i, mut lhs) = unary_expr(start)?;
    while let Ok((after_op, (op, prec, assoc))) = binary_op(i) {
        if prec < min_prec {
            break;
        }
        let (after_mods, mods) = bin_modifiers(after_op)?;
        let next = if assoc == Assoc::Right {
            prec
        } else {
            prec + 1
        };
        let (rest, rhs) = commit(binary_expr(after_mods, next), "")?;
        lhs = check::binary(start, op, lhs, rhs, mods)?;
        i = rest;
    }
    Ok((i, lhs))
}

/// Modifiers written after a binary operator.
#[derive(Debug, Default)]
pub(crate) struct BinModifiers {
    pub return_bool: bool,
    /// `Some(true)` for `on`, `Some(false)` for `ignoring`.
    pub on: Option<bool>,
    pub labels: Vec<String>,
    pub group: Option<(Cardinality, Vec<String>)>,
    pub fill: Fill,
}

/// bin_modifiers := [`bool`] [(`on`|`ignoring`) label_list
///                  [(`group_left`|`group_right`) [label_list]]]
///                  (`fill`|`fill_left`|`fill_right`) `(` number `)`*
fn bin_modifiers(i: &str) -> PResult<'_, BinModifiers> {
    let mut m = BinModifiers::default();
    let mut i = i;
    if let Ok((rest, _)) = keyword("bool")(i) {
        m.return_bool = true;
        i = rest;
    }
    for (kw, on) in [("on", true), ("ignoring", false)] {
        if let Ok((rest, _)) = keyword(kw)(i) {
            let (rest, labels) = label_list(rest)?;
            m.on = Some(on);
            m.labels = labels;
            i = rest;
            break;
        }
    }
    for (kw, card) in [
        ("group_left", Cardinality::ManyToOne),
        ("group_right", Cardinality::OneToMany),
    ] {
        if let Ok((rest, _)) = keyword(kw)(i) {
            if m.on.is_none() {
                return unexpected(ws(i), "");
            }
            let (rest, include) = if ws(rest).starts_with('(') {
                label_list(rest)?
            } else {
                (rest, Vec::new())
            };
            m.group = Some((card, include));
            i = rest;
            break;
        }
    }
    loop {
        let mut matched = false;
        for kw in ["fill", "fill_left", "fill_right"] {
            let Ok((rest, _)) = keyword(kw)(i) else {
                continue;
            };
            if !ws(rest).starts_with('(') {
                continue;
            }
            let (rest, v) = fill_value(rest)?;
            if kw != "fill_right" {
                m.fill.lhs = Some(v);
            }
            if kw != "fill_left" {
                m.fill.rhs = Some(v);
            }
            i = rest;
            matched = true;
        }
        if !matched {
            break;
        }
    }
    Ok((i, m))
}

/// fill_value := `(` [`+`|`-`] number `)`
fn fill_value(i: &str) -> PResult<'_, f64> {
    let (i, _) = expect("(", "")(i)?;
    let at = ws(i);
    let (sign, unsigned) = match at.chars().next() {
        Some('-') => (-1.0, ws(&at[1..])),
        Some('+') => (1.0, ws(&at[1..])),
        _ => (1.0, at),
    };
    let (rest, v) = commit(
        number_or_duration(unsigned),
        " in fill modifier, expected number",
    )?;
    let (rest, _) = expect(")", " in fill modifier, expected \")\"")(rest)?;
    Ok((rest, sign * v.seconds()))
}

/// label_list := `(` [label_name (`,` label_name)* [`,`]] `)`
fn label_list(i: &str) -> PResult<'_, Vec<String>> {
    let (mut i, _) = expect("(", " in grouping opts, expected \"(\"")(i)?;
    let mut labels = Vec::new();
    loop {
        if let Ok((rest, _)) = punct(")")(i) {
            return Ok((rest, labels));
        }
        let (rest, l) = commit(label_name(i), " in grouping opts, expected label")?;
        labels.push(l);
        i = match punct(",")(rest) {
            Ok((rest, _)) => rest,
            Err(_) => {
                let (rest, _) = expect(")", " in grouping opts, expected \",\" or \")\"")(rest)?;
                return Ok((rest, labels));
            }
        };
    }
}

/// unary_expr := (`-`|`+`) binary_expr(^) | postfix_expr. A sign on a
/// number literal folds into it.
fn unary_expr(i: &str) -> PResult<'_, Expr> {
    let start = ws(i);
    let op = match start.chars().next() {
        Some('-') => UnaryOp::Neg,
        Some('+') => UnaryOp::Plus,
        _ => return postfix_expr(start),
    };
    let (rest, operand) = commit(binary_expr(&start[1..], POW_PREC), "")?;
    Ok((rest, check::unary(start, op, operand)?))
}

/// postfix_expr := primary (`[` range `]` | `[` range `:` [step] `]`
///                 | `offset` offset_duration | at_modifier
///                 | `anchored` | `smoothed`)*
fn postfix_expr(i: &str) -> PResult<'_, Expr> {
    let start = ws(i);
    let (mut i, mut e) = primary(start)?;
    loop {
        let at = ws(i);
        if let Some(inside) = at.strip_prefix('[') {
            let (rest, next) = bracket(start, at, inside, e)?;
            (i, e) = (rest, next);
        } else if let Ok((rest, _)) = keyword("offset")(at) {
            let (rest, d) = offset_duration(rest)?;
            e = check::with_offset(at, e, d)?;
            i = rest;
        } else if at.starts_with('@') {
            let (rest, a) = at_modifier(at)?;
            e = check::with_at(at, e, a)?;
            i = rest;
        } else if let (Some(vs), Some((rest, anchored))) =
            (selector_mut(&mut e), extended_modifier(at))
        {
            if vs.anchored || vs.smoothed {
                return failure(
                    at,
                    "anchored and smoothed modifiers may only be used once and not together",
                );
            }
            vs.anchored = anchored;
            vs.smoothed = !anchored;
            i = rest;
        } else {
            return Ok((at, e));
        }
    }
}

/// The selector of an instant or range vector selector.
fn selector_mut(e: &mut Expr) -> Option<&mut VectorSelector> {
    match e {
        Expr::VectorSelector(vs) => Some(vs),
        Expr::MatrixSelector(ms) => Some(&mut ms.selector),
        _ => None,
    }
}

/// `anchored` → `Some((rest, true))`, `smoothed` → `Some((rest, false))`.
fn extended_modifier(i: &str) -> Option<(&str, bool)> {
    if let Ok((rest, _)) = keyword("anchored")(i) {
        return Some((rest, true));
    }
    keyword("smoothed")(i).ok().map(|(rest, _)| (rest, false))
}

/// After `[`: a range selector `range]` or a subquery `range:[step]]`.
fn bracket<'a>(start: &'a str, open: &'a str, inside: &'a str, e: Expr) -> PResult<'a, Expr> {
    let (rest, range) = commit(range_duration(inside), " in subquery or range selector")?;
    if let Ok((rest, _)) = punct("]")(rest) {
        let Expr::VectorSelector(selector) = e else {
            return failure(open, "ranges only allowed for vector selectors");
        };
        if selector.offset.is_some() {
            return failure(open, "no offset modifiers allowed before range");
        }
        if selector.at.is_some() {
            return failure(open, "no @ modifiers allowed before range");
        }
        let ms = MatrixSelector { selector, range };
        return Ok((rest, Expr::MatrixSelector(ms)));
    }
    let (rest, _) = expect(
        ":",
        " in subquery or range selector, expected \"]\" or \":\"",
    )(rest)?;
    let (rest, step) = match punct("]")(rest) {
        Ok((rest, _)) => (rest, None),
        Err(_) => {
            let (rest, step) = commit(range_duration(rest), " in subquery step")?;
            let (rest, _) = expect("]", " in subquery, expected \"]\"")(rest)?;
            (rest, Some(step))
        }
    };
    check::subquery_operand(start, &e)?;
    let sq = Subquery {
        expr: Box::new(e),
        range,
        step,
        offset: None,
        at: None,
    };
    Ok((rest, Expr::Subquery(sq)))
}

/// Closes a parenthesis opened at `open`.
fn close_paren<'a>(i: &'a str, context: &str) -> PResult<'a, ()> {
    let at = ws(i);
    match at.strip_prefix(')') {
        Some(rest) => Ok((rest, ())),
        None if at.is_empty() => failure(at, "unclosed left parenthesis"),
        None => unexpected(at, context),
    }
}

/// primary := `(` expression `)` | string | number | `{`…`}` selector
///          | aggregation | function_call | metric_identifier [`{`…`}`]
fn primary(i: &str) -> PResult<'_, Expr> {
    let start = ws(i);
    if let Some(inner) = start.strip_prefix('(') {
        let (rest, e) = commit(expression(inner), "")?;
        let (rest, _) = close_paren(rest, ", expected \")\"")?;
        return Ok((rest, Expr::Paren(Box::new(e))));
    }
    if start.starts_with(['"', '\'', '`']) {
        let (rest, s) = string_literal(start)?;
        return Ok((rest, Expr::StringLiteral(s)));
    }
    if start.starts_with('{') {
        let (rest, vs) = vector_selector(start, None, start, true)?;
        return Ok((rest, Expr::VectorSelector(vs)));
    }
    if start.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        let (rest, v) = number_or_duration(start)?;
        return Ok((rest, Expr::NumberLiteral(v.seconds())));
    }
    let Ok((rest, word)) = metric_identifier(start) else {
        return backtrack(start);
    };
    let lower = word.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "nan") {
        let (rest, v) = number_or_duration(start)?;
        return Ok((rest, Expr::NumberLiteral(v.seconds())));
    }
    let next = ws(rest);
    if let Some(op) = AggregateOp::from_name(&lower) {
        let grouping_first = keyword("by")(next).is_ok() || keyword("without")(next).is_ok();
        if next.starts_with('(') || grouping_first {
            return aggregate(start, op, rest);
        }
    }
    if next.starts_with('(') {
        return call(start, word, rest);
    }
    let (rest, vs) = vector_selector(start, Some(word), rest, true)?;
    Ok((rest, Expr::VectorSelector(vs)))
}

/// args := `(` [expression (`,` expression)* [`,`]] `)`; each argument with
/// the input where it starts. Argument number `selector_arg` may be a bare
/// `{…}` selector whose matchers all match the empty string (`info()`).
fn args(i: &str, selector_arg: Option<usize>) -> PResult<'_, Vec<(&str, Expr)>> {
    let (mut i, _) = expect("(", "")(i)?;
    let mut out = Vec::new();
    loop {
        if let Ok((rest, _)) = punct(")")(i) {
            return Ok((rest, out));
        }
        let at = ws(i);
        let (rest, e) = if selector_arg == Some(out.len()) && at.starts_with('{') {
            let (rest, vs) = vector_selector(at, None, at, false)?;
            (rest, Expr::VectorSelector(vs))
        } else {
            commit(expression(at), "")?
        };
        out.push((at, e));
        i = match punct(",")(rest) {
            Ok((rest, _)) => rest,
            Err(_) => {
                let (rest, _) = close_paren(rest, " in argument list, expected \",\" or \")\"")?;
                return Ok((rest, out));
            }
        };
    }
}

/// function_call := identifier args
fn call<'a>(start: &'a str, name: &str, rest: &'a str) -> PResult<'a, Expr> {
    let Some(func) = functions::lookup(name) else {
        return failure(start, format!("unknown function with name {name:?}"));
    };
    let selector_arg = (func.id == functions::FuncId::Info).then_some(1);
    let (rest, args) = args(rest, selector_arg)?;
    Ok((rest, check::call(start, func, args)?))
}

/// grouping := (`by`|`without`) label_list; `Some((without, labels))`.
fn grouping(i: &str) -> PResult<'_, Option<(bool, Vec<String>)>> {
    for (kw, without) in [("by", false), ("without", true)] {
        if let Ok((rest, _)) = keyword(kw)(i) {
            let (rest, labels) = label_list(rest)?;
            return Ok((rest, Some((without, labels))));
        }
    }
    Ok((i, None))
}

/// aggregation := aggr_op [grouping] args [grouping] (grouping once)
fn aggregate<'a>(start: &'a str, op: AggregateOp, rest: &'a str) -> PResult<'a, Expr> {
    let (rest, before) = grouping(rest)?;
    let (rest, args) = args(rest, None)?;
    let after_at = ws(rest);
    let (rest, after) = grouping(rest)?;
    if before.is_some() && after.is_some() {
        return unexpected(after_at, "");
    }
    let (without, labels) = before.or(after).unwrap_or((false, Vec::new()));
    Ok((rest, check::aggregate(start, op, args, without, labels)?))
}
