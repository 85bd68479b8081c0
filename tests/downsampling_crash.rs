//! Crash safety of downsampling: a child process opens a database of raw
//! blocks with tiers configured and a raw retention shorter than its data,
//! runs maintenance (the tiers, then retention) and is killed with SIGKILL,
//! a little later in the work each round. After every kill nothing is lost:
//! every minute of every series is still answered by its raw samples or by
//! its 1m tier bucket, which equals the summary of the samples written. The
//! next start finishes the work and leaves no temporary block behind.
//!
//! The test binary re-executes itself as the child (`downsampling_child`,
//! active only when `ALMANAC_DOWNSAMPLING_DIR` is set), which prints
//! `opened` before the maintenance and `done` after it.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tsdb::db::{Db, DbOptions};
use tsdb::downsample::testing::two_tiers;
use tsdb::downsample::{Columns, Point, Summary, bucket_end, summarize};
use tsdb::model::{Labels, Matcher, Queryable, Sample, SelectHints};
use tsdb::retention::Retention;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const DAYS: i64 = 3;
const SERIES: usize = 120;

/// Series `i`: even ones counters (`_total`, resetting now and then),
/// odd ones gauges.
fn name(i: usize) -> String {
    if i.is_multiple_of(2) {
        format!("crash_requests_{i}_total")
    } else {
        format!("crash_temperature_{i}")
    }
}

fn labels(i: usize) -> Labels {
    Labels::from_pairs(&[("__name__", name(i).as_str()), ("job", "crash")])
}

/// The samples of series `i`: every 15 s (with a little jitter) for
/// `DAYS` days.
fn points(i: usize) -> Vec<Point> {
    let (mut v, mut x) = (0.0f64, i as u64 * 7919 + 1);
    (1..=DAYS * DAY / 15_000)
        .map(|k| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = (x >> 33) % 1000;
            v = if i % 2 == 1 {
                r as f64 / 8.0
            } else if r == 0 {
                0.0
            } else {
                v + (r % 10) as f64
            };
            Point::new(k * 15_000 + k % 3, v, 0)
        })
        .collect()
}

/// Tiers of 1m (after 2h) and 5m (after 8h); raw data kept a day.
fn tiered() -> DbOptions {
    DbOptions {
        retention: Retention { time: DAY, size: 0 },
        downsampling: two_tiers(),
        ..DbOptions::default()
    }
}

/// The child: opens the database with tiers and runs maintenance.
#[test]
fn downsampling_child() {
    let Ok(dir) = std::env::var("ALMANAC_DOWNSAMPLING_DIR") else {
        return;
    };
    let db = Db::open(Path::new(&dir), tiered()).expect("open");
    let mut out = std::io::stdout().lock();
    writeln!(out, "opened").expect("stdout");
    out.flush().expect("flush");
    db.compact().expect("maintenance");
    writeln!(out, "done").expect("stdout");
    out.flush().expect("flush");
}

