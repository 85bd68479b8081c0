//! A script's commands: splitting the text into `clear`, `load` and
//! `eval` commands, and parsing `load` bodies. `eval` is in
//! [`super::eval_cmd`].

use tsdb::model::HistogramSample;
use tsdb::model::{Labels, Sample};

use super::eval_cmd::{EvalCmd, parse_eval};
use super::items::{Point, expand_start_offsets, expand_values};
use super::lex::{parse_duration, scan_series};

/// A script error: the file, the 1-based line and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {msg}")]
pub struct ScriptError {
    pub file: String,
    pub line: usize,
    pub msg: String,
}

/// A parsed script. Parsing never stops at an error: a command that does
/// not parse becomes [`Command::Invalid`] and the rest is still read.
#[derive(Debug, Clone)]
pub struct Script {
    pub file: String,
    pub commands: Vec<Command>,
}

/// What a header line asked for, for commands that fail to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    Clear,
    Load,
    Eval,
    /// The header's first word is none of the above.
    Unknown,
}

/// One command of a script.
#[derive(Debug, Clone)]
pub enum Command {
    /// Drop all data.
    Clear {
        line: usize,
    },
    Load(LoadCmd),
    Eval(Box<EvalCmd>),
    /// A command that does not parse; `header` is its first line.
    Invalid {
        kind: CommandKind,
        header: String,
        error: ScriptError,
    },
}

/// `load <interval>` / `load_with_nhcb <interval>` and its series.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadCmd {
    pub line: usize,
    /// Sample spacing in ms: position `k` is at `k * interval`.
    pub interval: i64,
    /// `load_with_nhcb`: also synthesize custom-bucket histograms.
    pub nhcb: bool,
    /// One entry per label set; a later line for the same labels replaced
    /// the earlier one.
    pub series: Vec<SeriesDef>,
}

/// One series line of a load block.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesDef {
    pub line: usize,
    pub labels: Labels,
    /// Position `k` is at `k * interval`; `None` is an omitted position.
    pub values: Vec<Option<Point>>,
    /// Start-time offsets from the preceding `@st` line, one per position
    /// (a sample's start time is its time plus the offset).
    pub start_offsets: Option<Vec<Option<i64>>>,
}

impl SeriesDef {
    /// The start time of position `k` (0 = none).
    fn start_time(&self, k: usize, interval: i64) -> i64 {
        let offset = self
            .start_offsets
            .as_ref()
            .and_then(|o| o.get(k).copied().flatten());
        offset.map_or(0, |o| (k as i64).saturating_mul(interval).saturating_add(o))
    }

    /// Whether any position holds a native histogram.
    pub fn has_histograms(&self) -> bool {
        self.values
            .iter()
            .any(|v| matches!(v, Some(Point::Histogram(_))))
    }
}

impl LoadCmd {
    /// The float samples of every series (stale markers included), in time
    /// order; series without float samples are left out.
    pub fn float_series(&self) -> Vec<(Labels, Vec<Sample>)> {
        self.series
            .iter()
            .filter_map(|s| {
                let samples: Vec<Sample> = s
                    .values
                    .iter()
                    .enumerate()
                    .filter_map(|(k, v)| match v {
                        Some(Point::Float(f)) => {
                            Some(Sample::new((k as i64).saturating_mul(self.interval), *f))
                        }
                        _ => None,
                    })
                    .collect();
                (!samples.is_empty()).then(|| (s.labels.clone(), samples))
            })
            .collect()
    }

    /// The native histogram samples of every series, in time order, with
    /// their start timestamps (0 = none); series without any are left out.
    pub fn histogram_series(&self) -> Vec<(Labels, Vec<HistogramSample>)> {
        self.series
            .iter()
            .filter_map(|s| {
                let hs: Vec<HistogramSample> = s
                    .values
                    .iter()
                    .enumerate()
                    .filter_map(|(k, v)| match v {
                        Some(Point::Histogram(h)) => Some(HistogramSample {
                            t: (k as i64).saturating_mul(self.interval),
                            st: s.start_time(k, self.interval),
                            h: std::sync::Arc::new(h.value()),
                        }),
                        _ => None,
                    })
                    .collect();
                (!hs.is_empty()).then(|| (s.labels.clone(), hs))
            })
            .collect()
    }

    /// The start timestamps of [`float_series`](Self::float_series)'
    /// samples, parallel to them (0 = none); a series without an `@st`
    /// line gets an empty list.
    pub fn float_start_times(&self) -> Vec<Vec<i64>> {
        self.series
            .iter()
            .filter(|s| s.values.iter().any(|v| matches!(v, Some(Point::Float(_)))))
            .map(|s| {
                if s.start_offsets.is_none() {
                    return Vec::new();
                }
                s.values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| matches!(v, Some(Point::Float(_))))
                    .map(|(k, _)| s.start_time(k, self.interval))
                    .collect()
            })
            .collect()
    }
}

