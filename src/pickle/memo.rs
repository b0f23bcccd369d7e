//! The pickle memo: object handles stored under integer keys by PUT opcodes and fetched by
//! GET opcodes. Picklers number entries 0, 1, 2 ..., so a vector serves for the keys put since
//! the last release (`dense`, starting at key `base`); keys far beyond (legal, but only seen in
//! crafted input) and entries kept across a release go to a map, so that a 32-bit key cannot
//! force a huge allocation.
//!
//! When streaming (see `stream.rs`), the entries put while a handed-over object was built are
//! released, apart from the few small shareable ones (names, globals, dtypes) that later
//! records refer to again; the released key ranges are remembered so that a later GET of one
//! can say why it fails.

use super::heap::Item;
use std::collections::HashMap;
use std::ops::Range;

/// Gaps up to this size are filled in the vector rather than sent to the sparse map.
const MAX_DENSE_GAP: usize = 1024;

#[derive(Default)]
pub(crate) struct Memo {
    /// Key of `dense[0]`.
    base: u64,
    dense: Vec<Option<Item>>,
    sparse: HashMap<u64, Item>,
    /// Key ranges whose entries were released while streaming (disjoint).
    released: Vec<Range<u64>>,
    /// Number of distinct keys in use (MEMOIZE stores under this key). Released keys still
    /// count: for the pickle they were never removed.
    count: u64,
}

impl Memo {
    pub(crate) fn len(&self) -> u64 {
        self.count
    }

    /// The key a sequentially numbering pickler puts next.
    pub(crate) fn next_key(&self) -> u64 {
        self.base + self.dense.len() as u64
    }

    pub(crate) fn put(&mut self, key: u64, item: Item) {
        let dense_index = key.checked_sub(self.base).and_then(|k| usize::try_from(k).ok());
        let fresh = match dense_index {
            Some(k) if k <= self.dense.len() + MAX_DENSE_GAP => {
                if k >= self.dense.len() {
                    self.dense.resize(k + 1, None);
                }
                // A key first stored sparsely may since have come into the dense range.
                self.dense[k].replace(item).is_none() && (self.sparse.is_empty() || self.sparse.remove(&key).is_none())
            }
            _ => self.sparse.insert(key, item).is_none() && !self.was_released(key),
        };
        if fresh {
            self.count += 1;
        }
    }

    pub(crate) fn get(&self, key: u64) -> Option<Item> {
        let dense_index = key.checked_sub(self.base).and_then(|k| usize::try_from(k).ok());
        let dense = dense_index.and_then(|k| self.dense.get(k).copied().flatten());
        dense.or_else(|| self.sparse.get(&key).copied())
    }

    /// Whether `key` lies in a range released while streaming.
    pub(crate) fn was_released(&self, key: u64) -> bool {
        self.released.iter().any(|r| r.contains(&key))
    }

    /// Releases the entries put from key `from` on, and every entry `decide` is asked about:
    /// `decide(key, item)` returns the item to keep (possibly relocated) or `None` to drop it.
    /// It is called for each entry once, for those with keys below `from` too (it must keep
    /// those unless they refer to released objects). Afterwards the dense vector starts empty
    /// at the next key.
    pub(crate) fn release(&mut self, from: u64, mut decide: impl FnMut(u64, Item) -> Option<Item>) {
        // Entries kept by earlier releases first, so that nothing moved there now is asked twice.
        let old = std::mem::take(&mut self.sparse);
        for (key, item) in old {
            if let Some(item) = decide(key, item) {
                self.sparse.insert(key, item);
            }
        }
        let end = self.next_key();
        for (i, slot) in self.dense.drain(..).enumerate() {
            let key = self.base + i as u64;
            if let Some(item) = slot.and_then(|item| decide(key, item)) {
                self.sparse.insert(key, item);
            }
        }
        self.base = end;
        if from < end {
            // One range per release, merged with the ranges it touches.
            let mut merged = from..end;
            self.released.retain(|r| {
                let touches = r.start <= merged.end && merged.start <= r.end;
                if touches {
                    merged = merged.start.min(r.start)..merged.end.max(r.end);
                }
                !touches
            });
            self.released.push(merged);
        }
    }
}
