//! Storage footprint on realistic data (not a criterion bench: it measures
//! bytes, not time).
//!
//! What is measured, for `SERIES` series × `SAMPLES` samples at 15 s from
//! `almanac::datagen` (node-exporter and HTTP-service shaped data):
//! - head memory per series: growth of the process RSS while the head is
//!   filled, divided by the series count, minus the chunk bytes (so it is
//!   the cost of a series beyond its samples), and chunk bytes per sample;
//! - bytes per sample on disk: the head written out as one block
//!   (index + chunks) divided by the number of samples, and how many of its
//!   chunks the block writer stored in each encoding.
//!
//! Run: `cargo bench --bench storage_footprint` (env `SERIES`, `SAMPLES`
//! override the defaults of 20000 × 240).
//!
//! With `SAMPLES_FILE=path` the data comes from a file written by
//! `scripts/rwgen_dump.py` (the lab generator's own series model, so the
//! figure is for exactly the values `../shared/lab/rwgen.py` sends):
//! `python3 scripts/rwgen_dump.py /tmp/rwgen.bin && SAMPLES_FILE=/tmp/rwgen.bin
//! cargo bench --bench storage_footprint`.

use almanac::bench_env::{env_usize, rss_bytes};
use std::collections::BTreeMap;
use std::sync::Arc;

use almanac::datagen::{Fleet, GenOptions};
use tsdb::block::{Block, BlockPlan, write_block};
use tsdb::model::{Labels, MatchOp, Matcher, SeriesRef};
use tsdb::querier::BlockReader;
use tsdb::{Head, HeadOptions, RangeHead};

/// Where the samples come from: the built-in generator or a dump file.
enum Source {
    Fleet(Fleet),
    /// All samples, scrape-major: `samples[k * series + i]`.
    File {
        samples: Vec<(i64, f64)>,
        k: usize,
    },
}

impl Source {
    fn scrape(&mut self, series: usize, mut f: impl FnMut(usize, i64, f64)) {
        match self {
            Source::Fleet(fleet) => fleet.scrape(f),
            Source::File { samples, k } => {
                for (i, &(t, v)) in samples[*k * series..(*k + 1) * series].iter().enumerate() {
                    f(i, t, v);
                }
                *k += 1;
            }
        }
    }
}

/// A bounds-checked reader over a dump file.
struct Cursor<'a> {
    path: &'a str,
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let s = self.b.get(self.pos..self.pos + n).ok_or_else(|| {
            format!(
                "{}: ends at byte {}, expected {n} more",
                self.path, self.pos
            )
        })?;
        self.pos += n;
        Ok(s)
    }

    fn u16(&mut self) -> Result<usize, String> {
        self.take(2)
            .map(|s| usize::from(u16::from_le_bytes([s[0], s[1]])))
    }

    fn u32(&mut self) -> Result<usize, String> {
        self.take(4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
    }

    fn u64(&mut self) -> Result<u64, String> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
}

/// A dump file's contents: labels, samples per series, and the samples
/// scrape-major.
type Dump = (Vec<Labels>, usize, Vec<(i64, f64)>);

