//! The rules crate's errors: rule files that do not load, templates that
//! do not parse or execute, alerts that do not reach an Alertmanager.

/// Where in a rule file (or rule unit-test file) something is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleLocation {
    pub file: String,
    /// 1-based; 0 when unknown.
    pub line: usize,
    pub group: Option<String>,
    /// 1-based index within the group and the rule's name.
    pub rule: Option<(usize, String)>,
}

impl std::fmt::Display for RuleLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if let Some(g) = &self.group {
            write!(f, ": group {g:?}")?;
        }
        if let Some((i, name)) = &self.rule {
            write!(f, ", rule {i}, {name:?}")?;
        }
        Ok(())
    }
}

/// A rule file that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    /// Not YAML, or YAML of the wrong shape (unknown field, wrong type).
    #[error("{file}:{line}:{col}: {msg}")]
    Yaml {
        file: String,
        line: usize,
        col: usize,
        msg: String,
    },
    /// Valid YAML that is not a valid rule (bad PromQL, bad template,
    /// field not allowed here, bad name).
    #[error("{at}: {msg}")]
    Invalid { at: RuleLocation, msg: String },
    /// A `rule_files` pattern that is not a valid glob.
    #[error("invalid rule file pattern {pattern:?}: {reason}")]
    Glob { pattern: String, reason: String },
}

/// Rule-file errors, one per line.
pub fn join_rule_errors(errs: &[RuleError]) -> String {
    errs.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A template that does not parse, or fails when executed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    /// As Go reports it: `template: NAME:LINE: MSG`.
    #[error("template: {name}:{line}: {msg}")]
    Parse {
        name: String,
        line: usize,
        msg: String,
    },
    #[error("template: {name}: error executing: {msg}")]
    Exec { name: String, msg: String },
}

/// Why a batch of alerts did not reach an Alertmanager.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("invalid Alertmanager URL {0:?}")]
    BadUrl(String),
    #[error("sending to {url}: {source}")]
    Transport {
        url: String,
        source: hyper_util::client::legacy::Error,
    },
    #[error("sending to {url}: timed out after {ms} ms")]
    Timeout { url: String, ms: u64 },
    #[error("{url} answered {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
}
