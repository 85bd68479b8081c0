//! Batched appends to the head.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::Head;
use super::series::{Appended, MemSeries};
use crate::error::{Error, Result};
use crate::exemplars::{Exemplar, ExemplarRejection};
use crate::model::histogram::HistogramValue;
use crate::model::{Labels, Sample, SeriesRef};

/// A batch of samples for the head.
///
/// Contract: every appender must end with [`commit`](Self::commit) or
/// [`rollback`](Self::rollback) (dropping it rolls back). `append` checks each
/// sample against the series as it is now and returns the typed reason for a
/// bad one, which is then not part of the batch; nothing is visible to
/// readers before `commit`. Series are created at `append` time (so their
/// refs are known); a series created by a rolled-back or failed batch
/// stays empty (the next batch that appends to it logs its record) until
/// the next head truncation removes it.
pub struct HeadAppender {
    head: Arc<Head>,
    /// Series whose record this batch logs: created by it, or not yet in
    /// the WAL because the batch that created them failed.
    created: Vec<Arc<MemSeries>>,
    created_ids: HashSet<u32>,
    pending: Vec<(Arc<MemSeries>, Sample)>,
    /// Start timestamps of pending samples, by index into `pending`,
    /// ascending (sparse: most samples have none).
    pending_st: Vec<(usize, i64)>,
    /// Histogram samples (commit applies both kinds in append order).
    pending_hists: Vec<PendingHistogram>,
    /// Series id, time and kind (histogram?) of the last sample pushed.
    last_pushed: Option<(u32, i64, bool)>,
    exemplars: Vec<(Arc<MemSeries>, Exemplar)>,
}

/// A found head series, for appending without looking it up again.
#[derive(Clone)]
pub struct SeriesHandle(pub(super) Arc<MemSeries>);

impl SeriesHandle {
    pub fn series_ref(&self) -> SeriesRef {
        SeriesRef(u64::from(self.0.id))
    }

    /// Reads the series' state without using it, so that a batch of
    /// handles can bring their series into the CPU cache together.
    pub fn touch(&self) {
        std::hint::black_box(self.0.state.is_locked());
    }

    /// The series' labels (still readable after the head removed it).
    pub fn labels(&self) -> &Labels {
        &self.0.labels
    }
}

/// What a commit did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CommitStats {
    pub in_order: u64,
    pub out_of_order: u64,
    pub duplicates: u64,
    /// Samples that became invalid between `append` and `commit` because a
    /// concurrent batch moved the series on.
    pub rejected: u64,
    pub exemplars: u64,
}

impl HeadAppender {
    pub(super) fn new(head: Arc<Head>) -> Self {
        HeadAppender {
            head,
            created: Vec::new(),
            created_ids: HashSet::new(),
            pending: Vec::new(),
            pending_st: Vec::new(),
            pending_hists: Vec::new(),
            last_pushed: None,
            exemplars: Vec::new(),
        }
    }

    /// Gives the sample appended last (by any `append*` that succeeded, of
    /// either kind) the start timestamp `st`; 0 means none. Ignored when
    /// nothing is pending.
    pub fn set_start_timestamp(&mut self, st: i64) {
        if let Some((_, _, true)) = self.last_pushed
            && let Some(h) = self.pending_hists.last_mut()
        {
            h.st = st;
            return;
        }
        let Some(i) = self.pending.len().checked_sub(1) else {
            return;
        };
        match self.pending_st.last_mut() {
            Some((j, old)) if *j == i => *old = st,
            _ if st != 0 => self.pending_st.push((i, st)),
            _ => {}
        }
    }

    /// Adds a sample for the series with `labels`, creating the series if
    /// needed. Returns the series ref for later [`append_ref`](Self::append_ref).
    pub fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<SeriesRef> {
        check_labels(labels)?;
        // A series that truncation removes between the lookup and the
        // push is looked up (and created) again.
        loop {
            let (series, _) = self.head.get_or_create(labels, None)?;
            let r = SeriesRef(u64::from(series.id));
            match self.push(series, t, v) {
                Err(Error::UnknownSeries { .. }) => continue,
                res => return res.map(|()| r),
            }
        }
    }

