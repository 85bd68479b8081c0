//! The recorded verdicts of decided traces, so that late spans follow them.

use std::collections::{HashMap, VecDeque};

use crate::id::TraceId;

/// Whether a decided trace is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    Drop,
}

/// The latest `capacity` verdicts; the oldest is forgotten first (a span
/// arriving after its trace's verdict is forgotten starts a new trace).
#[derive(Debug)]
pub struct Decisions {
    capacity: usize,
    map: HashMap<TraceId, Verdict>,
    order: VecDeque<TraceId>,
}

impl Decisions {
    pub fn new(capacity: usize) -> Decisions {
        Decisions {
            capacity: capacity.max(1),
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    pub fn get(&self, id: &TraceId) -> Option<Verdict> {
        self.map.get(id).copied()
    }

    pub fn record(&mut self, id: TraceId, v: Verdict) {
        if self.map.insert(id, v).is_none() {
            self.order.push_back(id);
            while self.order.len() > self.capacity {
                if let Some(old) = self.order.pop_front() {
                    self.map.remove(&old);
                }
            }
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_verdict_is_forgotten_first() {
        let mut d = Decisions::new(2);
        let id = |b| TraceId([b; 16]);
        d.record(id(1), Verdict::Keep);
        d.record(id(2), Verdict::Drop);
        d.record(id(2), Verdict::Drop);
        assert_eq!(d.len(), 2);
        d.record(id(3), Verdict::Keep);
        assert_eq!(d.get(&id(1)), None);
        assert_eq!(d.get(&id(2)), Some(Verdict::Drop));
        assert_eq!(d.get(&id(3)), Some(Verdict::Keep));
    }
}
