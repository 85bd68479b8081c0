//! Series selectors as the HTTP API takes them (`match[]`): one vector
//! selector, without offset or `@`.

use tsdb::model::Matcher;

use crate::ast::Expr;
use crate::error::{Error, Position, Result};

/// Parses `up{job="a"}` or `{__name__=~"x.*"}` into its matchers (the
/// metric name included as a `__name__` matcher).
pub fn parse_series_selector(input: &str) -> Result<Vec<Matcher>> {
    match crate::parse(input)? {
        Expr::VectorSelector(vs) if vs.offset.is_none() && vs.at.is_none() => Ok(vs.matchers),
        _ => Err(Error::Parse {
            pos: Position::from_offset(input, 0),
            msg: "expected a series selector (a vector selector without offset or @)".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let ok = parse_series_selector(r#"up{job="a"}"#).unwrap();
        assert_eq!(ok.len(), 2);
        assert!(ok.iter().any(|m| m.name == "__name__" && m.value == "up"));
        assert!(parse_series_selector(r#"{__name__=~".+"}"#).is_ok());
        assert!(parse_series_selector("rate(up[5m])").is_err());
        assert!(parse_series_selector("up offset 5m").is_err());
        assert!(parse_series_selector("up{").is_err());
    }
}
