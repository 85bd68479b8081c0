//! Functions applied to each element's value on its own: math, rounding,
//! clamping, trigonometry and the calendar functions.

use super::calendar::{self, Field};
use super::go_float::{go_log2, go_log10, go_max, go_min};
#[cfg(test)]
use crate::functions::FuncId;

/// A function applied to every element's value on its own.
///
/// Every one of them drops the metric name (Prometheus 3 marks the output
/// for delayed `__name__` removal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elementwise {
    Abs,
    Ceil,
    Floor,
    Exp,
    Ln,
    Log2,
    Log10,
    Sqrt,
    Sgn,
    /// `round(v, to_nearest=1)`.
    Round,
    /// `clamp(v, min, max)`.
    Clamp,
    /// `clamp_min(v, min)`.
    ClampMin,
    /// `clamp_max(v, max)`.
    ClampMax,
    Deg,
    Rad,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Asinh,
    Acosh,
    Atanh,
    /// Calendar field of a Unix time in seconds, in UTC.
    Time(Field),
}

impl Elementwise {
    /// Every element-wise function.
    #[cfg(test)]
    pub const ALL: &'static [Elementwise] = &[
        Elementwise::Abs,
        Elementwise::Ceil,
        Elementwise::Floor,
        Elementwise::Exp,
        Elementwise::Ln,
        Elementwise::Log2,
        Elementwise::Log10,
        Elementwise::Sqrt,
        Elementwise::Sgn,
        Elementwise::Round,
        Elementwise::Clamp,
        Elementwise::ClampMin,
        Elementwise::ClampMax,
        Elementwise::Deg,
        Elementwise::Rad,
        Elementwise::Sin,
        Elementwise::Cos,
        Elementwise::Tan,
        Elementwise::Asin,
        Elementwise::Acos,
        Elementwise::Atan,
        Elementwise::Sinh,
        Elementwise::Cosh,
        Elementwise::Tanh,
        Elementwise::Asinh,
        Elementwise::Acosh,
        Elementwise::Atanh,
        Elementwise::Time(Field::DayOfMonth),
        Elementwise::Time(Field::DayOfWeek),
        Elementwise::Time(Field::DayOfYear),
        Elementwise::Time(Field::DaysInMonth),
        Elementwise::Time(Field::Hour),
        Elementwise::Time(Field::Minute),
        Elementwise::Time(Field::Month),
        Elementwise::Time(Field::Year),
    ];

    /// The function this is (the evaluator maps the other way).
    #[cfg(test)]
    pub fn id(self) -> FuncId {
        match self {
            Elementwise::Abs => FuncId::Abs,
            Elementwise::Ceil => FuncId::Ceil,
            Elementwise::Floor => FuncId::Floor,
            Elementwise::Exp => FuncId::Exp,
            Elementwise::Ln => FuncId::Ln,
            Elementwise::Log2 => FuncId::Log2,
            Elementwise::Log10 => FuncId::Log10,
            Elementwise::Sqrt => FuncId::Sqrt,
            Elementwise::Sgn => FuncId::Sgn,
            Elementwise::Round => FuncId::Round,
            Elementwise::Clamp => FuncId::Clamp,
            Elementwise::ClampMin => FuncId::ClampMin,
            Elementwise::ClampMax => FuncId::ClampMax,
            Elementwise::Deg => FuncId::Deg,
            Elementwise::Rad => FuncId::Rad,
            Elementwise::Sin => FuncId::Sin,
            Elementwise::Cos => FuncId::Cos,
            Elementwise::Tan => FuncId::Tan,
            Elementwise::Asin => FuncId::Asin,
            Elementwise::Acos => FuncId::Acos,
            Elementwise::Atan => FuncId::Atan,
            Elementwise::Sinh => FuncId::Sinh,
            Elementwise::Cosh => FuncId::Cosh,
            Elementwise::Tanh => FuncId::Tanh,
            Elementwise::Asinh => FuncId::Asinh,
            Elementwise::Acosh => FuncId::Acosh,
            Elementwise::Atanh => FuncId::Atanh,
            Elementwise::Time(Field::DayOfMonth) => FuncId::DayOfMonth,
            Elementwise::Time(Field::DayOfWeek) => FuncId::DayOfWeek,
            Elementwise::Time(Field::DayOfYear) => FuncId::DayOfYear,
            Elementwise::Time(Field::DaysInMonth) => FuncId::DaysInMonth,
            Elementwise::Time(Field::Hour) => FuncId::Hour,
            Elementwise::Time(Field::Minute) => FuncId::Minute,
            Elementwise::Time(Field::Month) => FuncId::Month,
            Elementwise::Time(Field::Year) => FuncId::Year,
        }
    }

    /// Whether the output drops the metric name: always, for these.
    pub fn drops_name(self) -> bool {
        true
    }

    /// Applies the function to one element's value `v`.
    ///
    /// `args` are the call's other (scalar) arguments at this step, in call
    /// order after the vector: `[to_nearest]` for `round` (optional,
    /// default 1), `[min, max]` for `clamp`, `[min]` for `clamp_min`,
    /// `[max]` for `clamp_max`, none for the rest. `None` drops the
    /// element: `clamp` with `min > max` (Prometheus returns an empty
    /// vector), or a missing required argument.
    ///
    /// Results follow Go's `math` package where it differs from Rust's:
    /// `clamp` propagates NaN bounds (NaN output) and `log2`/`log10` use
    /// Go's formulas. Transcendental functions may differ from Go's in the
    /// last bit.
    pub fn apply(self, v: f64, args: &[f64]) -> Option<f64> {
        use std::f64::consts::PI;
        Some(match self {
            Elementwise::Abs => v.abs(),
            Elementwise::Ceil => v.ceil(),
            Elementwise::Floor => v.floor(),
            Elementwise::Exp => v.exp(),
            Elementwise::Ln => v.ln(),
            Elementwise::Log2 => go_log2(v),
            Elementwise::Log10 => go_log10(v),
            Elementwise::Sqrt => v.sqrt(),
            Elementwise::Sgn => {
                if v < 0.0 {
                    -1.0
                } else if v > 0.0 {
                    1.0
                } else {
                    v // ±0 and NaN stay as they are.
                }
            }
            Elementwise::Round => {
                // Ties round up; dividing by the inverse is what Prometheus
                // does (fewer representation errors for 0.1 and friends).
                let inverse = 1.0 / args.first().copied().unwrap_or(1.0);
                (v * inverse + 0.5).floor() / inverse
            }
            Elementwise::Clamp => clamp(v, *args.first()?, *args.get(1)?)?,
            Elementwise::ClampMin => clamp(v, *args.first()?, f64::INFINITY)?,
            Elementwise::ClampMax => clamp(v, f64::NEG_INFINITY, *args.first()?)?,
            Elementwise::Deg => v * 180.0 / PI,
            Elementwise::Rad => v * PI / 180.0,
            Elementwise::Sin => v.sin(),
            Elementwise::Cos => v.cos(),
            Elementwise::Tan => v.tan(),
            Elementwise::Asin => v.asin(),
            Elementwise::Acos => v.acos(),
            Elementwise::Atan => v.atan(),
            Elementwise::Sinh => v.sinh(),
            Elementwise::Cosh => v.cosh(),
            Elementwise::Tanh => v.tanh(),
            Elementwise::Asinh => v.asinh(),
            Elementwise::Acosh => v.acosh(),
            Elementwise::Atanh => v.atanh(),
            Elementwise::Time(field) => calendar::field(field, v),
        })
    }
}