    /// Adds a native histogram sample for the series with `labels`,
    /// creating the series if needed. An invalid histogram is refused
    /// with the rule it breaks.
    pub fn append_histogram(
        &mut self,
        labels: &Labels,
        t: i64,
        h: HistogramValue,
    ) -> Result<SeriesRef> {
        check_labels(labels)?;
        h.validate()?;
        loop {
            let (series, _) = self.head.get_or_create(labels, None)?;
            let r = SeriesRef(u64::from(series.id));
            match self.push_histogram(series, t, &h) {
                Err(Error::UnknownSeries { .. }) => continue,
                Err(e) => return Err(e),
                Ok(series) => {
                    self.hold_pending_histogram(series, t, h);
                    return Ok(r);
                }
            }
        }
    }

    /// [`append_histogram`](Self::append_histogram) returning the series'
    /// handle.
    pub fn append_histogram_new(
        &mut self,
        labels: &Labels,
        t: i64,
        h: HistogramValue,
    ) -> Result<SeriesHandle> {
        let r = self.append_histogram(labels, t, h)?;
        self.series_by_ref(r).map(SeriesHandle)
    }

    /// [`append_histogram`](Self::append_histogram) for a series found
    /// with [`Head::series_for_pairs`] (fails with `UnknownSeries` when
    /// truncation removed it since).
    pub fn append_histogram_to(
        &mut self,
        s: &SeriesHandle,
        t: i64,
        h: HistogramValue,
    ) -> Result<()> {
        h.validate()?;
        let series = self.push_histogram(s.0.clone(), t, &h)?;
        self.hold_pending_histogram(series, t, h);
        Ok(())
    }

    fn hold_pending_histogram(&mut self, series: Arc<MemSeries>, t: i64, h: HistogramValue) {
        self.pending_hists.push(PendingHistogram {
            floats_before: self.pending.len(),
            series,
            t,
            st: 0,
            h,
        });
    }

    fn push_histogram(
        &mut self,
        series: Arc<MemSeries>,
        t: i64,
        h: &HistogramValue,
    ) -> Result<Arc<MemSeries>> {
        if let Some((id, last_t, _)) = self.last_pushed
            && id == series.id
            && t <= last_t
        {
            return Err(order_error(t, last_t));
        }
        series
            .state
            .lock()
            .hold_histogram(series.id, t, h, &self.head.bounds())?;
        self.note_created(&series);
        self.last_pushed = Some((series.id, t, true));
        Ok(series)
    }

    /// Adds a sample for a series found with [`Head::series_for_pairs`].
    /// Fails with `UnknownSeries` when truncation removed the series since
    /// (look it up again by labels).
    pub fn append_to(&mut self, s: &SeriesHandle, t: i64, v: f64) -> Result<()> {
        self.push(s.0.clone(), t, v)
    }

    /// Adds a sample for a series by labels and returns its handle,
    /// creating the series if needed.
    pub fn append_new(&mut self, labels: &Labels, t: i64, v: f64) -> Result<SeriesHandle> {
        let r = self.append(labels, t, v)?;
        self.series_by_ref(r).map(SeriesHandle)
    }

    /// Adds a sample for an existing series.
    pub fn append_ref(&mut self, r: SeriesRef, t: i64, v: f64) -> Result<()> {
        let series = self.series_by_ref(r)?;
        self.push(series, t, v)
    }

