//! Trends of a window: `deriv` and `predict_linear` (least-squares line),
//! `double_exponential_smoothing` (Holt's linear method).

use tsdb::model::Sample;

use crate::error::{Error, Result};
use crate::eval::stats::KahanSum;

/// `deriv`: the per-second slope of the least-squares line; needs two
/// samples.
pub(super) fn deriv(s: &[Sample]) -> Option<f64> {
    let first = s.first()?;
    if s.len() < 2 {
        return None;
    }
    // x relative to a sample time keeps the sums small (prometheus#2674).
    Some(linear_regression(s, first.t).0)
}

/// `predict_linear`: the least-squares line's value `t` seconds after the
/// evaluation time `ts` (ms); needs two samples.
pub(super) fn predict_linear(s: &[Sample], ts: i64, t: f64) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let (slope, intercept) = linear_regression(s, ts);
    Some(slope * t + intercept)
}

/// Least-squares fit `y = slope·x + intercept` with `x` the seconds since
/// `intercept_time` (ms), using compensated sums. A constant series has
/// slope 0 (NaN slope and intercept if the constant is ±Inf); any ±Inf
/// among varying values makes both NaN.
fn linear_regression(s: &[Sample], intercept_time: i64) -> (f64, f64) {
    let first_y = s.first().map_or(f64::NAN, |p| p.v);
    let constant = s.iter().all(|p| p.v == first_y);
    if constant {
        return if first_y.is_infinite() {
            (f64::NAN, f64::NAN)
        } else {
            (0.0, first_y)
        };
    }
    let (mut sx, mut sy) = (KahanSum::new(), KahanSum::new());
    let (mut sxy, mut sx2) = (KahanSum::new(), KahanSum::new());
    let mut n = 0.0;
    for p in s {
        let x = (p.t - intercept_time) as f64 / 1e3;
        n += 1.0;
        sx.add(x);
        sy.add(p.v);
        sxy.add(x * p.v);
        sx2.add(x * x);
    }
    let (sx, sy, sxy, sx2) = (sx.value(), sy.value(), sxy.value(), sx2.value());
    let cov_xy = sxy - sx * sy / n;
    let var_x = sx2 - sx * sx / n;
    let slope = cov_xy / var_x;
    let intercept = sy / n - slope * sx / n;
    (slope, intercept)
}

/// `double_exponential_smoothing(m, sf, tf)`: Holt's linear smoothing of
/// the values with smoothing factor `sf` and trend factor `tf`, both in
/// (0, 1) (else Prometheus's execution error, raised whenever the window
/// has samples); needs two samples.
pub(super) fn double_exponential(s: &[Sample], sf: f64, tf: f64) -> Result<Option<f64>> {
    if sf <= 0.0 || sf >= 1.0 {
        return Err(Error::Execution(format!(
            "invalid smoothing factor. Expected: 0 < sf < 1, got: {}",
            go_fixed6(sf)
        )));
    }
    if tf <= 0.0 || tf >= 1.0 {
        return Err(Error::Execution(format!(
            "invalid trend factor. Expected: 0 < tf < 1, got: {}",
            go_fixed6(tf)
        )));
    }
    let [first, second, ..] = s else {
        return Ok(None);
    };
    // `level` is the smoothed value, `prev_level` the one before it.
    let (mut prev_level, mut level) = (0.0, first.v);
    let mut trend = second.v - first.v;
    for (i, p) in s.iter().enumerate().skip(1) {
        if i > 1 {
            trend = tf * (level - prev_level) + (1.0 - tf) * trend;
        }
        let next = sf * p.v + (1.0 - sf) * (level + trend);
        (prev_level, level) = (level, next);
    }
    Ok(Some(level))
}

