//! Golden bytes: native histogram chunks written by a real Prometheus
//! (Debian's 2.42, `--enable-feature=native-histograms`) decode in Almanac
//! to the histograms that were sent, and Almanac's encoder writes the same
//! bytes for those samples.
//!
//! The histograms go to Prometheus by remote write 1.0; a snapshot writes
//! its head as a block, whose chunk segment files are read here. Gauge
//! histograms are left out: 2.42 fails to snapshot a head holding them
//! ("detected unexpected counter reset in histogram"); the gauge header
//! is covered by the chunk unit tests.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use almanac::harness::{request, snappy};
use almanac::peers::Prometheus;
use prost::Message;
use server::prompb;
use tsdb::chunkenc::histogram::{HistogramAppender, ResetHeader, decode_histograms};
use tsdb::model::histogram::{CounterResetHint, Histogram, Span, deltas};

const STEP: i64 = 10_000;
const SAMPLES: usize = 200;

fn hist(
    schema: i32,
    zero_threshold: f64,
    zero_count: u64,
    pos: (&[Span], &[u64]),
    neg: (&[Span], &[u64]),
    sum: f64,
) -> Histogram {
    Histogram {
        hint: CounterResetHint::Unknown,
        schema,
        zero_threshold,
        zero_count,
        count: zero_count + pos.1.iter().sum::<u64>() + neg.1.iter().sum::<u64>(),
        sum,
        positive_spans: pos.0.to_vec(),
        negative_spans: neg.0.to_vec(),
        positive_deltas: deltas(pos.1),
        negative_deltas: deltas(neg.1),
        custom_values: vec![],
    }
}

/// A test series' histogram at step `i`.
type Generator = Box<dyn Fn(usize) -> Histogram>;

/// Each test series: a name and its generator.
fn series() -> Vec<(&'static str, Generator)> {
    let default_zt = 2f64.powi(-128);
    vec![
        (
            "h_steady",
            Box::new(move |i| {
                let i = i as u64;
                let spans = [Span::new(0, 5)];
                let counts = [i, 2 * i, 3 * i + 1, i / 2, i % 7 + i];
                hist(
                    0,
                    default_zt,
                    i / 3,
                    (&spans, &counts),
                    (&[], &[]),
                    i as f64 * 1.25,
                )
            }),
        ),
        (
            "h_negative",
            Box::new(move |i| {
                let i = i as u64;
                let pos = [Span::new(-3, 2), Span::new(2, 3)];
                let neg = [Span::new(1, 2)];
                hist(
                    3,
                    0.001,
                    i,
                    (&pos, &[i, i + 1, 2 * i, 0, 5 * i]),
                    (&neg, &[i / 2, i / 4]),
                    -(i as f64) * 0.1,
                )
            }),
        ),
        (
            "h_growing",
            Box::new(move |i| {
                let i = i as u64;
                if i < 50 {
                    hist(
                        1,
                        default_zt,
                        0,
                        (&[Span::new(0, 2)], &[i, i]),
                        (&[], &[]),
                        i as f64,
                    )
                } else if i < 120 {
                    let spans = [Span::new(0, 2), Span::new(3, 1)];
                    hist(
                        1,
                        default_zt,
                        0,
                        (&spans, &[i, i, i - 50]),
                        (&[], &[]),
                        i as f64,
                    )
                } else {
                    let spans = [Span::new(0, 3), Span::new(2, 1)];
                    hist(
                        1,
                        default_zt,
                        0,
                        (&spans, &[i, i, i - 120, i - 50]),
                        (&[], &[]),
                        i as f64,
                    )
                }
            }),
        ),
        (
            "h_reset",
            Box::new(move |i| {
                let n = if i < 80 { i as u64 } else { (i - 80) as u64 };
                hist(
                    2,
                    default_zt,
                    n,
                    (&[Span::new(1, 3)], &[n, n * 3, n * 7]),
                    (&[], &[]),
                    n as f64 * 3.5,
                )
            }),
        ),
        (
            "h_big",
            Box::new(move |i| {
                let i = i as u64;
                let counts = [i * 1_000_003, i * i * 977, (1 << 40) + i * 65_537];
                hist(
                    -4,
                    default_zt,
                    1 << 33,
                    (&[Span::new(2, 3)], &counts),
                    (&[], &[]),
                    i as f64 * 1e12,
                )
            }),
        ),
    ]
}

/// The same observations, whatever the bucket layout.
fn same(a: &Histogram, b: &Histogram) -> bool {
    let (mut a, mut b) = (a.to_float(), b.to_float());
    a.compact(0);
    b.compact(0);
    a.same_observations(&b)
}

