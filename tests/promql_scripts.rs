//! Conformance: runs Prometheus's PromQL test scripts
//! (`testdata/promql/*.test`) through `promql::promqltest` against the real
//! storage engine (`tsdb::db::Db` in a temporary directory) and the
//! evaluator.
//!
//! Prints `file: passed/failed/skipped` per script, the first failures of
//! each script, and one summary line
//! `promqltest: P passed, F failed, S skipped`, and fails when F > 0.
//! Only evals that need native histograms are skipped (the runner's rule).
//!
//! Environment:
//! - `PROMQLTEST_DIR`: the scripts' directory (default `testdata/promql`).
//! - `PROMQLTEST_FILTER`: run only files whose name contains this.
//! - `PROMQLTEST_VERBOSE=1`: print every failure in full and every skipped
//!   eval with its reason, and let evaluator panics print their usual
//!   message.
//! - `PROMQLTEST_HISTOGRAMS=1`: run the native-histogram evals too (load
//!   histograms, compare histogram results) and report, without failing,
//!   how many pass: the measure of native-histogram support while it is
//!   being completed.

use std::path::{Path, PathBuf};

use promql::promqltest::{Counts, RunOptions, Storage, StorageError, parse_script, run_script};
use tempfile::TempDir;
use tsdb::db::{Db, DbOptions};
use tsdb::model::histogram::{FloatHistogram, HistogramValue};
use tsdb::model::{Labels, Queryable, Sample};
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
        let mut app = self.db.appender();
        for (i, (labels, samples)) in series.iter().enumerate() {
            let starts = sts.get(i).map_or(&[][..], Vec::as_slice);
            for (j, s) in samples.iter().enumerate() {
                // Dropping the appender on error rolls the batch back.
                app.append(labels, s.t, s.v)
                    .map_err(|e| format!("{labels} at t={}ms: {e}", s.t))?;
                app.set_start_timestamp(starts.get(j).copied().unwrap_or(0));
            }
        }
        let stats = app.commit()?;
        if stats.rejected > 0 {
            return Err(format!("the commit rejected {} samples", stats.rejected).into());
        }
        Ok(())
    }

    fn load_histograms(
        &mut self,
        series: Vec<(Labels, Vec<(i64, FloatHistogram)>)>,
    ) -> Result<(), StorageError> {
        let mut app = self.db.appender();
        for (labels, hs) in series {
            for (t, h) in hs {
                app.append_histogram(&labels, t, HistogramValue::Float(h))
                    .map_err(|e| format!("{labels} at t={t}ms: {e}"))?;
            }
        }
        let stats = app.commit()?;
        if stats.rejected > 0 {
            return Err(format!("the commit rejected {} histograms", stats.rejected).into());
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
    let histograms = std::env::var("PROMQLTEST_HISTOGRAMS").is_ok_and(|v| v == "1");
    let opts = RunOptions {
        histograms,
        ..RunOptions::default()
    };
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
        if verbose {
            print!("{}", report.render_skips());
        }
        total.add(report.counts());
    }
    let _ = std::panic::take_hook(); // back to the default hook
    println!("{}", total.summary_line());
    if histograms {
        // A measurement while native-histogram support is completed.
        return;
    }
    assert_eq!(total.failed, 0, "{}", total.summary_line());
}
