//! The database's use of the WAL: logging batches, replay, checkpoints.
//! The only place that knows both the head and the WAL record types.

use std::collections::HashMap;
use std::path::Path;

use super::stores::Stores;
use crate::error::{Error, Result};
use crate::exemplars::Exemplar;
use crate::head::{Head, HeadAppender};
use crate::model::SeriesRef;
use crate::model::histogram::HistogramValue;
use crate::wal::{
    ExemplarRecord, FloatHistogramRecord, HistogramRecord, Record, RecordFamily, SampleRecord,
    SeriesRecord, StartTimeRecord, SyncPolicy, TombstoneRecord, Wal, WalOptions, WalPos, WalReader,
};

pub(super) fn open(dir: &Path, opts: &WalOptions) -> Result<Wal> {
    let (wal, repair) = Wal::open(dir, opts.clone())?;
    if let Some(r) = repair {
        tracing::warn!(?r, "repaired the WAL's torn tail");
    }
    Ok(wal)
}

/// Logs the batch's new series and samples and the companion stores'
/// `records` in one WAL write; returns where they went (`None` for an
/// empty batch).
pub(super) fn log_batch(
    wal: &Wal,
    app: &HeadAppender,
    records: &[Vec<u8>],
) -> Result<Option<WalPos>> {
    let series: Vec<SeriesRecord> = app
        .created_series()
        .map(|(r, labels)| SeriesRecord {
            series_ref: r.0,
            labels: labels.clone(),
        })
        .collect();
    let exemplars: Vec<ExemplarRecord> = app
        .pending_exemplars()
        .map(|(r, e)| ExemplarRecord {
            series_ref: r.0,
            t: e.t,
            v: e.v,
            labels: e.labels.clone(),
        })
        .collect();
    let mut bufs: Vec<Vec<u8>> = Vec::with_capacity(3);
    if !series.is_empty() {
        let mut b = Vec::new();
        Record::Series(series).encode(&mut b);
        bufs.push(b);
    }
    sample_records(app, &mut bufs);
    if !exemplars.is_empty() {
        let mut b = Vec::new();
        Record::Exemplars(exemplars).encode(&mut b);
        bufs.push(b);
    }
    if bufs.is_empty() && records.is_empty() {
        wal.check_open()?;
        return Ok(None);
    }
    let refs: Vec<&[u8]> = bufs.iter().chain(records).map(Vec::as_slice).collect();
    wal.log(&refs).map(Some)
}

/// Encodes the batch's samples in append order, one record per run of one
/// kind (float samples; integer histograms; float histograms), each run
/// preceded by the start times of its samples that have one, so that
/// replay applies them in the order the head did. A batch of floats alone
/// is one start-times record (when any sample has one) and one samples
/// record.
fn sample_records(app: &HeadAppender, bufs: &mut Vec<Vec<u8>>) {
    let mut run = Run::default();
    let mut hists = app.pending_histograms().peekable();
    let mut sts = app.pending_start_timestamps().peekable();
    for (i, (r, s)) in app.pending_samples().enumerate() {
        while let Some((_, r, t, st, h)) = hists.next_if(|h| h.0 <= i) {
            run.push_histogram(bufs, r.0, t, st, h);
        }
        if !matches!(run.samples, RunSamples::Floats(_)) {
            run.flush(bufs);
            run.samples = RunSamples::Floats(Vec::new());
        }
        while let Some((_, r, t, st)) = sts.next_if(|x| x.0 == i) {
            run.note_start(r.0, t, st);
        }
        if let RunSamples::Floats(samples) = &mut run.samples {
            samples.push(SampleRecord {
                series_ref: r.0,
                t: s.t,
                v: s.v,
            });
        }
    }
    for (_, r, t, st, h) in hists {
        run.push_histogram(bufs, r.0, t, st, h);
    }
    run.flush(bufs);
}

/// The samples of one kind being gathered into a record, and the start
/// times of those that have one.
#[derive(Default)]
struct Run {
    starts: Vec<StartTimeRecord>,
    samples: RunSamples,
}

#[derive(Default)]
enum RunSamples {
    #[default]
    None,
    Floats(Vec<SampleRecord>),
    Ints(Vec<HistogramRecord>),
    FloatHistograms(Vec<FloatHistogramRecord>),
}

impl Run {
    fn note_start(&mut self, series_ref: u64, t: i64, st: i64) {
        if st != 0 {
            self.starts.push(StartTimeRecord { series_ref, t, st });
        }
    }

    fn push_histogram(
        &mut self,
        bufs: &mut Vec<Vec<u8>>,
        series_ref: u64,
        t: i64,
        st: i64,
        h: &HistogramValue,
    ) {
        match (&mut self.samples, h) {
            (RunSamples::Ints(v), HistogramValue::Int(h)) => v.push(HistogramRecord {
                series_ref,
                t,
                h: h.clone(),
            }),
            (RunSamples::FloatHistograms(v), HistogramValue::Float(h)) => {
                v.push(FloatHistogramRecord {
                    series_ref,
                    t,
                    h: h.clone(),
                })
            }
            _ => {
                self.flush(bufs);
                self.samples = match h {
                    HistogramValue::Int(_) => RunSamples::Ints(Vec::new()),
                    HistogramValue::Float(_) => RunSamples::FloatHistograms(Vec::new()),
                };
                return self.push_histogram(bufs, series_ref, t, st, h);
            }
        }
        self.note_start(series_ref, t, st);
    }