/// `(encoding, data)` of every chunk in a block's chunk segment files.
fn read_chunks(block: &Path) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(block.join("chunks"))
        .expect("chunks dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for f in files {
        let b = std::fs::read(&f).expect("segment");
        assert_eq!(&b[..4], &[0x85, 0xBD, 0x40, 0xDD], "chunk segment magic");
        let mut pos = 8;
        while pos < b.len() {
            let (mut len, mut shift) = (0usize, 0);
            loop {
                let byte = b[pos];
                pos += 1;
                len |= usize::from(byte & 0x7f) << shift;
                shift += 7;
                if byte < 0x80 {
                    break;
                }
            }
            if len == 0 && b[pos] == 0 {
                break; // zero padding at the end of a segment
            }
            let encoding = b[pos];
            let data = b[pos + 1..pos + 1 + len].to_vec();
            pos += 1 + len + 4;
            out.push((encoding, data));
        }
    }
    out
}

#[test]
fn prometheus_histogram_chunks_decode_and_reencode_byte_for_byte() {
    let prom = Prometheus::start(
        "global: {scrape_interval: 1h}\n",
        &[
            "--enable-feature=native-histograms",
            "--web.enable-remote-write-receiver",
            "--web.enable-admin-api",
        ],
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let start = (now - SAMPLES as i64 * STEP) / 1000 * 1000;
    let all = series();
    let sent: Vec<Vec<(i64, Histogram)>> = all
        .iter()
        .map(|(_, f)| {
            (0..SAMPLES)
                .map(|i| (start + i as i64 * STEP, f(i)))
                .collect()
        })
        .collect();
    for (s, h) in sent.iter().flatten() {
        assert_eq!(h.validate(), Ok(()), "test data at {s}");
    }
    let req = prompb::WriteRequest {
        timeseries: all
            .iter()
            .zip(&sent)
            .map(|((name, _), samples)| prompb::TimeSeries {
                labels: vec![prompb::Label {
                    name: "__name__".into(),
                    value: (*name).into(),
                }],
                histograms: samples
                    .iter()
                    .map(|(t, h)| prompb::Histogram::from_int(h, *t))
                    .collect(),
                ..Default::default()
            })
            .collect(),
        metadata: vec![],
    };
    let r = request(
        prom.addr,
        "POST",
        "/api/v1/write",
        &[
            ("Content-Encoding", "snappy"),
            ("Content-Type", "application/x-protobuf"),
        ],
        &snappy(&req.encode_to_vec()),
    )
    .expect("remote write");
    assert_eq!(r.status, 204, "{} {}", r.text(), prom.log());

    let r = request(prom.addr, "POST", "/api/v1/admin/tsdb/snapshot", &[], b"").expect("snapshot");
    assert_eq!(r.status, 200, "{}", r.text());
    let name = r.json()["data"]["name"]
        .as_str()
        .expect("snapshot name")
        .to_string();
    let snap = prom.data_dir().join("snapshots").join(name);
    let mut chunks = Vec::new();
    for block in std::fs::read_dir(&snap).expect("snapshot dir") {
        chunks.extend(read_chunks(&block.expect("block").path()));
    }

    let mut matched = vec![0usize; all.len()];
    let mut starts = vec![Vec::new(); all.len()];
    for (encoding, data) in &chunks {
        assert_eq!(*encoding, 2, "only integer histogram chunks were written");
        let got = decode_histograms(data).expect("a Prometheus chunk decodes");
        let (t0, first) = &got[0];
        let (si, offset) = sent
            .iter()
            .enumerate()
            .find_map(|(si, s)| {
                s.iter()
                    .position(|(t, h)| t == t0 && same(h, first))
                    .map(|o| (si, o))
            })
            .unwrap_or_else(|| panic!("chunk starting at {t0} matches no series"));
        for (k, (t, h)) in got.iter().enumerate() {
            let (st, sh) = &sent[si][offset + k];
            assert_eq!(t, st, "{} sample {}", all[si].0, offset + k);
            assert!(
                same(h, sh),
                "{} sample {}: {h:?} vs {sh:?}",
                all[si].0,
                offset + k
            );
        }
        matched[si] += got.len();
        // Almanac's encoder, given the same samples and header, writes the
        // same bytes.
        let mut app = HistogramAppender::new(ResetHeader::from_byte(data[2]));
        for (t, h) in &got {
            app.append(*t, h);
        }
        assert_eq!(&app.bytes(), data, "{} chunk at sample {offset}", all[si].0);
        starts[si].push(offset);
    }
    assert_eq!(
        matched,
        vec![SAMPLES; all.len()],
        "every sample was found in a chunk"
    );
    // The counter reset cut a chunk (2.42's snapshot writes its header as
    // unknown, so only the cut is compared).
    let reset = all.iter().position(|(n, _)| *n == "h_reset").unwrap_or(0);
    assert!(
        starts[reset].contains(&80),
        "h_reset chunks start at {:?}",
        starts[reset]
    );
}
