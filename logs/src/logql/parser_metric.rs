//! The metric half of the LogQL grammar, by precedence climbing.
//!
//! ```text
//! metric    := unary (binop [`bool`] [(`on` | `ignoring`) labels
//!              [(`group_left` | `group_right`) [labels]]] unary)*
//! unary     := [`-`] primary
//! primary   := `(` metric `)` | number | `vector` `(` number `)`
//!            | range_op `(` [number `,`] log_expr [unwrap] `[` duration `]`
//!              [`offset` duration] `)` [grouping]
//!            | agg_op [grouping] `(` [number `,`] metric `)` [grouping]
//!            | `label_replace` `(` metric (`,` string){4} `)`
//! unwrap    := `|` `unwrap` (label | conv `(` label `)`) (`|` label_filter)*
//! grouping  := (`by` | `without`) labels
//! labels    := `(` [label (`,` label)*] `)`
//! ```

use promql::parser::kit::{
    PResult, backtrack, duration_literal, expect, failure, identifier, keyword, label_name, number,
    punct, string_literal, unexpected, ws,
};

use super::ast::Stage;
use super::metric::{
    AggOp, Aggregate, BinOp, Binary, Conv, Grouping, Matching, MetricExpr, RangeAgg, RangeOp,
    Unwrap,
};
use super::parser::log_expr;
use super::parser_stage;

/// A metric query starting at `i` (after whitespace).
pub(super) fn metric(i: &str) -> PResult<'_, MetricExpr> {
    climb(i, 1)
}

fn climb(i: &str, min: u8) -> PResult<'_, MetricExpr> {
    let (mut i, mut lhs) = unary(i)?;
    loop {
        let Some((rest, op)) = binop(i) else {
            return Ok((i, lhs));
        };
        let prec = op.precedence();
        if prec < min {
            return Ok((i, lhs));
        }
        let (rest, return_bool) = match keyword("bool")(rest) {
            Ok((rest, _)) if op.is_comparison() => (rest, true),
            Ok(_) => {
                return failure(
                    ws(rest),
                    "bool modifier can only be used on comparison operators",
                );
            }
            Err(_) => (rest, false),
        };
        let (rest, matching) = matching(rest)?;
        // `^` is right-associative; the others bind left.
        let next = if op == BinOp::Pow { prec } else { prec + 1 };
        let (rest, rhs) = climb(rest, next)?;
        lhs = MetricExpr::Binary(Box::new(Binary {
            op,
            lhs,
            rhs,
            return_bool,
            matching,
        }));
        i = rest;
    }
}

fn binop(i: &str) -> Option<(&str, BinOp)> {
    let at = ws(i);
    BinOp::TOKENS.iter().find_map(|(tok, op)| {
        let rest = at.strip_prefix(tok)?;
        // Word operators end at a word boundary.
        let word = tok.starts_with(|c: char| c.is_ascii_alphabetic());
        (!word || !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
            .then_some((rest, *op))
    })
}

fn matching(i: &str) -> PResult<'_, Option<Matching>> {
    for (kw, ignoring) in [("on", false), ("ignoring", true)] {
        if let Ok((rest, _)) = keyword(kw)(i) {
            let (mut rest, labels) = label_list(rest)?;
            let mut group = None;
            for (kw, left) in [("group_left", true), ("group_right", false)] {
                if let Ok((r, _)) = keyword(kw)(rest) {
                    let (r, include) = if ws(r).starts_with('(') {
                        label_list(r)?
                    } else {
                        (r, Vec::new())
                    };
                    group = Some((left, include));
                    rest = r;
                    break;
                }
            }
            return Ok((
                rest,
                Some(Matching {
                    ignoring,
                    labels,
                    group,
                }),
            ));
        }
    }
    Ok((i, None))
}

fn label_list(i: &str) -> PResult<'_, Vec<String>> {
    let (mut i, _) = expect("(", ", expected \"(\"")(i)?;
    let mut labels = Vec::new();
    loop {
        if let Ok((rest, _)) = punct(")")(i) {
            return Ok((rest, labels));
        }
        let (rest, l) = label_name(i)?;
        labels.push(l);
        i = match punct(",")(rest) {
            Ok((rest, _)) => rest,
            Err(_) => {
                let (rest, _) = expect(")", " in grouping, expected \",\" or \")\"")(rest)?;
                return Ok((rest, labels));
            }
        };
    }
}

