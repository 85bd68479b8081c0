//! Float semantics Prometheus inherits from Go and Rust does not share:
//! `strconv.ParseFloat` (the grammar of `le` values), `math.Min`/`math.Max`
//! (NaN and infinity precedence), `math.Frexp`-based `Log2`, and the
//! `int64(f)` conversion of amd64 (NaN and overflow give `i64::MIN`).

/// Parses `s` as Go's `strconv.ParseFloat(s, 64)` does; `None` where Go
/// returns an error.
///
/// Accepted: an optional sign, then `inf`/`infinity` in any case, or a
/// decimal (`1`, `.5`, `5.`, `1e-3`, digits separated by `_`), or a
/// hexadecimal float with a mandatory binary exponent (`0x1.8p1`). `nan` in
/// any case is accepted only without a sign. Values out of range (`1e400`)
/// are errors, as in Go; values too small for a subnormal round to zero.
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    let (negative, body) = match s.as_bytes().first()? {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let signed = body.len() != s.len();
    let v = if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        f64::INFINITY
    } else if body.eq_ignore_ascii_case("nan") {
        if signed {
            return None;
        }
        f64::NAN
    } else {
        let b = body.as_bytes();
        let v = if b.len() > 2 && b[0] == b'0' && (b[1] | 0x20) == b'x' {
            parse_hex(&body[2..])?
        } else {
            parse_decimal(body)?
        };
        if v.is_infinite() {
            return None; // Go: ErrRange.
        }
        v
    };
    Some(if negative { -v } else { v })
}

/// `digits[.digits][(e|E)[sign]digits]` with Go's underscore rule.
fn parse_decimal(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut mantissa_digits = 0;
    let mut dot = false;
    while i < b.len() {
        match b[i] {
            b'0'..=b'9' => mantissa_digits += 1,
            b'_' => {}
            b'.' if !dot => dot = true,
            _ => break,
        }
        i += 1;
    }
    if mantissa_digits == 0 {
        return None;
    }
    if i < b.len() {
        if b[i] | 0x20 != b'e' {
            return None;
        }
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
        if i != b.len() {
            return None;
        }
    }
    if s.contains('_') {
        if !underscores_ok(s) {
            return None;
        }
        return s.replace('_', "").parse().ok();
    }
    s.parse().ok()
}

/// Go's rule: an underscore must sit between two digits (or after a base
/// prefix, which the caller has stripped and counts as a digit).
fn underscores_ok(s: &str) -> bool {
    underscores_ok_from(s, b'^', false)
}

fn underscores_ok_from(s: &str, start: u8, hex: bool) -> bool {
    let mut last = start; // b'0': digit, b'_': underscore, b'!': other.
    for &c in s.as_bytes() {
        let digit = c.is_ascii_digit() || (hex && c.is_ascii_hexdigit());
        if digit {
            last = b'0';
        } else if c == b'_' {
            if last != b'0' {
                return false;
            }
            last = b'_';
        } else {
            if last == b'_' {
                return false;
            }
            last = b'!';
        }
    }
    last != b'_'
}

/// The part of a hexadecimal float after `0x`: `h[.h](p|P)[sign]digits`.
fn parse_hex(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut mantissa: u64 = 0;
    let mut sticky = false;
    // Power of two the integer `mantissa` must be scaled by.
    let mut scale: i64 = 0;
    let mut digits = 0;
    let mut dot = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'_' => {}
            b'.' if !dot => dot = true,
            _ if c.is_ascii_hexdigit() => {
                digits += 1;
                let d = u64::from((c as char).to_digit(16)?);
                if mantissa >> 60 == 0 {
                    mantissa = mantissa << 4 | d;
                    if dot {
                        scale -= 4;
                    }
                } else {
                    // Past 64 bits: keep only whether anything was dropped.
                    sticky |= d != 0;
                    if !dot {
                        scale += 4;
                    }
                }
            }
            _ => break,
        }
        i += 1;
    }
    if digits == 0 || i >= b.len() || b[i] | 0x20 != b'p' {
        return None;
    }
    if !underscores_ok_from(&s[..i], b'0', true) {
        return None;
    }
    i += 1;
    let mut exp_negative = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        exp_negative = b[i] == b'-';
        i += 1;
    }
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let exp_start = i;
    let mut exp: i64 = 0;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        if b[i] != b'_' && exp < 100_000 {
            exp = exp * 10 + i64::from(b[i] - b'0');
        }
        i += 1;
    }
    if i != b.len() || !underscores_ok_from(&s[exp_start..i], b'0', false) {
        return None;
    }
    if sticky {
        mantissa |= 1;
    }
    let exp = if exp_negative { -exp } else { exp };
    // `u64 -> f64` rounds once, to nearest even; scaling by a power of two
    // is exact unless the result leaves the normal range.
    Some(scale_by_pow2(mantissa as f64, scale + exp))
}