    fn push(&mut self, series: Arc<MemSeries>, t: i64, v: f64) -> Result<()> {
        // A sample already pending for this series decides ordering too.
        if let Some((s, last)) = self.pending.last()
            && s.id == series.id
        {
            if t < last.t && self.head.opts.ooo_window == 0 {
                return Err(Error::OutOfOrder {
                    t,
                    min_valid: last.t,
                });
            }
            if t == last.t && v.to_bits() != last.v.to_bits() {
                return Err(Error::DuplicateSample { t });
            }
        }
        if let Some((id, last_t, true)) = self.last_pushed
            && id == series.id
            && t <= last_t
        {
            return Err(order_error(t, last_t));
        }
        series
            .state
            .lock()
            .hold(series.id, t, v, &self.head.bounds())?;
        self.note_created(&series);
        self.last_pushed = Some((series.id, t, false));
        self.pending.push((series, Sample::new(t, v)));
        Ok(())
    }

    /// Adds an exemplar for an existing series; rejected exemplars are
    /// reported and left out of the batch.
    pub fn append_exemplar(
        &mut self,
        r: SeriesRef,
        e: Exemplar,
    ) -> std::result::Result<(), ExemplarRejection> {
        let Some(series) = u32::try_from(r.0)
            .ok()
            .and_then(|id| self.head.series.by_id(id))
        else {
            return Err(ExemplarRejection::OutOfOrder);
        };
        self.head.exemplars.check(r.0, &e)?;
        self.exemplars.push((series, e));
        Ok(())
    }

    /// Exemplars this batch will commit (for the WAL).
    pub fn pending_exemplars(&self) -> impl Iterator<Item = (SeriesRef, &Exemplar)> + '_ {
        self.exemplars
            .iter()
            .map(|(s, e)| (SeriesRef(u64::from(s.id)), e))
    }

    /// Series whose record this batch must log, with their refs (for the
    /// WAL): the ones it created, and ones whose creating batch failed.
    pub fn created_series(&self) -> impl Iterator<Item = (SeriesRef, &Labels)> {
        self.created
            .iter()
            .map(|s| (SeriesRef(u64::from(s.id)), &s.labels))
    }

    /// Start timestamps of the samples this batch will commit that have
    /// one, in append order: `(index into pending_samples, series, sample
    /// time, start time)`.
    pub fn pending_start_timestamps(
        &self,
    ) -> impl Iterator<Item = (usize, SeriesRef, i64, i64)> + '_ {
        self.pending_st.iter().filter_map(|&(i, st)| {
            let (s, x) = self.pending.get(i)?;
            Some((i, SeriesRef(u64::from(s.id)), x.t, st))
        })
    }

    /// Histogram samples this batch will commit, in append order (for the
    /// WAL): `(float samples appended before it, series, time, start
    /// time, value)`.
    pub fn pending_histograms(
        &self,
    ) -> impl Iterator<Item = (usize, SeriesRef, i64, i64, &HistogramValue)> + '_ {
        self.pending_hists.iter().map(|p| {
            (
                p.floats_before,
                SeriesRef(u64::from(p.series.id)),
                p.t,
                p.st,
                &p.h,
            )
        })
    }

    /// Samples this batch will commit, in append order (for the WAL).
    pub fn pending_samples(&self) -> impl Iterator<Item = (SeriesRef, Sample)> + '_ {
        self.pending
            .iter()
            .map(|(s, x)| (SeriesRef(u64::from(s.id)), *x))
    }

    /// Pending samples of both kinds.
    pub fn len(&self) -> usize {
        self.pending.len() + self.pending_hists.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.pending_hists.is_empty()
    }

    /// Applies the batch: afterwards every sample is visible to new readers.
    /// Call only once the batch is in the WAL.
    pub fn commit(mut self) -> CommitStats {
        for s in self.created.drain(..) {
            s.wal_logged.store(true, Ordering::Release);
        }
        let mut stats = CommitStats::default();
        let bounds = self.head.bounds();
        let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
        let mut sts = std::mem::take(&mut self.pending_st).into_iter().peekable();
        let mut hists = std::mem::take(&mut self.pending_hists)
            .into_iter()
            .peekable();
        for (i, (series, s)) in self.pending.drain(..).enumerate() {
            while let Some(p) = hists.next_if(|p| p.floats_before <= i) {
                commit_histogram(&p, &bounds, &mut stats, &mut mint, &mut maxt);
            }
            let st = sts.next_if(|&(j, _)| j == i).map_or(0, |(_, st)| st);
            let appended = {
                let mut state = series.state.lock();
                state.release();
                state.append(s.t, s.v, st, &bounds)
            };
            match appended {
                Ok(Appended::InOrder) => stats.in_order += 1,
                Ok(Appended::OutOfOrder) => stats.out_of_order += 1,
                Ok(Appended::Duplicate) => {
                    stats.duplicates += 1;
                    continue;
                }
                Err(_) => {
                    stats.rejected += 1;
                    continue;
                }
            }
            mint = mint.min(s.t);
            maxt = maxt.max(s.t);
        }
        for p in hists {
            commit_histogram(&p, &bounds, &mut stats, &mut mint, &mut maxt);
        }
        if mint <= maxt {
            self.head.note_times(mint);
            self.head.note_times(maxt);
        }
        for (series, e) in self.exemplars.drain(..) {
            if self
                .head
                .exemplars
                .add(u64::from(series.id), &series.labels, e)
            {
                stats.exemplars += 1;
            }
        }
        let c = &self.head.counters;
        c.samples_appended
            .fetch_add(stats.in_order + stats.out_of_order, Ordering::Relaxed);
        c.ooo_samples_appended
            .fetch_add(stats.out_of_order, Ordering::Relaxed);
        stats
    }

    /// Discards the batch.
    pub fn rollback(mut self) {
        self.release_pending();
        self.pending_st.clear();
        self.exemplars.clear();
    }
}

