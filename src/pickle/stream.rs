//! Streaming: handing the items of a big list to a consumer while the pickle is read, and then
//! forgetting them, so that reading a file of many records needs memory for one record at a
//! time, not for the file's whole object tree.
//!
//! Which items: dicts that are items of a list stored under a text key the consumer asks for
//! (a NeuronIO file's `Results['listOfSingleSimulationDicts']`). The list is found on the
//! machine's stack while its items are built: the key sits just below the list, as a pickler
//! writes `key list MARK item item ... APPENDS SETITEMS`.
//!
//! When: a dict can change only while it is on top of the stack (SETITEM, BUILD) or just below
//! the top MARK (SETITEMS), or through the memo. So it is finished once it is appended to a
//! list, or once a new empty dict, list or set is pushed directly above it: such a container
//! cannot be a dict key, and the dict is out of reach until something pops it (picklers batch
//! the items of a list, e.g. cPickle writes up to 1000 items and then one APPENDS, so waiting for
//! the APPENDS would hold the whole batch).
//!
//! Releasing: objects get arena ids in creation order, and the item with everything built after
//! it (ids `lo..`) is converted to a `Value`, handed over and dropped: the arena, the tuple store
//! and the memo are cut back to their size when the item was begun. A few memo entries put in
//! that span are kept because later records use them again: globals, numpy dtypes and short
//! printable text (field names, type codes); the memo forgets the rest (containers, arrays,
//! numpy scalars and their binary payloads, numbers). The item's place in its list becomes
//! `Item::Streamed`, read out as `Value::Streamed(n)`.
//!
//! Safety: an item is only handed over if nothing older can still see its objects (no older
//! container was changed while it was being built, and it reaches no older object that could
//! still change); otherwise it simply stays in the tree. A pickle that later refers to a
//! released object (a memo GET of a forgotten entry) or changes a handed-over item fails with
//! [`StreamError::Reused`]; such a file can still be read whole with `from_reader`.

use super::error::PickleError;
use super::heap::{Heap, Item, Node, NodeId};
use super::machine::Machine;
use super::value::Value;
use std::collections::HashMap;
use std::fmt;
use std::io::BufRead;

/// Longest text kept in the memo across a release.
const MAX_KEPT_TEXT: usize = 256;

/// Receives list items as soon as they are finished (see the module documentation).
pub trait StreamConsumer {
    /// Whether the items of a list about to be stored under the text key `list_key` should be
    /// handed over.
    fn wants(&mut self, list_key: &str) -> bool;

    /// A finished item, with its number in the order of hand-over (the list holds
    /// `Value::Streamed(index)` in its place). `context` shows the dicts that enclose the
    /// item, as far as they are built. An error stops reading ([`StreamError::Consumer`]).
    fn take(&mut self, index: u64, item: Value, context: &StreamContext<'_>) -> Result<(), String>;
}

/// What a consumer can see of the objects that enclose a handed-over item.
pub struct StreamContext<'a> {
    heap: &'a Heap,
    stack: &'a [Item],
    marks: &'a [usize],
}

impl StreamContext<'_> {
    /// The value under the text key `key` in a dict that encloses the item, innermost first:
    /// stored already, or waiting on the stack as a key/value pair of a SETITEM(S) still to
    /// come. The value is converted as it is now, without changing anything. `Ok(None)` if no
    /// enclosing dict has that key (yet).
    pub fn enclosing_value(&self, key: &str) -> Result<Option<Value>, String> {
        let is_key = |item: &Item| self.heap.as_text(item).is_some_and(|t| t == key);
        for at in (0..self.stack.len()).rev() {
            let Some(Node::Dict(pairs)) = self.heap.node(&self.stack[at]) else { continue };
            // Pairs waiting above the dict: a MARK'ed SETITEMS segment, or one SETITEM pair.
            let above = at + 1;
            let end = if self.marks.contains(&above) {
                self.marks.iter().copied().filter(|&m| m > above).min().unwrap_or(self.stack.len())
            } else {
                (above + 2).min(self.stack.len())
            };
            let pending = self.stack[above..end].chunks_exact(2).rev().find(|pair| is_key(&pair[0]));
            let stored = || pairs.iter().rev().find(|(k, _)| is_key(k)).map(|(_, v)| v);
            if let Some(&value) = pending.map(|pair| &pair[1]).or_else(stored) {
                return self.heap.snapshot(value).map(Some);
            }
        }
        Ok(None)
    }
}

/// Why a streaming read failed.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamError {
    /// Not a pickle we can read: the error `from_reader` gives too.
    Pickle(PickleError),
    /// The pickle uses an object again after it was handed over and released (a memo
    /// reference to it, or a change to it). Such a pickle can only be read whole.
    Reused(PickleError),
    /// The consumer refused an item (its message).
    Consumer(PickleError),
}