fn unary(i: &str) -> PResult<'_, MetricExpr> {
    if let Ok((rest, _)) = punct("-")(i) {
        let (rest, e) = unary(rest)?;
        return Ok((
            rest,
            match e {
                MetricExpr::Number(n) => MetricExpr::Number(-n),
                other => MetricExpr::Binary(Box::new(Binary {
                    op: BinOp::Mul,
                    lhs: MetricExpr::Number(-1.0),
                    rhs: other,
                    return_bool: false,
                    matching: None,
                })),
            },
        ));
    }
    primary(i)
}

fn primary(i: &str) -> PResult<'_, MetricExpr> {
    let at = ws(i);
    if let Ok((rest, _)) = punct("(")(at) {
        let (rest, e) = metric(rest)?;
        let (rest, _) = expect(")", ", expected \")\"")(rest)?;
        return Ok((rest, MetricExpr::Paren(Box::new(e))));
    }
    if let Ok((rest, n)) = number(at) {
        return Ok((rest, MetricExpr::Number(n)));
    }
    let Ok((after, word)) = identifier(at) else {
        return unexpected(at, ", expected a stream selector or a metric query");
    };
    if word == "vector" {
        let (rest, _) = expect("(", ", expected \"(\"")(after)?;
        let (rest, n) =
            number(ws(rest)).or_else(|_| unexpected(ws(rest), ", expected a number"))?;
        let (rest, _) = expect(")", ", expected \")\"")(rest)?;
        return Ok((rest, MetricExpr::Vector(n)));
    }
    if word == "label_replace" {
        let (mut rest, _) = expect("(", ", expected \"(\"")(after)?;
        let (r, e) = metric(rest)?;
        rest = r;
        let mut args: [String; 4] = Default::default();
        for a in &mut args {
            let (r, _) = expect(",", ", expected \",\"")(rest)?;
            let at = ws(r);
            let (r, s) = string_literal(at).or_else(|_| unexpected(at, ", expected a string"))?;
            *a = s;
            rest = r;
        }
        if let Err(e) = regex::Regex::new(&args[3]) {
            return failure(
                ws(after),
                format!(
                    "label_replace: invalid regular expression {:?}: {e}",
                    args[3]
                ),
            );
        }
        let (rest, _) = expect(")", ", expected \")\"")(rest)?;
        return Ok((rest, MetricExpr::LabelReplace(Box::new(e), args)));
    }
    if let Some(op) = RangeOp::ALL.into_iter().find(|o| o.name() == word) {
        return range_agg(after, op);
    }
    if let Some(op) = AggOp::ALL.into_iter().find(|o| o.name() == word) {
        return aggregate(after, op);
    }
    unexpected(at, ", expected a stream selector or a metric query")
}

