//! The WAL on disk: round trips across page and segment boundaries, group
//! commit, and a named table of damage cases.

use std::path::Path;
use std::sync::Arc;

use tsdb::wal::{SyncPolicy, Wal, WalOptions, WalReader};

fn opts(segment_size: u64) -> WalOptions {
    WalOptions {
        segment_size,
        sync: SyncPolicy::Always,
    }
}

/// Record `i`: recognisable bytes of a length that varies with `i`.
fn record(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|k| (i * 31 + k) as u8).collect()
}

fn read_all(dir: &Path) -> tsdb::Result<Vec<Vec<u8>>> {
    let mut r = WalReader::open(dir)?;
    let mut out = vec![];
    while let Some(rec) = r.next_record()? {
        out.push(rec.to_vec());
    }
    Ok(out)
}

fn write(dir: &Path, recs: &[Vec<u8>], segment_size: u64) {
    let (wal, repair) = Wal::open(dir, opts(segment_size)).unwrap();
    assert!(repair.is_none());
    for r in recs {
        wal.log_and_sync(&[r]).unwrap();
    }
    wal.close().unwrap();
}

#[test]
fn records_round_trip_across_pages_and_segments() {
    let dir = tempfile::tempdir().unwrap();
    // Sizes around the page (32 KiB) and over a segment of 256 KiB.
    let sizes = [
        0,
        1,
        100,
        32 * 1024 - 7,
        32 * 1024,
        70_000,
        300_000,
        5,
        40_000,
    ];
    let recs: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| record(i, n))
        .collect();
    write(dir.path(), &recs, 256 * 1024);
    assert!(
        Wal::open(dir.path(), opts(256 * 1024))
            .unwrap()
            .0
            .segments()
            .unwrap()
            .len()
            > 1
    );
    assert_eq!(read_all(dir.path()).unwrap(), recs);
    // Reopen and append more: the old records stay, the new follow.
    let more: Vec<Vec<u8>> = (100..110).map(|i| record(i, 1000)).collect();
    write(dir.path(), &more, 256 * 1024);
    let mut all = recs.clone();
    all.extend(more);
    assert_eq!(read_all(dir.path()).unwrap(), all);
}

/// A page ending with 1 to 7 bytes of room is padded; the fragment after
/// the padding starts the next page and must read back. (A reader that
/// kept the padded page's room refused it when the padding was exactly 7
/// bytes: replay dropped the rest of the last segment as a damaged tail,
/// and a checkpoint written so could not be read.)
#[test]
fn records_after_every_padding_width_read_back() {
    // A segment starts with an 8-byte header; a fragment has a 7-byte one.
    for pad in 1..=7usize {
        let dir = tempfile::tempdir().unwrap();
        let first = 32 * 1024 - 7 - pad;
        let recs = vec![record(1, first), record(2, 131), record(3, 18)];
        write(dir.path(), &recs, 1 << 30);
        let read = read_all(dir.path()).unwrap();
        let lens: Vec<usize> = read.iter().map(Vec::len).collect();
        assert_eq!(lens, [first, 131, 18], "padding of {pad} bytes");
        assert!(read == recs, "padding of {pad} bytes: contents differ");
    }
}

#[test]
fn concurrent_writers_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), opts(1 << 20)).unwrap();
    let wal = Arc::new(wal);
    const THREADS: usize = 8;
    const PER: usize = 200;
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let wal = wal.clone();
            std::thread::spawn(move || {
                for i in 0..PER {
                    wal.log_and_sync(&[&record(t * PER + i, 64)]).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let fsyncs = wal.fsyncs.load(std::sync::atomic::Ordering::Relaxed);
    wal.close().unwrap();
    let mut got = read_all(dir.path()).unwrap();
    let mut want: Vec<Vec<u8>> = (0..THREADS * PER).map(|i| record(i, 64)).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "every record read back exactly once");
    assert!(
        fsyncs < (THREADS * PER) as u64,
        "no fsync was shared: {fsyncs}"
    );
}

/// One damage case: how to hurt the WAL and what must happen on reopen.
struct Case {
    name: &'static str,
    segment_size: u64,
    records: usize,
    damage: fn(&Path),
    /// Records readable after reopen (`None`: reopening must fail with
    /// corruption naming a file and offset).
    survivors: Option<usize>,
}

fn last_segment(dir: &Path) -> std::path::PathBuf {
    let mut segs: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().len() == 8)
        .collect();
    segs.sort();
    segs.pop().unwrap()
}

fn first_segment(dir: &Path) -> std::path::PathBuf {
    dir.join("00000001")
}

