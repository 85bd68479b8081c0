//! Reading streams for metric queries whose pipeline only filters lines:
//! an entry without structured metadata counts as its time and size, read
//! from a block chunk without building the entry.

use tsdb::model::{Labels, Matcher};

use super::{Head, LineFilter, Stream};
use crate::error::Result;
use crate::model::Entry;

/// A stream's entries in a window, split: `(time, line bytes)` of those
/// without metadata that the filter keeps, in no particular order, and
/// the others (with metadata, not yet filtered), in time order.
#[derive(Debug, Default)]
pub struct Split {
    pub plain: Vec<(i64, u64)>,
    pub rich: Vec<Entry>,
}

impl Head {
    /// Calls `f` with each selected stream's entries in `(after, through]`
    /// (nanoseconds), split as [`Split`] says by `keeps` (the query's line
    /// filters); streams with none are skipped.
    pub fn for_each_stream_split(
        &self,
        matchers: &[Matcher],
        after: i64,
        through: i64,
        filter: &LineFilter,
        keeps: &dyn Fn(&str) -> bool,
        f: &mut dyn FnMut(&Labels, &Split),
    ) -> Result<()> {
        let inner = self.inner.read();
        let mut split = Split::default();
        for id in inner.matching(matchers) {
            let s = &inner.streams[id as usize];
            let after = after.max(s.visible_from.saturating_sub(1));
            split.plain.clear();
            split.rich.clear();
            self.split_blocks(s, after, through, filter, keeps, &mut split)?;
            let flushing = s.flushing.as_ref().map_or(&[][..], |f| &f.entries[..]);
            for entries in [flushing, &s.entries[..]] {
                let from = entries.partition_point(|e| e.ts <= after);
                let to = entries.partition_point(|e| e.ts <= through);
                for e in &entries[from..to] {
                    if !e.metadata.is_empty() {
                        split.rich.push(e.clone());
                    } else if keeps(&e.line) {
                        split.plain.push((e.ts, e.line.len() as u64));
                    }
                }
            }
            if !split.rich.is_sorted_by_key(|e| e.ts) {
                split.rich.sort_by_key(|e| e.ts);
            }
            if !split.plain.is_empty() || !split.rich.is_empty() {
                f(&s.labels, &split);
            }
        }
        Ok(())
    }

    fn split_blocks(
        &self,
        s: &Stream,
        after: i64,
        through: i64,
        filter: &LineFilter,
        keeps: &dyn Fn(&str) -> bool,
        out: &mut Split,
    ) -> Result<()> {
        for c in self.candidates(s, after, through, filter) {
            let chunk = self.read_chunk(&c)?;
            for i in chunk.within(after, through) {
                if chunk.has_metadata(i) {
                    out.rich.push(c.block.entry(&chunk, i)?);
                    continue;
                }
                let line = c.block.line(&chunk, i)?;
                if keeps(line) {
                    out.plain.push((chunk.ts[i], line.len() as u64));
                }
            }
        }
        Ok(())
    }
}
