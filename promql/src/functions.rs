//! The signature table of every PromQL function (Prometheus 3.14).
//!
//! The parser checks arity and argument types against it; the evaluator
//! looks functions up by name here too, so there is one list of names.

use crate::ast::ValueType;

use ValueType::{Matrix, Scalar, String as Str, Vector};

/// One function's signature.
///
/// Argument `i` has type `arg_types[min(i, arg_types.len() - 1)]`: the last
/// listed type repeats for variadic tails. A call is well-formed when
/// `min_args <= n` and `n <= max_args` (no upper bound when `None`).
#[derive(Debug, PartialEq, Eq)]
pub struct Function {
    pub name: &'static str,
    pub arg_types: &'static [ValueType],
    pub min_args: usize,
    pub max_args: Option<usize>,
    pub return_type: ValueType,
    /// Marked experimental in Prometheus (behind a feature flag there).
    pub experimental: bool,
}

impl Function {
    /// The expected type of argument `i` (0-based). `None` for a function
    /// without arguments.
    pub fn arg_type(&self, i: usize) -> Option<ValueType> {
        let last = self.arg_types.len().checked_sub(1)?;
        Some(self.arg_types[i.min(last)])
    }

    /// Whether the function takes an unbounded or optional argument tail.
    pub fn is_variadic(&self) -> bool {
        self.max_args != Some(self.min_args)
    }
}

const fn f(
    name: &'static str,
    arg_types: &'static [ValueType],
    min_args: usize,
    max_args: Option<usize>,
    return_type: ValueType,
) -> Function {
    Function {
        name,
        arg_types,
        min_args,
        max_args,
        return_type,
        experimental: false,
    }
}

/// A fixed-arity function returning an instant vector.
const fn v(name: &'static str, arg_types: &'static [ValueType]) -> Function {
    f(
        name,
        arg_types,
        arg_types.len(),
        Some(arg_types.len()),
        Vector,
    )
}

const fn exp(mut func: Function) -> Function {
    func.experimental = true;
    func
}