/// Splits `text` into commands and parses each. `file` names the script in
/// errors.
pub fn parse_script(file: &str, text: &str) -> Script {
    // Trimmed lines; a comment line is an empty line (it ends a body).
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.trim_matches([' ', '\t', '\r']))
        .map(|l| if l.starts_with('#') { "" } else { l })
        .collect();
    let mut commands = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let header = lines[i];
        if header.is_empty() {
            i += 1;
            continue;
        }
        // The non-blank lines after the header, as (1-based line, text).
        let body: Vec<(usize, &str)> = (i + 1..lines.len())
            .take_while(|&n| !lines[n].is_empty())
            .map(|n| (n + 1, lines[n]))
            .collect();
        let (cmd, used) = parse_command(file, i + 1, header, &body);
        commands.push(cmd);
        i += 1 + used;
    }
    Script {
        file: file.to_string(),
        commands,
    }
}

/// Parses the command starting at `header` (line `line`); returns it and
/// how many lines of `body` it used. `clear` uses none (the next line
/// starts a new command), `load` all, `eval` up to the end of its body.
fn parse_command(
    file: &str,
    line: usize,
    header: &str,
    body: &[(usize, &str)],
) -> (Command, usize) {
    let word = header
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let err = |kind, line, msg: String| Command::Invalid {
        kind,
        header: header.to_string(),
        error: ScriptError {
            file: file.to_string(),
            line,
            msg,
        },
    };
    if word == "clear" {
        if header != "clear" {
            let msg = format!("invalid clear command {header:?}");
            return (err(CommandKind::Clear, line, msg), 0);
        }
        (Command::Clear { line }, 0)
    } else if word.starts_with("load") {
        let cmd = match parse_load(line, header, body) {
            Ok(l) => Command::Load(l),
            Err((n, msg)) => err(CommandKind::Load, n, msg),
        };
        (cmd, body.len())
    } else if word.starts_with("eval") {
        match parse_eval(line, header, body) {
            (Ok(e), used) => (Command::Eval(Box::new(e)), used),
            (Err((n, msg)), used) => (err(CommandKind::Eval, n, msg), used),
        }
    } else {
        let msg = format!("unknown command {header:?}");
        (err(CommandKind::Unknown, line, msg), body.len())
    }
}

/// A parse failure inside a command: the 1-based line and the message.
pub(crate) type LineError = (usize, String);