/// `max(min, min(max, v))` with Go's NaN rules; `None` when `max < min`.
fn clamp(v: f64, min: f64, max: f64) -> Option<f64> {
    if max < min {
        return None;
    }
    Some(go_max(min, go_min(max, v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAN: f64 = f64::NAN;
    const INF: f64 = f64::INFINITY;

    fn same(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-15 * a.abs().max(b.abs())
    }

    /// The element-wise function called `name`.
    fn named(name: &str) -> Option<Elementwise> {
        Elementwise::ALL
            .iter()
            .copied()
            .find(|f| f.id().name() == name)
    }

    #[test]
    fn every_function_takes_a_vector_and_drops_the_name() {
        assert_eq!(Elementwise::ALL.len(), 35);
        for f in Elementwise::ALL {
            let sig = f.id().function();
            assert_eq!(
                sig.arg_type(0),
                Some(crate::ast::ValueType::Vector),
                "{f:?}"
            );
            assert!(f.drops_name());
        }
    }

    /// Values from testdata/promql/functions.test, trig_functions.test and
    /// aggregators.test (rounding).
    #[test]
    fn table() {
        /// Name, function, value, other arguments, expected result.
        type Case<'a> = (&'a str, &'a str, f64, &'a [f64], Option<f64>);
        let cases: &[Case] = &[
            ("abs negative", "abs", -2.5, &[], Some(2.5)),
            ("abs -Inf", "abs", -INF, &[], Some(INF)),
            ("ceil negative", "ceil", -2.5, &[], Some(-2.0)),
            ("floor negative", "floor", -2.5, &[], Some(-3.0)),
            ("floor NaN", "floor", NAN, &[], Some(NAN)),
            ("round half up", "round", 2.5, &[], Some(3.0)),
            ("round negative half up", "round", -2.5, &[], Some(-2.0)),
            ("round -Inf", "round", -INF, &[], Some(-INF)),
            ("round 0.4", "round", 0.4, &[], Some(0.0)),
            ("round -0.4", "round", -0.4, &[], Some(0.0)),
            ("round 0.5", "round", 0.5, &[], Some(1.0)),
            ("round -0.5", "round", -0.5, &[], Some(0.0)),
            ("round to 0.1", "round", 0.05, &[0.1], Some(0.1)),
            ("round to 0.1 from 2.15", "round", 2.15, &[0.1], Some(2.2)),
            ("round to 0.1 from 5.25", "round", 5.25, &[0.1], Some(5.3)),
            (
                "round to 0.1 from -5.25",
                "round",
                -5.25,
                &[0.1],
                Some(-5.2),
            ),
            ("round to 0.1 from -5.3", "round", -5.3, &[0.1], Some(-5.3)),
            ("round to 5 from 2.5", "round", 2.5, &[5.0], Some(5.0)),
            ("round to 5 from 4.5", "round", 4.5, &[5.0], Some(5.0)),
            ("round to 5 from 9", "round", 9.0, &[5.0], Some(10.0)),
            ("exp 10", "exp", 10.0, &[], Some(22026.465794806718)),
            ("exp -10", "exp", -10.0, &[], Some(4.5399929762484854e-05)),
            // functions.test: 2.302585092994046.
            ("ln 10", "ln", 10.0, &[], Some(std::f64::consts::LN_10)),
            ("ln 0", "ln", 0.0, &[], Some(-INF)),
            ("ln negative", "ln", -10.0, &[], Some(NAN)),
            ("sqrt 10", "sqrt", 10.0, &[], Some(3.1622776601683795)),
            ("log2 0", "log2", 0.0, &[], Some(-INF)),
            ("log2 negative", "log2", -10.0, &[], Some(NAN)),
            ("log10 10", "log10", 10.0, &[], Some(1.0)),
            ("log10 20", "log10", 20.0, &[], Some(1.301029995663981)),
            ("sgn -Inf", "sgn", -INF, &[], Some(-1.0)),
            ("sgn +Inf", "sgn", INF, &[], Some(1.0)),
            ("sgn NaN", "sgn", NAN, &[], Some(NAN)),
            ("sgn 0", "sgn", 0.0, &[], Some(0.0)),
            ("clamp_max", "clamp_max", 100.0, &[75.0], Some(75.0)),
            ("clamp_min", "clamp_min", -50.0, &[-25.0], Some(-25.0)),
            ("clamp inside", "clamp", 0.0, &[-25.0, 75.0], Some(0.0)),
            ("clamp NaN max", "clamp", -50.0, &[0.0, NAN], Some(NAN)),
            ("clamp NaN min", "clamp", 100.0, &[NAN, 0.0], Some(NAN)),
            ("clamp min above max", "clamp", 1.0, &[5.0, -5.0], None),
            ("clamp missing max", "clamp", 1.0, &[5.0], None),
            ("clamp NaN value", "clamp", NAN, &[0.0, 1.0], Some(NAN)),
            ("sin 10", "sin", 10.0, &[], Some(-0.5440211108893699)),
            ("cos 20", "cos", 20.0, &[], Some(0.40808206181339196)),
            ("tan 10", "tan", 10.0, &[], Some(0.6483608274590867)),
            (
                "asin 10 - 10.1",
                "asin",
                10.0 - 10.1,
                &[],
                Some(-0.10016742116155944),
            ),
            ("asin 20 - 10.1", "asin", 20.0 - 10.1, &[], Some(NAN)),
            (
                "acos 10 - 10.1",
                "acos",
                10.0 - 10.1,
                &[],
                Some(1.670963747956456),
            ),
            ("atan 20", "atan", 20.0, &[], Some(1.5208379310729538)),
            // trig_functions.test lists cosh(10) = 11013.232920103324 for
            // sinh(10) too; Prometheus compares with a 1e-6 relative
            // tolerance, so both pass there.
            ("sinh 10", "sinh", 10.0, &[], Some(11013.232874703393)),
            ("cosh 10", "cosh", 10.0, &[], Some(11013.232920103324)),
            ("cosh 20", "cosh", 20.0, &[], Some(2.4258259770489514e+08)),
            ("tanh 10", "tanh", 10.0, &[], Some(0.9999999958776927)),
            ("tanh 20", "tanh", 20.0, &[], Some(1.0)),
            ("asinh 10", "asinh", 10.0, &[], Some(2.99822295029797)),
            ("acosh 20", "acosh", 20.0, &[], Some(3.6882538673612966)),
            (
                "atanh 10 - 10.1",
                "atanh",
                10.0 - 10.1,
                &[],
                Some(-0.10033534773107522),
            ),
            ("atanh 20 - 10.1", "atanh", 20.0 - 10.1, &[], Some(NAN)),
            ("rad 10", "rad", 10.0, &[], Some(0.17453292519943295)),
            ("rad -10", "rad", -10.0, &[], Some(-0.17453292519943295)),
            ("deg 20", "deg", 20.0, &[], Some(1145.9155902616465)),
            ("deg NaN", "deg", NAN, &[], Some(NAN)),
            ("year", "year", 1136239445.0, &[], Some(2006.0)),
            ("hour", "hour", 1136239445.0, &[], Some(22.0)),
        ];
        for (name, func, v, args, want) in cases {
            let f = named(func).unwrap();
            let got = f.apply(*v, args);
            match (got, want) {
                (Some(g), Some(w)) => assert!(same(g, *w), "{name}: got {g}, want {w}"),
                (None, None) => {}
                _ => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn signed_zeros_follow_go() {
        // sgn keeps the sign of zero; clamp prefers +0 as a lower bound.
        assert!(
            Elementwise::Sgn
                .apply(-0.0, &[])
                .unwrap()
                .is_sign_negative()
        );
        let c = Elementwise::ClampMin.apply(-0.0, &[0.0]).unwrap();
        assert!(c.is_sign_positive());
    }
}
