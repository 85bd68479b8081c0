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

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The bytes written so far, to patch a header in place.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// Starts a new byte. The buffer grows by a quarter, not by doubling:
    /// head chunks live in memory for hours, and doubling would leave a
    /// third of their bytes unused on average.
    #[inline]
    fn new_byte(&mut self) {
        if self.bytes.len() == self.bytes.capacity() {
            self.bytes.reserve_exact((self.bytes.len() / 4).max(32));
        }
        self.bytes.push(0);
        self.free = 8;
    }

    #[inline]
    pub fn write_bit(&mut self, bit: bool) {
        if self.free == 0 {
            self.new_byte();
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
                self.new_byte();
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
}

/// Appends bits like [`BitWriter`], keeping the last bits (fewer than 64)
/// in a word beside the buffer and writing whole 8-byte words to it. For
/// appendable chunks held in memory: an append touches the buffer (another
/// cache line than the writer's own) only when a word fills, and never
/// reads it. The bytes are read with [`copy_to`](Self::copy_to).
#[derive(Debug, Clone, Default)]
pub struct WordWriter {
    bytes: Vec<u8>,
    /// Pending bits, left-aligned.
    acc: u64,
    /// How many bits of `acc` are pending (< 64).
    n: u32,
}

impl WordWriter {
    /// Starts after `bytes` (byte-aligned), which stay untouched.
    pub fn with_bytes(bytes: Vec<u8>) -> Self {
        WordWriter {
            bytes,
            acc: 0,
            n: 0,
        }
    }

    /// Writes the low `n` bits of `v` (n ≤ 64), most significant first.
    #[inline]
    pub fn write_bits(&mut self, v: u64, n: u32) {
        debug_assert!(n <= 64);
        if n == 0 {
            return;
        }
        let v = if n == 64 { v } else { v & ((1u64 << n) - 1) };
        let free = 64 - self.n;
        if n < free {
            self.acc |= v << (free - n);
            self.n += n;
            return;
        }
        // Fill the word with the top `free` bits and start the next one.
        let rest = n - free;
        self.acc |= v >> rest;
        self.flush_word();
        self.acc = if rest == 0 { 0 } else { v << (64 - rest) };
        self.n = rest;
    }

    #[inline]
    pub fn write_bit(&mut self, bit: bool) {
        self.write_bits(u64::from(bit), 1);
    }

    pub fn write_byte(&mut self, b: u8) {
        self.write_bits(u64::from(b), 8);
    }

    /// Appends the full word. The buffer grows by a quarter (see
    /// [`BitWriter`]).
    fn flush_word(&mut self) {
        if self.bytes.len() + 8 > self.bytes.capacity() {
            self.bytes.reserve_exact((self.bytes.len() / 4).max(32));
        }
        self.bytes.extend_from_slice(&self.acc.to_be_bytes());
    }

    /// Appends every byte written so far to `out` (the last one padded
    /// with zero bits).
    pub fn copy_to(&self, out: &mut Vec<u8>) {
        out.reserve(self.len());
        out.extend_from_slice(&self.bytes);
        out.extend_from_slice(&self.acc.to_be_bytes()[..self.n.div_ceil(8) as usize]);
    }

    /// Bytes written so far.
    fn len(&self) -> usize {
        self.bytes.len() + self.n.div_ceil(8) as usize
    }

    /// Heap bytes held.
    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }
}

/// Reads bits from a byte slice.
///
/// Reads past the end of the data yield zero bits instead of failing, so
/// the decoder's hot loop needs no per-read checks; callers ask
/// [`overrun`](Self::overrun) once per decoded item whether they read more
/// bits than the data holds.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte to load into `buf` (may pass the end: virtual zero bytes).
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

    /// Loads whole bytes until at least 57 bits are valid.
    #[inline(always)]
    fn refill(&mut self) {
        if self.pos + 8 <= self.data.len() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&self.data[self.pos..self.pos + 8]);
            let word = u64::from_be_bytes(w);
            let take = (64 - self.valid) / 8;
            if take == 0 {
                return;
            }
            self.buf |= word >> self.valid & mask_high(take * 8, self.valid);
            self.pos += take as usize;
            self.valid += take * 8;
        } else {
            while self.valid <= 56 {
                let b = self.data.get(self.pos).copied().unwrap_or(0);
                self.buf |= u64::from(b) << (56 - self.valid);
                self.valid += 8;
                self.pos += 1;
            }
        }
    }

    /// Whether more bits were consumed than the data holds.
    #[inline(always)]
    pub fn overrun(&self) -> bool {
        (self.pos as u64) * 8 - u64::from(self.valid) > (self.data.len() as u64) * 8
    }

    /// Ensures at least `n` (≤ 57) bits are loaded.
    #[inline(always)]
    pub fn ensure(&mut self, n: u32) {
        if self.valid < n {
            self.refill();
        }
    }

    /// The loaded bits, left-aligned (valid after [`ensure`](Self::ensure)).
    #[inline(always)]
    pub fn peek(&self) -> u64 {
        self.buf
    }

    /// Drops `n` (< 64, ≤ loaded) bits.
    #[inline(always)]
    pub fn consume(&mut self, n: u32) {
        self.buf <<= n;
        self.valid -= n;
    }

    /// Reads `n` bits (1 ≤ n ≤ 64) as the low bits of the result.
    #[inline(always)]
    pub fn read_bits(&mut self, n: u32) -> u64 {
        if n > 56 {
            let hi = self.read_bits(32);
            let lo = self.read_bits(n - 32);
            return hi << (n - 32) | lo;
        }
        self.ensure(n);
        let v = self.buf >> (64 - n);
        self.consume(n);
        v
    }

    pub fn read_byte(&mut self) -> u8 {
        self.read_bits(8) as u8
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
            for &(v, n) in items.iter().filter(|i| i.1 > 0) {
                let want = if n == 64 { v } else { v & ((1u64 << n) - 1) };
                prop_assert_eq!(r.read_bits(n), want);
                prop_assert!(!r.overrun());
            }
        }
    }

    proptest! {
        #[test]
        fn word_writer_writes_what_bit_writer_writes(
            items in prop::collection::vec((any::<u64>(), 0u32..=64), 0..200),
            prefix in prop::collection::vec(any::<u8>(), 0..4),
        ) {
            let mut bits = BitWriter::with_bytes(prefix.clone());
            let mut words = WordWriter::with_bytes(prefix);
            for &(v, n) in &items {
                bits.write_bits(v, n);
                words.write_bits(v, n);
                let mut out = Vec::new();
                words.copy_to(&mut out);
                prop_assert_eq!(&out[..], bits.bytes());
                prop_assert_eq!(words.len(), out.len());
            }
        }
    }

    #[test]
    fn reading_past_the_end_reads_zeros_and_reports_overrun() {
        let mut r = BitReader::new(&[0b1010_0000]);
        assert_eq!(r.read_bits(3), 0b101);
        assert_eq!(r.read_bits(5), 0);
        assert!(!r.overrun());
        assert_eq!(r.read_bits(1), 0);
        assert!(r.overrun());
        assert_eq!(r.read_bits(64), 0);
    }
}
