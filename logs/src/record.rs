//! The log store's WAL record (type 64, in the log family 64–95 of the
//! shared WAL; see `tsdb::wal::RecordFamily`): the admitted entries of one
//! push, by stream.
//!
//! ```text
//! ┌─────────┬───────────┬──────────────────┬──────────────────────┐
//! │ type=64 │ version=1 │ streams: uvarint │ stream × streams     │
//! └─────────┴───────────┴──────────────────┴──────────────────────┘
//! stream:   labels: uvarint, (name: str, value: str) × labels,
//!           entries: uvarint, entry × entries
//! entry:    ts: zigzag varint (ns since the epoch), line: str,
//!           metadata: uvarint, (name: str, value: str) × metadata
//! str:      len: uvarint, UTF-8 bytes
//! ```
//!
//! Labels are written sorted (as `Labels` holds them). The WAL frames
//! every record with its own CRC; this record adds none.
//!
//! A deletion (type 65) names what it removed, so that replay removes it
//! again from what came before it:
//!
//! ```text
//! ┌─────────┬───────────┬─────────────┬───────────────┬─────────────┐
//! │ type=65 │ version=1 │ query: str  │ start: zigzag │ end: zigzag │
//! └─────────┴───────────┴─────────────┴───────────────┴─────────────┘
//! query: a LogQL log query (selector and line filters); start and end:
//! nanoseconds, both included
//! ```

use tsdb::encoding::{Decbuf, DecodeError, put_bytes, put_uvarint, put_varint};
use tsdb::model::{Label, Labels};

use crate::error::{Error, Result};
use crate::model::{Entry, StreamPush};

/// The record type byte of a log record.
pub const LOGS: u8 = 64;
/// The record type byte of a deletion.
pub const DELETE: u8 = 65;
const VERSION: u8 = 1;

/// Encodes admitted entries as one record.
pub fn encode(streams: &[StreamPush]) -> Vec<u8> {
    let size: usize = streams
        .iter()
        .map(|s| 16 + s.entries.iter().map(|e| e.size() + 16).sum::<usize>())
        .sum();
    let mut out = Vec::with_capacity(2 + size);
    out.push(LOGS);
    out.push(VERSION);
    put_uvarint(&mut out, streams.len() as u64);
    for s in streams {
        put_uvarint(&mut out, s.labels.len() as u64);
        for l in s.labels.iter() {
            string(&mut out, &l.name);
            string(&mut out, &l.value);
        }
        put_uvarint(&mut out, s.entries.len() as u64);
        for e in &s.entries {
            put_varint(&mut out, e.ts);
            string(&mut out, &e.line);
            put_uvarint(&mut out, e.metadata.len() as u64);
            for (n, v) in &e.metadata {
                string(&mut out, n);
                string(&mut out, v);
            }
        }
    }
    out
}

/// Decodes a record written by [`encode`].
pub fn decode(record: &[u8]) -> Result<Vec<StreamPush>> {
    let mut r = match record {
        [LOGS, VERSION, body @ ..] => Reader::new(body),
        [LOGS, v, ..] => {
            return Err(Error::BadRecord(format!(
                "version {v} is not known to this build (it reads {VERSION})"
            )));
        }
        [t, ..] => return Err(Error::BadRecord(format!("type {t} is not a log record"))),
        [] => return Err(Error::BadRecord("empty record".into())),
    };
    let n = r.count()?;
    let mut streams = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        let nl = r.count()?;
        let mut labels = Vec::with_capacity(nl.min(64));
        for _ in 0..nl {
            let name = r.string()?;
            labels.push(Label::new(name, r.string()?));
        }
        let labels = Labels::try_from_unsorted(labels)
            .map_err(|e| Error::BadRecord(format!("stream labels: {e}")))?;
        let ne = r.count()?;
        let mut entries = Vec::with_capacity(ne.min(4096));
        for _ in 0..ne {
            let ts = r.varint()?;
            let line = r.string()?.to_owned();
            let nm = r.count()?;
            let mut metadata = Vec::with_capacity(nm.min(64));
            for _ in 0..nm {
                let name = r.string()?.to_owned();
                metadata.push((name, r.string()?.to_owned()));
            }
            entries.push(Entry { ts, line, metadata });
        }
        streams.push(StreamPush { labels, entries });
    }
    if r.remaining() > 0 {
        return Err(Error::BadRecord(format!(
            "{} bytes after the last stream",
            r.remaining()
        )));
    }
    Ok(streams)
}

/// A deletion as its record carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    pub query: String,
    pub start: i64,
    pub end: i64,
}

/// Encodes a deletion.
pub fn encode_delete(d: &Deletion) -> Vec<u8> {
    let mut out = vec![DELETE, VERSION];
    string(&mut out, &d.query);
    put_varint(&mut out, d.start);
    put_varint(&mut out, d.end);
    out
}

