//! Binary encoding helpers shared by the on-disk formats: varints and a
//! bounds-checked decoding cursor that reports the offset of bad input;
//! [`base64`] for the text APIs.

pub mod base64;

/// Appends `v` as an unsigned LEB128 varint.
#[inline]
pub fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Appends `v` zig-zag encoded as a varint.
#[inline]
pub fn put_varint(buf: &mut Vec<u8>, v: i64) {
    put_uvarint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

/// Appends a length-prefixed byte string.
pub fn put_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    put_uvarint(buf, b.len() as u64);
    buf.extend_from_slice(b);
}

/// A cursor over untrusted bytes. Every read is bounds-checked and fails
/// with the byte offset (relative to the start of the buffer) and what was
/// being read.
#[derive(Debug, Clone)]
pub struct Decbuf<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// Where and why decoding failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub offset: usize,
    pub what: &'static str,
}

pub type DecodeResult<T> = std::result::Result<T, DecodeError>;

impl<'a> Decbuf<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Decbuf { buf, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    fn err<T>(&self, what: &'static str) -> DecodeResult<T> {
        Err(DecodeError {
            offset: self.pos,
            what,
        })
    }

    pub fn u8(&mut self, what: &'static str) -> DecodeResult<u8> {
        match self.buf.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => self.err(what),
        }
    }

    pub fn bytes(&mut self, n: usize, what: &'static str) -> DecodeResult<&'a [u8]> {
        if self.remaining() < n {
            return self.err(what);
        }
        let b = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    pub fn u32_be(&mut self, what: &'static str) -> DecodeResult<u32> {
        let b = self.bytes(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64_be(&mut self, what: &'static str) -> DecodeResult<u64> {
        let b = self.bytes(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    #[inline]
    pub fn uvarint(&mut self, what: &'static str) -> DecodeResult<u64> {
        let mut v = 0u64;
        let mut shift = 0u32;
        loop {
            let Some(&b) = self.buf.get(self.pos) else {
                return self.err(what);
            };
            self.pos += 1;
            if shift == 63 && b > 1 {
                return self.err(what);
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return self.err(what);
            }
        }
    }

    pub fn varint(&mut self, what: &'static str) -> DecodeResult<i64> {
        let u = self.uvarint(what)?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// A uvarint that must fit in `usize` and not exceed the bytes left
    /// (for lengths, so garbage never triggers a huge allocation).
    pub fn len(&mut self, what: &'static str) -> DecodeResult<usize> {
        let v = self.uvarint(what)?;
        match usize::try_from(v) {
            Ok(n) if n <= self.remaining() => Ok(n),
            _ => self.err(what),
        }
    }

    pub fn len_bytes(&mut self, what: &'static str) -> DecodeResult<&'a [u8]> {
        let n = self.len(what)?;
        self.bytes(n, what)
    }

    pub fn str(&mut self, what: &'static str) -> DecodeResult<&'a str> {
        let at = self.pos;
        let b = self.len_bytes(what)?;
        std::str::from_utf8(b).map_err(|_| DecodeError { offset: at, what })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varints_round_trip(u in any::<u64>(), i in any::<i64>()) {
            let mut b = vec![];
            put_uvarint(&mut b, u);
            put_varint(&mut b, i);
            let mut d = Decbuf::new(&b);
            prop_assert_eq!(d.uvarint("u").unwrap(), u);
            prop_assert_eq!(d.varint("i").unwrap(), i);
            prop_assert!(d.is_empty());
        }

        #[test]
        fn garbage_never_panics(b in prop::collection::vec(any::<u8>(), 0..64)) {
            let mut d = Decbuf::new(&b);
            while d.uvarint("x").is_ok() && d.len_bytes("y").is_ok() {}
        }
    }

    #[test]
    fn truncated_varint_reports_offset() {
        let mut d = Decbuf::new(&[0x01, 0x80]);
        assert_eq!(d.uvarint("a"), Ok(1));
        assert_eq!(
            d.uvarint("b"),
            Err(DecodeError {
                offset: 2,
                what: "b"
            })
        );
    }

    #[test]
    fn oversized_length_is_rejected() {
        let mut b = vec![];
        put_uvarint(&mut b, 1 << 40);
        assert!(Decbuf::new(&b).len("len").is_err());
    }
}
