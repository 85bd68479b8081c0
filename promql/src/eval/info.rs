//! `info(v, [selector])`: enriches series with the data labels of the
//! info series (default `target_info`) that share their identifying
//! labels (`instance`, `job`).

use std::collections::HashMap;

use tsdb::model::{Labels, Matcher};

use super::grid::{Grid, SeriesSink, StepSeries, Val, for_each_step};
use crate::ast::{Call, Expr, VectorSelector};
use crate::error::Result;

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
        }
        let selector = VectorSelector {
            name: None,
            matchers: names.clone(),
            offset: None,
            at: None,
            anchored: false,
            smoothed: false,
        };
        let infos = self.select_instant(&selector, false)?;
        // Info series present at each step, by identifying label values.
        let mut per_step: Vec<HashMap<[&str; 2], Vec<usize>>> =
            vec![HashMap::new(); self.frame.len()];
        for_each_step(self.frame, &infos, |step, _, present| {
            for &(i, _) in present {
                let l = &infos[i].labels;
                per_step[step]
                    .entry([l.get(IDENTIFYING[0]), l.get(IDENTIFYING[1])])
                    .or_default()
                    .push(i);
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
                    .map(|&j| &infos[j].labels)
                    .filter(|l| data.iter().all(|m| m.matches(l.get(&m.name))))
                    .collect();
                if candidates.is_empty() && data.iter().any(|m| !m.matches("")) {
                    continue;
                }
                let mut b = s.labels.builder();
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
