//! `info(v, [selector])`: enriches series with the data labels of the
//! info series (default `target_info`) that share their identifying
//! labels (`instance`, `job`).

use std::collections::HashMap;

use tsdb::model::{Labels, MatchOp, Matcher};

use super::grid::{Grid, SeriesSink, StepSeries, Val, for_each_step};
use super::selector::InstantValue;
use crate::ast::{Call, Expr, VectorSelector};
use crate::error::{Error, Result};

/// Info series present at one step by identifying label values: each
/// series' index and sample time.
type InfosByIdentity<'a> = HashMap<[&'a str; 2], Vec<(usize, f64)>>;

/// The labels an info series is joined on.
const IDENTIFYING: [&str; 2] = ["instance", "job"];

impl Grid<'_> {
    pub(crate) fn call_info(&mut self, c: &Call) -> Result<Val> {
        let base = self.eval_vector(&c.args[0])?;
        let given: Vec<Matcher> = match c.args.get(1).map(Expr::unparen) {
            Some(Expr::VectorSelector(vs)) => vs.matchers.clone(),
            _ => Vec::new(),
        };
        let (mut names, data): (Vec<Matcher>, Vec<Matcher>) =
            given.into_iter().partition(|m| m.name == "__name__");
        if names.is_empty() {
            names.push(Matcher::equal("__name__", "target_info"));
        } else if !names.iter().any(|m| !m.matches("") && is_positive(m)) {
            // Only negative name matchers: still only info metrics.
            if let Ok(m) = Matcher::new(MatchOp::RegexMatch, "__name__", ".+_info") {
                names.push(m);
            }
        }
        let selector = VectorSelector {
            name: None,
            matchers: names.clone(),
            offset: None,
            at: None,
            anchored: false,
            smoothed: false,
        };
        // Info metrics are float series.
        let values = self.select_instant(&selector, InstantValue::Value)?;
        if let Some(h) = values.iter().find(|s| !s.hpoints.is_empty()) {
            return Err(Error::Execution(format!(
                "info metric {} has native histogram samples; info metrics are float series",
                h.labels
            )));
        }
        // Values are the info samples' times: the latest one wins a conflict.
        let infos = self.select_instant(&selector, InstantValue::Timestamp)?;
        // Info series present at each step, by identifying label values.
        let mut per_step: Vec<InfosByIdentity> = vec![HashMap::new(); self.frame.len()];
        for_each_step(self.frame, &infos, |step, _, present| {
            for &(i, sample_time) in present {
                let l = &infos[i].labels;
                let found = per_step[step]
                    .entry([l.get(IDENTIFYING[0]), l.get(IDENTIFYING[1])])
                    .or_default();
                // Of two info series of one metric, the latest sample wins.
                match found
                    .iter_mut()
                    .find(|(j, _)| infos[*j].labels.metric_name() == l.metric_name())
                {
                    Some(prev) if prev.1 < sample_time => *prev = (i, sample_time),
                    Some(_) => {}
                    None => found.push((i, sample_time)),
                }
            }
            Ok(())
        })?;
        let mut sink = SeriesSink::default();
        for_each_step(self.frame, &base, |step, t, present| {
            for &(i, v) in present {
                let s: &StepSeries = &base[i];
                if names.iter().all(|m| m.matches(s.labels.get(&m.name))) {
                    sink.push(s.labels.clone(), s.drop_name, t, v)?;
                    continue;
                }
                let key = [s.labels.get(IDENTIFYING[0]), s.labels.get(IDENTIFYING[1])];
                let candidates: Vec<&Labels> = per_step[step]
                    .get(&key)
                    .into_iter()
                    .flatten()
                    .map(|&(j, _)| &infos[j].labels)
                    .filter(|l| data.iter().all(|m| m.matches(l.get(&m.name))))
                    .collect();
                if candidates.is_empty() && data.iter().any(|m| !m.matches("")) {
                    continue;
                }
                let mut b = s.labels.builder();
                let mut added: Vec<(&str, &str)> = Vec::new();
                for info in candidates {
                    for l in info.iter() {
                        let name = &*l.name;
                        if name == "__name__"
                            || IDENTIFYING.contains(&name)
                            || s.labels.has(name)
                            || (!data.is_empty() && !data.iter().any(|m| m.name == name))
                        {
                            continue;
                        }
                        if let Some((_, v)) = added.iter().find(|(n, _)| *n == name) {
                            if *v != &*l.value {
                                return Err(Error::Execution(format!(
                                    "conflicting label: {name} has values {v:?} and {:?} in info series",
                                    &*l.value
                                )));
                            }
                            continue;
                        }
                        added.push((name, &l.value));
                        b.set(name, &l.value);
                    }
                }
                sink.push(b.build(), s.drop_name, t, v)?;
            }
            Ok(())
        })?;
        Ok(Val::Vector(sink.out))
    }
}

/// Whether a name matcher selects names rather than excluding them.
fn is_positive(m: &Matcher) -> bool {
    matches!(m.op, MatchOp::Equal | MatchOp::RegexMatch)
}
