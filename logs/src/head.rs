//! The log head: every committed entry, by stream, with postings from
//! label pairs to streams.
//!
//! Contracts:
//! - a stream's entries are kept in time order; entries with the same time
//!   keep their arrival order;
//! - an entry equal to one the stream holds (same time, same line, same
//!   metadata) is dropped as a duplicate, as Loki drops it, so a client's
//!   retry of an acknowledged push stores nothing twice;
//! - stream ids are dense and never reused while the process runs.

use std::collections::{BTreeMap, HashMap};

use parking_lot::RwLock;
use roaring::RoaringBitmap;
use tsdb::model::{Labels, Matcher};

use crate::model::{Direction, Entry, Hit, StreamPush};

/// One stream: its labels and entries in time order.
#[derive(Debug)]
pub struct Stream {
    pub labels: Labels,
    pub entries: Vec<Entry>,
    /// The WAL segment of each entry (parallel to `entries`).
    segments: Vec<u64>,
    /// The oldest WAL segment holding one of its entries.
    pub min_segment: u64,
}

impl Stream {
    /// Adds `e` (from WAL `segment`) in time order; `false` when it is a
    /// duplicate.
    fn insert(&mut self, e: Entry, segment: u64) -> bool {
        let at = self.entries.partition_point(|x| x.ts <= e.ts);
        let same_time = self.entries[..at].iter().rev().take_while(|x| x.ts == e.ts);
        if same_time.into_iter().any(|x| *x == e) {
            return false;
        }
        self.entries.insert(at, e);
        self.segments.insert(at, segment);
        self.min_segment = self.min_segment.min(segment);
        true
    }

    /// Drops the entries in `[start, end]` that `matches`; returns how
    /// many.
    fn delete(&mut self, start: i64, end: i64, matches: &dyn Fn(&Entry) -> bool) -> usize {
        let before = self.entries.len();
        let keep: Vec<bool> = self
            .entries
            .iter()
            .map(|e| !(e.ts >= start && e.ts <= end && matches(e)))
            .collect();
        let mut flags = keep.iter();
        self.entries
            .retain(|_| flags.next().copied().unwrap_or(true));
        let mut flags = keep.iter();
        self.segments
            .retain(|_| flags.next().copied().unwrap_or(true));
        self.min_segment = self.segments.iter().copied().min().unwrap_or(u64::MAX);
        before - self.entries.len()
    }

    /// Drops the entries older than `cutoff`; returns how many.
    fn expire(&mut self, cutoff: i64) -> usize {
        let n = self.entries.partition_point(|e| e.ts < cutoff);
        if n > 0 {
            self.entries.drain(..n);
            self.segments.drain(..n);
            self.min_segment = self.segments.iter().copied().min().unwrap_or(u64::MAX);
        }
        n
    }

    pub fn newest(&self) -> Option<i64> {
        self.entries.last().map(|e| e.ts)
    }
}

#[derive(Default)]
struct Inner {
    ids: HashMap<Labels, u32>,
    streams: Vec<Stream>,
    /// Label name → value → streams.
    postings: BTreeMap<String, BTreeMap<String, RoaringBitmap>>,
}

#[derive(Default)]
pub struct Head {
    inner: RwLock<Inner>,
}

/// What [`Head::apply`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub entries: usize,
    pub duplicates: usize,
    pub new_streams: usize,
}

impl Head {
    /// Adds committed entries (from WAL `segment`).
    pub fn apply(&self, push: Vec<StreamPush>, segment: u64) -> Applied {
        let mut applied = Applied::default();
        let mut inner = self.inner.write();
        for s in push {
            let id = match inner.ids.get(&s.labels) {
                Some(&id) => id,
                None => {
                    let id = inner.streams.len() as u32;
                    for l in s.labels.iter() {
                        inner
                            .postings
                            .entry(l.name.to_string())
                            .or_default()
                            .entry(l.value.to_string())
                            .or_default()
                            .insert(id);
                    }
                    inner.ids.insert(s.labels.clone(), id);
                    inner.streams.push(Stream {
                        labels: s.labels,
                        entries: Vec::new(),
                        segments: Vec::new(),
                        min_segment: segment,
                    });
                    applied.new_streams += 1;
                    id
                }
            };
            let stream = &mut inner.streams[id as usize];
            for e in s.entries {
                if stream.insert(e, segment) {
                    applied.entries += 1;
                } else {
                    applied.duplicates += 1;
                }
            }
        }
        applied
    }

