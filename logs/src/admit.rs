//! What the log store accepts, with Loki's limits and defaults and its
//! refusal texts, each naming the stream. An entry that breaks a rule is
//! refused alone: the rest of the push is stored.

use std::collections::HashMap;
use std::time::Duration;

use tsdb::model::Labels;

use crate::head::Head;
use crate::model::StreamPush;

/// Limits on what a push may add (Loki's defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Longest line (`max_line_size`, 256 KB).
    pub max_line_bytes: usize,
    /// Labels per stream (`max_label_names_per_series`, 15).
    pub max_label_names: usize,
    /// `max_label_name_length` (1024) and `max_label_value_length` (2048).
    pub max_label_name_bytes: usize,
    pub max_label_value_bytes: usize,
    /// Streams held at once (`max_global_streams_per_user`, 5000); a new
    /// stream past it is refused with 429.
    pub max_streams: usize,
    /// Entries older than this before now are refused
    /// (`reject_old_samples_max_age`, one week); `None` accepts any age.
    pub max_age: Option<Duration>,
    /// Entries newer than this after now are refused
    /// (`creation_grace_period`, 10 minutes).
    pub creation_grace: Duration,
    /// An entry may be this much older than its stream's newest entry
    /// (Loki's unordered writes: half of `max_chunk_age`, one hour).
    pub out_of_order_window: Duration,
    /// Bytes of lines and metadata per second (`ingestion_rate_mb`, 4 MiB)
    /// and at once (`ingestion_burst_size_mb`, 6 MiB); a push past them is
    /// refused whole with 429.
    pub ingestion_rate_bytes: f64,
    pub ingestion_burst_bytes: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_bytes: 256 << 10,
            max_label_names: 15,
            max_label_name_bytes: 1024,
            max_label_value_bytes: 2048,
            max_streams: 5000,
            max_age: Some(Duration::from_secs(7 * 24 * 3600)),
            creation_grace: Duration::from_secs(600),
            out_of_order_window: Duration::from_secs(3600),
            ingestion_rate_bytes: 4.0 * 1048576.0,
            ingestion_burst_bytes: 6.0 * 1048576.0,
        }
    }
}

/// What admission kept and refused of a push.
#[derive(Debug, Default)]
pub struct Admitted {
    pub streams: Vec<StreamPush>,
    pub entries: usize,
    pub refused: usize,
    /// The first few reasons.
    pub reasons: Vec<String>,
    /// Some entries were refused because the stream limit was reached
    /// (the answer is 429: a retry can succeed once streams go).
    pub stream_limit: bool,
    /// The whole push was refused by the ingestion rate limit (429).
    pub rate_limited: bool,
    /// Entries blocks hold already, dropped (a retried push).
    pub duplicates: usize,
}

/// The ingestion rate limit: a token bucket of bytes.
#[derive(Debug)]
pub struct RateLimiter {
    tokens: f64,
    last: std::time::Instant,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter {
            tokens: f64::INFINITY,
            last: std::time::Instant::now(),
        }
    }
}

impl RateLimiter {
    /// Takes `bytes` at `now` if the bucket holds them.
    pub fn take(&mut self, bytes: f64, limits: &Limits, now: std::time::Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens =
            (self.tokens + elapsed * limits.ingestion_rate_bytes).min(limits.ingestion_burst_bytes);
        if bytes > self.tokens {
            return false;
        }
        self.tokens -= bytes;
        true
    }
}

/// The whole of `push` refused by the rate limit.
pub fn rate_limited(push: &[StreamPush], bytes: f64, limits: &Limits) -> Admitted {
    let lines: usize = push.iter().map(|s| s.entries.len()).sum();
    Admitted {
        refused: lines,
        rate_limited: true,
        reasons: vec![format!(
            "ingestion rate limit exceeded (limit: {} bytes/sec) while attempting to ingest '{lines}' lines totaling '{bytes}' bytes, reduce log volume or contact your administrator to see if the limit can be increased",
            limits.ingestion_rate_bytes
        )],
        ..Admitted::default()
    }
}

