//! The tiers a database keeps ([`Tiers`]) and the rules that keep a
//! configuration from losing data.
//!
//! Tier `i` is built from the level before it (raw data for the first)
//! once that level's data in a tier block's span ([`Tier::span`]) is older
//! than `after`, and kept for `retention`. Ages count from the newest
//! sample in the database, as raw retention does.

use crate::error::{Error, Result};

/// One downsampling tier. Times in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    pub resolution: i64,
    pub after: i64,
    /// 0 keeps it forever.
    pub retention: i64,
}

/// Buckets a tier block spans: 288 (one day of 5m buckets, twelve days of
/// hourly ones), so that the index and chunk headers of a block spread
/// over enough buckets.
pub const BUCKETS_PER_BLOCK: i64 = 288;

impl Tier {
    /// The span of one of this tier's blocks (blocks start at multiples
    /// of it).
    pub fn span(&self) -> i64 {
        self.resolution.saturating_mul(BUCKETS_PER_BLOCK)
    }
}

/// The tiers, finest first; empty = no downsampling.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tiers(pub Vec<Tier>);

impl Tiers {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Refuses a configuration that could lose data or keeps nothing, given
    /// the raw retention (0 = forever) and raw block range: resolutions
    /// that are not positive multiples of the previous one; a level whose
    /// data could expire before the next tier covers it (its retention
    /// shorter than the next tier's `after` plus two of the level's blocks:
    /// raw block ranges, or the finer tier's block spans); a tier built no
    /// later than the one before it; a tier that outlives nothing (its
    /// retention not longer than the level before it). Raw blocks are
    /// kept past their retention until the first tier covers them all the
    /// same; this catches the configurations that would hit that guard.
    pub fn validate(&self, raw_retention: i64, raw_block_range: i64) -> Result<()> {
        let bad = |reason: String| {
            Err(Error::InvalidOption {
                name: "downsampling.tiers",
                reason,
            })
        };
        let mut prev: Option<&Tier> = None;
        let mut prev_retention = raw_retention;
        for (i, t) in self.0.iter().enumerate() {
            let level = prev.map_or("raw data".to_string(), |_| format!("tier {i}"));
            let n = i + 1;
            if t.resolution <= 0 || t.after < 0 || t.retention < 0 {
                return bad(format!(
                    "tier {n}: resolution must be positive, after and retention not negative"
                ));
            }
            if let Some(p) = prev {
                if t.resolution <= p.resolution || t.resolution % p.resolution != 0 {
                    return bad(format!(
                        "tier {n}: resolution {} ms is not a multiple of tier {i}'s {} ms",
                        t.resolution, p.resolution
                    ));
                }
                if t.after < p.after + p.span() {
                    return bad(format!(
                        "tier {n}: after ({} ms) must be at least tier {i}'s after plus one of its blocks ({} ms)",
                        t.after,
                        p.after + p.span()
                    ));
                }
            }
            let block = prev.map_or(raw_block_range, |p| p.span());
            let needed = t.after.saturating_add(2 * block);
            if prev_retention != 0 && prev_retention < needed {
                return bad(format!(
                    "tier {n}: {level} is kept {prev_retention} ms, less than the tier's after plus two blocks of {level} ({needed} ms): data would expire before the tier covers it"
                ));
            }
            if prev_retention == 0 || (t.retention != 0 && t.retention <= prev_retention) {
                return bad(format!(
                    "tier {n}: its retention ({} ms) keeps nothing {level} does not keep",
                    t.retention
                ));
            }
            prev = Some(t);
            prev_retention = t.retention;
        }
        Ok(())
    }
}

impl Tiers {
    /// Checks only that raw data kept `retention` ms (> 0) lives long
    /// enough for the first tier to cover it, as [`validate`](Self::validate)
    /// checks the raw retention; the reason if not.
    pub fn validate_source(
        &self,
        retention: i64,
        raw_block_range: i64,
    ) -> std::result::Result<(), String> {
        let Some(t) = self.0.first() else {
            return Ok(());
        };
        let needed = t.after.saturating_add(2 * raw_block_range);
        if retention < needed {
            return Err(format!(
                "raw data kept {retention} ms, less than the first tier's after plus two raw blocks ({needed} ms): data would expire before the tier covers it"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: i64 = 60_000;
    const H: i64 = 60 * M;
    const D: i64 = 24 * H;

    fn tier(resolution: i64, after: i64, retention: i64) -> Tier {
        Tier {
            resolution,
            after,
            retention,
        }
    }

    #[test]
    fn validation_table() {
        let cases: Vec<(&str, i64, Vec<Tier>, Option<&str>)> = vec![
            ("none", 15 * D, vec![], None),
            (
                "the issue's example",
                15 * D,
                vec![tier(5 * M, 36 * H, 90 * D), tier(H, 10 * D, 730 * D)],
                None,
            ),
            ("forever tier", 15 * D, vec![tier(5 * M, 36 * H, 0)], None),
            (
                "not a multiple",
                15 * D,
                vec![tier(5 * M, 36 * H, 90 * D), tier(7 * M, 10 * D, 730 * D)],
                Some("not a multiple"),
            ),
            (
                "zero resolution",
                15 * D,
                vec![tier(0, 36 * H, 90 * D)],
                Some("must be positive"),
            ),
            (
                "raw expires first",
                36 * H,
                vec![tier(5 * M, 36 * H, 90 * D)],
                Some("data would expire"),
            ),
            (
                "tier expires before the next covers it",
                5 * D,
                vec![tier(5 * M, 36 * H, 11 * D), tier(H, 10 * D, 730 * D)],
                Some("data would expire"),
            ),
            (
                "outlives nothing",
                15 * D,
                vec![tier(5 * M, 36 * H, 10 * D)],
                Some("keeps nothing"),
            ),
            (
                "raw kept forever",
                0,
                vec![tier(5 * M, 36 * H, 90 * D)],
                Some("keeps nothing"),
            ),
            (
                "built before the finer tier",
                15 * D,
                vec![tier(5 * M, 36 * H, 90 * D), tier(H, 40 * H, 730 * D)],
                Some("at least tier 1's after"),
            ),
        ];
        for (name, raw, tiers, want) in cases {
            let got = Tiers(tiers).validate(raw, 2 * H);
            match (want, got) {
                (None, Ok(())) => {}
                (Some(w), Err(e)) => assert!(e.to_string().contains(w), "{name}: {e}"),
                (w, g) => panic!("{name}: want {w:?}, got {g:?}"),
            }
        }
    }
}
