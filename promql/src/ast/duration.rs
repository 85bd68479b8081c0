//! Durations that may be expressions (`[5m*2]`, `offset step()`), resolved
//! at evaluation time once the query's step and range are known.

/// A duration as written in a range, subquery step or offset.
///
/// A lone literal (`5m`, or a plain number of seconds such as `[10]`) is
/// always [`DurationExpr::Duration`]; plain numbers only stay numbers inside a
/// composite expression (`60` in `[60*30]`). `Paren` nodes are kept so that
/// `Display` reproduces the written grouping.
#[derive(Debug, Clone, PartialEq)]
pub enum DurationExpr {
    /// A literal duration in milliseconds (negative only for offsets).
    Duration(i64),
    /// A plain number of seconds inside a composite duration expression.
    Number(f64),
    /// `step()`: the query's resolution step (0 for an instant query).
    Step,
    /// `range()`: the query's `end - start` (0 for an instant query).
    Range,
    /// `-d` or `+d` applied to a non-literal.
    Unary {
        neg: bool,
        expr: Box<DurationExpr>,
    },
    Binary {
        op: DurationOp,
        lhs: Box<DurationExpr>,
        rhs: Box<DurationExpr>,
    },
    /// `min_of(a, b)`.
    MinOf(Box<DurationExpr>, Box<DurationExpr>),
    /// `max_of(a, b)`.
    MaxOf(Box<DurationExpr>, Box<DurationExpr>),
    Paren(Box<DurationExpr>),
}

/// Arithmetic allowed inside duration expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DurationOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

impl DurationOp {
    pub fn as_str(self) -> &'static str {
        match self {
            DurationOp::Add => "+",
            DurationOp::Sub => "-",
            DurationOp::Mul => "*",
            DurationOp::Div => "/",
            DurationOp::Mod => "%",
            DurationOp::Pow => "^",
        }
    }
}

impl DurationExpr {
    /// The value in seconds, given the query's step and range in seconds.
    /// Pure float arithmetic: the caller rejects NaN, infinities and values
    /// out of range (Prometheus: "duration out of range").
    pub fn eval_seconds(&self, step: f64, range: f64) -> f64 {
        match self {
            DurationExpr::Duration(ms) => *ms as f64 / 1000.0,
            DurationExpr::Number(n) => *n,
            DurationExpr::Step => step,
            DurationExpr::Range => range,
            DurationExpr::Unary { neg, expr } => {
                let v = expr.eval_seconds(step, range);
                if *neg { -v } else { v }
            }
            DurationExpr::Binary { op, lhs, rhs } => {
                let (a, b) = (lhs.eval_seconds(step, range), rhs.eval_seconds(step, range));
                match op {
                    DurationOp::Add => a + b,
                    DurationOp::Sub => a - b,
                    DurationOp::Mul => a * b,
                    DurationOp::Div => a / b,
                    DurationOp::Mod => a % b,
                    DurationOp::Pow => a.powf(b),
                }
            }
            DurationExpr::MinOf(a, b) => {
                a.eval_seconds(step, range).min(b.eval_seconds(step, range))
            }
            DurationExpr::MaxOf(a, b) => {
                a.eval_seconds(step, range).max(b.eval_seconds(step, range))
            }
            DurationExpr::Paren(e) => e.eval_seconds(step, range),
        }
    }

    /// The value in milliseconds if it does not depend on `step()` or
    /// `range()` and is finite; `None` otherwise.
    pub fn constant_millis(&self) -> Option<i64> {
        if let DurationExpr::Duration(ms) = self {
            return Some(*ms);
        }
        if !self.is_constant() {
            return None;
        }
        let ms = (self.eval_seconds(0.0, 0.0) * 1000.0).round();
        (ms.is_finite() && ms.abs() < i64::MAX as f64).then_some(ms as i64)
    }

    /// Whether the value is known without the query's step and range.
    pub fn is_constant(&self) -> bool {
        match self {
            DurationExpr::Duration(_) | DurationExpr::Number(_) => true,
            DurationExpr::Step | DurationExpr::Range => false,
            DurationExpr::Unary { expr, .. } | DurationExpr::Paren(expr) => expr.is_constant(),
            DurationExpr::Binary { lhs, rhs, .. }
            | DurationExpr::MinOf(lhs, rhs)
            | DurationExpr::MaxOf(lhs, rhs) => lhs.is_constant() && rhs.is_constant(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_with_step_and_range() {
        let e = DurationExpr::Binary {
            op: DurationOp::Add,
            lhs: Box::new(DurationExpr::Step),
            rhs: Box::new(DurationExpr::Duration(1)),
        };
        assert_eq!(e.eval_seconds(10.0, 0.0), 10.001);
        assert_eq!(e.constant_millis(), None);
        let m = DurationExpr::MinOf(
            Box::new(DurationExpr::Range),
            Box::new(DurationExpr::Number(8.0)),
        );
        assert_eq!(m.eval_seconds(5.0, 10.0), 8.0);
        let c = DurationExpr::Binary {
            op: DurationOp::Mul,
            lhs: Box::new(DurationExpr::Number(60.0)),
            rhs: Box::new(DurationExpr::Number(30.0)),
        };
        assert_eq!(c.constant_millis(), Some(1_800_000));
    }
}