/// Every entry of `push` refused because the head holds `held` bytes of
/// lines not yet in blocks, `limit` or more: flushing is behind, and the
/// client should retry (429), as Loki's ingesters answer when over their
/// memory limits.
pub fn head_full(push: &[StreamPush], held: usize, limit: usize) -> Admitted {
    let lines: usize = push.iter().map(|s| s.entries.len()).sum();
    Admitted {
        refused: lines,
        rate_limited: true,
        reasons: vec![format!(
            "the log store holds {} MiB of lines not yet written to blocks (limit {} MiB, 4 × logs.flush_head_mb); retry later",
            held >> 20,
            limit >> 20
        )],
        ..Admitted::default()
    }
}

const MAX_REASONS: usize = 5;

impl Admitted {
    fn refuse(&mut self, n: usize, reason: impl FnOnce() -> String) {
        if n == 0 {
            return;
        }
        self.refused += n;
        if self.reasons.len() < MAX_REASONS {
            self.reasons.push(reason());
        }
    }
}

/// Splits `push` into what is stored and what is refused, against the
/// streams `head` holds now; `now_ns` is the wall clock.
pub fn admit(push: Vec<StreamPush>, limits: &Limits, head: &Head, now_ns: i64) -> Admitted {
    let mut out = Admitted::default();
    let mut new_streams = 0usize;
    let mut newest_in_push: HashMap<Labels, i64> = HashMap::new();
    let oldest_ok = limits
        .max_age
        .map_or(i64::MIN, |a| now_ns.saturating_sub(nanos(a)));
    let newest_ok = now_ns.saturating_add(nanos(limits.creation_grace));
    let window = nanos(limits.out_of_order_window);
    for mut s in push {
        if let Err(why) = check_labels(&s.labels, limits) {
            out.refuse(s.entries.len(), || why);
            continue;
        }
        let held = head.newest(&s.labels);
        let seen = newest_in_push.get(&s.labels).copied();
        if held.is_none() && seen.is_none() && !s.entries.is_empty() {
            if head.streams() + new_streams >= limits.max_streams {
                out.stream_limit = true;
                out.refuse(s.entries.len(), || {
                    format!(
                        "maximum active stream limit exceeded ({}) for stream '{}': reduce the number of active streams (reduce labels or label values)",
                        limits.max_streams, s.labels
                    )
                });
                continue;
            }
            new_streams += 1;
        }
        let mut newest = held.max(seen).unwrap_or(i64::MIN);
        let labels = s.labels.clone();
        s.entries.retain(|e| {
            let why = if e.line.len() > limits.max_line_bytes {
                format!(
                    "max entry size '{}' bytes exceeded for stream '{labels}' while adding an entry with length '{}' bytes",
                    limits.max_line_bytes,
                    e.line.len()
                )
            } else if e.ts < oldest_ok {
                format!(
                    "entry for stream '{labels}' has timestamp too old: {}, oldest acceptable timestamp is: {}",
                    e.ts, oldest_ok
                )
            } else if e.ts > newest_ok {
                format!("entry for stream '{labels}' has timestamp too new: {}", e.ts)
            } else if e.ts < newest.saturating_sub(window) {
                format!(
                    "entry for stream '{labels}' too far behind, entry timestamp is: {}, oldest acceptable timestamp is: {}",
                    e.ts,
                    newest.saturating_sub(window)
                )
            } else {
                newest = newest.max(e.ts);
                return true;
            };
            out.refuse(1, || why);
            false
        });
        if held.is_some() {
            out.duplicates += head.drop_flushed(&s.labels, &mut s.entries);
        }
        if !s.entries.is_empty() {
            newest_in_push.insert(s.labels.clone(), newest);
            out.entries += s.entries.len();
            out.streams.push(s);
        }
    }
    out
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// The stream's own rules: some label, within the name and value limits.
fn check_labels(labels: &Labels, limits: &Limits) -> Result<(), String> {
    if labels.is_empty() {
        return Err("error at least one label pair is required per stream".into());
    }
    if labels.len() > limits.max_label_names {
        return Err(format!(
            "entry for stream '{labels}' has {} label names; limit {}",
            labels.len(),
            limits.max_label_names
        ));
    }
    for l in labels.iter() {
        if l.name.len() > limits.max_label_name_bytes {
            return Err(format!(
                "stream '{labels}' has label name too long: '{}'",
                l.name
            ));
        }
        if l.value.len() > limits.max_label_value_bytes {
            return Err(format!(
                "stream '{labels}' has label value too long: '{}'",
                l.value
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Entry;

    const NOW: i64 = 1_700_000_000_000_000_000;
    const MIN: i64 = 60_000_000_000;

    fn push(pairs: &[(&str, &str)], entries: &[(i64, &str)]) -> StreamPush {
        StreamPush {
            labels: Labels::from_pairs(pairs),
            entries: entries.iter().map(|(t, l)| Entry::new(*t, *l)).collect(),
        }
    }

    type Case<'a> = (&'a str, Vec<StreamPush>, usize, Option<&'a str>);

    #[test]
    fn rules() {
        let head = Head::default();
        head.apply(vec![push(&[("app", "held")], &[(NOW, "x")])], 1);
        let limits = Limits {
            max_line_bytes: 10,
            max_label_names: 2,
            max_streams: 3,
            ..Limits::default()
        };
        let long = "x".repeat(11);
        let many = [("a", "1"), ("b", "2"), ("c", "3")];
        let cases: Vec<Case> = vec![
            (
                "valid",
                vec![push(&[("app", "a")], &[(NOW, "ok")])],
                1,
                None,
            ),
            (
                "line too long, the rest kept",
                vec![push(&[("app", "a")], &[(NOW, &long), (NOW, "ok")])],
                1,
                Some("max entry size '10' bytes exceeded for stream '{app=\"a\"}'"),
            ),
            (
                "no labels",
                vec![push(&[], &[(NOW, "x")])],
                0,
                Some("at least one label"),
            ),
            (
                "too many labels",
                vec![push(&many, &[(NOW, "x")])],
                0,
                Some("has 3 label names; limit 2"),
            ),
            (
                "too old",
                vec![push(&[("app", "a")], &[(NOW - 8 * 24 * 60 * MIN, "x")])],
                0,
                Some("timestamp too old"),
            ),
            (
                "too new",
                vec![push(&[("app", "a")], &[(NOW + 11 * MIN, "x")])],
                0,
                Some("timestamp too new"),
            ),
            (
                "behind the stream held",
                vec![push(
                    &[("app", "held")],
                    &[(NOW - 61 * MIN, "x"), (NOW - 59 * MIN, "y")],
                )],
                1,
                Some("too far behind"),
            ),
            (
                "behind an entry of the same push",
                vec![
                    push(&[("app", "a")], &[(NOW, "x")]),
                    push(&[("app", "a")], &[(NOW - 61 * MIN, "y")]),
                ],
                1,
                Some("too far behind"),
            ),
            (
                "stream limit, held streams still take entries",
                vec![
                    push(&[("app", "a")], &[(NOW, "x")]),
                    push(&[("app", "b")], &[(NOW, "x")]),
                    push(&[("app", "c")], &[(NOW, "x")]),
                    push(&[("app", "held")], &[(NOW, "x")]),
                ],
                3,
                Some("maximum active stream limit exceeded (3) for stream '{app=\"c\"}'"),
            ),
        ];
        for (name, p, kept, why) in cases {
            let a = admit(p, &limits, &head, NOW);
            assert_eq!(a.entries, kept, "{name}: {:?}", a.reasons);
            match why {
                None => assert!(a.reasons.is_empty(), "{name}: {:?}", a.reasons),
                Some(w) => assert!(
                    a.reasons.iter().any(|r| r.contains(w)),
                    "{name}: {:?}",
                    a.reasons
                ),
            }
            assert_eq!(a.stream_limit, name.starts_with("stream limit"), "{name}");
        }
    }

    #[test]
    fn rate_limit_refills() {
        let limits = Limits {
            ingestion_rate_bytes: 100.0,
            ingestion_burst_bytes: 150.0,
            ..Limits::default()
        };
        let t0 = std::time::Instant::now();
        let mut r = RateLimiter::default();
        assert!(r.take(150.0, &limits, t0), "the burst at once");
        assert!(!r.take(1.0, &limits, t0), "then nothing");
        assert!(r.take(50.0, &limits, t0 + std::time::Duration::from_millis(500)));
        assert!(
            !r.take(200.0, &limits, t0 + std::time::Duration::from_secs(60)),
            "more than the burst never"
        );
    }
}
