//! Storage-engine throughput.
//!
//! What is measured:
//! - `head_append/existing_series`: samples/s appended to 10k existing head
//!   series by one thread (append_ref + commit, no WAL).
//! - `limits/append_existing_{off,on}`: samples/s appended by labels to
//!   10k existing series with no limits and with every cardinality limit
//!   on (set high enough to refuse nothing): appends to existing series
//!   never reach admission, so the two should not differ.
//! - `limits/create_{off,on}`: series/s created (10k new series per
//!   iteration into a fresh head), without and with every limit on: the
//!   cost of admission.
//! - `postings/intersect`: resolving `{job="api", zone="b", code=~"2.."}`
//!   over 100k indexed series (roaring intersections and a regex scan).
//! - `block_write`: samples/s written from the head into a block.
//! - `db_replay`: samples/s replayed from the WAL when a database opens.
//!
//! Run: `cargo bench --bench tsdb_engine -- --warm-up-time 1 --measurement-time 3`

use std::sync::Arc;

use almanac::bench_series::{all_limits, http_labels};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tsdb::block::{BlockPlan, write_block};
use tsdb::db::{Db, DbOptions};
use tsdb::index::{MemPostings, postings_for_matchers};
use tsdb::limits::Limits;
use tsdb::model::{Labels, MatchOp, Matcher, SeriesRef};
use tsdb::querier::BlockReader;
use tsdb::wal::{SyncPolicy, WalOptions};
use tsdb::{Head, HeadOptions, RangeHead};

fn labels(i: usize) -> Labels {
    http_labels(i, false)
}

fn limits(c: &mut Criterion) {
    const SERIES: usize = 10_000;
    let all: Vec<Labels> = (0..SERIES).map(labels).collect();
    let mut g = c.benchmark_group("limits");
    g.throughput(Throughput::Elements(SERIES as u64));
    for (name, lim) in [("off", Limits::default()), ("on", all_limits())] {
        let head = Head::new(HeadOptions {
            limits: lim.clone(),
            ..HeadOptions::default()
        });
        let mut app = head.appender();
        for l in &all {
            app.append(l, 0, 0.0).expect("append");
        }
        app.commit();
        let mut t = 0i64;
        g.bench_function(format!("append_existing_{name}"), |b| {
            b.iter(|| {
                t += 15_000;
                let mut app = head.appender();
                for l in &all {
                    app.append(l, t, 1.0).expect("append");
                }
                app.commit()
            })
        });
        g.bench_function(format!("create_{name}"), |b| {
            b.iter(|| {
                let head = Head::new(HeadOptions {
                    limits: lim.clone(),
                    ..HeadOptions::default()
                });
                let mut app = head.appender();
                for l in &all {
                    app.append(l, 0, 0.0).expect("append");
                }
                app.commit()
            })
        });
    }
    g.finish();
}

fn head_append(c: &mut Criterion) {
    const SERIES: usize = 10_000;
    let head = Head::new(HeadOptions::default());
    let mut refs: Vec<SeriesRef> = Vec::with_capacity(SERIES);
    let mut app = head.appender();
    for i in 0..SERIES {
        refs.push(app.append(&labels(i), 0, 0.0).expect("append"));
    }
    app.commit();
    let mut t = 0i64;
    let mut g = c.benchmark_group("head_append");
    g.throughput(Throughput::Elements(SERIES as u64));
    g.bench_function("existing_series", |b| {
        b.iter(|| {
            t += 15_000;
            let mut app = head.appender();
            for (i, r) in refs.iter().enumerate() {
                app.append_ref(*r, t, (t / 1000) as f64 + i as f64)
                    .expect("append");
            }
            app.commit()
        })
    });
    g.finish();
}

fn postings(c: &mut Criterion) {
    let mut p = MemPostings::new();
    for i in 0..100_000 {
        p.add(i as u32, &labels(i));
    }
    let ms = [
        Matcher::new(MatchOp::Equal, "job", "api").expect("matcher"),
        Matcher::new(MatchOp::Equal, "zone", "b").expect("matcher"),
        Matcher::new(MatchOp::RegexMatch, "code", "2..").expect("matcher"),
    ];
    c.bench_function("postings/intersect", |b| {
        b.iter(|| postings_for_matchers(&p, &ms).len())
    });
}

/// A head with `series` × `samples` at 15 s.
fn filled_head(series: usize, samples: i64) -> Arc<Head> {
    let head = Head::new(HeadOptions::default());
    for s in 0..samples {
        let mut app = head.appender();
        for i in 0..series {
            app.append(&labels(i), s * 15_000, (s * 3 + i as i64) as f64)
                .expect("append");
        }
        app.commit();
    }
    head
}

fn block_write(c: &mut Criterion) {
    const SERIES: usize = 2_000;
    const SAMPLES: i64 = 240;
    let head = filled_head(SERIES, SAMPLES);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut g = c.benchmark_group("block_write");
    g.throughput(Throughput::Elements(SERIES as u64 * SAMPLES as u64));
    g.sample_size(10);
    g.bench_function("2k_series_x_240", |b| {
        b.iter(|| {
            let rh: Arc<dyn BlockReader> = Arc::new(RangeHead::new(head.clone(), 0, i64::MAX - 1));
            let plan = BlockPlan {
                min_time: 0,
                max_time: SAMPLES * 15_000,
                level: 1,
                sources: vec![],
                parents: vec![],
            };
            let meta = write_block(dir.path(), vec![rh], plan)
                .expect("write")
                .expect("block");
            std::fs::remove_dir_all(dir.path().join(meta.ulid)).expect("cleanup");
        })
    });
    g.finish();
}

fn db_replay(c: &mut Criterion) {
    const SERIES: usize = 2_000;
    const SAMPLES: i64 = 240;
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = DbOptions {
        wal: WalOptions {
            sync: SyncPolicy::Never,
            ..WalOptions::default()
        },
        ..DbOptions::default()
    };
    {
        let db = Db::open(dir.path(), opts.clone()).expect("open");
        for s in 0..SAMPLES {
            let mut app = db.appender();
            for i in 0..SERIES {
                app.append(&labels(i), s * 15_000, (s * 3 + i as i64) as f64)
                    .expect("append");
            }
            app.commit().expect("commit");
        }
        db.close().expect("close");
    }
    let mut g = c.benchmark_group("db_replay");
    g.throughput(Throughput::Elements(SERIES as u64 * SAMPLES as u64));
    g.sample_size(10);
    g.bench_function("2k_series_x_240", |b| {
        b.iter(|| {
            Db::open(dir.path(), opts.clone())
                .expect("open")
                .head_stats()
                .num_series
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    head_append,
    limits,
    postings,
    block_write,
    db_replay
);
criterion_main!(benches);
