//! Bit streams: most-significant bit first within each byte.

/// Appends bits to a byte buffer.
#[derive(Debug, Clone, Default)]
pub struct BitWriter {
    bytes: Vec<u8>,
    /// Bits still free in the last byte (0 when a new byte is needed).
    free: u32,
}

impl BitWriter {
    /// Starts after `bytes` (byte-aligned), which stay untouched.
    pub fn with_bytes(bytes: Vec<u8>) -> Self {
        BitWriter { bytes, free: 0 }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn bytes_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    #[inline]
    pub fn write_bit(&mut self, bit: bool) {
        if self.free == 0 {
            self.bytes.push(0);
            self.free = 8;
        }
        self.free -= 1;
        if bit && let Some(last) = self.bytes.last_mut() {
            *last |= 1 << self.free;
        }
    }

    /// Writes the low `n` bits of `v` (n ≤ 64), most significant first.
    #[inline]
    pub fn write_bits(&mut self, v: u64, mut n: u32) {
        debug_assert!(n <= 64);
        let v = if n == 64 { v } else { v & ((1u64 << n) - 1) };
        while n > 0 {
            if self.free == 0 {
                self.bytes.push(0);
                self.free = 8;
            }
            let take = n.min(self.free);
            let chunk = ((v >> (n - take)) & ((1u64 << take) - 1)) as u8;
            self.free -= take;
            if let Some(last) = self.bytes.last_mut() {
                *last |= chunk << self.free;
            }
            n -= take;
        }
    }

    /// Writes a whole byte-aligned-or-not byte.
    pub fn write_byte(&mut self, b: u8) {
        self.write_bits(u64::from(b), 8);
    }
}

/// Reads bits from a byte slice. Reading past the end yields `None`.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte to load into `buf`.
    pos: usize,
    /// Loaded bits, left-aligned.
    buf: u64,
    /// How many bits of `buf` are valid.
    valid: u32,
}

impl<'a> BitReader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        BitReader {
            data,
            pos: 0,
            buf: 0,
            valid: 0,
        }
    }

    #[inline]
    fn refill(&mut self) {
        if self.pos + 8 <= self.data.len() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&self.data[self.pos..self.pos + 8]);
            let word = u64::from_be_bytes(w);
            // Load whole bytes while they fit.
            let take = (64 - self.valid) / 8;
            if take == 0 {
                return;
            }
            self.buf |= word >> self.valid & mask_high(take * 8, self.valid);
            self.pos += take as usize;
            self.valid += take * 8;
        } else {
            while self.valid <= 56 && self.pos < self.data.len() {
                self.buf |= u64::from(self.data[self.pos]) << (56 - self.valid);
                self.valid += 8;
                self.pos += 1;
            }
        }
    }

    #[inline]
    pub fn read_bit(&mut self) -> Option<bool> {
        if self.valid == 0 {
            self.refill();
            if self.valid == 0 {
                return None;
            }
        }
        let bit = self.buf >> 63 == 1;
        self.buf <<= 1;
        self.valid -= 1;
        Some(bit)
    }

    /// Reads `n` bits (n ≤ 64) as the low bits of the result.
    #[inline]
    pub fn read_bits(&mut self, n: u32) -> Option<u64> {
        if n == 0 {
            return Some(0);
        }
        if n > 56 {
            let hi = self.read_bits(n - 32)?;
            let lo = self.read_bits(32)?;
            return Some(hi << 32 | lo);
        }
        if self.valid < n {
            self.refill();
            if self.valid < n {
                return None;
            }
        }
        let v = self.buf >> (64 - n);
        self.buf <<= n;
        self.valid -= n;
        Some(v)
    }

    /// Counts leading one bits up to `max`, consuming them and the
    /// terminating zero (if `max` was not reached).
    #[inline]
    pub fn read_unary(&mut self, max: u32) -> Option<u32> {
        let mut n = 0;
        while n < max {
            if !self.read_bit()? {
                return Some(n);
            }
            n += 1;
        }
        Some(n)
    }

    pub fn read_byte(&mut self) -> Option<u8> {
        self.read_bits(8).map(|b| b as u8)
    }
}

/// A mask of `bits` ones starting `skip` bits from the top.
#[inline]
fn mask_high(bits: u32, skip: u32) -> u64 {
    if bits == 0 {
        return 0;
    }
    let m = if bits >= 64 {
        u64::MAX
    } else {
        ((1u64 << bits) - 1) << (64 - bits)
    };
    m >> skip
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(items in prop::collection::vec((any::<u64>(), 0u32..=64), 0..200)) {
            let mut w = BitWriter::default();
            for &(v, n) in &items {
                w.write_bits(v, n);
            }
            let bytes = w.into_bytes();
            let mut r = BitReader::new(&bytes);
            for &(v, n) in &items {
                let want = if n == 64 { v } else if n == 0 { 0 } else { v & ((1u64 << n) - 1) };
                prop_assert_eq!(r.read_bits(n), Some(want));
            }
        }
    }

    #[test]
    fn reading_past_the_end_is_none() {
        let mut r = BitReader::new(&[0b1010_0000]);
        assert_eq!(r.read_bits(3), Some(0b101));
        assert_eq!(r.read_bits(5), Some(0));
        assert_eq!(r.read_bit(), None);
        assert_eq!(r.read_bits(9), None);
    }
}
