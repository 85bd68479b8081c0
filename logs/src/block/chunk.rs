//! One chunk's payload: a stream's entries in time order, as columns, so
//! the compressor sees times with times and lines with lines.
//!
//! ```text
//! entries: uvarint
//! times:   first zigzag varint, then (ts[i] - ts[i-1]) uvarint × (entries - 1)
//! lines:   byte length uvarint × entries
//! meta:    byte length uvarint × entries       (0: no structured metadata)
//! metadata region: per entry, pairs: uvarint, (name: str, value: str) × pairs
//! lines region:    the lines, back to back (valid UTF-8 as a whole)
//! str:     len uvarint, then that many UTF-8 bytes
//! ```

use tsdb::encoding::{Decbuf, DecodeError, put_bytes, put_uvarint, put_varint};

use crate::model::Entry;

/// Encodes `entries` (in time order) as a chunk payload.
pub fn encode(entries: &[Entry]) -> Vec<u8> {
    let lines: usize = entries.iter().map(|e| e.line.len()).sum();
    let mut out = Vec::with_capacity(lines + entries.len() * 4 + 16);
    put_uvarint(&mut out, entries.len() as u64);
    let mut prev = None;
    for e in entries {
        match prev {
            None => put_varint(&mut out, e.ts),
            // Entries are in time order: deltas are never negative.
            Some(p) => put_uvarint(&mut out, e.ts.wrapping_sub(p) as u64),
        }
        prev = Some(e.ts);
    }
    for e in entries {
        put_uvarint(&mut out, e.line.len() as u64);
    }
    let mut meta = Vec::new();
    for e in entries {
        let at = meta.len();
        if !e.metadata.is_empty() {
            put_uvarint(&mut meta, e.metadata.len() as u64);
            for (n, v) in &e.metadata {
                put_bytes(&mut meta, n.as_bytes());
                put_bytes(&mut meta, v.as_bytes());
            }
        }
        put_uvarint(&mut out, (meta.len() - at) as u64);
    }
    out.extend_from_slice(&meta);
    for e in entries {
        out.extend_from_slice(e.line.as_bytes());
    }
    out
}

/// A decoded chunk: times and offsets, lines read in place.
#[derive(Debug)]
pub struct Chunk {
    raw: Vec<u8>,
    pub ts: Vec<i64>,
    /// Line `i` is `lines[line_ends[i-1]..line_ends[i]]` of the lines region.
    line_ends: Vec<usize>,
    meta_ends: Vec<usize>,
    meta_at: usize,
    lines_at: usize,
}

