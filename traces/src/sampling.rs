//! Tail sampling at the store: a verdict per trace, made with all of its
//! spans in view, by the OpenTelemetry collector's policies and rules.
//!
//! Each policy answers sampled, not sampled, dropped (a `drop` policy whose
//! sub-policies all matched) or, for `invert_match` policies, inverted
//! answers. The verdict, as the collector makes it: any *dropped* or
//! *inverted not sampled* drops the trace; otherwise any *sampled* (or
//! *inverted sampled*) keeps it; otherwise it is dropped. The policy that
//! decided is reported with the verdict, for the decision counters.

mod config;
mod policy;

pub use config::*;
pub use policy::Policy;

use crate::error::Result;
use crate::head::{HeadSpan, Verdict};
use crate::id::TraceId;

/// What one policy says of a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Sampled,
    NotSampled,
    InvertSampled,
    InvertNotSampled,
    Dropped,
}

/// The policies of a store, in configuration order.
#[derive(Debug)]
pub struct Sampler {
    policies: Vec<Policy>,
}

/// The name reported when no policy sampled a trace.
pub const NO_POLICY: &str = "no_policy_matched";

impl Sampler {
    /// Builds the policies; an unknown type or a missing or wrong section
    /// is an error naming the policy.
    pub fn new(configs: &[PolicyConfig]) -> Result<Sampler> {
        let policies = configs
            .iter()
            .enumerate()
            .map(|(i, c)| Policy::build(c, &format!("policies[{i}]")))
            .collect::<Result<_>>()?;
        Ok(Sampler { policies })
    }

    /// The verdict on a trace and the name of the policy that gave it.
    pub fn decide(&self, id: &TraceId, spans: &[HeadSpan]) -> (Verdict, String) {
        let answers: Vec<(Answer, &Policy)> = self
            .policies
            .iter()
            .map(|p| (p.evaluate(id, spans), p))
            .collect();
        let first = |want: &[Answer]| {
            answers
                .iter()
                .find(|(a, _)| want.contains(a))
                .map(|(_, p)| p.name().to_owned())
        };
        if let Some(p) = first(&[Answer::Dropped, Answer::InvertNotSampled]) {
            return (Verdict::Drop, p);
        }
        if let Some(p) = first(&[Answer::Sampled, Answer::InvertSampled]) {
            return (Verdict::Keep, p);
        }
        (Verdict::Drop, NO_POLICY.to_owned())
    }
}

#[cfg(test)]
#[path = "sampling_tests.rs"]
mod tests;
