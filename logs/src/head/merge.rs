//! Swapping merged blocks in.

use std::sync::Arc;

use super::Head;
use crate::block::Block;

impl Head {
    /// Puts `new` (the merge of `olds`) in their place, in one step for
    /// readers: each stream's references to the old blocks become one to
    /// the new block, where the first of them was.
    pub fn merge_blocks(&self, olds: &[Arc<Block>], new: Arc<Block>) {
        let is_old = |b: &Arc<Block>| olds.iter().any(|o| Arc::ptr_eq(o, b));
        let mut inner = self.inner.write();
        for (at, bs) in new.streams().iter().enumerate() {
            let Some(&id) = inner.ids.get(&bs.labels) else {
                continue;
            };
            let s = &mut inner.streams[id as usize];
            let first = s.blocks.iter().position(|(b, _)| is_old(b));
            s.blocks.retain(|(b, _)| !is_old(b));
            let pos = first.unwrap_or(s.blocks.len()).min(s.blocks.len());
            s.blocks.insert(pos, (new.clone(), at));
        }
        let first = inner.blocks.iter().position(&is_old);
        inner.blocks.retain(|b| !is_old(b));
        let pos = first.unwrap_or(inner.blocks.len()).min(inner.blocks.len());
        inner.blocks.insert(pos, new);
    }
}