/// Decodes a record written by [`encode_delete`].
pub fn decode_delete(record: &[u8]) -> Result<Deletion> {
    let mut r = match record {
        [DELETE, VERSION, body @ ..] => Reader::new(body),
        [DELETE, v, ..] => {
            return Err(Error::BadRecord(format!(
                "deletion version {v} is not known to this build (it reads {VERSION})"
            )));
        }
        _ => return Err(Error::BadRecord("not a deletion record".into())),
    };
    let query = r.string()?.to_owned();
    let start = r.varint()?;
    let end = r.varint()?;
    if r.remaining() > 0 {
        return Err(Error::BadRecord("bytes after the deletion".into()));
    }
    Ok(Deletion { query, start, end })
}

fn string(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

/// The record's bounds-checked cursor, its errors as record errors.
struct Reader<'a>(Decbuf<'a>);

fn bad(e: DecodeError) -> Error {
    Error::BadRecord(format!("{} at byte {}", e.what, e.offset))
}

impl<'a> Reader<'a> {
    fn new(body: &'a [u8]) -> Reader<'a> {
        Reader(Decbuf::new(body))
    }

    fn varint(&mut self) -> Result<i64> {
        self.0.varint("varint (truncated)").map_err(bad)
    }

    /// A count, no larger than the bytes left could hold.
    fn count(&mut self) -> Result<usize> {
        self.0
            .len("count (truncated or past the end of the record)")
            .map_err(bad)
    }

    fn string(&mut self) -> Result<&'a str> {
        self.0
            .str("string (not UTF-8 or past the end of the record)")
            .map_err(bad)
    }

    fn remaining(&self) -> usize {
        self.0.remaining()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn stream(pairs: &[(&str, &str)], entries: Vec<Entry>) -> StreamPush {
        StreamPush {
            labels: Labels::from_pairs(pairs),
            entries,
        }
    }

    #[test]
    fn round_trip() {
        let batch = vec![
            stream(
                &[("app", "api"), ("env", "prod")],
                vec![
                    Entry::new(1_700_000_000_000_000_000, "GET / 200"),
                    Entry {
                        ts: -5,
                        line: "ünïcode ✓".into(),
                        metadata: vec![("trace_id".into(), "abc".into())],
                    },
                ],
            ),
            stream(&[("app", "db")], vec![]),
        ];
        let rec = encode(&batch);
        assert_eq!(rec[0], LOGS);
        assert_eq!(decode(&rec).unwrap(), batch);
    }

    #[test]
    fn deletions_round_trip() {
        let d = Deletion {
            query: r#"{app="a"} |= "secret""#.into(),
            start: -5,
            end: i64::MAX,
        };
        assert_eq!(decode_delete(&encode_delete(&d)).unwrap(), d);
        let mut bad = encode_delete(&d);
        bad.push(0);
        assert!(decode_delete(&bad).is_err());
        assert!(
            decode_delete(&[DELETE, 9])
                .unwrap_err()
                .to_string()
                .contains("version 9")
        );
    }

    #[test]
    fn refusals() {
        let good = encode(&[stream(&[("a", "b")], vec![Entry::new(1, "x")])]);
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("empty", vec![], "empty"),
            ("other type", vec![32, 1], "not a log record"),
            ("newer version", vec![LOGS, 9], "version 9"),
            ("truncated", good[..good.len() - 1].to_vec(), "truncated"),
            (
                "truncated line",
                good[..good.len() - 2].to_vec(),
                "past the end",
            ),
            (
                "trailing",
                [&good[..], &[0]].concat(),
                "after the last stream",
            ),
            (
                "count too large",
                vec![LOGS, VERSION, 0xff, 0x7f],
                "past the end",
            ),
            (
                "bad UTF-8",
                vec![LOGS, VERSION, 1, 1, 1, 0xff, 1, b'b', 0],
                "string",
            ),
        ];
        for (name, rec, want) in cases {
            let err = decode(&rec).unwrap_err().to_string();
            assert!(err.contains(want), "{name}: {err}");
        }
    }

    proptest! {
        #[test]
        fn any_batch_round_trips(
            streams in proptest::collection::vec(
                (
                    proptest::collection::btree_map("[a-z_]{1,8}", ".{0,8}", 1..4),
                    proptest::collection::vec(
                        (any::<i64>(), ".{0,40}", proptest::collection::vec(("[a-z]{1,5}", ".{0,5}"), 0..3)),
                        0..5,
                    ),
                ),
                0..4,
            )
        ) {
            let batch: Vec<StreamPush> = streams
                .into_iter()
                .map(|(labels, entries)| StreamPush {
                    labels: Labels::from_pairs(&labels.into_iter().collect::<Vec<_>>()),
                    entries: entries
                        .into_iter()
                        .map(|(ts, line, metadata)| Entry { ts, line, metadata })
                        .collect(),
                })
                .collect();
            prop_assert_eq!(decode(&encode(&batch)).unwrap(), batch);
        }
    }
}