fn parse_load(line: usize, header: &str, body: &[(usize, &str)]) -> Result<LoadCmd, LineError> {
    let mut words = header.split_whitespace();
    let nhcb = match words.next() {
        Some("load") => false,
        Some("load_with_nhcb") => true,
        _ => return Err((line, format!("invalid load command {header:?}"))),
    };
    let interval = match (words.next(), words.next()) {
        (Some(d), None) => parse_duration(d).map_err(|e| (line, e))?,
        _ => return Err((line, format!("expected `load <interval>`, got {header:?}"))),
    };
    if interval <= 0 {
        return Err((line, "the load interval must be positive".into()));
    }
    let mut series: Vec<SeriesDef> = Vec::new();
    let mut pending_st: Option<(usize, Labels, Vec<Option<i64>>)> = None;
    for &(n, text) in body {
        let (labels, rest) = scan_series(text).map_err(|e| (n, e))?;
        if let Some(items) = rest.strip_prefix("@st") {
            if !items.is_empty() && !items.starts_with(char::is_whitespace) {
                return Err((n, format!("invalid @st line {text:?}")));
            }
            if pending_st.is_some() {
                return Err((n, "two @st lines in a row".into()));
            }
            let offsets = expand_start_offsets(items).map_err(|e| (n, e))?;
            pending_st = Some((n, labels, offsets));
            continue;
        }
        if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
            return Err((n, format!("expected values after the series in {text:?}")));
        }
        let values = expand_values(rest).map_err(|e| (n, e))?;
        let start_offsets = match pending_st.take() {
            None => None,
            Some((st_line, st_labels, offsets)) => {
                if st_labels != labels {
                    return Err((st_line, "@st line is not followed by its series".into()));
                }
                if offsets.len() != values.len() {
                    return Err((
                        st_line,
                        format!(
                            "@st line has {} positions, its series {}",
                            offsets.len(),
                            values.len()
                        ),
                    ));
                }
                Some(offsets)
            }
        };
        let def = SeriesDef {
            line: n,
            labels,
            values,
            start_offsets,
        };
        match series.iter_mut().find(|s| s.labels == def.labels) {
            Some(old) => *old = def,
            None => series.push(def),
        }
    }
    if let Some((st_line, _, _)) = pending_st {
        return Err((st_line, "@st line at the end of a load block".into()));
    }
    Ok(LoadCmd {
        line,
        interval,
        nhcb,
        series,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(script: &Script) -> &Command {
        assert_eq!(script.commands.len(), 1, "{:?}", script.commands);
        &script.commands[0]
    }

    #[test]
    fn commands_are_split_by_blank_and_comment_lines() {
        let text = "load 1m\n  a 1 2\n# comment\n  b 3\n\nclear\neval instant at 1m a\n  a 2\n";
        let s = parse_script("f.test", text);
        // `clear` has no body: the line after it starts the next command.
        assert_eq!(s.commands.len(), 4, "{:?}", s.commands);
        assert!(matches!(&s.commands[0], Command::Load(l) if l.series.len() == 1));
        // `b 3` after the comment starts a command of its own: unknown.
        assert!(matches!(
            &s.commands[1],
            Command::Invalid { kind: CommandKind::Unknown, error, .. } if error.line == 4
        ));
        assert!(matches!(&s.commands[2], Command::Clear { line: 6 }));
        assert!(matches!(&s.commands[3], Command::Eval(e) if e.line == 7));
    }

    #[test]
    fn load_headers() {
        let cases = [
            ("plain", "load 5m", Some((300_000, false))),
            ("nhcb", "load_with_nhcb 10s", Some((10_000, true))),
            ("tabs", "load\t1h30m", Some((5_400_000, false))),
            ("no_interval", "load", None),
            ("bad_interval", "load 5", None),
            ("two_words", "load 5m 1m", None),
            ("unknown_suffix", "loadx 5m", None),
            ("zero_interval", "load 0", None),
        ];
        for (name, header, want) in cases {
            let s = parse_script("f", header);
            match (only(&s), want) {
                (Command::Load(l), Some((interval, nhcb))) => {
                    assert_eq!((l.interval, l.nhcb), (interval, nhcb), "{name}")
                }
                (Command::Invalid { kind, .. }, None) => assert_eq!(*kind, CommandKind::Load),
                (other, _) => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn load_bodies() {
        let text =
            "load 10s\n  m{a=\"1\"} 1 _ 3\n  m{a=\"2\"} 5\n  m{a=\"1\"} 7x1\n  h {{count:1}} 2";
        let s = parse_script("f", text);
        let Command::Load(l) = only(&s) else {
            panic!("{s:?}")
        };
        // The later `m{a="1"}` line replaced the first one.
        assert_eq!(l.series.len(), 3);
        assert_eq!(l.series[0].line, 4);
        assert!(l.series[2].has_histograms() && !l.series[0].has_histograms());
        let floats = l.float_series();
        let m1 = Labels::from_pairs(&[("__name__", "m"), ("a", "1")]);
        assert_eq!(
            floats[0],
            (m1, vec![Sample::new(0, 7.0), Sample::new(10_000, 7.0)])
        );
        let h = Labels::from_pairs(&[("__name__", "h")]);
        assert_eq!(floats[2], (h, vec![Sample::new(10_000, 2.0)]));
    }

    #[test]
    fn start_timestamp_lines() {
        let ok = "load 1m\n  c{t=\"x\"}@st _ -30s-1mx1\n  c{t=\"x\"} _ 1 2";
        let s = parse_script("f", ok);
        let Command::Load(l) = only(&s) else {
            panic!("{s:?}")
        };
        assert_eq!(
            l.series[0].start_offsets,
            Some(vec![None, Some(-30_000), Some(-90_000)])
        );
        for (name, text, bad_line) in [
            ("other_series", "load 1m\n  a@st 1s\n  b 1", 2),
            ("length", "load 1m\n  a@st 1s 1s\n  a 1", 2),
            ("at_end", "load 1m\n  a 1\n  a@st 1s", 3),
            ("bad_item", "load 1m\n  a@st 1x\n  a 1", 2),
        ] {
            match only(&parse_script("f", text)) {
                Command::Invalid { error, .. } => assert_eq!(error.line, bad_line, "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn errors_name_file_and_line() {
        let s = parse_script("x.test", "\n\nload 1m\n  a 1\n  b{ 2\n");
        let Command::Invalid { error, .. } = only(&s) else {
            panic!("{s:?}")
        };
        assert_eq!((error.file.as_str(), error.line), ("x.test", 5));
        assert!(error.to_string().starts_with("x.test:5: "), "{error}");
        let s = parse_script("x.test", "clear all");
        assert!(matches!(
            only(&s),
            Command::Invalid {
                kind: CommandKind::Clear,
                ..
            }
        ));
    }
}
