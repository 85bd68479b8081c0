//! Swapping blocks: a rewrite after a deletion, a merge of small blocks,
//! a block retention dropped.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::Head;
use crate::block::Block;

impl Head {
    /// Puts `new` (what `olds` held, less what was deleted) in their
    /// place, or drops `olds` when `new` is `None`, in one step for
    /// readers: each stream's references to the old blocks become one to
    /// the new block (if it holds the stream), where the first of them
    /// was.
    pub fn swap_blocks(&self, olds: &[Arc<Block>], new: Option<Arc<Block>>) {
        let is_old = |b: &Arc<Block>| olds.iter().any(|o| Arc::ptr_eq(o, b));
        let in_new: HashMap<_, usize> = new
            .iter()
            .flat_map(|n| n.streams().iter().enumerate())
            .map(|(at, bs)| (&bs.labels, at))
            .collect();
        let mut inner = self.inner.write();
        let ids: BTreeSet<u32> = olds
            .iter()
            .flat_map(|b| b.streams())
            .filter_map(|bs| inner.ids.get(&bs.labels).copied())
            .collect();
        for id in ids {
            let s = &mut inner.streams[id as usize];
            let Some(first) = s.blocks.iter().position(|(b, _)| is_old(b)) else {
                continue;
            };
            s.blocks.retain(|(b, _)| !is_old(b));
            if let (Some(n), Some(&at)) = (&new, in_new.get(&s.labels)) {
                s.blocks.insert(first.min(s.blocks.len()), (n.clone(), at));
            }
        }
        let first = inner.blocks.iter().position(&is_old);
        inner.blocks.retain(|b| !is_old(b));
        if let Some(n) = new {
            let pos = first.unwrap_or(inner.blocks.len()).min(inner.blocks.len());
            inner.blocks.insert(pos, n);
        }
    }
}