/// `v * 2^e` without overflowing the intermediate powers.
fn scale_by_pow2(mut v: f64, mut e: i64) -> f64 {
    while e > 1000 && v.is_finite() && v != 0.0 {
        v *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 && v != 0.0 {
        v *= 2f64.powi(-1000);
        e += 1000;
    }
    // |e| <= 1000 here (or v is 0/inf), so the cast is lossless.
    v * 2f64.powi(e.clamp(-1000, 1000) as i32)
}

/// Go's `math.Min`: `-Inf` wins over NaN, NaN wins over numbers, and
/// `-0` is less than `+0`.
pub(crate) fn go_min(x: f64, y: f64) -> f64 {
    if x == f64::NEG_INFINITY || y == f64::NEG_INFINITY {
        f64::NEG_INFINITY
    } else if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == 0.0 && y == 0.0 {
        if x.is_sign_negative() { x } else { y }
    } else if x < y {
        x
    } else {
        y
    }
}

/// Go's `math.Max`: `+Inf` wins over NaN, NaN wins over numbers, and
/// `+0` is greater than `-0`.
pub(crate) fn go_max(x: f64, y: f64) -> f64 {
    if x == f64::INFINITY || y == f64::INFINITY {
        f64::INFINITY
    } else if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == 0.0 && y == 0.0 {
        if x.is_sign_negative() { y } else { x }
    } else if x > y {
        x
    } else {
        y
    }
}

/// Go's `math.Frexp`: `x = frac * 2^exp` with `0.5 <= |frac| < 1`; zero,
/// infinities and NaN come back unchanged with `exp = 0`.
fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let (x, bias) = if x.abs() < f64::MIN_POSITIVE {
        (x * 2f64.powi(52), -52) // Normalise a subnormal.
    } else {
        (x, 0)
    };
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let frac = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (frac, biased - 1022 + bias)
}

/// Go's `math.Log2`: exact for powers of two, else `ln(frac)/ln 2 + exp`.
pub(crate) fn go_log2(x: f64) -> f64 {
    let (frac, exp) = frexp(x);
    if frac == 0.5 {
        return f64::from(exp - 1);
    }
    frac.ln() * std::f64::consts::LOG2_E + f64::from(exp)
}

/// Go's `math.Log10`: `ln(x) * (1/ln 10)`.
pub(crate) fn go_log10(x: f64) -> f64 {
    x.ln() * std::f64::consts::LOG10_E
}