impl StreamError {
    pub fn pickle_error(&self) -> &PickleError {
        match self {
            StreamError::Pickle(e) | StreamError::Reused(e) | StreamError::Consumer(e) => e,
        }
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::Pickle(e) | StreamError::Reused(e) | StreamError::Consumer(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StreamError {}

/// A dict that may be handed over: where it is and what existed when it was begun.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    pos: usize,
    id: NodeId,
    memo_key: u64,
    tuple_len: usize,
    /// An older object was changed while this one was being built: it may refer to this one's
    /// objects, so they cannot be released.
    tainted: bool,
}

/// The streaming state of a machine.
pub(crate) struct Stream<'s> {
    consumer: &'s mut dyn StreamConsumer,
    candidates: Vec<Candidate>,
    handed: u64,
    pub(crate) consumer_failed: bool,
}

impl<'s> Stream<'s> {
    pub(crate) fn new(consumer: &'s mut dyn StreamConsumer) -> Self {
        Stream { consumer, candidates: Vec::new(), handed: 0, consumer_failed: false }
    }
}

/// Whether a memo entry holding `item` (put while a released item was built) is kept.
fn keep_inline(item: &Item) -> bool {
    match item {
        Item::Known(_) | Item::None | Item::Bool(_) | Item::EmptyTuple => true,
        Item::Short { is_str, len, data } => printable(&data[..*len as usize], *is_str),
        _ => false,
    }
}

/// Names and codes: text without control characters, short.
fn printable(bytes: &[u8], is_str: bool) -> bool {
    if bytes.len() > MAX_KEPT_TEXT {
        return false;
    }
    if is_str {
        std::str::from_utf8(bytes).is_ok_and(|s| !s.chars().any(char::is_control))
    } else {
        bytes.iter().all(|b| (0x20..0x7f).contains(b))
    }
}

/// Whether an arena object that a kept memo entry holds may survive a release (it is moved).
fn keep_node(node: &Node) -> bool {
    match node {
        Node::Dtype(_) => true,
        Node::Done(Value::Global(_)) => true,
        Node::Done(Value::Str(s)) => printable(s.as_bytes(), true),
        Node::Done(Value::Bytes(b)) => printable(b, false),
        _ => false,
    }
}

impl Heap {
    /// Whether the objects reachable from `lo` are all in `lo..hi` and cannot change any more,
    /// or are older and immutable.
    fn streamable(&self, lo: NodeId, hi: NodeId) -> bool {
        let mut seen = vec![false; (hi - lo) as usize];
        let mut todo = vec![Item::Node(lo)];
        while let Some(item) = todo.pop() {
            let id = match item {
                Item::Node(id) => id,
                Item::Streamed(_) => return false,
                _ => continue,
            };
            let Some(node) = self.nodes.get(id as usize) else { return false };
            if id < lo {
                if matches!(node, Node::Done(_)) {
                    continue;
                }
                return false;
            }
            if id >= hi {
                return false;
            }
            let slot = &mut seen[(id - lo) as usize];
            if *slot {
                continue;
            }
            *slot = true;
            match node {
                Node::Done(_) => {}
                Node::Tuple { start, len } => match self.tuple_items.get(*start..*start + *len) {
                    Some(items) => todo.extend_from_slice(items),
                    None => return false,
                },
                Node::List(items) | Node::Set(items) => todo.extend_from_slice(items),
                Node::Dict(pairs) => {
                    todo.extend(pairs.iter().flat_map(|&(k, v)| [k, v]));
                    todo.extend(self.dict_attributes.get(&id).copied());
                }
                Node::Object(parts) => {
                    todo.extend([parts.callable, parts.args]);
                    todo.extend(parts.kwargs);
                    todo.extend(parts.state);
                }
                Node::PersistentId(pid) => todo.push(*pid),
                // A dtype may still get a BUILD, an array its data.
                Node::Dtype(_) | Node::PendingArray { .. } | Node::InProgress => return false,
            }
        }
        true
    }
}

impl<R: BufRead> Machine<'_, R> {
    /// After an opcode pushed a container: hand over the dict below it if it is finished now,
    /// then note the new container if it is a dict that may be handed over later.
    pub(crate) fn stream_after_container(&mut self) -> Result<(), PickleError> {
        let len = self.stack.len();
        let Some(Item::Node(top)) = self.stack.last().copied() else { return Ok(()) };
        let fresh = top as usize + 1 == self.heap.nodes.len()
            && match &self.heap.nodes[top as usize] {
                Node::Dict(pairs) => pairs.is_empty(),
                Node::List(items) | Node::Set(items) => items.is_empty(),
                _ => false,
            };
        if fresh && len >= 2 && self.floor() <= len - 2 {
            self.stream_offer(len - 2, true)?;
        }
        // The container may have moved.
        if let Some(&Item::Node(top)) = self.stack.last() {
            if matches!(self.heap.node(&Item::Node(top)), Some(Node::Dict(_))) {
                self.stream_note_dict(top);
            }
        }
        Ok(())
    }

    /// Before APPEND(S): the item on top is finished.
    pub(crate) fn stream_before_append(&mut self) -> Result<(), PickleError> {
        match self.stack.len() {
            0 => Ok(()),
            len => self.stream_offer(len - 1, false),
        }
    }