    /// The newest entry's time of the stream with `labels`, if it is held.
    pub fn newest(&self, labels: &Labels) -> Option<i64> {
        let inner = self.inner.read();
        let id = *inner.ids.get(labels)?;
        inner.streams[id as usize].newest()
    }

    /// The newest entry's time over every stream.
    pub fn newest_overall(&self) -> Option<i64> {
        let inner = self.inner.read();
        inner.streams.iter().filter_map(Stream::newest).max()
    }

    /// Drops every entry older than `cutoff` (nanoseconds); returns how
    /// many. Streams stay known (their ids are never reused), empty.
    pub fn expire(&self, cutoff: i64) -> usize {
        self.expire_by(&|_| Some(cutoff))
    }

    /// [`expire`](Self::expire) with a cutoff per stream (`None`: keep).
    pub fn expire_by(&self, cutoff: &dyn Fn(&Labels) -> Option<i64>) -> usize {
        let mut inner = self.inner.write();
        inner
            .streams
            .iter_mut()
            .map(|s| cutoff(&s.labels).map_or(0, |c| s.expire(c)))
            .sum()
    }

    /// Deletes the entries of the streams `matchers` select in `[start,
    /// end]` (nanoseconds) whose line `matches`; returns how many.
    pub fn delete(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
        matches: &dyn Fn(&Entry) -> bool,
    ) -> usize {
        let mut inner = self.inner.write();
        let ids = Self::matching(&inner, matchers);
        ids.iter()
            .map(|id| inner.streams[id as usize].delete(start, end, matches))
            .sum()
    }

    /// Streams held.
    pub fn streams(&self) -> usize {
        self.inner.read().streams.len()
    }

    /// The oldest WAL segment holding an entry, if any is held.
    pub fn min_segment(&self) -> Option<u64> {
        let inner = self.inner.read();
        inner
            .streams
            .iter()
            .filter(|s| !s.entries.is_empty())
            .map(|s| s.min_segment)
            .min()
    }

    /// The streams every matcher selects.
    fn matching(inner: &Inner, matchers: &[Matcher]) -> RoaringBitmap {
        let mut out = RoaringBitmap::new();
        out.insert_range(0..inner.streams.len() as u32);
        for m in matchers {
            let values = inner.postings.get(&m.name);
            let with = |keep: bool| {
                let mut set = RoaringBitmap::new();
                for (v, ids) in values.into_iter().flatten() {
                    if m.matches(v) == keep {
                        set |= ids;
                    }
                }
                set
            };
            if m.matches_empty() {
                // Streams without the label match too: all but those whose
                // value does not.
                out -= with(false);
            } else {
                out &= with(true);
            }
        }
        out
    }

    /// Labels of the streams `matchers` select that hold an entry in
    /// `[start, end)` (nanoseconds).
    pub fn series(&self, matchers: &[Matcher], start: i64, end: i64) -> Vec<Labels> {
        let inner = self.inner.read();
        Self::matching(&inner, matchers)
            .iter()
            .map(|id| &inner.streams[id as usize])
            .filter(|s| has_entry_in(s, start, end))
            .map(|s| s.labels.clone())
            .collect()
    }

