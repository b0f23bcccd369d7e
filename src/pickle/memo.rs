//! The pickle memo: object handles stored under integer keys by PUT opcodes and fetched by
//! GET opcodes. Picklers number entries 0, 1, 2 ..., so a vector serves; keys far beyond the
//! current size (legal, but only seen in crafted input) go to a map so that a 32-bit key
//! cannot force a huge allocation.

use super::heap::Item;
use std::collections::HashMap;

/// Gaps up to this size are filled in the vector rather than sent to the sparse map.
const MAX_DENSE_GAP: usize = 1024;

#[derive(Default)]
pub(crate) struct Memo {
    dense: Vec<Option<Item>>,
    sparse: HashMap<u64, Item>,
    /// Number of distinct keys in use (MEMOIZE stores under this key).
    count: u64,
}

impl Memo {
    pub(crate) fn len(&self) -> u64 {
        self.count
    }

    pub(crate) fn put(&mut self, key: u64, item: Item) {
        let fresh = match usize::try_from(key) {
            Ok(k) if k <= self.dense.len() + MAX_DENSE_GAP => {
                if k >= self.dense.len() {
                    self.dense.resize(k + 1, None);
                }
                // A key first stored sparsely may since have come into the dense range.
                self.dense[k].replace(item).is_none() && (self.sparse.is_empty() || self.sparse.remove(&key).is_none())
            }
            _ => self.sparse.insert(key, item).is_none(),
        };
        if fresh {
            self.count += 1;
        }
    }

    pub(crate) fn get(&self, key: u64) -> Option<Item> {
        let dense = usize::try_from(key).ok().and_then(|k| self.dense.get(k).copied().flatten());
        dense.or_else(|| self.sparse.get(&key).copied())
    }
}