fn range_agg(i: &str, op: RangeOp) -> PResult<'_, MetricExpr> {
    let (rest, _) = expect("(", ", expected \"(\"")(i)?;
    let (rest, param) = if op == RangeOp::QuantileOverTime {
        let at = ws(rest);
        let (rest, q) = number(at).or_else(|_| unexpected(at, ", expected a quantile"))?;
        let (rest, _) = expect(",", ", expected \",\"")(rest)?;
        (rest, Some(q))
    } else {
        (rest, None)
    };
    let log_at = ws(rest);
    let (rest, log) = log_expr(rest)?;
    let (rest, unwrap) = unwrap(rest)?;
    match (op.unwrapped(), &unwrap) {
        (Some(true), None) => {
            return failure(
                log_at,
                format!(
                    "{} needs an unwrapped label: add | unwrap <label>",
                    op.name()
                ),
            );
        }
        (Some(false), Some(_)) => {
            return failure(
                log_at,
                format!("{} counts log lines: it takes no unwrap", op.name()),
            );
        }
        _ => {}
    }
    let (rest, _) = expect("[", ", expected a range such as [5m]")(rest)?;
    let at = ws(rest);
    let (rest, range) =
        duration_literal(at).or_else(|_| unexpected(at, ", expected a duration"))?;
    if range <= 0 {
        return failure(at, "the range must be positive");
    }
    let (rest, _) = expect("]", ", expected \"]\"")(rest)?;
    let (rest, offset) = match keyword("offset")(rest) {
        Ok((rest, _)) => {
            let at = ws(rest);
            duration_literal(at).or_else(|_| unexpected(at, ", expected a duration"))?
        }
        Err(_) => (rest, 0),
    };
    let (rest, _) = expect(")", ", expected \")\"")(rest)?;
    let group_at = ws(rest);
    let (rest, grouping) = grouping(rest)?;
    if grouping.is_some() && unwrap.is_none() {
        return failure(
            group_at,
            format!(
                "grouping is not allowed for {}: group with an aggregation such as sum by (…)",
                op.name()
            ),
        );
    }
    Ok((
        rest,
        MetricExpr::Range(RangeAgg {
            op,
            log,
            unwrap,
            param,
            range,
            offset,
            grouping,
        }),
    ))
}

/// `| unwrap [duration|duration_seconds|bytes(]label[)]` and the label
/// filters after it.
fn unwrap(i: &str) -> PResult<'_, Option<Unwrap>> {
    let Ok((rest, _)) = punct("|")(i) else {
        return Ok((i, None));
    };
    let Ok((rest, _)) = keyword("unwrap")(rest) else {
        return Ok((i, None));
    };
    let at = ws(rest);
    let (after, word) = identifier(at).or_else(|_| unexpected(at, ", expected a label"))?;
    let (mut rest, label, conv) = match punct("(")(after) {
        Ok((inner, _)) => {
            let conv = match word {
                "duration" | "duration_seconds" => Conv::Duration,
                "bytes" => Conv::Bytes,
                other => {
                    return failure(
                        at,
                        format!(
                            "unknown unwrap conversion {other:?} (duration, duration_seconds, bytes)"
                        ),
                    );
                }
            };
            let (r, l) = label_name(inner)?;
            let (r, _) = expect(")", ", expected \")\"")(r)?;
            (r, l, conv)
        }
        Err(_) => (after, word.to_string(), Conv::Number),
    };
    let mut post = Vec::new();
    while let Ok((r, _)) = punct("|")(rest) {
        if ws(r).starts_with(['=', '~']) {
            break;
        }
        let (r, f) = parser_stage::label_filter(r)?;
        post.push(Stage::Labels(f));
        rest = r;
    }
    Ok((rest, Some(Unwrap { label, conv, post })))
}

fn grouping(i: &str) -> PResult<'_, Option<Grouping>> {
    for (kw, without) in [("by", false), ("without", true)] {
        if let Ok((rest, _)) = keyword(kw)(i) {
            let (rest, labels) = label_list(rest)?;
            return Ok((rest, Some(Grouping { without, labels })));
        }
    }
    Ok((i, None))
}

fn aggregate(i: &str, op: AggOp) -> PResult<'_, MetricExpr> {
    let (rest, before) = if op.is_sort() {
        (i, None)
    } else {
        grouping(i)?
    };
    let (rest, _) = expect("(", ", expected \"(\"")(rest)?;
    let (rest, param) = if op.takes_param() {
        let at = ws(rest);
        let (rest, k) = number(at).or_else(|_| unexpected(at, ", expected a number"))?;
        let (rest, _) = expect(",", ", expected \",\"")(rest)?;
        (rest, Some(k))
    } else {
        (rest, None)
    };
    let (rest, expr) = metric(rest)?;
    let (rest, _) = expect(")", ", expected \")\"")(rest)?;
    let (rest, after) = if op.is_sort() {
        (rest, None)
    } else {
        grouping(rest)?
    };
    if before.is_some() && after.is_some() {
        return backtrack(rest);
    }
    Ok((
        rest,
        MetricExpr::Aggregate(Aggregate {
            op,
            param,
            grouping: before.or(after),
            expr: Box::new(expr),
        }),
    ))
}
