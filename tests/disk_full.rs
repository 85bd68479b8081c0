//! A full disk, as an operator meets it: the data directory on a small
//! tmpfs, remote write until the disk is full, then more room. While it is
//! full, writes answer 503 with `Retry-After` and queries keep working;
//! writing resumes by itself once there is room, and after a restart every
//! acknowledged sample is there.
//!
//! Mounting a tmpfs needs root (CI runs as root). Elsewhere the test says
//! so and returns, except under CI (`CI` set), where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use almanac::harness::TestServer;
use tsdb::model::{Labels, Sample};

/// A tmpfs mounted for the test, unmounted on drop.
struct Tmpfs {
    dir: PathBuf,
    _parent: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let parent = tempfile::tempdir().expect("tempdir");
        let dir = parent.path().join("data");
        std::fs::create_dir(&dir).expect("mkdir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs {
            dir,
            _parent: parent,
        })
    }

    fn resize(&self, size: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "remount {} with size={size}", self.dir.display());
    }

    fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

const SERIES: usize = 100;
const PER_REQUEST: usize = 20;

/// One request: `SERIES` series of `disk_full_test`, `PER_REQUEST`
/// samples each, at times after `round`'s.
fn batch(round: usize) -> Vec<(Labels, Vec<Sample>)> {
    (0..SERIES)
        .map(|i| {
            let labels = Labels::from_pairs(&[
                ("__name__", "disk_full_test"),
                ("series", &i.to_string()),
                ("padding", &"x".repeat(64)),
            ]);
            let samples = (0..PER_REQUEST)
                .map(|j| {
                    let t = 1_000_000 + ((round * PER_REQUEST + j) as i64) * 1000;
                    Sample::new(t, (round * PER_REQUEST + j) as f64)
                })
                .collect();
            (labels, samples)
        })
        .collect()
}

fn stored_samples(server: &TestServer) -> u64 {
    let r = server.post_form(
        "/api/v1/query",
        &[
            ("query", "sum(count_over_time(disk_full_test[1d]))"),
            ("time", "80000"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    v["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_full_disk_answers_503_and_loses_no_acknowledged_sample() {
    let Some(fs) = Tmpfs::mount("1m") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must be able to mount a tmpfs (run as root)"
        );
        eprintln!("not run: mounting a tmpfs needs root");
        return;
    };
    let mut server = TestServer::start_in(fs.path(), |_| {});
    let mut acked = 0u64;
    let mut round = 0;
    let full = loop {
        assert!(round < 2_000, "the 1 MiB disk never filled");
        let r = server.remote_write(&batch(round));
        round += 1;
        match r.status {
            204 => acked += (SERIES * PER_REQUEST) as u64,
            _ => break r,
        }
    };
    assert!(acked > 0, "some writes fit before the disk filled");
    assert_eq!(full.status, 503, "{}", full.text());
    assert!(full.text().contains("no space left"), "{}", full.text());
    assert_eq!(full.header("Retry-After"), Some("1"));

    // Still full: writes keep failing cleanly, queries keep working.
    assert_eq!(server.remote_write(&batch(round)).status, 503);
    round += 1;
    assert_eq!(stored_samples(&server), acked);

    // Room again: writing resumes by itself.
    fs.resize("16m");
    for _ in 0..3 {
        let r = server.remote_write(&batch(round));
        assert_eq!(r.status, 204, "{}", r.text());
        acked += (SERIES * PER_REQUEST) as u64;
        round += 1;
    }
    assert_eq!(stored_samples(&server), acked);

    server.stop();
    let server = TestServer::start_in(fs.path(), |_| {});
    assert_eq!(
        stored_samples(&server),
        acked,
        "every acknowledged sample survives the restart"
    );
}