impl HeadAppender {
    /// The head series `r` names.
    fn series_by_ref(&self, r: SeriesRef) -> Result<Arc<MemSeries>> {
        u32::try_from(r.0)
            .ok()
            .and_then(|id| self.head.series.by_id(id))
            .ok_or(Error::UnknownSeries { series_ref: r.0 })
    }

    /// Makes the batch log `series`' record unless the WAL has it already.
    fn note_created(&mut self, series: &Arc<MemSeries>) {
        if !series.wal_logged.load(Ordering::Acquire) && self.created_ids.insert(series.id) {
            self.created.push(series.clone());
        }
    }

    /// Ends the holds of samples not committed.
    fn release_pending(&mut self) {
        for (series, _) in self.pending.drain(..) {
            series.state.lock().release();
        }
        for p in self.pending_hists.drain(..) {
            p.series.state.lock().release();
        }
    }
}

fn check_labels(labels: &Labels) -> Result<()> {
    if labels.is_empty() {
        return Err(Error::InvalidLabels {
            labels: labels.to_string(),
            reason: "empty label set",
        });
    }
    Ok(())
}

/// The error for a sample at `t` after one at `last_t` of the same series
/// in the same batch (`t <= last_t`).
fn order_error(t: i64, last_t: i64) -> Error {
    if t == last_t {
        Error::DuplicateSample { t }
    } else {
        Error::OutOfOrder {
            t,
            min_valid: last_t,
        }
    }
}

/// A histogram sample of a batch.
struct PendingHistogram {
    /// Float samples pending before it.
    floats_before: usize,
    series: Arc<MemSeries>,
    t: i64,
    st: i64,
    h: HistogramValue,
}

/// Applies one pending histogram sample at commit.
fn commit_histogram(
    p: &PendingHistogram,
    bounds: &super::series::AppendBounds,
    stats: &mut CommitStats,
    mint: &mut i64,
    maxt: &mut i64,
) {
    let t = p.t;
    let appended = {
        let mut state = p.series.state.lock();
        state.release();
        state.append_histogram(t, &p.h, p.st, bounds)
    };
    match appended {
        Ok(Appended::InOrder) => stats.in_order += 1,
        Ok(Appended::OutOfOrder) => stats.out_of_order += 1,
        Ok(Appended::Duplicate) => {
            stats.duplicates += 1;
            return;
        }
        Err(_) => {
            stats.rejected += 1;
            return;
        }
    }
    *mint = (*mint).min(t);
    *maxt = (*maxt).max(t);
}

