//! What streams hold in a window, for the index endpoints (`index/stats`,
//! `index/volume`): counts and line bytes, read from chunk columns
//! without building entries.

use tsdb::model::{Labels, Matcher};

use super::{Head, LineFilter};
use crate::error::Result;
use crate::model::Entry;

/// A stream's share of a window.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StreamStats {
    /// Block chunks overlapping the window, plus one for entries still in
    /// memory (as Loki counts an ingester's open chunk).
    pub chunks: u64,
    pub entries: u64,
    /// Bytes of lines (structured metadata not counted, as Loki's volume).
    pub bytes: u64,
}

impl StreamStats {
    fn add_memory(&mut self, entries: &[Entry], after: i64, through: i64) {
        let from = entries.partition_point(|e| e.ts <= after);
        let to = entries.partition_point(|e| e.ts <= through);
        self.entries += (to - from) as u64;
        self.bytes += entries[from..to]
            .iter()
            .map(|e| e.line.len() as u64)
            .sum::<u64>();
    }
}

impl Head {
    /// Calls `f` with each selected stream holding an entry in
    /// `(after, through]` (nanoseconds) and what it holds there. Fails when
    /// a block chunk does not read.
    pub fn for_each_stream_stats(
        &self,
        matchers: &[Matcher],
        after: i64,
        through: i64,
        f: &mut dyn FnMut(&Labels, StreamStats),
    ) -> Result<()> {
        let inner = self.inner.read();
        for id in inner.matching(matchers) {
            let s = &inner.streams[id as usize];
            let after = after.max(s.visible_from.saturating_sub(1));
            let mut st = StreamStats::default();
            for c in self.candidates(s, after, through, &LineFilter::ALL) {
                let chunk = self.read_chunk(&c)?;
                let range = chunk.within(after, through);
                if range.is_empty() {
                    continue;
                }
                st.chunks += 1;
                st.entries += range.len() as u64;
                st.bytes += range.map(|i| chunk.line_len(i) as u64).sum::<u64>();
            }
            let before = st.entries;
            if let Some(fl) = &s.flushing {
                st.add_memory(&fl.entries, after, through);
            }
            st.add_memory(&s.entries, after, through);
            if st.entries > before {
                st.chunks += 1;
            }
            if st.entries > 0 {
                f(&s.labels, st);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StreamPush;

    fn push(h: &Head, labels: &[(&str, &str)], lines: &[(i64, &str)]) {
        h.apply(
            vec![StreamPush {
                labels: Labels::from_pairs(labels),
                entries: lines.iter().map(|(ts, l)| Entry::new(*ts, *l)).collect(),
            }],
            1,
        );
    }

    fn stats(h: &Head, after: i64, through: i64) -> Vec<(String, StreamStats)> {
        let mut out = Vec::new();
        let m = [Matcher::equal("app", "a")];
        h.for_each_stream_stats(&m, after, through, &mut |l, s| out.push((l.to_string(), s)))
            .unwrap();
        out
    }

    #[test]
    fn counts_entries_and_line_bytes_in_the_window() {
        let h = Head::default();
        push(
            &h,
            &[("app", "a"), ("x", "1")],
            &[(10, "abc"), (20, "de"), (30, "f")],
        );
        push(&h, &[("app", "a"), ("x", "2")], &[(40, "ghij")]);
        push(&h, &[("app", "b")], &[(15, "zzzz")]);
        // (name, after, through, (x label, entries, bytes) of each stream)
        type Case<'a> = (&'a str, i64, i64, &'a [(&'a str, u64, u64)]);
        let cases: &[Case] = &[
            ("everything", 0, 100, &[("1", 3, 6), ("2", 1, 4)]),
            ("left-open", 10, 20, &[("1", 1, 2)]),
            ("nothing", 50, 100, &[]),
        ];
        for (name, after, through, want) in cases {
            let got = stats(&h, *after, *through);
            let want: Vec<(String, StreamStats)> = want
                .iter()
                .map(|(x, n, b)| {
                    (
                        format!("{{app=\"a\", x=\"{x}\"}}"),
                        StreamStats {
                            chunks: 1,
                            entries: *n,
                            bytes: *b,
                        },
                    )
                })
                .collect();
            assert_eq!(got, want, "{name}");
        }
    }
}