    /// Label names of streams with an entry in `[start, end)`, sorted.
    pub fn label_names(&self, matchers: &[Matcher], start: i64, end: i64) -> Vec<String> {
        let mut names: Vec<String> = self
            .series(matchers, start, end)
            .iter()
            .flat_map(|l| l.iter().map(|l| l.name.to_string()).collect::<Vec<_>>())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Values of label `name` of streams with an entry in `[start, end)`,
    /// sorted.
    pub fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Vec<String> {
        let mut values: Vec<String> = self
            .series(matchers, start, end)
            .iter()
            .map(|l| l.get(name).to_string())
            .filter(|v| !v.is_empty())
            .collect();
        values.sort();
        values.dedup();
        values
    }

    /// The entries of the selected streams in `[start, end)` that `process`
    /// keeps (as it returns them), at most `limit`: the newest (backward)
    /// or the oldest (forward) across streams, in that order.
    pub fn select(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
        direction: Direction,
        limit: usize,
        process: &mut dyn FnMut(&Labels, &Entry) -> Option<Hit>,
    ) -> Vec<Hit> {
        let inner = self.inner.read();
        let mut hits: Vec<((i64, u32, usize), Hit)> = Vec::new();
        for id in Self::matching(&inner, matchers) {
            let s = &inner.streams[id as usize];
            let from = s.entries.partition_point(|e| e.ts < start);
            let to = s.entries.partition_point(|e| e.ts < end);
            for (i, e) in s.entries[from..to].iter().enumerate() {
                if let Some(h) = process(&s.labels, e) {
                    hits.push(((e.ts, id, from + i), h));
                }
            }
        }
        match direction {
            Direction::Backward => hits.sort_by_key(|h| std::cmp::Reverse(h.0)),
            Direction::Forward => hits.sort_by_key(|h| h.0),
        }
        hits.truncate(limit);
        hits.into_iter().map(|(_, h)| h).collect()
    }
}

impl Head {
    /// Calls `f` with each selected stream's entries in `(after, through]`
    /// (nanoseconds), in time order; streams with none are skipped.
    pub fn for_each_stream(
        &self,
        matchers: &[Matcher],
        after: i64,
        through: i64,
        f: &mut dyn FnMut(&Labels, &[Entry]),
    ) {
        let inner = self.inner.read();
        for id in Self::matching(&inner, matchers) {
            let s = &inner.streams[id as usize];
            let from = s.entries.partition_point(|e| e.ts <= after);
            let to = s.entries.partition_point(|e| e.ts <= through);
            if from < to {
                f(&s.labels, &s.entries[from..to]);
            }
        }
    }
}

fn has_entry_in(s: &Stream, start: i64, end: i64) -> bool {
    let from = s.entries.partition_point(|e| e.ts < start);
    s.entries.get(from).is_some_and(|e| e.ts < end)
}

#[cfg(test)]
mod tests {
    use tsdb::model::MatchOp;

    use super::*;

    fn push(pairs: &[(&str, &str)], entries: &[(i64, &str)]) -> StreamPush {
        StreamPush {
            labels: Labels::from_pairs(pairs),
            entries: entries.iter().map(|(t, l)| Entry::new(*t, *l)).collect(),
        }
    }

    fn head() -> Head {
        let h = Head::default();
        h.apply(
            vec![
                push(
                    &[("app", "api"), ("env", "prod")],
                    &[(10, "a1"), (30, "a3"), (20, "a2")],
                ),
                push(&[("app", "db"), ("env", "prod")], &[(15, "d1"), (25, "d2")]),
                push(&[("app", "web")], &[(5, "w1")]),
            ],
            1,
        );
        h
    }

    fn m(op: MatchOp, name: &str, value: &str) -> Matcher {
        Matcher::new(op, name, value).unwrap()
    }

    fn lines(hits: &[Hit]) -> Vec<&str> {
        hits.iter().map(|h| h.line.as_str()).collect()
    }

