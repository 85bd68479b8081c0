//! Decimal exponents: which values are `m / 10^e` for an integer `m`, and
//! which exponent a chunk should use.
//!
//! "Is" means bit for bit: `(m as f64) / 10^e` — one correctly rounded
//! IEEE-754 division, the exact expression the decoder evaluates — must
//! give back the value's bits. NaNs, ±Inf, −0.0 and values with more digits
//! than [`MAX_EXP`] allows never qualify; the chunk stores those raw.

/// The largest exponent a chunk may use (10^15 is exact in an f64).
pub const MAX_EXP: u8 = 15;

/// `10^e` for `e` in `0..=MAX_EXP`, all exactly representable.
pub(crate) const POW10: [f64; MAX_EXP as usize + 1] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Magnitudes below this convert between f64 and i64 exactly (2^63).
const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;

/// From this magnitude on every f64 is an integer (2^52).
const INTEGRAL: f64 = 4_503_599_627_370_496.0;

/// `m` such that `(m as f64) / 10^e` has exactly the bits of `v`, if any.
#[inline]
pub(crate) fn scaled(v: f64, e: u8) -> Option<i64> {
    let p = POW10[usize::from(e)];
    let x = v * p;
    let a = x.abs();
    // Rounding by hand: `f64::round` is a library call on baseline x86-64.
    // Near a half-integer the result may be off by one, but then no integer
    // reproduces `v` at this exponent anyway; the check below decides.
    let m = if a < INTEGRAL {
        (x + 0.5f64.copysign(x)) as i64
    } else if a < I64_LIMIT {
        x as i64
    } else {
        // Too large, or NaN.
        return None;
    };
    ((m as f64 / p).to_bits() == v.to_bits()).then_some(m)
}

/// The smallest exponent at which `v` is a decimal, and its `m` there,
/// searching outwards from `hint` (the previous value's exponent:
/// neighbours tend to share one). Representability is monotone in `e` for
/// all but pathological values, and a search that stops early costs bytes
/// at worst, never correctness: every `m` stored is one [`scaled`] or
/// [`rescale`] vouched for.
#[inline]
pub(crate) fn exponent_of(v: f64, hint: u8) -> Option<(u8, i64)> {
    if !v.is_finite() {
        return None;
    }
    let hint = hint.min(MAX_EXP);
    if let Some(mut m) = scaled(v, hint) {
        let mut e = hint;
        while let Some(lower) = e.checked_sub(1).and_then(|l| scaled(v, l)) {
            e -= 1;
            m = lower;
        }
        return Some((e, m));
    }
    // Upwards first; downwards only matters for magnitudes that overflow
    // i64 at the hint's scale (large integers).
    (hint + 1..=MAX_EXP)
        .chain(0..hint)
        .find_map(|e| scaled(v, e).map(|m| (e, m)))
}

/// Exact magnitudes of i64 → f64 conversion (2^53).
const EXACT: i64 = 1 << 53;

/// `v`'s integer at exponent `to`, given that `m / 10^from` is `v` and
/// `from <= to`. Without a division when `m · 10^(to − from)` stays within
/// ±2^53: that integer converts exactly and divides by the exact `10^to` to
/// the same correctly rounded quotient, the same rational number.
#[inline]
pub(super) fn rescale(v: f64, m: i64, from: u8, to: u8) -> Option<i64> {
    if from == to {
        return Some(m);
    }
    let wide = to
        .checked_sub(from)
        .and_then(|d| 10i64.checked_pow(u32::from(d)))
        .and_then(|f| m.checked_mul(f))
        .filter(|w| (-EXACT..=EXACT).contains(w));
    match wide {
        Some(w) => {
            debug_assert_eq!(scaled(v, to), Some(w));
            Some(w)
        }
        None => scaled(v, to),
    }
}

/// The chunk exponent for `counts[e]` values whose smallest exponent is `e`
/// among `n` values. A larger exponent widens every stored delta by about
/// log2(10) bits per digit; values needing more digits than the chosen
/// exponent are stored raw (10 bytes each). Picks the cheaper trade.
pub(crate) fn choose(counts: &[u32; MAX_EXP as usize + 1], n: usize) -> u8 {
    const RAW_BITS: f64 = 80.0;
    const DIGIT_BITS: f64 = std::f64::consts::LOG2_10;
    let mut best = (f64::INFINITY, 0u8);
    let mut above: u32 = counts.iter().sum();
    for e in 0..=MAX_EXP {
        above -= counts[usize::from(e)];
        if counts[usize::from(e)] == 0 && e > 0 {
            continue;
        }
        let cost = f64::from(above) * RAW_BITS + n as f64 * f64::from(e) * DIGIT_BITS;
        if cost < best.0 {
            best = (cost, e);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponents() {
        let cases: &[(&str, f64, Option<u8>)] = &[
            ("zero", 0.0, Some(0)),
            ("negative zero", -0.0, None),
            ("integer", 123_456.0, Some(0)),
            ("two decimals", 12.34, Some(2)),
            ("negative", -0.005, Some(3)),
            ("six decimals", 1234.567891, Some(6)),
            ("binary fraction", 0.1 + 0.2, None),
            ("pi: 16 digits", std::f64::consts::PI, Some(15)),
            ("a third: 17 digits", 1.0 / 3.0, None),
            ("staleness marker", crate::model::STALE_NAN, None),
            ("nan", f64::NAN, None),
            ("inf", f64::INFINITY, None),
            ("huge", 1e300, None),
            ("2^62", 4_611_686_018_427_387_904.0, Some(0)),
            ("tiny", 1e-15, Some(15)),
            ("too small", 1e-16, None),
        ];
        for &(name, v, want) in cases {
            for hint in [0, 3, MAX_EXP] {
                let got = exponent_of(v, hint);
                assert_eq!(got.map(|g| g.0), want, "case {name}, hint {hint}");
                if let Some((e, m)) = got {
                    assert_eq!((m as f64 / POW10[usize::from(e)]).to_bits(), v.to_bits());
                    for to in e..=MAX_EXP {
                        assert_eq!(rescale(v, m, e, to), scaled(v, to), "case {name}");
                    }
                }
            }
        }
    }

    #[test]
    fn choice_weighs_digits_against_raw_values() {
        let mut counts = [0u32; 16];
        counts[2] = 119;
        counts[6] = 1;
        assert_eq!(choose(&counts, 120), 2, "one odd value is stored raw");
        counts[6] = 60;
        assert_eq!(choose(&counts, 179), 6, "many: widen the exponent");
        assert_eq!(choose(&[0; 16], 5), 0, "all raw");
    }
}