/// Every function, sorted by name (binary-searchable). `start`, `end`,
/// `step`, `range`, `min_of` and `max_of` are the scalar forms of the
/// duration-expression helpers (`step()` in `[step()]` is a
/// [`crate::ast::DurationExpr::Step`], not a call).
pub static FUNCTIONS: &[Function] = &[
    v("abs", &[Vector]),
    v("absent", &[Vector]),
    v("absent_over_time", &[Matrix]),
    v("acos", &[Vector]),
    v("acosh", &[Vector]),
    v("asin", &[Vector]),
    v("asinh", &[Vector]),
    v("atan", &[Vector]),
    v("atanh", &[Vector]),
    v("avg_over_time", &[Matrix]),
    v("ceil", &[Vector]),
    v("changes", &[Matrix]),
    v("clamp", &[Vector, Scalar, Scalar]),
    v("clamp_max", &[Vector, Scalar]),
    v("clamp_min", &[Vector, Scalar]),
    v("cos", &[Vector]),
    v("cosh", &[Vector]),
    v("count_over_time", &[Matrix]),
    f("day_of_month", &[Vector], 0, Some(1), Vector),
    f("day_of_week", &[Vector], 0, Some(1), Vector),
    f("day_of_year", &[Vector], 0, Some(1), Vector),
    f("days_in_month", &[Vector], 0, Some(1), Vector),
    v("deg", &[Vector]),
    v("delta", &[Matrix]),
    v("deriv", &[Matrix]),
    exp(v("double_exponential_smoothing", &[Matrix, Scalar, Scalar])),
    exp(f("end", &[], 0, Some(0), Scalar)),
    v("exp", &[Vector]),
    exp(v("first_over_time", &[Matrix])),
    v("floor", &[Vector]),
    v("histogram_avg", &[Vector]),
    v("histogram_count", &[Vector]),
    v("histogram_fraction", &[Scalar, Scalar, Vector]),
    v("histogram_quantile", &[Scalar, Vector]),
    exp(f(
        "histogram_quantiles",
        &[Vector, Str, Scalar],
        3,
        None,
        Vector,
    )),
    v("histogram_stddev", &[Vector]),
    v("histogram_stdvar", &[Vector]),
    v("histogram_sum", &[Vector]),
    f("hour", &[Vector], 0, Some(1), Vector),
    v("idelta", &[Matrix]),
    v("increase", &[Matrix]),
    exp(f("info", &[Vector, Vector], 1, Some(2), Vector)),
    v("irate", &[Matrix]),
    f("label_join", &[Vector, Str, Str, Str], 3, None, Vector),
    v("label_replace", &[Vector, Str, Str, Str, Str]),
    v("last_over_time", &[Matrix]),
    v("ln", &[Vector]),
    v("log10", &[Vector]),
    v("log2", &[Vector]),
    exp(v("mad_over_time", &[Matrix])),
    exp(f("max_of", &[Scalar, Scalar], 2, Some(2), Scalar)),
    v("max_over_time", &[Matrix]),
    exp(f("min_of", &[Scalar, Scalar], 2, Some(2), Scalar)),
    v("min_over_time", &[Matrix]),
    f("minute", &[Vector], 0, Some(1), Vector),
    f("month", &[Vector], 0, Some(1), Vector),
    f("pi", &[], 0, Some(0), Scalar),
    v("predict_linear", &[Matrix, Scalar]),
    v("present_over_time", &[Matrix]),
    v("quantile_over_time", &[Scalar, Matrix]),
    v("rad", &[Vector]),
    exp(f("range", &[], 0, Some(0), Scalar)),
    v("rate", &[Matrix]),
    v("resets", &[Matrix]),
    f("round", &[Vector, Scalar], 1, Some(2), Vector),
    f("scalar", &[Vector], 1, Some(1), Scalar),
    v("sgn", &[Vector]),
    v("sin", &[Vector]),
    v("sinh", &[Vector]),
    v("sort", &[Vector]),
    exp(f("sort_by_label", &[Vector, Str], 1, None, Vector)),
    exp(f("sort_by_label_desc", &[Vector, Str], 1, None, Vector)),
    v("sort_desc", &[Vector]),
    v("sqrt", &[Vector]),
    exp(f("start", &[], 0, Some(0), Scalar)),
    exp(v("start_timestamp", &[Vector])),
    v("stddev_over_time", &[Matrix]),
    v("stdvar_over_time", &[Matrix]),
    exp(f("step", &[], 0, Some(0), Scalar)),
    v("sum_over_time", &[Matrix]),
    v("tan", &[Vector]),
    v("tanh", &[Vector]),
    f("time", &[], 0, Some(0), Scalar),
    v("timestamp", &[Vector]),
    exp(v("ts_of_first_over_time", &[Matrix])),
    exp(v("ts_of_last_over_time", &[Matrix])),
    exp(v("ts_of_max_over_time", &[Matrix])),
    exp(v("ts_of_min_over_time", &[Matrix])),
    f("vector", &[Scalar], 1, Some(1), Vector),
    f("year", &[Vector], 0, Some(1), Vector),
];

/// Looks a function up by its exact (case-sensitive) name.
pub fn lookup(name: &str) -> Option<&'static Function> {
    FUNCTIONS
        .binary_search_by(|func| func.name.cmp(name))
        .ok()
        .map(|i| &FUNCTIONS[i])
}

/// Functions that accept a range selector with the `anchored` modifier.
pub const ANCHORED_FUNCTIONS: &[&str] = &["changes", "delta", "increase", "rate", "resets"];

/// Functions that accept a range selector with the `smoothed` modifier.
pub const SMOOTHED_FUNCTIONS: &[&str] = &["delta", "increase", "rate"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_consistent() {
        for pair in FUNCTIONS.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} before {}",
                pair[0].name,
                pair[1].name
            );
        }
        for func in FUNCTIONS {
            assert!(
                func.max_args.is_none_or(|m| m >= func.min_args),
                "{}",
                func.name
            );
            assert!(func.min_args <= func.arg_types.len(), "{}", func.name);
        }
    }

    #[test]
    fn lookup_finds_every_function() {
        for func in FUNCTIONS {
            assert_eq!(lookup(func.name).map(|f| f.name), Some(func.name));
        }
        assert!(lookup("holt_winters").is_none());
        assert_eq!(lookup("label_join").and_then(|f| f.arg_type(7)), Some(Str));
        assert_eq!(lookup("time").and_then(|f| f.arg_type(0)), None);
    }
}