/// Reads a `scripts/rwgen_dump.py` file.
fn read_dump(path: &str) -> Result<Dump, String> {
    let b = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let mut c = Cursor {
        path,
        b: &b,
        pos: 0,
    };
    if c.take(4)? != b"ALSD" {
        return Err(format!("{path}: not a scripts/rwgen_dump.py file"));
    }
    let (series, samples) = (c.u32()?, c.u32()?);
    let mut labels = Vec::with_capacity(series);
    for _ in 0..series {
        let n = c.u16()?;
        let mut pairs = Vec::with_capacity(2 * n);
        for _ in 0..2 * n {
            let len = c.u16()?;
            let s = String::from_utf8(c.take(len)?.to_vec())
                .map_err(|_| format!("{path}: a label is not UTF-8"))?;
            pairs.push(s);
        }
        let refs: Vec<(&str, &str)> = pairs
            .chunks(2)
            .map(|p| (p[0].as_str(), p[1].as_str()))
            .collect();
        labels.push(Labels::from_pairs(&refs));
    }
    let mut out = Vec::with_capacity(series * samples);
    for _ in 0..series * samples {
        let t = c.u64()? as i64;
        out.push((t, f64::from_bits(c.u64()?)));
    }
    Ok((labels, samples, out))
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let (labels, samples, mut source) = match std::env::var("SAMPLES_FILE") {
        Ok(path) => {
            let (labels, samples, data) = match read_dump(&path) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("storage_footprint: {e}");
                    std::process::exit(1);
                }
            };
            println!("storage_footprint: data from {path}");
            (
                labels,
                samples,
                Source::File {
                    samples: data,
                    k: 0,
                },
            )
        }
        Err(_) => {
            let fleet = Fleet::new(GenOptions {
                series: env_usize("SERIES", 20_000),
                ..GenOptions::default()
            });
            (
                fleet.labels(),
                env_usize("SAMPLES", 240),
                Source::Fleet(fleet),
            )
        }
    };
    let series = labels.len();

    // The bench's own series references are allocated before measuring.
    // (pushed one by one, so its pages are touched before measuring).
    let mut refs: Vec<Option<SeriesRef>> = Vec::with_capacity(series);
    (0..series).for_each(|_| refs.push(None));
    let rss0 = rss_bytes();
    let head = Head::new(HeadOptions {
        chunk_range: i64::MAX / 4,
        ..HeadOptions::default()
    });
    let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
    for _ in 0..samples {
        let mut app = head.appender();
        source.scrape(series, |i, t, v| {
            mint = mint.min(t);
            maxt = maxt.max(t);
            match refs[i] {
                Some(r) => app.append_ref(r, t, v).expect("append"),
                None => refs[i] = Some(app.append(&labels[i], t, v).expect("append")),
            }
        });
        app.commit();
    }
    drop(labels);
    let rss1 = rss_bytes();
    drop(source);
    let stats = head.stats();
    let total_samples = (series * samples) as f64;

    let dir = tempfile::tempdir().expect("tempdir");
    let rh: Arc<dyn BlockReader> = Arc::new(RangeHead::new(head.clone(), mint, maxt));
    let plan = BlockPlan {
        min_time: mint,
        max_time: maxt + 1,
        level: 1,
        sources: vec![],
        parents: vec![],
    };
    let meta = write_block(dir.path(), vec![rh], plan)
        .expect("write")
        .expect("block");
    let bdir = dir.path().join(&meta.ulid);
    let index = std::fs::metadata(bdir.join("index"))
        .map(|m| m.len())
        .unwrap_or(0);
    let chunks: u64 = std::fs::read_dir(bdir.join("chunks"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);

    let block = Block::open(&bdir).expect("open block");
    let all = Matcher::new(MatchOp::RegexMatch, "__name__", ".*").expect("matcher");
    let mut encodings: BTreeMap<String, u64> = BTreeMap::new();
    for id in block.postings(&[all]).expect("ids") {
        let entry = block
            .series(id, i64::MIN, i64::MAX)
            .expect("series")
            .expect("listed series");
        for c in block.chunks(entry.chunks).expect("chunks") {
            *encodings.entry(format!("{:?}", c.encoding)).or_default() += 1;
        }
    }

    let grown = rss1.saturating_sub(rss0) as f64;
    println!("storage_footprint: {series} series x {samples} samples = {total_samples} samples");
    println!(
        "  head: {} chunks, chunk bytes {:.3} B/sample",
        stats.num_chunks,
        stats.chunk_bytes as f64 / total_samples
    );
    println!(
        "  head RSS growth {:.1} MiB = {:.0} B/series, {:.0} B/series beyond chunk bytes",
        grown / 1048576.0,
        grown / series as f64,
        (grown - stats.chunk_bytes as f64) / series as f64
    );
    println!(
        "  block: index {} B + chunks {} B = {:.3} B/sample (index {:.3}, chunks {:.3})",
        index,
        chunks,
        (index + chunks) as f64 / total_samples,
        index as f64 / total_samples,
        chunks as f64 / total_samples
    );
    println!("  block chunks by encoding: {encodings:?}");
}
