//! Variable-width integers in a bit stream, as Prometheus's histogram
//! chunks write them: a unary prefix picks one of eight widths.
//!
//! ```text
//! prefix     signed range            unsigned range
//! 0          0                       0
//! 10         3 bits: −3 … 4          0 … 7
//! 110        6 bits: −31 … 32        … 63
//! 1110       9 bits: −255 … 256      … 511
//! 11110      12 bits: −2047 … 2048   … 4095
//! 111110     18 bits: −131071 … 2^17 … 262143
//! 1111110    25 bits: −2^24+1 … 2^24 … 33554431
//! 11111110   56 bits                 … 2^56−1
//! 11111111   64 bits                 the rest
//! ```
//! Signed values are two's complement in their width, and a bit pattern
//! above `2^(width−1)` is negative, so the ranges lean positive.

use super::bstream::{BitReader, BitWriter};

/// `(prefix length, width)` of the seven classes after `0`.
const CLASSES: [(u32, u32); 8] = [
    (2, 3),
    (3, 6),
    (4, 9),
    (5, 12),
    (6, 18),
    (7, 25),
    (8, 56),
    (8, 64),
];

/// `prefix_len − 1` ones, then a zero.
fn put_prefix(w: &mut BitWriter, prefix_len: u32) {
    w.write_bits(u64::MAX, prefix_len - 1);
    w.write_bit(false);
}

pub fn put_varbit_int(w: &mut BitWriter, v: i64) {
    if v == 0 {
        w.write_bit(false);
        return;
    }
    for (i, &(prefix, width)) in CLASSES.iter().enumerate() {
        let fits = width == 64 || {
            let half = 1i64 << (width - 1);
            v > -half && v <= half
        };
        if fits {
            if i == 7 {
                w.write_bits(0xff, 8);
            } else {
                put_prefix(w, prefix);
            }
            w.write_bits(v as u64, width);
            return;
        }
    }
}

pub fn put_varbit_uint(w: &mut BitWriter, v: u64) {
    if v == 0 {
        w.write_bit(false);
        return;
    }
    for (i, &(prefix, width)) in CLASSES.iter().enumerate() {
        if width == 64 || v < (1u64 << width) {
            if i == 7 {
                w.write_bits(0xff, 8);
            } else {
                put_prefix(w, prefix);
            }
            w.write_bits(v, width);
            return;
        }
    }
}

/// The width of the next value, after its prefix: 0 for the value zero.
fn read_width(r: &mut BitReader<'_>) -> u32 {
    let mut ones = 0;
    while ones < 8 && r.read_bits(1) == 1 {
        ones += 1;
    }
    match ones {
        0 => 0,
        8 => 64,
        n => CLASSES[(n - 1) as usize].1,
    }
}

/// Reads a signed varbit; past the data it reads zeros (check
/// [`BitReader::overrun`]).
pub fn read_varbit_int(r: &mut BitReader<'_>) -> i64 {
    let width = read_width(r);
    if width == 0 {
        return 0;
    }
    let raw = r.read_bits(width);
    if width == 64 {
        return raw as i64;
    }
    if raw > 1u64 << (width - 1) {
        (raw as i64) - (1i64 << width)
    } else {
        raw as i64
    }
}

pub fn read_varbit_uint(r: &mut BitReader<'_>) -> u64 {
    match read_width(r) {
        0 => 0,
        width => r.read_bits(width),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_and_bits_per_class() {
        // (value, bits written) at each class edge.
        let signed = [
            (0i64, 1usize),
            (1, 5),
            (4, 5),
            (-3, 5),
            (-4, 9),
            (5, 9),
            (32, 9),
            (-31, 9),
            (33, 13),
            (256, 13),
            (2048, 17),
            (2049, 24),
            (131_072, 24),
            (131_073, 32),
            (1 << 24, 32),
            ((1 << 24) + 1, 64),
            (1 << 55, 64),
            ((1 << 55) + 1, 72),
            (i64::MIN, 72),
            (i64::MAX, 72),
        ];
        for (v, bits) in signed {
            let mut w = BitWriter::default();
            put_varbit_int(&mut w, v);
            // A marker bit shows how many bits the value took.
            w.write_bit(true);
            let bytes = w.into_bytes();
            let mut r = BitReader::new(&bytes);
            assert_eq!(read_varbit_int(&mut r), v, "{v}");
            assert_eq!(r.read_bits(1), 1, "{v}: took {bits} bits");
            let total = bits + 1;
            assert_eq!(bytes.len(), total.div_ceil(8), "{v}");
        }
        for v in [
            0u64,
            7,
            8,
            63,
            64,
            511,
            4095,
            262_143,
            33_554_431,
            1 << 56,
            u64::MAX,
        ] {
            let mut w = BitWriter::default();
            put_varbit_uint(&mut w, v);
            let bytes = w.into_bytes();
            assert_eq!(read_varbit_uint(&mut BitReader::new(&bytes)), v);
        }
    }

    proptest::proptest! {
        #[test]
        fn round_trips(vs in proptest::collection::vec(proptest::num::i64::ANY, 0..50)) {
            let mut w = BitWriter::default();
            for &v in &vs {
                put_varbit_int(&mut w, v);
                put_varbit_uint(&mut w, v as u64);
            }
            let bytes = w.into_bytes();
            let mut r = BitReader::new(&bytes);
            for &v in &vs {
                proptest::prop_assert_eq!(read_varbit_int(&mut r), v);
                proptest::prop_assert_eq!(read_varbit_uint(&mut r), v as u64);
            }
            proptest::prop_assert!(!r.overrun());
        }
    }
}