    #[test]
    fn matchers_select_streams() {
        let h = head();
        type Case<'a> = (&'a str, Vec<Matcher>, Vec<&'a str>);
        let cases: Vec<Case> = vec![
            ("equal", vec![m(MatchOp::Equal, "app", "api")], vec!["api"]),
            (
                "regex",
                vec![m(MatchOp::RegexMatch, "app", "a.*|d.*")],
                vec!["api", "db"],
            ),
            (
                "not equal keeps streams without the label",
                vec![m(MatchOp::NotEqual, "env", "prod")],
                vec!["web"],
            ),
            (
                "not regex",
                vec![m(MatchOp::RegexNoMatch, "app", "api")],
                vec!["db", "web"],
            ),
            (
                "empty value means absent",
                vec![m(MatchOp::Equal, "env", "")],
                vec!["web"],
            ),
            (
                "and",
                vec![
                    m(MatchOp::Equal, "env", "prod"),
                    m(MatchOp::NotEqual, "app", "api"),
                ],
                vec!["db"],
            ),
            (
                "unknown label",
                vec![m(MatchOp::Equal, "zone", "x")],
                vec![],
            ),
        ];
        for (name, ms, want) in cases {
            let got: Vec<String> = h
                .series(&ms, i64::MIN, i64::MAX)
                .iter()
                .map(|l| l.get("app").to_string())
                .collect();
            let mut got = got;
            got.sort();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn select_orders_limits_and_bounds() {
        let h = head();
        let prod = [m(MatchOp::Equal, "env", "prod")];
        let all = &mut |l: &Labels, e: &Entry| Some(Hit::plain(l, e));
        let back = h.select(&prod, 0, 100, Direction::Backward, 3, all);
        assert_eq!(lines(&back), vec!["a3", "d2", "a2"], "the newest 3");
        let fwd = h.select(&prod, 0, 100, Direction::Forward, 3, all);
        assert_eq!(lines(&fwd), vec!["a1", "d1", "a2"], "the oldest 3");
        let bounded = h.select(&prod, 15, 30, Direction::Forward, 100, all);
        assert_eq!(lines(&bounded), vec!["d1", "a2", "d2"], "start in, end out");
        let filtered = h.select(&prod, 0, 100, Direction::Forward, 100, &mut |l, e| {
            e.line.ends_with('2').then(|| Hit::plain(l, e))
        });
        assert_eq!(lines(&filtered), vec!["a2", "d2"]);
    }

    #[test]
    fn duplicates_are_dropped_same_time_lines_kept() {
        let h = head();
        let applied = h.apply(
            vec![push(&[("app", "web")], &[(5, "w1"), (5, "w1b"), (5, "w1")])],
            2,
        );
        assert_eq!((applied.entries, applied.duplicates), (1, 2));
        let web = [m(MatchOp::Equal, "app", "web")];
        let got = h.select(&web, 0, 100, Direction::Forward, 100, &mut |l, e| {
            Some(Hit::plain(l, e))
        });
        assert_eq!(lines(&got), vec!["w1", "w1b"]);
        assert_eq!(h.min_segment(), Some(1));
    }

    #[test]
    fn expiry_drops_old_entries_and_frees_wal_segments() {
        let h = Head::default();
        h.apply(vec![push(&[("app", "x")], &[(10, "a"), (20, "b")])], 3);
        h.apply(vec![push(&[("app", "x")], &[(15, "c"), (30, "d")])], 5);
        h.apply(vec![push(&[("app", "y")], &[(12, "e")])], 4);
        assert_eq!(h.min_segment(), Some(3));
        assert_eq!(h.newest_overall(), Some(30));
        assert_eq!(h.expire(16), 3, "10, 12 and 15 go");
        assert_eq!(h.min_segment(), Some(3), "20 came in segment 3");
        assert_eq!(h.expire(25), 1);
        assert_eq!(h.min_segment(), Some(5), "only 30 is left, from segment 5");
        let all = h.select(
            &[m(MatchOp::RegexMatch, "app", ".+")],
            0,
            100,
            Direction::Forward,
            10,
            &mut |l, e| Some(Hit::plain(l, e)),
        );
        assert_eq!(lines(&all), vec!["d"]);
        assert_eq!(h.streams(), 2, "emptied streams stay known");
    }

    #[test]
    fn deletion_by_selector_time_and_line() {
        let h = head();
        let prod = [m(MatchOp::Equal, "env", "prod")];
        let n = h.delete(&prod, 15, 25, &|e| e.line.ends_with('2') || e.line == "d1");
        assert_eq!(n, 3, "a2 (20), d1 (15), d2 (25): both ends included");
        let all = h.select(
            &[m(MatchOp::RegexMatch, "app", ".+")],
            0,
            100,
            Direction::Forward,
            10,
            &mut |l, e| Some(Hit::plain(l, e)),
        );
        assert_eq!(lines(&all), vec!["w1", "a1", "a3"]);
    }

    #[test]
    fn label_apis() {
        let h = head();
        assert_eq!(h.label_names(&[], 0, 100), vec!["app", "env"]);
        assert_eq!(h.label_values("app", &[], 0, 100), vec!["api", "db", "web"]);
        assert_eq!(
            h.label_values("app", &[], 26, 100),
            vec!["api"],
            "only streams with entries in range"
        );
        assert_eq!(
            h.label_values("env", &[m(MatchOp::Equal, "app", "web")], 0, 100),
            Vec::<String>::new()
        );
    }
}
