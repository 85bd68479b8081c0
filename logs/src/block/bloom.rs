//! Per-chunk n-gram bloom filters: which chunks cannot hold a line
//! containing a given string.
//!
//! Every 4-byte window of every line (ASCII letters folded to lower case)
//! sets one bit. A line containing `needle` contains each of its 4-byte
//! windows, so a chunk whose filter misses one of them holds no such line:
//! no false negatives, for any needle of 4 bytes or more, case-sensitive
//! or not. Shorter needles skip nothing.
//!
//! A filter is sized by what it holds, not by the chunk's bytes: it is
//! built at a generous power-of-two size, then folded in halves (bit `p`
//! of `2m` bits becomes bit `p mod m`) while the folded filter would stay
//! at most [`MAX_FILL`] full. Log lines repeat their templates, so the
//! distinct 4-grams of a chunk grow far slower than its bytes (about
//! 45,000 per MiB of the benchmark's mixed lines); a filter then costs
//! about 2.5 to 4 bits per distinct 4-gram, and a needle of `n` bytes
//! passes a chunk without it with probability at most `MAX_FILL^(n-3)`
//! (if its grams were independent): 4% for a 7-byte word.

/// Bytes per gram.
pub const GRAM: usize = 4;

/// The most a filter is filled (share of bits set) after folding.
pub const MAX_FILL: f64 = 0.45;

/// Builds a filter over the lines given to [`Builder::add`].
pub struct Builder {
    bits: Vec<u64>,
}

impl Builder {
    /// A filter for `raw_bytes` of lines (at most that many grams).
    pub fn new(raw_bytes: usize) -> Builder {
        let words = (raw_bytes * 2)
            .div_ceil(64)
            .next_power_of_two()
            .clamp(8, 1 << 18);
        Builder {
            bits: vec![0; words],
        }
    }

    pub fn add(&mut self, line: &[u8]) {
        let m = self.bits.len() as u64 * 64;
        for_each_gram(line, |g| {
            let p = position(g) & (m - 1);
            self.bits[(p / 64) as usize] |= 1 << (p % 64);
        });
    }

    /// The filter's bytes (little-endian words), folded as far as
    /// [`MAX_FILL`] allows.
    pub fn finish(mut self) -> Vec<u8> {
        while self.bits.len() > 8 {
            let half = self.bits.len() / 2;
            let set: u32 = (0..half)
                .map(|i| (self.bits[i] | self.bits[i + half]).count_ones())
                .sum();
            if f64::from(set) > MAX_FILL * (half * 64) as f64 {
                break;
            }
            for i in 0..half {
                self.bits[i] |= self.bits[i + half];
            }
            self.bits.truncate(half);
        }
        self.bits.iter().flat_map(|w| w.to_le_bytes()).collect()
    }
}

/// Whether a filter's `bytes` (from [`Builder::finish`]) may hold a line
/// containing `needle`; `true` for needles shorter than a gram and for
/// filters of a size no builder makes.
pub fn may_contain(bytes: &[u8], needle: &[u8]) -> bool {
    let bits = bytes.len() as u64 * 8;
    if bits < 64 || !bits.is_power_of_two() {
        return true;
    }
    let mut all = true;
    for_each_gram(needle, |g| {
        let p = position(g) & (bits - 1);
        all = all && bytes[(p / 8) as usize] & (1 << (p % 8)) != 0;
    });
    all
}

fn for_each_gram(line: &[u8], mut f: impl FnMut(u32)) {
    if line.len() < GRAM {
        return;
    }
    let mut g = 0u32;
    for (i, &b) in line.iter().enumerate() {
        g = (g << 8) | u32::from(b.to_ascii_lowercase());
        if i + 1 >= GRAM {
            f(g);
        }
    }
}

/// A well-mixed 64-bit hash of gram `g`; its low bits pick the bit, so a
/// folded filter (fewer low bits) agrees with the unfolded one.
fn position(g: u32) -> u64 {
    let mut h = u64::from(g).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h ^= h >> 29;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^ (h >> 32)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn filter(lines: &[&str]) -> Vec<u8> {
        let mut b = Builder::new(lines.iter().map(|l| l.len()).sum());
        for l in lines {
            b.add(l.as_bytes());
        }
        b.finish()
    }

    #[test]
    fn cases() {
        let f = filter(&["level=info msg=\"request served\"", "GET /api/v1/Users 200"]);
        type Case<'a> = (&'a str, &'a str, bool);
        let cases: Vec<Case> = vec![
            ("a word of a line", "served", true),
            ("across words", "request serv", true),
            ("case folded", "/API/V1/users", true),
            ("short needles skip nothing", "zq", true),
            ("a word of no line", "kestrel", false),
            ("grams split across lines", "200level", false),
        ];
        for (name, needle, want) in cases {
            assert_eq!(may_contain(&f, needle.as_bytes()), want, "{name}");
        }
    }

    #[test]
    fn folding_sizes_filters_by_their_distinct_grams() {
        let repeated: Vec<String> = (0..2000).map(|i| format!("GET /x {}", i % 3)).collect();
        let refs: Vec<&str> = repeated.iter().map(String::as_str).collect();
        assert_eq!(
            filter(&refs).len(),
            64,
            "a handful of grams: the smallest filter"
        );
        let varied: Vec<String> = (0..2000).map(|i| format!("id={:08x}", i * 7919)).collect();
        let refs: Vec<&str> = varied.iter().map(String::as_str).collect();
        let f = filter(&refs);
        let set: u32 = f.iter().map(|b| b.count_ones()).sum();
        assert!(f.len() > 64, "many grams, a bigger filter");
        assert!(f64::from(set) <= MAX_FILL * (f.len() * 8) as f64);
    }

    #[test]
    fn foreign_sizes_never_skip() {
        assert!(may_contain(&[0; 3], b"anything"));
        assert!(may_contain(&[], b"anything"));
    }

    proptest! {
        /// No false negatives: every substring of a line passes.
        #[test]
        fn substrings_always_pass(
            lines in prop::collection::vec(".{0,60}", 1..30),
            pick in 0usize..1000,
            from in 0usize..60,
            len in 0usize..20,
        ) {
            let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
            let f = filter(&refs);
            let line = lines[pick % lines.len()].as_bytes();
            let from = from.min(line.len());
            let to = (from + len).min(line.len());
            prop_assert!(may_contain(&f, &line[from..to]));
        }
    }
}
