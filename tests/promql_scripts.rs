//! Conformance: runs Prometheus's PromQL test scripts
//! (`testdata/promql/*.test`) through `promql::promqltest` against the real
//! storage engine (`tsdb::db::Db` in a temporary directory) and the
//! evaluator.
//!
//! Prints `file: passed/failed` per script, the first failures of each
//! script, and one summary line `promqltest: P passed, F failed, 0
//! skipped`, and
//! fails when F > 0. Every eval runs, native histograms included.
//!
//! Environment:
//! - `PROMQLTEST_DIR`: the scripts' directory (default `testdata/promql`).
//! - `PROMQLTEST_FILTER`: run only files whose name contains this.
//! - `PROMQLTEST_VERBOSE=1`: print every failure in full, and let
//!   evaluator panics print their usual message.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use promql::promqltest::{Counts, RunOptions, Storage, StorageError, parse_script, run_script};
use tempfile::TempDir;
use tsdb::db::{Db, DbOptions};
use tsdb::model::histogram::HistogramValue;
use tsdb::model::{HistogramSample, Labels, Queryable, Sample};
use tsdb::retention::Retention;
use tsdb::wal::{SyncPolicy, WalOptions};

/// Failures printed per file unless verbose.
const FAILURES_SHOWN: usize = 5;

/// A database in a fresh temporary directory; `clear` replaces both.
struct DbStorage {
    // Declared before `_dir` so that it is closed before the directory goes.
    db: Db,
    _dir: TempDir,
}

fn db_options() -> DbOptions {
    DbOptions {
        // Later loads may add samples before a series' newest one; accept
        // anything a century back.
        ooo_window: 100 * 365 * 24 * 3_600_000,
        retention: Retention { time: 0, size: 0 },
        wal: WalOptions {
            sync: SyncPolicy::Never,
            ..WalOptions::default()
        },
        ..DbOptions::default()
    }
}

impl DbStorage {
    fn open() -> Result<DbStorage, StorageError> {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path(), db_options())?;
        Ok(DbStorage { db, _dir: dir })
    }
}

impl Storage for DbStorage {
    fn clear(&mut self) -> Result<(), StorageError> {
        *self = DbStorage::open()?;
        Ok(())
    }

    fn load(&mut self, series: Vec<(Labels, Vec<Sample>)>) -> Result<(), StorageError> {
        self.load_st(series, Vec::new())
    }

    fn load_st(
        &mut self,
        series: Vec<(Labels, Vec<Sample>)>,
        sts: Vec<Vec<i64>>,
    ) -> Result<(), StorageError> {
        self.load_mixed(series, sts, Vec::new())
    }

    fn load_histograms(
        &mut self,
        series: Vec<(Labels, Vec<HistogramSample>)>,
    ) -> Result<(), StorageError> {
        self.load_mixed(Vec::new(), Vec::new(), series)
    }

    /// Appends every series' samples of both kinds in time order, in one
    /// batch (out-of-order samples would keep no start timestamp).
    fn load_mixed(
        &mut self,
        floats: Vec<(Labels, Vec<Sample>)>,
        sts: Vec<Vec<i64>>,
        hists: Vec<(Labels, Vec<HistogramSample>)>,
    ) -> Result<(), StorageError> {
        enum Item {
            Float(Sample),
            Hist(HistogramSample),
        }
        let mut by_series: std::collections::BTreeMap<Labels, Vec<(i64, i64, Item)>> =
            Default::default();
        for (i, (labels, samples)) in floats.into_iter().enumerate() {
            let starts = sts.get(i).map_or(&[][..], Vec::as_slice);
            let items = by_series.entry(labels).or_default();
            for (j, s) in samples.into_iter().enumerate() {
                items.push((s.t, starts.get(j).copied().unwrap_or(0), Item::Float(s)));
            }
        }
        for (labels, hs) in hists {
            let items = by_series.entry(labels).or_default();
            items.extend(hs.into_iter().map(|h| (h.t, h.st, Item::Hist(h))));
        }
        let mut app = self.db.appender();
        for (labels, mut items) in by_series {
            items.sort_by_key(|(t, _, _)| *t);
            for (t, st, item) in items {
                // Dropping the appender on error rolls the batch back.
                match item {
                    Item::Float(s) => app.append(&labels, t, s.v).map(drop),
                    Item::Hist(h) => {
                        let h = HistogramValue::Float(Arc::unwrap_or_clone(h.h));
                        app.append_histogram(&labels, t, h).map(drop)
                    }
                }
                .map_err(|e| format!("{labels} at t={t}ms: {e}"))?;
                app.set_start_timestamp(st);
            }
        }
        let stats = app.commit()?;
        if stats.rejected > 0 {
            return Err(format!("the commit rejected {} samples", stats.rejected).into());
        }
        Ok(())
    }

    fn queryable(&self) -> &dyn Queryable {
        &self.db
    }
}

fn script_paths(dir: &Path, filter: &str) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut paths: Vec<PathBuf> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains(filter))
        })
        .collect();
    paths.sort();
    paths
}

#[test]
fn promql_scripts() {
    let dir = std::env::var("PROMQLTEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/promql"));
    let filter = std::env::var("PROMQLTEST_FILTER").unwrap_or_default();
    let verbose = std::env::var("PROMQLTEST_VERBOSE").is_ok_and(|v| v == "1");
    let paths = script_paths(&dir, &filter);
    assert!(
        !paths.is_empty(),
        "no .test files in {} matching {filter:?}",
        dir.display()
    );

    // The runner reports evaluator panics as failures with their message;
    // keep the default hook's output for verbose runs only.
    let default_hook = std::panic::take_hook();
    if verbose {
        std::panic::set_hook(default_hook);
    } else {
        std::panic::set_hook(Box::new(|_| {}));
    }

    let mut storage = DbStorage::open().expect("open a database");
    let opts = RunOptions::default();
    let mut total = Counts::default();
    for path in &paths {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let report = run_script(&parse_script(&name, &text), &mut storage, &opts);
        let limit = if verbose { None } else { Some(FAILURES_SHOWN) };
        print!("{}", report.render(limit));
        total.add(report.counts());
    }
    let _ = std::panic::take_hook(); // back to the default hook
    println!("{}", total.summary_line());
    assert_eq!(total.failed, 0, "{}", total.summary_line());
}
