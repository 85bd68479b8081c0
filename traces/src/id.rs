//! Trace and span ids: fixed-size byte arrays, printed as lower-case hex.

use std::fmt;

use crate::error::{Error, Result};

/// A 16-byte trace id. Ordered by bytes, which is the order of the block
/// trace-id index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TraceId(pub [u8; 16]);

impl TraceId {
    /// From the 16 bytes of a span's `trace_id`; `None` for any other length.
    pub fn from_bytes(b: &[u8]) -> Option<TraceId> {
        b.try_into().ok().map(TraceId)
    }

    /// Parses 1 to 32 hex digits (either case); shorter ids are
    /// left-padded with zeros, as Tempo reads them.
    pub fn parse_hex(s: &str) -> Result<TraceId> {
        let bad = |reason| Error::InvalidTraceId {
            id: s.chars().take(64).collect(),
            reason,
        };
        if s.is_empty() || s.len() > 32 {
            return Err(bad("expected 1 to 32 hex digits"));
        }
        let mut out = [0u8; 16];
        let pad = 32 - s.len();
        for (i, c) in s.bytes().enumerate() {
            let nibble = hex_value(c).ok_or_else(|| bad("not a hex digit"))?;
            let pos = pad + i;
            out[pos / 2] |= if pos.is_multiple_of(2) {
                nibble << 4
            } else {
                nibble
            };
        }
        Ok(TraceId(out))
    }

    /// A well-mixed 64-bit value of the id, for hashing decisions
    /// (probabilistic sampling): the low 8 bytes, which W3C trace ids keep
    /// random.
    pub fn low_u64(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[8..]);
        u64::from_be_bytes(b)
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Lower-case hex of any bytes (span ids, parent ids).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_hex_cases() {
        let full = "0af7651916cd43dd8448eb211c80319c";
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("full lower case", full, Some(full)),
            ("upper case", "0AF7651916CD43DD8448EB211C80319C", Some(full)),
            (
                "short is left-padded",
                "1c80319c",
                Some("0000000000000000000000001c80319c"),
            ),
            (
                "odd length",
                "abc",
                Some("00000000000000000000000000000abc"),
            ),
            ("empty", "", None),
            ("too long", "00000000000000000000000000000000a", None),
            ("not hex", "xyz", None),
        ];
        for (name, input, want) in cases {
            let got = TraceId::parse_hex(input).ok().map(|t| t.to_string());
            assert_eq!(got.as_deref(), *want, "{name}");
        }
    }

    #[test]
    fn from_bytes_needs_sixteen() {
        assert!(TraceId::from_bytes(&[1; 16]).is_some());
        assert!(TraceId::from_bytes(&[1; 8]).is_none());
        assert!(TraceId::from_bytes(&[]).is_none());
    }
}