/// Go's `int64(f)` as compiled for amd64 (`CVTTSD2SQ`): truncation toward
/// zero; NaN and values outside the `i64` range give `i64::MIN`.
pub(crate) fn go_f64_to_i64(f: f64) -> i64 {
    // 2^63 is exactly representable; [-2^63, 2^63) truncates into range
    // (and excludes NaN).
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if (-TWO_63..TWO_63).contains(&f) {
        f as i64
    } else {
        i64::MIN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    /// `le` spellings from testdata/promql/histograms.test (`.2`, `1e0`,
    /// `-.2`, `+Inf`, `+inf`, `2.0e-1`) and Go's strconv grammar.
    #[test]
    fn parse_float_accepts_what_go_accepts() {
        let cases: &[(&str, &str, Option<f64>)] = &[
            ("leading dot", ".2", Some(0.2)),
            ("exponent", "1e0", Some(1.0)),
            ("negative leading dot", "-.2", Some(-0.2)),
            ("plus inf", "+Inf", Some(f64::INFINITY)),
            ("lower inf", "+inf", Some(f64::INFINITY)),
            ("infinity", "-Infinity", Some(f64::NEG_INFINITY)),
            ("mixed case", "2.0E-1", Some(0.2)),
            ("trailing dot", "5.", Some(5.0)),
            ("trailing dot with exponent", "1.e2", Some(100.0)),
            ("hex fraction only", "0x.8p1", Some(1.0)),
            ("no mantissa digits", ".e5", None),
            ("nan", "NaN", Some(f64::NAN)),
            ("nan lower", "nan", Some(f64::NAN)),
            ("underscores", "1_000.000_1", Some(1000.0001)),
            ("exponent underscore", "1e1_0", Some(1e10)),
            ("hex", "0x1.8p1", Some(3.0)),
            ("hex negative exponent", "-0X1P-2", Some(-0.25)),
            ("hex underscore", "0x_1p4", Some(16.0)),
            ("underflow is zero", "1e-400", Some(0.0)),
            ("signed nan", "+NaN", None),
            ("overflow", "1e400", None),
            ("hex overflow", "0x1p1024", None),
            ("empty", "", None),
            ("sign only", "-", None),
            ("dot only", ".", None),
            ("bare exponent", "e5", None),
            ("dangling exponent", "1e", None),
            ("dangling exponent sign", "1e+", None),
            ("hex without exponent", "0x1", None),
            ("two dots", "1.2.3", None),
            ("space", " 1", None),
            ("words", "Hello World", None),
            ("leading underscore", "_1", None),
            ("trailing underscore", "1_", None),
            ("double underscore", "1__0", None),
            ("underscore before dot", "1_.5", None),
            ("partial infinity", "infin", None),
            ("inf with suffix", "infx", None),
        ];
        for (name, s, want) in cases {
            let got = parse_float(s);
            match (got, want) {
                (Some(g), Some(w)) => assert!(same(g, *w), "{name}: {s:?} gave {g}, want {w}"),
                (None, None) => {}
                _ => panic!("{name}: {s:?} gave {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn hex_mantissa_longer_than_64_bits_rounds_once() {
        // 2^64 + 1 needs 65 bits; it must round to 2^64 (ties/sticky down).
        assert_eq!(
            parse_float("0x10000000000000001p0"),
            Some(18446744073709551616.0)
        );
        // 1 + 2^-53 + tiny: the sticky bit makes it round up to 1 + 2^-52.
        let v = parse_float("0x1.00000000000008000001p0").unwrap();
        assert_eq!(v, 1.0 + f64::EPSILON);
    }

    #[test]
    fn min_max_follow_go_precedence() {
        let nan = f64::NAN;
        let inf = f64::INFINITY;
        assert!(go_min(1.0, nan).is_nan());
        assert_eq!(go_min(nan, -inf), -inf);
        assert!(go_max(nan, 1.0).is_nan());
        assert_eq!(go_max(nan, inf), inf);
        assert!(go_min(0.0, -0.0).is_sign_negative());
        assert!(go_max(-0.0, 0.0).is_sign_positive());
        assert_eq!(go_min(2.0, 3.0), 2.0);
        assert_eq!(go_max(2.0, 3.0), 3.0);
    }

    #[test]
    fn log_helpers_match_go_formulas() {
        assert_eq!(go_log2(8.0), 3.0);
        assert_eq!(go_log2(0.25), -2.0);
        assert_eq!(go_log2(0.0), f64::NEG_INFINITY);
        assert!(go_log2(-1.0).is_nan());
        assert_eq!(go_log2(f64::INFINITY), f64::INFINITY);
        // testdata/promql/functions.test: log2(10), log2(20).
        assert!((go_log2(10.0) - 3.3219280948873626).abs() < 1e-15);
        assert!((go_log2(20.0) - 4.321928094887363).abs() < 1e-15);
        assert_eq!(go_log2(f64::from_bits(1)), -1074.0);
        assert!((go_log10(20.0) - 1.301029995663981).abs() < 1e-15);
    }

    #[test]
    fn int_conversion_is_amd64() {
        assert_eq!(go_f64_to_i64(1.9), 1);
        assert_eq!(go_f64_to_i64(-1.9), -1);
        assert_eq!(go_f64_to_i64(f64::NAN), i64::MIN);
        assert_eq!(go_f64_to_i64(f64::INFINITY), i64::MIN);
        assert_eq!(go_f64_to_i64(f64::NEG_INFINITY), i64::MIN);
        assert_eq!(go_f64_to_i64(1e19), i64::MIN);
        assert_eq!(go_f64_to_i64(-9_223_372_036_854_775_808.0), i64::MIN);
        assert_eq!(
            go_f64_to_i64(9_223_372_036_854_774_784.0),
            9_223_372_036_854_774_784
        );
    }
}