impl Chunk {
    /// Decodes a payload; every length is checked against the bytes there.
    pub fn decode(raw: Vec<u8>) -> Result<Chunk, DecodeError> {
        let mut d = Decbuf::new(&raw);
        let n = d.len("chunk entries")?;
        let mut ts = Vec::with_capacity(n);
        for i in 0..n {
            let t = if i == 0 {
                d.varint("chunk time")?
            } else {
                let prev: i64 = ts[i - 1];
                let t = prev.wrapping_add(d.uvarint("chunk time delta")? as i64);
                if t < prev {
                    return Err(err(&d, "chunk time delta"));
                }
                t
            };
            ts.push(t);
        }
        let ends = |d: &mut Decbuf, what| -> Result<Vec<usize>, DecodeError> {
            let mut total = 0usize;
            (0..n)
                .map(|_| {
                    total = total
                        .checked_add(d.len(what)?)
                        .ok_or_else(|| err(d, what))?;
                    Ok(total)
                })
                .collect()
        };
        let line_ends = ends(&mut d, "chunk line length")?;
        let meta_ends = ends(&mut d, "chunk metadata length")?;
        let meta_at = d.position();
        let meta_len = meta_ends.last().copied().unwrap_or(0);
        let lines_len = line_ends.last().copied().unwrap_or(0);
        if d.remaining() != meta_len.saturating_add(lines_len) {
            return Err(err(&d, "chunk regions"));
        }
        let lines_at = meta_at + meta_len;
        if std::str::from_utf8(&raw[lines_at..]).is_err() {
            return Err(DecodeError {
                offset: lines_at,
                what: "chunk lines (UTF-8)",
            });
        }
        Ok(Chunk {
            ts,
            line_ends,
            meta_ends,
            meta_at,
            lines_at,
            raw,
        })
    }

    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// The positions of the entries in `(after, through]`.
    pub fn within(&self, after: i64, through: i64) -> std::ops::Range<usize> {
        self.ts.partition_point(|&t| t <= after)..self.ts.partition_point(|&t| t <= through)
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// Line `i`; `None` when a length splits a character (damage the CRC
    /// did not catch).
    pub fn line(&self, i: usize) -> Option<&str> {
        let start = if i == 0 { 0 } else { self.line_ends[i - 1] };
        let lines = &self.raw[self.lines_at..];
        std::str::from_utf8(lines.get(start..self.line_ends[i])?).ok()
    }

    /// Bytes of line `i`.
    pub fn line_len(&self, i: usize) -> usize {
        let start = if i == 0 { 0 } else { self.line_ends[i - 1] };
        self.line_ends[i].saturating_sub(start)
    }

    /// Whether entry `i` carries structured metadata.
    pub fn has_metadata(&self, i: usize) -> bool {
        let start = if i == 0 { 0 } else { self.meta_ends[i - 1] };
        self.meta_ends[i] > start
    }

    /// Entry `i`, with its structured metadata.
    pub fn entry(&self, i: usize) -> Result<Entry, DecodeError> {
        let line = self.line(i).ok_or(DecodeError {
            offset: self.lines_at,
            what: "chunk line",
        })?;
        let start = if i == 0 { 0 } else { self.meta_ends[i - 1] };
        let region = &self.raw[self.meta_at + start..self.meta_at + self.meta_ends[i]];
        let mut metadata = Vec::new();
        if !region.is_empty() {
            let mut d = Decbuf::new(region);
            for _ in 0..d.len("metadata pairs")? {
                metadata.push((
                    d.str("metadata name")?.to_owned(),
                    d.str("metadata value")?.to_owned(),
                ));
            }
        }
        Ok(Entry {
            ts: self.ts[i],
            line: line.to_owned(),
            metadata,
        })
    }
}

fn err(d: &Decbuf, what: &'static str) -> DecodeError {
    DecodeError {
        offset: d.position(),
        what,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn entries() -> impl Strategy<Value = Vec<Entry>> {
        let entry = (
            -1_000_000i64..1_000_000,
            ".{0,40}",
            prop::collection::vec(("[a-z_]{1,8}", ".{0,12}"), 0..3),
        )
            .prop_map(|(ts, line, metadata)| Entry { ts, line, metadata });
        prop::collection::vec(entry, 0..60).prop_map(|mut v| {
            v.sort_by_key(|e| e.ts);
            v
        })
    }

    proptest! {
        #[test]
        fn round_trips(es in entries()) {
            let c = Chunk::decode(encode(&es)).expect("decodes");
            let back: Vec<Entry> = (0..c.len()).map(|i| c.entry(i).expect("entry")).collect();
            prop_assert_eq!(back, es);
        }

        #[test]
        fn damaged_payloads_fail_or_decode_without_panicking(
            es in entries(),
            cut in 0usize..400,
            flip in 0usize..400,
        ) {
            let mut raw = encode(&es);
            if !raw.is_empty() {
                let at = flip % raw.len();
                raw[at] ^= 0x5a;
            }
            raw.truncate(cut.min(raw.len()));
            if let Ok(c) = Chunk::decode(raw) {
                for i in 0..c.len() {
                    let _ = c.entry(i);
                }
            }
        }
    }

    #[test]
    fn extreme_times_round_trip() {
        let es = vec![Entry::new(i64::MIN + 1, "a"), Entry::new(i64::MAX, "b")];
        let c = Chunk::decode(encode(&es)).expect("decodes");
        assert_eq!(c.ts, vec![i64::MIN + 1, i64::MAX]);
    }
}
