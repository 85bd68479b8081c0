//! LogQL rules (`log_rule_files`) evaluated on the log store.

use std::sync::Arc;

use logs::logql::MetricExpr;
use logs::logql::eval::Grid;
use promql::eval::EngineOptions;
use promql::value::Value;

/// The log store as the rule manager queries it.
pub struct LogRules(pub Arc<logs::LogStore>);

impl rules::LogQueries for LogRules {
    fn instant(&self, expr: &MetricExpr, t: i64) -> Result<Value, String> {
        self.0
            .evaluate(expr, Grid::instant(t), EngineOptions::default())
            .map(|r| r.value)
            .map_err(|e| e.to_string())
    }
}
