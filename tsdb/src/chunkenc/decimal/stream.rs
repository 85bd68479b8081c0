//! Packed integer streams: a frame of reference (`base`), a common factor
//! (`mult`), fixed-width bit packing and patched exceptions (PFOR).
//!
//! ```text
//! ┌─────────────┬─────────┬──────────────┬────────────────────┬────────────┬─────────┬────────────────────────┐
//! │ base varint │ desc 1B │ mult uvarint │ L × w bits, padded │ k uvarint  │ hw 1B   │ k × (ib + hw) bits,    │
//! │ (zig-zag)   │         │ if desc bit 7│ to a whole byte    │ exceptions │ if k > 0│ padded to a whole byte │
//! └─────────────┴─────────┴──────────────┴────────────────────┴────────────┴─────────┴────────────────────────┘
//! desc: 0x7F = every element equals base (the stream ends after desc);
//!       else bits 0–6 the width w (0..=64), bit 7 set when mult (≥ 2)
//!       follows (otherwise mult = 1).
//! ```
//! The stream holds `L` integers; `L` is not stored (the chunk knows it).
//! Element `j` is `base + mult · xⱼ` (wrapping i64 arithmetic), where `xⱼ`
//! is the `j`-th packed `w`-bit field, except for the `k` exceptions: each
//! names an index (`ib` = bits needed for `L − 1`, strictly increasing) and
//! the high bits of its `x` (`x = low | high << w`, `1 ≤ hw ≤ 64 − w`).
//! Because the arithmetic wraps, every i64 sequence has an encoding; an
//! element below `base` is simply an exception whose `x` is negative.

use super::super::bstream::{BitReader, BitWriter};
use crate::encoding::{Decbuf, DecodeError, DecodeResult, put_uvarint, put_varint};

/// `desc` of a stream whose elements all equal its base.
const CONSTANT: u8 = 0x7F;
/// `desc` bit: a factor other than 1 follows.
const HAS_MULT: u8 = 0x80;

/// How a stream will be written, and its size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    base: i64,
    /// 0 when every element equals `base`.
    mult: u64,
    /// Width of the packed fields.
    w: u32,
    /// Width of the exceptions' high bits (0 when there are none).
    hw: u32,
    exceptions: u32,
    pub bytes: usize,
}

/// Bits needed to write `v` (0 for 0).
#[inline]
fn bit_len(v: u64) -> u32 {
    64 - v.leading_zeros()
}

fn uvarint_len(v: u64) -> usize {
    (bit_len(v).max(1) as usize).div_ceil(7)
}

/// Bytes of `v` as a zig-zag varint.
pub(super) fn varint_len(v: i64) -> usize {
    uvarint_len(((v << 1) ^ (v >> 63)) as u64)
}

