//! The subset of Go's text/template that alert labels and annotations use,
//! with Prometheus's functions and variables (`$labels`, `$value`,
//! `$externalLabels`, `$externalURL`).
//!
//! - `lex`: text vs. actions, tokens.
//! - `parse`: text, actions, control structures, declared-variable checks.
//! - `exec`: values, truth, printing, execution.
//! - `funcs`: Go's built-in functions and Prometheus's.
//! - `humanize`: `humanize*` and Go's time printing.
//! - `gofmt`: Go's number formatting and `printf`.

mod exec;
mod funcs;
mod gofmt;
mod humanize;
mod lex;
mod parse;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use exec::{Ctx, QueryResult, Val};
pub use funcs::query_escape;
pub use gofmt::format_float;

use crate::error::TemplateError;

/// Variables every alert template may use without declaring them.
const ALERT_VARS: &[&str] = &["$labels", "$externalLabels", "$externalURL", "$value"];

/// A parsed template. Parsing checks syntax, function names and that every
/// variable is declared, so a template that parses only fails at run time
/// on its data (a missing field, a failing query).
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    nodes: Vec<parse::Node>,
}

/// The data of an alert template.
#[derive(Debug, Clone, Default)]
pub struct AlertData<'a> {
    pub labels: BTreeMap<&'a str, &'a str>,
    pub external_labels: BTreeMap<&'a str, &'a str>,
    pub external_url: &'a str,
    pub value: f64,
}

impl Template {
    /// Parses `text`; `name` appears in error messages
    /// (`template: NAME:LINE: …`).
    pub fn parse(name: &str, text: &str) -> Result<Template, TemplateError> {
        let nodes = parse::parse(text, ALERT_VARS).map_err(|e| TemplateError::Parse {
            name: name.to_string(),
            line: e.line,
            msg: e.msg,
        })?;
        Ok(Template {
            name: name.to_string(),
            nodes,
        })
    }

    /// Renders the template for one alert. `query` runs PromQL at the
    /// alert's evaluation time (for the `query` function).
    pub fn expand(
        &self,
        data: &AlertData,
        query: Option<&dyn Fn(&str) -> QueryResult>,
    ) -> Result<String, TemplateError> {
        let labels = Val::labels(data.labels.iter().map(|(k, v)| (*k, *v)));
        let ext = Val::labels(data.external_labels.iter().map(|(k, v)| (*k, *v)));
        let url = Val::Str(data.external_url.to_string());
        let value = Val::Float(data.value);
        let dot = Val::Struct(std::rc::Rc::new(vec![
            ("Labels", labels.clone()),
            ("ExternalLabels", ext.clone()),
            ("ExternalURL", url.clone()),
            ("Value", value.clone()),
        ]));
        let vars = vec![
            ("$labels".to_string(), labels),
            ("$externalLabels".to_string(), ext),
            ("$externalURL".to_string(), url),
            ("$value".to_string(), value),
        ];
        let ctx = Ctx {
            query,
            external_url: data.external_url,
        };
        exec::run(&self.nodes, dot, vars, &ctx).map_err(|msg| TemplateError::Exec {
            name: self.name.clone(),
            msg,
        })
    }

    /// Whether the template is plain text (no actions): such label values
    /// need no rendering.
    pub fn is_plain(&self) -> bool {
        self.nodes.iter().all(|n| matches!(n, parse::Node::Text(_)))
    }
}