/// Every minute of every series is answered whole by raw samples or by
/// its tier bucket. Returns how many minutes the tier answered.
fn check_nothing_lost(dir: &Path, round: &str) -> usize {
    let db = Db::open(dir, tiered()).expect("reopen");
    // A block is renamed into place only when complete: none is torn.
    let quarantined = std::fs::read_dir(dir.join("quarantine"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(quarantined, 0, "{round}: a block was quarantined");
    let q = db.querier(i64::MIN / 2, i64::MAX / 2).expect("querier");
    let mut from_tier = 0;
    for i in 0..SERIES {
        let matchers = [Matcher::equal("__name__", name(i))];
        let mut raw: Vec<Sample> = Vec::new();
        for s in q
            .select(&SelectHints::default(), &matchers)
            .expect("select")
        {
            s.samples_in(i64::MIN / 2, i64::MAX / 2, &mut raw);
        }
        let tier: Vec<Summary> = db
            .select_summaries(MINUTE, MINUTE, &matchers, i64::MIN / 2, i64::MAX / 2)
            .expect("select summaries")
            .into_iter()
            .flat_map(|(_, s)| s.read())
            .collect();
        let written = points(i);
        let mut at = 0;
        while at < written.len() {
            let end = bucket_end(written[at].t, MINUTE);
            let n = written[at..]
                .iter()
                .take_while(|p| bucket_end(p.t, MINUTE) == end)
                .count();
            let minute = &written[at..at + n];
            at += n;
            let (lo, hi) = (
                raw.partition_point(|s| s.t <= end - MINUTE),
                raw.partition_point(|s| s.t <= end),
            );
            let raw_here: Vec<(i64, f64)> = raw[lo..hi].iter().map(|s| (s.t, s.v)).collect();
            let want: Vec<(i64, f64)> = minute.iter().map(|p| (p.t, p.v)).collect();
            if raw_here == want {
                continue;
            }
            // Raw blocks expire whole, and a minute may straddle two: its
            // first samples gone, the rest still raw. The tier then holds
            // all of it.
            assert!(
                want.ends_with(&raw_here),
                "{round}: raw minute {end} of {} holds {raw_here:?}, not the end of {want:?}",
                name(i)
            );
            let mut want = summarize(minute.iter().copied(), MINUTE, Columns::default());
            if i.is_multiple_of(2) {
                want.iter_mut().for_each(Summary::drop_sum);
            }
            let got = tier.iter().find(|b| b.end == end);
            assert_eq!(
                got,
                want.first(),
                "{round}: minute {end} of {} is neither raw nor in the 1m tier",
                name(i)
            );
            from_tier += 1;
        }
    }
    db.close().expect("close");
    from_tier
}

fn temporary_blocks(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("blocks"))
        .expect("read dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

#[test]
fn sigkill_during_downsampling_loses_nothing_and_the_next_start_finishes() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Raw blocks only, written without tiers and kept.
    {
        let db = Db::open(
            dir.path(),
            DbOptions {
                retention: Retention {
                    time: 30 * DAY,
                    size: 0,
                },
                // Blocks that retention can take one by one.
                max_block_range: 6 * HOUR,
                ..DbOptions::default()
            },
        )
        .expect("open");
        let all: Vec<Vec<Point>> = (0..SERIES).map(points).collect();
        let per_series = all[0].len();
        for from in (0..per_series).step_by(240) {
            let mut app = db.appender();
            for (i, ps) in all.iter().enumerate() {
                for p in &ps[from..(from + 240).min(per_series)] {
                    app.append(&labels(i), p.t, p.v).expect("append");
                }
            }
            app.commit().expect("commit");
            db.compact().expect("compact");
        }
        db.close().expect("close");
    }

    // Each round kills the child later after it has opened the database.
    let (mut interrupted, mut torn) = (0, 0);
    for (round, delay_ms) in [5u64, 40, 120, 300, 700].into_iter().enumerate() {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "downsampling_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("ALMANAC_DOWNSAMPLING_DIR", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the child");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut opened = false;
        while let Some(Ok(line)) = lines.next() {
            // The first line shares its start with the harness's output.
            if line.ends_with("opened") {
                opened = true;
                break;
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: child never opened"
            );
        }
        assert!(opened, "round {round}: the child exited before opening");
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().expect("SIGKILL");
        child.wait().expect("wait");
        let finished = lines.any(|l| l.is_ok_and(|l| l.ends_with("done")));
        if !finished {
            interrupted += 1;
        }
        // Blocks the kill cut short, removed by the next open.
        torn += temporary_blocks(dir.path()).len();
        check_nothing_lost(dir.path(), &format!("round {round} ({delay_ms} ms)"));
    }
    assert!(
        interrupted > 0,
        "every child finished before it was killed: the test proves nothing"
    );
    eprintln!("{interrupted} of 5 children killed mid-maintenance, {torn} blocks cut short");

    // The next start finishes the work: no temporary block left, the raw
    // data past retention gone, the tiers answering for it.
    let db = Db::open(dir.path(), tiered()).expect("reopen");
    db.compact().expect("maintenance");
    let again = db.compact().expect("maintenance");
    assert_eq!(again.tier_blocks, 0, "nothing left to downsample");
    assert_eq!(again.deleted_blocks, 0, "nothing left to expire");
    let oldest_raw = db.blocks().iter().map(|b| b.meta().min_time).min();
    assert!(
        oldest_raw.is_some_and(|t| t > DAY),
        "raw data past retention expired: oldest raw block starts at {oldest_raw:?}"
    );
    db.close().expect("close");
    assert_eq!(temporary_blocks(dir.path()), Vec::<String>::new());
    let from_tier = check_nothing_lost(dir.path(), "after the last start");
    assert!(
        from_tier > SERIES * 24 * 60,
        "the tier answers the expired day and more ({from_tier} minutes)"
    );
}