/// Bits of an exception index in a stream of `len` elements.
#[inline]
fn index_bits(len: usize) -> u32 {
    bit_len(len.saturating_sub(1) as u64)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `(x − base) / mult` as a wrapping u64: exact because `mult` divides
/// every difference (or is 1).
#[inline]
fn offset(x: i64, base: i64, mult: u64) -> u64 {
    if x >= base {
        x.wrapping_sub(base) as u64 / mult
    } else {
        ((base.wrapping_sub(x) as u64) / mult).wrapping_neg()
    }
}

/// Chooses base, factor, width and exceptions for `xs` (not empty) to make
/// the stream as small as this scheme allows. Candidate bases are the four
/// smallest distinct values, so up to three low outliers (counter resets)
/// become exceptions instead of widening every field; a candidate is only
/// tried when it narrows the range of values by at least one bit.
pub(crate) fn plan(xs: &[i64]) -> Plan {
    let first = xs[0];
    if xs.iter().all(|&x| x == first) {
        return Plan {
            base: first,
            mult: 0,
            w: 0,
            hw: 0,
            exceptions: 0,
            bytes: varint_len(first) + 1,
        };
    }
    let mut mult = 0u64;
    for &x in xs {
        match x.checked_sub(first) {
            Some(d) => mult = gcd(mult, d.unsigned_abs()),
            None => mult = 1,
        }
        if mult == 1 {
            break;
        }
    }
    let mut lows = [i64::MAX; 4];
    let mut nlows = 0;
    let mut max = i64::MIN;
    for &x in xs {
        max = max.max(x);
        if nlows == lows.len() && x >= lows[nlows - 1] {
            continue;
        }
        let at = lows[..nlows].partition_point(|&l| l < x);
        if at < nlows && lows[at] == x {
            continue;
        }
        nlows = (nlows + 1).min(lows.len());
        lows.copy_within(at..nlows - 1, at + 1);
        lows[at] = x;
    }
    let range_bits = |base: i64| bit_len(max.wrapping_sub(base) as u64 / mult);
    let mut best = plan_with_base(xs, lows[0], mult);
    for &base in &lows[1..nlows] {
        if range_bits(base) >= range_bits(lows[0]) {
            continue;
        }
        let p = plan_with_base(xs, base, mult);
        if p.bytes < best.bytes {
            best = p;
        }
    }
    best
}

fn plan_with_base(xs: &[i64], base: i64, mult: u64) -> Plan {
    let mut hist = [0u32; 65];
    if mult == 1 {
        for &x in xs {
            hist[bit_len(x.wrapping_sub(base) as u64) as usize] += 1;
        }
    } else {
        for &x in xs {
            hist[bit_len(offset(x, base, mult)) as usize] += 1;
        }
    }
    let max_len = hist.iter().rposition(|&c| c > 0).unwrap_or(0) as u32;
    let len = xs.len();
    let ib = index_bits(len);
    let head = varint_len(base) + 1 + if mult == 1 { 0 } else { uvarint_len(mult) };
    let mut best = (usize::MAX, 0u32, 0u32);
    // above = elements wider than w, counted from the widest down.
    let mut above = 0u32;
    for w in (0..=max_len).rev() {
        let packed = (len * w as usize).div_ceil(8);
        let exc = if above == 0 {
            1
        } else {
            let hw = (max_len - w) as usize;
            uvarint_len(u64::from(above)) + 1 + (above as usize * (ib as usize + hw)).div_ceil(8)
        };
        if packed + exc <= best.0 {
            best = (packed + exc, w, above);
        }
        above += hist[w as usize];
    }
    let (body, w, exceptions) = best;
    Plan {
        base,
        mult,
        w,
        hw: if exceptions > 0 { max_len - w } else { 0 },
        exceptions,
        bytes: head + body,
    }
}

/// Appends `xs` encoded as `p` (which [`plan`] made for these `xs`).
pub(crate) fn write(xs: &[i64], p: &Plan, out: &mut Vec<u8>) {
    put_varint(out, p.base);
    if p.mult == 0 {
        out.push(CONSTANT);
        return;
    }
    if p.mult == 1 {
        out.push(p.w as u8);
    } else {
        out.push(p.w as u8 | HAS_MULT);
        put_uvarint(out, p.mult);
    }
    let low_mask = if p.w == 64 {
        u64::MAX
    } else {
        (1u64 << p.w) - 1
    };
    let mut bw = BitWriter::with_bytes(std::mem::take(out));
    for &x in xs {
        bw.write_bits(offset(x, p.base, p.mult) & low_mask, p.w);
    }
    let mut bytes = bw.into_bytes();
    put_uvarint(&mut bytes, u64::from(p.exceptions));
    if p.exceptions > 0 {
        bytes.push(p.hw as u8);
        let ib = index_bits(xs.len());
        let mut bw = BitWriter::with_bytes(bytes);
        for (j, &x) in xs.iter().enumerate() {
            let y = offset(x, p.base, p.mult);
            if y & !low_mask != 0 {
                bw.write_bits(j as u64, ib);
                bw.write_bits(y >> p.w, p.hw);
            }
        }
        bytes = bw.into_bytes();
    }
    *out = bytes;
}

/// Reads `n` bits (0 ≤ n ≤ 64); 0 bits read as 0.
#[inline(always)]
fn read(r: &mut BitReader<'_>, n: u32) -> u64 {
    if n == 0 { 0 } else { r.read_bits(n) }
}

/// Decodes a stream element by element.
///
/// [`parse`](Self::parse) checks that every region the header announces
/// lies inside the data, so [`next`](Self::next) never reads past it and
/// needs no checks of its own (garbage decodes to garbage, never a panic).
#[derive(Debug, Clone)]
pub(crate) struct StreamReader<'a> {
    packed: BitReader<'a>,
    exc: BitReader<'a>,
    base: i64,
    mult: i64,
    w: u32,
    hw: u32,
    ib: u32,
    exc_left: u32,
    /// Index of the next exception (`usize::MAX` when none is left).
    next_exc: usize,
    next_high: u64,
    pos: usize,
}

impl<'a> StreamReader<'a> {
    /// A stream whose every element is `base`.
    pub fn constant(base: i64) -> Self {
        StreamReader {
            packed: BitReader::new(&[]),
            exc: BitReader::new(&[]),
            base,
            mult: 0,
            w: 0,
            hw: 0,
            ib: 0,
            exc_left: 0,
            next_exc: usize::MAX,
            next_high: 0,
            pos: 0,
        }
    }