    /// Before an opcode changes the object at stack position `target`: if it is older than a
    /// candidate below it, that candidate's objects may become referenced from outside.
    pub(crate) fn stream_before_change(&mut self, target: usize) {
        let Some(stream) = self.stream.as_mut() else { return };
        let Some(Item::Node(t)) = self.stack.get(target).copied() else { return };
        for c in stream.candidates.iter_mut().filter(|c| c.pos < target && c.id > t) {
            c.tainted = true;
        }
    }

    /// A new dict on top of the stack: a candidate if it is an item of a wanted list.
    fn stream_note_dict(&mut self, id: NodeId) {
        let pos = self.stack.len() - 1;
        let is_list = |heap: &Heap, at: usize| matches!(heap.node(&self.stack[at]), Some(Node::List(_)));
        let floor = self.floor();
        let list_at = if pos >= 1 && is_list(&self.heap, pos - 1) {
            pos - 1
        } else if floor >= 1 && floor < pos && is_list(&self.heap, floor - 1) {
            floor - 1
        } else {
            return;
        };
        let Some(key) = list_at.checked_sub(1).and_then(|k| self.heap.as_text(&self.stack[k])) else { return };
        let Some(stream) = self.stream.as_mut() else { return };
        if !stream.consumer.wants(&key) {
            return;
        }
        stream.candidates.retain(|c| c.pos < pos);
        stream.candidates.push(Candidate {
            pos,
            id,
            memo_key: self.memo.next_key(),
            tuple_len: self.heap.tuple_items.len(),
            tainted: false,
        });
    }

    /// Hands over the candidate at stack position `pos`, if there is one and it may go, and
    /// releases its objects. `top_above`: the top of the stack is a fresh container just above.
    fn stream_offer(&mut self, pos: usize, top_above: bool) -> Result<(), PickleError> {
        let Some(stream) = self.stream.as_mut() else { return Ok(()) };
        stream.candidates.retain(|c| c.pos < self.stack.len());
        let Some(ci) = stream.candidates.iter().position(|c| c.pos == pos) else { return Ok(()) };
        let c = stream.candidates.remove(ci);
        if c.tainted || !matches!(self.stack[pos], Item::Node(id) if id == c.id) {
            return Ok(());
        }
        let hi = if top_above { self.heap.nodes.len() as NodeId - 1 } else { self.heap.nodes.len() as NodeId };
        if !self.heap.streamable(c.id, hi) {
            return Ok(());
        }
        let value = self.heap.freeze(Item::Node(c.id), 0).map_err(|m| self.error(m))?;
        let Some(stream) = self.stream.as_mut() else { return Ok(()) };
        let index = stream.handed;
        stream.handed += 1;
        let context = StreamContext { heap: &self.heap, stack: &self.stack, marks: &self.marks };
        if let Err(message) = stream.consumer.take(index, value, &context) {
            stream.consumer_failed = true;
            return Err(self.plain_error(message));
        }
        self.stream_release(c, hi, top_above);
        self.stack[pos] = Item::Streamed(index);
        Ok(())
    }

    /// Forgets the objects `c.id..hi` (the handed-over item and what was built with it) and the
    /// memo entries put since it was begun, except the ones later records may use again (moved
    /// down to `c.id..`); moves the fresh container at `hi` (if `top_above`) to `c.id`.
    fn stream_release(&mut self, c: Candidate, hi: NodeId, top_above: bool) {
        let lo = c.id;
        let nodes = &mut self.heap.nodes;
        let mut moved: Vec<Node> = Vec::new();
        let mut new_ids: HashMap<NodeId, NodeId> = HashMap::new();
        if top_above {
            moved.push(std::mem::replace(&mut nodes[hi as usize], Node::InProgress));
            new_ids.insert(hi, lo);
        }
        self.memo.release(c.memo_key, |key, item| match item {
            Item::Node(id) if id < lo => Some(item),
            Item::Node(id) => {
                if let Some(&new) = new_ids.get(&id) {
                    return Some(Item::Node(new));
                }
                let node = nodes.get_mut(id as usize)?;
                if !keep_node(node) {
                    return None;
                }
                let new = lo + moved.len() as NodeId;
                moved.push(std::mem::replace(node, Node::InProgress));
                new_ids.insert(id, new);
                Some(Item::Node(new))
            }
            _ if key < c.memo_key || keep_inline(&item) => Some(item),
            _ => None,
        });
        nodes.truncate(lo as usize);
        nodes.append(&mut moved);
        self.heap.tuple_items.truncate(c.tuple_len);
        self.heap.dict_attributes.retain(|&id, _| id < lo);
        if top_above {
            if let Some(top) = self.stack.last_mut() {
                *top = Item::Node(lo);
            }
        }
        if let Some(stream) = self.stream.as_mut() {
            stream.candidates.retain(|k| k.id < lo);
        }
    }
}