impl Drop for HeadAppender {
    fn drop(&mut self) {
        self.release_pending();
    }
}

impl Head {
    /// Re-creates a series from the WAL with its recorded ref.
    pub fn replay_series(&self, r: SeriesRef, labels: &Labels) -> Result<()> {
        let id = u32::try_from(r.0).map_err(|_| Error::UnknownSeries { series_ref: r.0 })?;
        let (s, _) = self.get_or_create(labels, Some(id))?;
        s.wal_logged.store(true, Ordering::Release);
        Ok(())
    }

    /// Applies one exemplar from the WAL.
    pub fn replay_exemplar(&self, r: SeriesRef, e: Exemplar) {
        if let Some(series) = u32::try_from(r.0).ok().and_then(|id| self.series.by_id(id)) {
            self.exemplars.add(r.0, &series.labels, e);
        }
    }

    /// Applies one histogram sample from the WAL with its start timestamp
    /// (0: none); like [`replay_sample`](Self::replay_sample).
    pub fn replay_histogram(&self, r: SeriesRef, t: i64, h: &HistogramValue, st: i64) -> bool {
        let Some(series) = u32::try_from(r.0).ok().and_then(|id| self.series.by_id(id)) else {
            return false;
        };
        let ok = matches!(
            series
                .state
                .lock()
                .append_histogram(t, h, st, &self.bounds()),
            Ok(Appended::InOrder)
        );
        if ok {
            self.note_times(t);
        }
        ok
    }

    /// Applies one sample from the WAL with its start timestamp (0: none);
    /// samples the head would now reject (already persisted, duplicates)
    /// are skipped and reported as `false`.
    pub fn replay_sample(&self, r: SeriesRef, t: i64, v: f64, st: i64) -> bool {
        let Some(series) = u32::try_from(r.0).ok().and_then(|id| self.series.by_id(id)) else {
            return false;
        };
        let ok = matches!(
            series.state.lock().append(t, v, st, &self.bounds()),
            Ok(Appended::InOrder | Appended::OutOfOrder)
        );
        if ok {
            self.note_times(t);
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Head, HeadOptions};
    use crate::model::{Labels, hash_label_pairs};

    fn labels() -> Labels {
        Labels::from_pairs(&[("__name__", "m"), ("a", "1")])
    }

    fn pairs() -> impl Iterator<Item = (&'static str, &'static str)> + Clone {
        [("__name__", "m"), ("a", "1")].into_iter()
    }

    #[test]
    fn truncation_keeps_series_with_pending_samples() {
        let head = Head::new(HeadOptions::default());
        let mut app = head.appender();
        // A new series: empty until the batch commits.
        app.append(&labels(), 1000, 1.0).unwrap();
        assert_eq!(head.truncate(0), 0, "a pending sample keeps its series");
        let stats = app.commit();
        assert_eq!(stats.in_order, 1);
        assert_eq!(head.num_series(), 1);
        // A rolled-back batch leaves the series empty and removable.
        let mut app = head.appender();
        app.append(&labels(), 2000, 1.0).unwrap();
        drop(app);
        assert_eq!(head.truncate(5000), 1);
    }

    #[test]
    fn a_handle_to_a_removed_series_is_refused() {
        let head = Head::new(HeadOptions::default());
        let mut app = head.appender();
        let handle = app.append_new(&labels(), 1000, 1.0).unwrap();
        app.commit();
        assert!(
            head.series_for_pairs(hash_label_pairs(pairs()), pairs())
                .is_some()
        );
        assert_eq!(head.truncate(5000), 1);
        let mut app = head.appender();
        let err = app.append_to(&handle, 6000, 2.0).unwrap_err();
        assert!(err.to_string().contains("unknown series"), "{err}");
        // By labels, the series is created again.
        app.append(&labels(), 6000, 2.0).unwrap();
        assert_eq!(app.commit().in_order, 1);
        assert_eq!(head.num_series(), 1);
    }
}
