//! Crash safety: a writer in a child process is killed with SIGKILL in the
//! middle of a stream of commits; after reopening, every sample whose commit
//! was acknowledged must be there.
//!
//! The test binary re-executes itself as the child (`crash_child`, active
//! only when `ALMANAC_CRASH_DIR` is set), which prints `ack N` after each
//! commit returns.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tsdb::db::{Db, DbOptions};
use tsdb::model::{Labels, MatchOp, Matcher, Queryable, SelectHints};

const SERIES: usize = 50;

fn labels(i: usize) -> Labels {
    Labels::from_pairs(&[("__name__", "crash_test"), ("i", &i.to_string())])
}

/// The child: commits batch `n` = one sample at t = base + n*1000 for
/// every series, `base` from `ALMANAC_CRASH_BASE`.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var("ALMANAC_CRASH_DIR") else {
        return;
    };
    let base: i64 = std::env::var("ALMANAC_CRASH_BASE")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(0);
    let db = Db::open(&dir, DbOptions::default()).expect("open");
    let mut out = std::io::stdout().lock();
    for n in 0.. {
        let mut app = db.appender();
        for i in 0..SERIES {
            app.append(&labels(i), base + n * 1000, n as f64)
                .expect("append");
        }
        app.commit().expect("commit");
        writeln!(out, "ack {n}").expect("stdout");
        out.flush().expect("flush");
    }
}

#[test]
fn acknowledged_samples_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    // (base time, last acknowledged batch) of every round so far.
    let mut rounds: Vec<(i64, i64)> = Vec::new();
    for round in 0..3 {
        let base = round * 10_000_000;
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env("ALMANAC_CRASH_DIR", dir.path())
            .env("ALMANAC_CRASH_BASE", base.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut last_ack: i64 = -1;
        let deadline = Instant::now() + Duration::from_secs(30);
        // Kill after a number of acks that differs per round, mid-stream.
        let kill_after = 50 + round * 37;
        while let Some(Ok(line)) = lines.next() {
            // The first ack shares its line with the test harness's prefix.
            if let Some((_, n)) = line.rsplit_once("ack ") {
                last_ack = n.parse().unwrap();
                if last_ack >= kill_after || Instant::now() > deadline {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        assert!(last_ack >= 0, "child acknowledged nothing");
        rounds.push((base, last_ack));

        // Every round so far resumed on the same data directory.
        let db = Db::open(dir.path(), DbOptions::default()).expect("reopen");
        let q = db.querier(i64::MIN, i64::MAX).unwrap();
        let m = Matcher::new(MatchOp::Equal, "__name__", "crash_test").unwrap();
        let series = q.select(&SelectHints::default(), &[m]).unwrap();
        assert_eq!(series.len(), SERIES, "round {round}");
        for s in &series {
            let mut got = vec![];
            s.samples_in(i64::MIN, i64::MAX, &mut got);
            for &(base, acked) in &rounds {
                let part: Vec<(i64, f64)> = got
                    .iter()
                    .filter(|x| x.t >= base && x.t < base + 10_000_000)
                    .map(|x| (x.t, x.v))
                    .collect();
                assert!(
                    part.len() as i64 > acked,
                    "round {round}: {} has {} samples from base {base}, {} were acknowledged",
                    s.labels,
                    part.len(),
                    acked + 1
                );
                for (n, smp) in part.iter().enumerate().take(acked as usize + 1) {
                    assert_eq!(*smp, (base + n as i64 * 1000, n as f64));
                }
            }
        }
        db.close().unwrap();
    }
}
