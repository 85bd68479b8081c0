//! Series selectors in API parameters (`match[]`), parsed with PromQL's
//! grammar.

use tsdb::model::Matcher;

use crate::error::ApiError;

/// Parses `up{job="a"}` or `{__name__=~"x.*"}` into matchers.
pub fn parse_selector(s: &str) -> Result<Vec<Matcher>, ApiError> {
    promql::parse_series_selector(s)
        .map_err(|e| ApiError::BadData(format!("invalid parameter \"match[]\": {e}")))
}
