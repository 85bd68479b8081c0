//! What one explorer request looks at, and the series in it read exactly.
//!
//! Without `match[]`, `date`, `start` or `end` the explorer answers for
//! the head from its label index. With any of them it reads the series
//! matching any `match[]` (all series without one) that have a sample in
//! the range — from the head and the blocks, tombstones applied — and
//! refuses with 422 when that is more than the configured cap
//! (`limits.max_explorer_series`), naming the cap and how to narrow the
//! request.

use std::collections::{HashMap, HashSet};

use tsdb::db::Db;
use tsdb::model::{Labels, METRIC_NAME, MatchOp, Matcher};
use tsdb::querier::ChunkSeries;

use crate::api::Params;
use crate::error::ApiError;
use crate::selector::parse_selector;

/// Series with a sample this close to the range's end are active
/// (Mimir's default idle timeout for active series).
pub const ACTIVE_WINDOW_MS: i64 = 10 * 60_000;
/// Series whose first sample is this close to the head's end count as
/// created, for the head's default answer (one hour of churn).
pub const CHURN_WINDOW_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// The series selection and time range of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    /// Series matching any of these (every series when empty).
    pub selectors: Vec<Vec<Matcher>>,
    pub mint: i64,
    pub maxt: i64,
}

impl Scope {
    /// The scope a request asks for; `None` for the head's default
    /// answer. `date` (`YYYY-MM-DD`, UTC) is that day, `1970-01-01` all
    /// time, as VictoriaMetrics reads it; `start`/`end` are Prometheus
    /// times; without either the head's time range is used.
    pub fn from_params(p: &Params, head: (i64, i64)) -> Result<Option<Scope>, ApiError> {
        let selectors: Vec<Vec<Matcher>> = p
            .all("match[]")
            .iter()
            .map(|s| parse_selector(s))
            .collect::<Result<_, _>>()?;
        let date = p.get("date").filter(|d| !d.is_empty());
        let ranged = p.get("start").is_some() || p.get("end").is_some();
        if selectors.is_empty() && date.is_none() && !ranged {
            return Ok(None);
        }
        let (mint, maxt) = match date {
            Some(d) if ranged => {
                return Err(ApiError::BadData(format!(
                    "invalid parameter \"date\": {d:?} with start or end; give one of them"
                )));
            }
            Some(d) => day_range(d)?,
            None if ranged => {
                let (mint, maxt) = (p.time_or("start", i64::MIN)?, p.time_or("end", i64::MAX)?);
                if maxt < mint {
                    return Err(ApiError::BadData(
                        "end timestamp must not be before start time".into(),
                    ));
                }
                (mint, maxt)
            }
            None => head,
        };
        Ok(Some(Scope {
            selectors,
            mint,
            maxt,
        }))
    }

    /// The head's whole range, every series.
    pub fn head(head: (i64, i64)) -> Scope {
        Scope {
            selectors: Vec::new(),
            mint: head.0,
            maxt: head.1,
        }
    }

    /// The same selection over another range.
    pub fn with_range(&self, mint: i64, maxt: i64) -> Scope {
        Scope {
            selectors: self.selectors.clone(),
            mint,
            maxt,
        }
    }