    /// Parses the header of a stream of `len` elements at `d`'s position
    /// and moves `d` past the stream.
    pub fn parse(d: &mut Decbuf<'a>, data: &'a [u8], len: usize) -> DecodeResult<Self> {
        let base = d.varint("stream base")?;
        let at = d.position();
        let desc = d.u8("stream descriptor")?;
        let mut s = Self::constant(base);
        if desc == CONSTANT {
            return Ok(s);
        }
        s.ib = index_bits(len);
        s.w = u32::from(desc & !HAS_MULT);
        if s.w > 64 {
            return Err(DecodeError {
                offset: at,
                what: "stream width above 64",
            });
        }
        s.mult = match desc & HAS_MULT {
            0 => 1,
            _ => d.uvarint("stream factor")? as i64,
        };
        let packed_len = len
            .checked_mul(s.w as usize)
            .map(|b| b.div_ceil(8))
            .unwrap_or(usize::MAX);
        let start = d.position();
        d.bytes(packed_len, "packed stream")?;
        s.packed = BitReader::new(&data[start..]);
        let at = d.position();
        let k = d.uvarint("stream exception count")?;
        if k > len as u64 {
            return Err(DecodeError {
                offset: at,
                what: "more stream exceptions than elements",
            });
        }
        if k > 0 {
            let at = d.position();
            s.hw = u32::from(d.u8("exception width")?);
            if s.hw == 0 || s.hw + s.w > 64 {
                return Err(DecodeError {
                    offset: at,
                    what: "bad exception width",
                });
            }
            let exc_len = (k as usize * (s.ib + s.hw) as usize).div_ceil(8);
            let start = d.position();
            d.bytes(exc_len, "stream exceptions")?;
            s.exc = BitReader::new(&data[start..]);
            s.exc_left = k as u32;
            s.load_exception();
        }
        Ok(s)
    }

    fn load_exception(&mut self) {
        if self.exc_left == 0 {
            self.next_exc = usize::MAX;
            return;
        }
        self.exc_left -= 1;
        self.next_exc = read(&mut self.exc, self.ib) as usize;
        self.next_high = read(&mut self.exc, self.hw);
    }

    /// The next element. Calling it more than `len` times yields garbage.
    #[inline(always)]
    pub fn next(&mut self) -> i64 {
        let mut x = read(&mut self.packed, self.w);
        if self.pos == self.next_exc {
            x |= self.next_high << self.w;
            self.load_exception();
        }
        self.pos += 1;
        self.base.wrapping_add(self.mult.wrapping_mul(x as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(xs: &[i64]) -> usize {
        let p = plan(xs);
        let mut out = vec![0xAB];
        write(xs, &p, &mut out);
        assert_eq!(out.len() - 1, p.bytes, "planned size for {xs:?}");
        let mut d = Decbuf::new(&out);
        d.u8("marker").unwrap();
        let mut r = StreamReader::parse(&mut d, &out, xs.len()).unwrap();
        assert!(d.is_empty(), "stream must end where its regions end");
        let got: Vec<i64> = (0..xs.len()).map(|_| r.next()).collect();
        assert_eq!(got, xs);
        p.bytes
    }

    #[test]
    fn table() {
        let cases: &[(&str, Vec<i64>, usize)] = &[
            ("one element", vec![42], 2),
            ("constant", vec![15_000; 119], 4),
            ("small range", vec![3, 4, 5, 6, 3, 4], 5),
            ("multiples of 4096", vec![4096, 8192, 0, 4096 * 3], 6),
            ("small range, factor 2", vec![0, 2, 4, 6, 0, 2], 6),
            (
                "counter reset is an exception",
                vec![7, 8, 9, -1_000_000, 7, 8],
                0,
            ),
            ("one big jump", vec![1, 2, 1, 2, 1 << 40, 1], 0),
            ("extremes", vec![i64::MIN, i64::MAX, 0, -1, 1], 0),
            ("all widths", (0..64).map(|i| 1i64 << i).collect(), 0),
        ];
        for (name, xs, want) in cases {
            let got = round_trip(xs);
            if *want > 0 {
                assert_eq!(got, *want, "case {name}");
            }
        }
    }

    #[test]
    fn outliers_do_not_widen_every_field() {
        let mut xs: Vec<i64> = (0..119).map(|i| 1000 + (i * 7919) % 64).collect();
        let plain = plan(&xs).bytes;
        xs[50] = -123_456_789;
        xs[90] = 1 << 50;
        let with_outliers = plan(&xs).bytes;
        assert!(with_outliers <= plain + 20, "{plain} → {with_outliers}");
        round_trip(&xs);
    }

    proptest! {
        #[test]
        fn round_trips(xs in prop::collection::vec(prop_oneof![
            any::<i64>(),
            -100i64..100,
            (0i64..50).prop_map(|x| x * 4096),
            Just(i64::MIN),
            Just(i64::MAX),
        ], 1..300)) {
            round_trip(&xs);
        }

        #[test]
        fn garbage_headers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64), len in 0usize..200) {
            let mut d = Decbuf::new(&bytes);
            if let Ok(mut r) = StreamReader::parse(&mut d, &bytes, len) {
                for _ in 0..len {
                    r.next();
                }
            }
        }
    }
}
