//! The signature table of every PromQL function (Prometheus 3.14).
//!
//! The parser looks names up here and checks arity and argument types; a
//! parsed call carries its [`FuncId`], which the evaluator and the other
//! passes over the tree match on. This is the one list of names.

use crate::ast::ValueType;

use ValueType::{Matrix, Scalar, String as Str, Vector};

/// One function's signature.
///
/// Argument `i` has type `arg_types[min(i, arg_types.len() - 1)]`: the last
/// listed type repeats for variadic tails. A call is well-formed when
/// `min_args <= n` and `n <= max_args` (no upper bound when `None`).
#[derive(Debug, PartialEq, Eq)]
pub struct Function {
    pub id: FuncId,
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
        // Set by the table (`with_id`).
        id: FuncId::Abs,
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

impl Function {
    const fn with_id(mut self, id: FuncId) -> Function {
        self.id = id;
        self
    }
}

impl FuncId {
    /// The function's signature.
    pub fn function(self) -> &'static Function {
        &FUNCTIONS[self as usize]
    }

    /// The function's PromQL name.
    pub fn name(self) -> &'static str {
        self.function().name
    }
}

macro_rules! functions {
    ($($id:ident => $sig:expr,)*) => {
        /// Every PromQL function. Dispatch matches on it exhaustively, so
        /// a new function does not compile until every place handles it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum FuncId {
            $($id,)*
        }

        /// Every function, sorted by name (binary-searchable), in
        /// [`FuncId`] order. `start`, `end`, `step`, `range`, `min_of` and
        /// `max_of` are the scalar forms of the duration-expression helpers
        /// (`step()` in `[step()]` is a
        /// [`crate::ast::DurationExpr::Step`], not a call).
        pub static FUNCTIONS: &[Function] = &[$($sig.with_id(FuncId::$id),)*];
    };
}