    /// The series of the scope with a sample in its range, sorted by
    /// labels; 422 past `cap` series.
    pub fn select(&self, db: &Db, cap: usize) -> Result<Vec<(Labels, ChunkSeries)>, ApiError> {
        if self.maxt < self.mint {
            return Ok(Vec::new());
        }
        let all = vec![
            Matcher::new(MatchOp::RegexMatch, METRIC_NAME, ".*")
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        ];
        let sets = if self.selectors.is_empty() {
            std::slice::from_ref(&all)
        } else {
            &self.selectors[..]
        };
        let mut seen: HashSet<Labels> = HashSet::new();
        let mut out = Vec::new();
        for ms in sets {
            // One more than the cap tells that the cap is passed.
            let limit = cap.saturating_add(1);
            for (labels, cs) in db.select_chunk_series_up_to(self.mint, self.maxt, ms, limit)? {
                if cs.num_samples_in(self.mint, self.maxt) == 0 || seen.contains(&labels) {
                    continue;
                }
                seen.insert(labels.clone());
                out.push((labels, cs));
                if out.len() > cap {
                    return Err(ApiError::Execution(format!(
                        "more than {cap} series to read (limits.max_explorer_series); narrow the request with match[], date or start/end"
                    )));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

/// The range of a `YYYY-MM-DD` day (UTC); `1970-01-01` is all time.
fn day_range(d: &str) -> Result<(i64, i64), ApiError> {
    let bad = || {
        ApiError::BadData(format!(
            "invalid parameter \"date\": {d:?} is not YYYY-MM-DD"
        ))
    };
    let mut parts = d.split('-').map(|x| x.parse::<i64>().map_err(|_| bad()));
    let (Some(y), Some(m), Some(day), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let (y, m, day) = (y?, m?, day?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || d.len() != 10 {
        return Err(bad());
    }
    let days = promql::syntax::days_from_civil(y, m, day);
    if days == 0 {
        return Ok((i64::MIN, i64::MAX));
    }
    let start = days * DAY_MS;
    Ok((start, start + DAY_MS - 1))
}

/// Series per metric name among `series` with a sample in `(end -
/// ACTIVE_WINDOW_MS, end]`.
pub fn active_by_metric(series: &[(Labels, ChunkSeries)], end: i64) -> HashMap<String, u64> {
    let mint = end.saturating_sub(ACTIVE_WINDOW_MS) + 1;
    let active = series
        .iter()
        .filter(|(_, cs)| cs.num_samples_in(mint, end) > 0)
        .map(|(l, _)| l);
    super::stats::series_by_metric(active)
}

/// Series per metric name among the scope's whose first sample in the
/// database lies in `[from, scope.maxt]`: in the scope with a sample
/// there, and none before `from`. `cap` bounds the reads as in
/// [`Scope::select`].
pub fn created_by_metric(
    db: &Db,
    scope: &Scope,
    from: i64,
    cap: usize,
) -> Result<HashMap<String, u64>, ApiError> {
    let recent = scope.with_range(from, scope.maxt).select(db, cap)?;
    // A chunk read here that starts before `from` shows older data;
    // the others may still have some in earlier chunks: look those up,
    // one metric name at a time.
    let candidates: Vec<&Labels> = recent
        .iter()
        .filter(|(_, cs)| cs.chunks().iter().all(|c| c.min_t >= from))
        .map(|(l, _)| l)
        .collect();
    let mut names: Vec<&str> = candidates.iter().map(|l| l.get(METRIC_NAME)).collect();
    names.sort_unstable();
    names.dedup();
    let mut before: HashSet<Labels> = HashSet::new();
    for name in names {
        // The scope's own selection, of this metric only.
        let by_name = Matcher::equal(METRIC_NAME, name);
        let selectors = if scope.selectors.is_empty() {
            vec![vec![by_name]]
        } else {
            scope
                .selectors
                .iter()
                .map(|ms| ms.iter().cloned().chain([by_name.clone()]).collect())
                .collect()
        };
        let older = Scope {
            selectors,
            mint: i64::MIN,
            maxt: from.saturating_sub(1),
        };
        before.extend(older.select(db, cap)?.into_iter().map(|(l, _)| l));
    }
    Ok(super::stats::series_by_metric(
        candidates.into_iter().filter(|l| !before.contains(*l)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_ranges_table() {
        type Case<'a> = (&'a str, Result<(i64, i64), ()>);
        let cases: &[Case] = &[
            ("1970-01-01", Ok((i64::MIN, i64::MAX))),
            ("1970-01-02", Ok((DAY_MS, 2 * DAY_MS - 1))),
            (
                "2026-12-06",
                Ok((1_796_515_200_000, 1_796_515_200_000 + DAY_MS - 1)),
            ),
            ("2026-13-01", Err(())),
            ("2026-1-01", Err(())),
            ("yesterday", Err(())),
            ("2026-12-06-01", Err(())),
        ];
        for (d, want) in cases {
            assert_eq!(day_range(d).map_err(drop), *want, "date {d}");
        }
    }
}