/// Go's `%f`: six decimals, `+Inf` / `-Inf` / `NaN`.
fn go_fixed6(v: f64) -> String {
    match v {
        v if v.is_nan() => "NaN".to_string(),
        f64::INFINITY => "+Inf".to_string(),
        f64::NEG_INFINITY => "-Inf".to_string(),
        v => format!("{v:.6}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Rollup::*;
    use super::super::testutil::{Case, check_cases, load};

    #[test]
    fn deriv_and_predict_linear() {
        // functions.test "Tests for deriv() and predict_linear()".
        let reset = load("5m", "0+10x4 0+10x5");
        let canary = load("5m", "0+80x10");
        let inf = load("5m", "-Inf 0+80x10 Inf");
        let one = load("5m", "1");
        let flat_inf = load("5m", "Inf Inf");
        check_cases(&[
            Case::new("deriv_like_rate", Deriv, &canary, "50m", "50m").want(0.26666666666666666),
            Case::new("deriv_reset", Deriv, &reset, "50m", "100m").want(0.010606060606060607),
            Case::new("deriv_inf", Deriv, &inf, "100m", "100m").want(f64::NAN),
            Case::new("deriv_one", Deriv, &one, "0s", "1m").none(),
            Case::new("deriv_flat_inf", Deriv, &flat_inf, "5m", "10m").want(f64::NAN),
            Case::new("predict", PredictLinear, &reset, "50m", "50m")
                .args(&[3600.0])
                .want(70.0),
            // predict_linear(…[55m] @ 3000, 3600) at 50m, 10m and 70m: the
            // window ends at 3000s, the prediction starts at the step time.
            Case::new("predict_at", PredictLinear, &reset, "3000s", "55m")
                .args(&[3600.0])
                .want(76.81818181818181),
            Case::new("predict_at_10m", PredictLinear, &reset, "3000s", "55m")
                .ts("10m")
                .args(&[3600.0])
                .want(51.36363636363637),
            Case::new("predict_at_70m", PredictLinear, &reset, "3000s", "55m")
                .ts("70m")
                .args(&[3600.0])
                .want(89.54545454545455),
            Case::new("predict_inf", PredictLinear, &inf, "100m", "100m")
                .args(&[6000.0])
                .want(f64::NAN),
            Case::new("predict_emulated", PredictLinear, &canary, "50m", "50m")
                .args(&[3600.0])
                .want(800.0 + 0.26666666666666666 * 3600.0),
        ]);
    }

    #[test]
    fn double_exponential_smoothing() {
        // functions.test "Tests for double_exponential_smoothing" (load 10s,
        // at 8000s [1m], sf 0.01, tf 0.1).
        let up: Vec<_> = [
            "0+10x1000 100+30x1000",
            "0+20x1000 200+30x1000",
            "0+30x1000 300+80x1000",
            "0+40x2000",
        ]
        .iter()
        .map(|s| load("10s", s))
        .collect();
        let down: Vec<_> = [
            "8000-10x1000",
            "0-20x1000",
            "0+30x1000 300-80x1000",
            "0-40x1000 0+40x1000",
        ]
        .iter()
        .map(|s| load("10s", s))
        .collect();
        let mut cases = Vec::new();
        for (s, want) in up.iter().zip([8000.0, 16000.0, 24000.0, 32000.0]) {
            cases.push(
                Case::new("up", DoubleExponentialSmoothing, s, "8000s", "1m")
                    .args(&[0.01, 0.1])
                    .want(want),
            );
        }
        for (s, want) in down.iter().zip([0.0, -16000.0, 24000.0, -32000.0]) {
            cases.push(
                Case::new("down", DoubleExponentialSmoothing, s, "8000s", "1m")
                    .args(&[0.01, 0.1])
                    .want(want),
            );
        }
        let one = load("10s", "1");
        let des = DoubleExponentialSmoothing;
        cases.extend([
            Case::new("one_sample", des, &one, "0s", "1m")
                .args(&[0.5, 0.5])
                .none(),
            Case::new("bad_sf", des, &one, "0s", "1m")
                .args(&[0.0, 0.5])
                .err("invalid smoothing factor. Expected: 0 < sf < 1, got: 0.000000"),
            Case::new("bad_tf", des, &one, "0s", "1m")
                .args(&[0.5, 1.5])
                .err("invalid trend factor. Expected: 0 < tf < 1, got: 1.500000"),
            Case::new("bad_sf_inf", des, &one, "0s", "1m")
                .args(&[f64::INFINITY, 0.5])
                .err("invalid smoothing factor. Expected: 0 < sf < 1, got: +Inf"),
            // No samples: the function is not called, so no error.
            Case::new("bad_sf_empty", des, &one, "10m", "1m")
                .args(&[0.0, 0.5])
                .none(),
        ]);
        check_cases(&cases);
    }
}