functions! {
    Abs => v("abs", &[Vector]),
    Absent => v("absent", &[Vector]),
    AbsentOverTime => v("absent_over_time", &[Matrix]),
    Acos => v("acos", &[Vector]),
    Acosh => v("acosh", &[Vector]),
    Asin => v("asin", &[Vector]),
    Asinh => v("asinh", &[Vector]),
    Atan => v("atan", &[Vector]),
    Atanh => v("atanh", &[Vector]),
    AvgOverTime => v("avg_over_time", &[Matrix]),
    Ceil => v("ceil", &[Vector]),
    Changes => v("changes", &[Matrix]),
    Clamp => v("clamp", &[Vector, Scalar, Scalar]),
    ClampMax => v("clamp_max", &[Vector, Scalar]),
    ClampMin => v("clamp_min", &[Vector, Scalar]),
    Cos => v("cos", &[Vector]),
    Cosh => v("cosh", &[Vector]),
    CountOverTime => v("count_over_time", &[Matrix]),
    DayOfMonth => f("day_of_month", &[Vector], 0, Some(1), Vector),
    DayOfWeek => f("day_of_week", &[Vector], 0, Some(1), Vector),
    DayOfYear => f("day_of_year", &[Vector], 0, Some(1), Vector),
    DaysInMonth => f("days_in_month", &[Vector], 0, Some(1), Vector),
    Deg => v("deg", &[Vector]),
    Delta => v("delta", &[Matrix]),
    Deriv => v("deriv", &[Matrix]),
    DoubleExponentialSmoothing => exp(v("double_exponential_smoothing", &[Matrix, Scalar, Scalar])),
    End => exp(f("end", &[], 0, Some(0), Scalar)),
    Exp => v("exp", &[Vector]),
    FirstOverTime => exp(v("first_over_time", &[Matrix])),
    Floor => v("floor", &[Vector]),
    HistogramAvg => v("histogram_avg", &[Vector]),
    HistogramCount => v("histogram_count", &[Vector]),
    HistogramFraction => v("histogram_fraction", &[Scalar, Scalar, Vector]),
    HistogramQuantile => v("histogram_quantile", &[Scalar, Vector]),
    HistogramQuantiles => exp(f("histogram_quantiles", &[Vector, Str, Scalar], 3, None, Vector)),
    HistogramStddev => v("histogram_stddev", &[Vector]),
    HistogramStdvar => v("histogram_stdvar", &[Vector]),
    HistogramSum => v("histogram_sum", &[Vector]),
    Hour => f("hour", &[Vector], 0, Some(1), Vector),
    Idelta => v("idelta", &[Matrix]),
    Increase => v("increase", &[Matrix]),
    Info => exp(f("info", &[Vector, Vector], 1, Some(2), Vector)),
    Irate => v("irate", &[Matrix]),
    LabelJoin => f("label_join", &[Vector, Str, Str, Str], 3, None, Vector),
    LabelReplace => v("label_replace", &[Vector, Str, Str, Str, Str]),
    LastOverTime => v("last_over_time", &[Matrix]),
    Ln => v("ln", &[Vector]),
    Log10 => v("log10", &[Vector]),
    Log2 => v("log2", &[Vector]),
    MadOverTime => exp(v("mad_over_time", &[Matrix])),
    MaxOf => exp(f("max_of", &[Scalar, Scalar], 2, Some(2), Scalar)),
    MaxOverTime => v("max_over_time", &[Matrix]),
    MinOf => exp(f("min_of", &[Scalar, Scalar], 2, Some(2), Scalar)),
    MinOverTime => v("min_over_time", &[Matrix]),
    Minute => f("minute", &[Vector], 0, Some(1), Vector),
    Month => f("month", &[Vector], 0, Some(1), Vector),
    Pi => f("pi", &[], 0, Some(0), Scalar),
    PredictLinear => v("predict_linear", &[Matrix, Scalar]),
    PresentOverTime => v("present_over_time", &[Matrix]),
    QuantileOverTime => v("quantile_over_time", &[Scalar, Matrix]),
    Rad => v("rad", &[Vector]),
    Range => exp(f("range", &[], 0, Some(0), Scalar)),
    Rate => v("rate", &[Matrix]),
    Resets => v("resets", &[Matrix]),
    Round => f("round", &[Vector, Scalar], 1, Some(2), Vector),
    Scalar => f("scalar", &[Vector], 1, Some(1), Scalar),
    Sgn => v("sgn", &[Vector]),
    Sin => v("sin", &[Vector]),
    Sinh => v("sinh", &[Vector]),
    Sort => v("sort", &[Vector]),
    SortByLabel => exp(f("sort_by_label", &[Vector, Str], 1, None, Vector)),
    SortByLabelDesc => exp(f("sort_by_label_desc", &[Vector, Str], 1, None, Vector)),
    SortDesc => v("sort_desc", &[Vector]),
    Sqrt => v("sqrt", &[Vector]),
    Start => exp(f("start", &[], 0, Some(0), Scalar)),
    StartTimestamp => exp(v("start_timestamp", &[Vector])),
    StddevOverTime => v("stddev_over_time", &[Matrix]),
    StdvarOverTime => v("stdvar_over_time", &[Matrix]),
    Step => exp(f("step", &[], 0, Some(0), Scalar)),
    SumOverTime => v("sum_over_time", &[Matrix]),
    Tan => v("tan", &[Vector]),
    Tanh => v("tanh", &[Vector]),
    Time => f("time", &[], 0, Some(0), Scalar),
    Timestamp => v("timestamp", &[Vector]),
    TsOfFirstOverTime => exp(v("ts_of_first_over_time", &[Matrix])),
    TsOfLastOverTime => exp(v("ts_of_last_over_time", &[Matrix])),
    TsOfMaxOverTime => exp(v("ts_of_max_over_time", &[Matrix])),
    TsOfMinOverTime => exp(v("ts_of_min_over_time", &[Matrix])),
    Vector => f("vector", &[Scalar], 1, Some(1), Vector),
    Year => f("year", &[Vector], 0, Some(1), Vector),
}

/// Looks a function up by its exact (case-sensitive) name.
pub fn lookup(name: &str) -> Option<&'static Function> {
    FUNCTIONS
        .binary_search_by(|func| func.name.cmp(name))
        .ok()
        .map(|i| &FUNCTIONS[i])
}

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
    fn ids_index_the_table() {
        for (i, func) in FUNCTIONS.iter().enumerate() {
            assert_eq!(func.id as usize, i, "{}", func.name);
            assert_eq!(func.id.function(), func);
        }
        assert_eq!(FuncId::LabelReplace.name(), "label_replace");
        assert_eq!(lookup("rate").map(|f| f.id), Some(FuncId::Rate));
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
