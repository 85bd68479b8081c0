//! Checkpoints: what must survive when old segments are deleted.

use std::path::Path;

use super::Wal;
use super::reader::WalReader;
use super::record::{Record, RecordFamily};
use super::segment::{list_segments, segment_path};
use super::writer::{SyncPolicy, WalOptions};
use crate::error::{Error, Result};

/// What a checkpoint kept and dropped.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CheckpointStats {
    pub records_read: u64,
    pub series_kept: u64,
    pub samples_kept: u64,
    pub segments_deleted: u64,
}

impl Wal {
    /// Folds the previous checkpoint and segments `..= up_to` into a new
    /// `checkpoint.<up_to>`: series records whose ref `keep` accepts, and
    /// samples, exemplars and tombstones of kept series from `mint` on.
    /// Records of the other families are dropped: the caller checkpoints
    /// only segments whose span and log records are in their stores'
    /// blocks already. Then deletes those segments and
    /// older checkpoints. The checkpoint is written to a `.tmp` directory and
    /// renamed, so a crash leaves either the old state or the new one.
    pub fn checkpoint(
        &self,
        up_to: u64,
        keep: impl Fn(u64) -> bool,
        mint: i64,
    ) -> Result<CheckpointStats> {
        let dir = self.dir();
        let mut stats = CheckpointStats::default();
        let segments: Vec<u64> = list_segments(dir)?
            .into_iter()
            .filter(|&s| s <= up_to)
            .collect();
        if segments.is_empty() {
            return Ok(stats);
        }
        let tmp = dir.join(format!("checkpoint.{up_to:08}.tmp"));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| Error::io("remove", &tmp, e))?;
        }
        let (cp, _) = Wal::open(
            &tmp,
            WalOptions {
                segment_size: u64::MAX,
                sync: SyncPolicy::Never,
            },
        )?;
        let mut reader = WalReader::open_range(dir, up_to)?;
        let mut buf = Vec::new();
        while let Some(rec) = reader.next_record()? {
            stats.records_read += 1;
            if RecordFamily::of_record(rec) != Some(RecordFamily::Metrics) {
                continue;
            }
            let kept = match Record::decode(rec)? {
                Record::Series(mut v) => {
                    v.retain(|s| keep(s.series_ref));
                    stats.series_kept += v.len() as u64;
                    (!v.is_empty()).then_some(Record::Series(v))
                }
                Record::Samples(mut v) => {
                    v.retain(|s| s.t >= mint && keep(s.series_ref));
                    stats.samples_kept += v.len() as u64;
                    (!v.is_empty()).then_some(Record::Samples(v))
                }
                Record::StartTimes(mut v) => {
                    v.retain(|s| s.t >= mint && keep(s.series_ref));
                    (!v.is_empty()).then_some(Record::StartTimes(v))
                }
                Record::Exemplars(mut v) => {
                    v.retain(|e| e.t >= mint && keep(e.series_ref));
                    (!v.is_empty()).then_some(Record::Exemplars(v))
                }
                Record::Histograms(mut v) => {
                    v.retain(|s| s.t >= mint && keep(s.series_ref));
                    stats.samples_kept += v.len() as u64;
                    (!v.is_empty()).then_some(Record::Histograms(v))
                }
                Record::FloatHistograms(mut v) => {
                    v.retain(|s| s.t >= mint && keep(s.series_ref));
                    stats.samples_kept += v.len() as u64;
                    (!v.is_empty()).then_some(Record::FloatHistograms(v))
                }
                Record::Tombstones(mut v) => {
                    v.retain(|t| t.maxt >= mint && keep(t.series_ref));
                    (!v.is_empty()).then_some(Record::Tombstones(v))
                }
            };
            if let Some(r) = kept {
                buf.clear();
                r.encode(&mut buf);
                cp.log(&[&buf])?;
            }
        }
        cp.close()?;
        drop(cp);
        let dst = dir.join(format!("checkpoint.{up_to:08}"));
        std::fs::rename(&tmp, &dst).map_err(|e| Error::io("rename", &dst, e))?;
        crate::fsutil::sync_dir(dir)?;
        for s in segments {
            let p = segment_path(dir, s);
            std::fs::remove_file(&p).map_err(|e| Error::io("remove", &p, e))?;
            stats.segments_deleted += 1;
        }
        remove_older_checkpoints(dir, up_to)?;
        Ok(stats)
    }
}

fn remove_older_checkpoints(dir: &Path, keep: u64) -> Result<()> {
    for e in std::fs::read_dir(dir).map_err(|e| Error::io("read dir", dir, e))? {
        let e = e.map_err(|e| Error::io("read dir", dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(n) = name.strip_prefix("checkpoint.")
            && let Ok(n) = n.trim_end_matches(".tmp").parse::<u64>()
            && n < keep
        {
            let p = e.path();
            std::fs::remove_dir_all(&p).map_err(|e| Error::io("remove", &p, e))?;
        }
    }
    Ok(())
}