    /// Encodes the run (start times before the samples they belong to:
    /// replay holds them until then) and leaves an empty run.
    fn flush(&mut self, bufs: &mut Vec<Vec<u8>>) {
        let Run { starts, samples } = std::mem::take(self);
        let samples = match samples {
            RunSamples::None => return,
            RunSamples::Floats(v) => (!v.is_empty()).then_some(Record::Samples(v)),
            RunSamples::Ints(v) => Some(Record::Histograms(v)),
            RunSamples::FloatHistograms(v) => Some(Record::FloatHistograms(v)),
        };
        let starts = (!starts.is_empty()).then_some(Record::StartTimes(starts));
        let records = starts.into_iter().chain(samples);
        for r in records {
            let mut b = Vec::new();
            r.encode(&mut b);
            bufs.push(b);
        }
    }
}

pub(super) fn log_tombstones(wal: &Wal, stones: &[(u32, i64, i64)]) -> Result<()> {
    if stones.is_empty() {
        return Ok(());
    }
    let mut b = Vec::new();
    Record::Tombstones(
        stones
            .iter()
            .map(|&(id, mint, maxt)| TombstoneRecord {
                series_ref: u64::from(id),
                mint,
                maxt,
            })
            .collect(),
    )
    .encode(&mut b);
    let pos = wal.log(&[&b])?;
    wal.sync_to(pos.seq)
}

/// Waits until `pos` is durable when the policy acknowledges only durable
/// writes.
pub(super) fn wait_durable(wal: &Wal, pos: u64) -> Result<()> {
    match wal.options().sync {
        SyncPolicy::Always if pos > 0 => wal.sync_to(pos),
        _ => Ok(()),
    }
}

pub(super) fn sync_all(wal: &Wal) -> Result<()> {
    wal.sync()
}

/// Replays the checkpoint and segments: metric records into the head,
/// every other family's records to the store that owns it. Returns the
/// number of records read. A record that does not decode, or that no open
/// store owns, stops the open with its location.
pub(super) fn replay(dir: &Path, head: &Head, stores: &Stores) -> Result<u64> {
    let mut n = 0;
    let mut reader = WalReader::open(dir)?;
    let mut metrics = MetricReplay::new(head);
    while let Some((segment, rec)) = reader.next_with_segment()? {
        n += 1;
        let record_type = rec.first().copied().unwrap_or(0);
        match RecordFamily::of(record_type) {
            Some(RecordFamily::Metrics) => metrics.apply(Record::decode(rec)?)?,
            Some(f) => match stores.owner(f) {
                Some(store) => store.replay(rec, segment)?,
                None => {
                    return Err(Error::UnownedRecord {
                        record_type,
                        family: f.name(),
                    });
                }
            },
            None => {
                return Err(Error::corruption(
                    dir,
                    0,
                    format!("WAL record of unallocated type {record_type}"),
                ));
            }
        }
    }
    Ok(n)
}

/// The metric family's replay: records into the head.
struct MetricReplay<'a> {
    head: &'a Head,
    /// Start timestamps of the next samples or histograms record, by
    /// (series, time).
    start_times: HashMap<(u64, i64), i64>,
}

impl<'a> MetricReplay<'a> {
    fn new(head: &'a Head) -> Self {
        MetricReplay {
            head,
            start_times: HashMap::new(),
        }
    }

    /// The start time held for the sample of `series_ref` at `t` (0: none).
    fn start_time(&mut self, series_ref: u64, t: i64) -> i64 {
        if self.start_times.is_empty() {
            return 0;
        }
        self.start_times.remove(&(series_ref, t)).unwrap_or(0)
    }

    fn apply(&mut self, rec: Record) -> Result<()> {
        let head = self.head;
        match rec {
            Record::Histograms(v) => {
                for r in v {
                    let st = self.start_time(r.series_ref, r.t);
                    let h = HistogramValue::Int(r.h);
                    head.replay_histogram(SeriesRef(r.series_ref), r.t, &h, st);
                }
                self.start_times.clear();
            }
            Record::FloatHistograms(v) => {
                for r in v {
                    let st = self.start_time(r.series_ref, r.t);
                    let h = HistogramValue::Float(r.h);
                    head.replay_histogram(SeriesRef(r.series_ref), r.t, &h, st);
                }
                self.start_times.clear();
            }
            Record::Series(series) => {
                for s in series {
                    head.replay_series(SeriesRef(s.series_ref), &s.labels)?;
                }
            }
            Record::StartTimes(v) => {
                self.start_times
                    .extend(v.into_iter().map(|s| ((s.series_ref, s.t), s.st)));
            }
            Record::Samples(samples) => {
                for s in samples {
                    let st = self.start_time(s.series_ref, s.t);
                    head.replay_sample(SeriesRef(s.series_ref), s.t, s.v, st);
                }
                self.start_times.clear();
            }
            Record::Tombstones(stones) => {
                for t in stones {
                    if let Ok(id) = u32::try_from(t.series_ref) {
                        head.add_tombstone(id, t.mint, t.maxt);
                    }
                }
            }
            Record::Exemplars(es) => {
                for e in es {
                    let ex = Exemplar {
                        labels: e.labels,
                        t: e.t,
                        v: e.v,
                    };
                    head.replay_exemplar(SeriesRef(e.series_ref), ex);
                }
            }
        }
        Ok(())
    }
}

/// After the head was truncated before `mint`: checkpoints every closed
/// segment that every companion store has persisted, keeping the series
/// still in the head and data from `mint` on.
pub(super) fn checkpoint(wal: &Wal, head: &Head, stores: &Stores, mint: i64) -> Result<()> {
    let last = wal.cut_segment()?;
    let up_to = (last - 1).min(stores.persisted_through());
    if up_to == 0 {
        return Ok(());
    }
    wal.checkpoint(
        up_to,
        |r| u32::try_from(r).is_ok_and(|id| head.has_series(id)),
        mint,
    )?;
    Ok(())
}

/// Total bytes of files under `dir` (recursively).
pub(super) fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
