//! Conformance: runs Prometheus's PromQL test scripts
//! (`testdata/promql/*.test`) through `promql::promqltest` against the real
//! storage engine (`tsdb::db::Db` in a temporary directory) and the
//! evaluator.
//!
//! Prints `file: passed/failed/skipped` per script, the first failures of
//! each script, and one summary line
//! `promqltest: P passed, F failed, S skipped`. Fails when an eval fails
//! that `testdata/promql/KNOWN_FAILURES` does not list, or when a listed
//! one passes (so the list only shrinks); with `PROMQLTEST_DIR` set, fails
//! when F > 0.
//!
//! Environment:
//! - `PROMQLTEST_DIR`: the scripts' directory (default `testdata/promql`).
//! - `PROMQLTEST_FILTER`: run only files whose name contains this.
//! - `PROMQLTEST_VERBOSE=1`: print every failure in full and every skipped
//!   eval with its reason, and let evaluator panics print their usual
//!   message.

use std::path::{Path, PathBuf};

use promql::promqltest::{
    Counts, Outcome, RunOptions, Storage, StorageError, parse_script, run_script,
};
use tempfile::TempDir;
use tsdb::db::{Db, DbOptions};
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
        let mut app = self.db.appender();
        for (labels, samples) in &series {
            for s in samples {
                // Dropping the appender on error rolls the batch back.
                app.append(labels, s.t, s.v)
                    .map_err(|e| format!("{labels} at t={}ms: {e}", s.t))?;
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
    let mut failed: Vec<String> = Vec::new();
    let mut passed: Vec<String> = Vec::new();
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
        for c in &report.cases {
            let at = format!("{}:{}", report.file, c.line);
            match c.outcome {
                Outcome::Failed(_) => failed.push(at),
                Outcome::Passed => passed.push(at),
                Outcome::Skipped(_) => {}
            }
        }
    }
    let _ = std::panic::take_hook(); // back to the default hook
    println!("{}", total.summary_line());
    if std::env::var_os("PROMQLTEST_DIR").is_some() {
        assert_eq!(total.failed, 0, "{}", total.summary_line());
        return;
    }
    let known = known_failures();
    let unexpected: Vec<&String> = failed.iter().filter(|f| !known.contains(f)).collect();
    let fixed: Vec<&String> = passed.iter().filter(|p| known.contains(p)).collect();
    println!(
        "promqltest: {} of the {} failures are listed in testdata/promql/KNOWN_FAILURES",
        failed.len() - unexpected.len(),
        failed.len()
    );
    assert!(
        unexpected.is_empty(),
        "failures not in KNOWN_FAILURES: {unexpected:?}"
    );
    assert!(
        fixed.is_empty(),
        "these pass now; remove them from KNOWN_FAILURES: {fixed:?}"
    );
}

/// `file:line` entries of `testdata/promql/KNOWN_FAILURES` (comments and
/// blank lines skipped).
fn known_failures() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/promql/KNOWN_FAILURES");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}