fn truncate_by(path: &Path, n: u64) {
    let len = std::fs::metadata(path).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_len(len - n).unwrap();
}

fn flip_byte(path: &Path, at_from_end: usize) {
    let mut b = std::fs::read(path).unwrap();
    let i = b.len() - at_from_end;
    b[i] ^= 0xff;
    std::fs::write(path, b).unwrap();
}

fn append(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

#[test]
fn damage_table() {
    let cases = [
        Case {
            name: "torn_last_record",
            segment_size: 1 << 20,
            records: 10,
            damage: |d| truncate_by(&last_segment(d), 3),
            survivors: Some(9),
        },
        Case {
            name: "bad_crc_in_last_segment_tail",
            segment_size: 1 << 20,
            records: 10,
            damage: |d| flip_byte(&last_segment(d), 2),
            survivors: Some(9),
        },
        Case {
            name: "zero_filled_tail_page",
            segment_size: 1 << 20,
            records: 10,
            damage: |d| append(&last_segment(d), &[0u8; 32 * 1024]),
            survivors: Some(10),
        },
        Case {
            name: "garbage_appended",
            segment_size: 1 << 20,
            records: 10,
            damage: |d| append(&last_segment(d), b"\x01\xff\xffgarbage"),
            survivors: Some(10),
        },
        Case {
            name: "truncated_segment_header",
            segment_size: 4096,
            records: 30,
            damage: |d| {
                let p = last_segment(d);
                std::fs::write(&p, [0x41, 0x4c]).unwrap();
            },
            survivors: None, // checked below: the records of earlier segments survive
        },
        Case {
            name: "bad_crc_in_middle_of_older_segment",
            segment_size: 4096,
            records: 30,
            damage: |d| flip_byte(&first_segment(d), 500),
            survivors: None,
        },
        Case {
            name: "missing_segment",
            segment_size: 4096,
            records: 40,
            damage: |d| std::fs::remove_file(d.join("00000002")).unwrap(),
            survivors: None,
        },
    ];
    for c in cases {
        let dir = tempfile::tempdir().unwrap();
        let recs: Vec<Vec<u8>> = (0..c.records).map(|i| record(i, 300)).collect();
        write(dir.path(), &recs, c.segment_size);
        (c.damage)(dir.path());
        let opened = Wal::open(dir.path(), opts(c.segment_size));
        match (c.name, c.survivors) {
            ("truncated_segment_header", _) => {
                let (wal, repair) = opened.unwrap_or_else(|e| panic!("{}: {e}", c.name));
                assert!(repair.is_some(), "{}: repair reported", c.name);
                let got = read_all(dir.path()).unwrap();
                assert!(
                    !got.is_empty() && got.len() < c.records,
                    "{}: {}",
                    c.name,
                    got.len()
                );
                assert_eq!(got, recs[..got.len()], "{}", c.name);
                // Writing after the repair works and replays.
                wal.log_and_sync(&[b"after"]).unwrap();
                let got = read_all(dir.path()).unwrap();
                assert_eq!(got.last().unwrap(), b"after");
            }
            (_, Some(n)) => {
                let (wal, repair) = opened.unwrap_or_else(|e| panic!("{}: {e}", c.name));
                let got = read_all(dir.path()).unwrap_or_else(|e| panic!("{}: {e}", c.name));
                assert_eq!(got, recs[..n], "{}", c.name);
                if n < c.records || c.name != "zero_filled_tail_page" {
                    let r =
                        repair.unwrap_or_else(|| panic!("{}: expected a repair report", c.name));
                    assert!(r.dropped_bytes > 0, "{}", c.name);
                    assert_eq!(
                        std::fs::metadata(&r.segment).unwrap().len(),
                        r.offset,
                        "{}: file cut at the reported offset",
                        c.name
                    );
                }
                wal.log_and_sync(&[b"after"]).unwrap();
                let got = read_all(dir.path()).unwrap();
                assert_eq!(got.len(), n + 1, "{}", c.name);
                assert_eq!(got.last().unwrap(), b"after", "{}", c.name);
            }
            (_, None) => {
                // Damage before the last segment is never repaired silently.
                let err = match opened {
                    Err(e) => e.to_string(),
                    Ok(_) => read_all(dir.path()).expect_err(c.name).to_string(),
                };
                assert!(
                    err.contains("corruption in") && err.contains("at offset"),
                    "{}: {err}",
                    c.name
                );
                assert!(err.contains("0000000"), "{}: names the file: {err}", c.name);
            }
        }
    }
}
