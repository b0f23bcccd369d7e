//! The pickle virtual machine: reads opcodes one at a time and keeps Python's unpickler
//! state (stack, marks, memo). Mark handling follows CPython: items below the most recent
//! MARK are out of reach until that mark is popped, so a corrupt stream underflows cleanly.

use super::error::PickleError;
use super::heap::{Heap, Item, Node};
use super::input::Input;
use super::integers::{from_decimal, from_le_twos_complement, PyInt};
use super::memo::Memo;
use super::opcodes::{self as op, name as op_name};
use super::stream::{Stream, StreamConsumer, StreamError};
use super::text::{raw_unicode_escape, string_literal};
use super::value::Value;
use std::cell::Cell;
use std::io::BufRead;

/// Newest protocol whose opcodes we understand.
const HIGHEST_PROTOCOL: u8 = 5;

pub(crate) struct Machine<'s, R> {
    input: Input<R>,
    pub(crate) stack: Vec<Item>,
    /// Stack lengths at each open MARK.
    pub(crate) marks: Vec<usize>,
    pub(crate) memo: Memo,
    pub(crate) heap: Heap,
    /// Offset and byte of the opcode being executed, for error messages.
    op_offset: u64,
    op: u8,
    /// Set when streaming: who gets the finished items.
    pub(crate) stream: Option<Stream<'s>>,
    /// The current opcode met an object that was already streamed (for `StreamError::Reused`).
    touched_streamed: Cell<bool>,
}

impl<'s, R: BufRead> Machine<'s, R> {
    pub(crate) fn new(input: Input<R>) -> Self {
        Machine {
            input,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: Memo::default(),
            heap: Heap::default(),
            op_offset: 0,
            op: 0,
            stream: None,
            touched_streamed: Cell::new(false),
        }
    }

    /// A machine that hands finished list items to `consumer` (see `stream.rs`).
    pub(crate) fn streaming(input: Input<R>, consumer: &'s mut dyn StreamConsumer) -> Self {
        Machine { stream: Some(Stream::new(consumer)), ..Machine::new(input) }
    }

    /// Runs until STOP and returns the object on top of the stack.
    pub(crate) fn run(mut self) -> Result<Value, PickleError> {
        self.run_to_stop()
    }

    /// Runs a streaming machine; errors say whether they come from streaming.
    pub(crate) fn run_streaming(mut self) -> Result<Value, StreamError> {
        self.run_to_stop().map_err(|e| {
            if self.stream.as_ref().is_some_and(|s| s.consumer_failed) {
                StreamError::Consumer(e)
            } else if self.touched_streamed.get() {
                StreamError::Reused(e)
            } else {
                StreamError::Pickle(e)
            }
        })
    }

    fn run_to_stop(&mut self) -> Result<Value, PickleError> {
        loop {
            self.op_offset = self.input.offset();
            let next = self.input.next_byte().map_err(|m| self.plain_error(m))?;
            let Some(opcode) = next else {
                return Err(self.plain_error("input ends before the STOP opcode".into()));
            };
            self.op = opcode;
            self.touched_streamed.set(false);
            if opcode == op::STOP {
                let top = self.pop()?;
                // The memo and the stack only hold handles; the arena owns everything.
                self.memo = Memo::default();
                self.stack = Vec::new();
                return self.heap.freeze(top, 0).map_err(|m| self.error(m));
            }
            self.step(opcode)?;
        }
    }

    pub(crate) fn plain_error(&self, message: String) -> PickleError {
        PickleError { offset: self.op_offset, message }
    }

    pub(crate) fn error(&self, message: impl Into<String>) -> PickleError {
        PickleError { offset: self.op_offset, message: format!("{}: {}", op_name(self.op), message.into()) }
    }

    fn check<T>(&self, result: Result<T, String>) -> Result<T, PickleError> {
        result.map_err(|m| self.error(m))
    }

    fn read<const N: usize>(&mut self, what: &str) -> Result<[u8; N], PickleError> {
        let r = self.input.array::<N>(what);
        self.check(r)
    }

    fn read_bytes(&mut self, len: u64, what: &str) -> Result<Vec<u8>, PickleError> {
        let r = self.input.bytes(len, what);
        self.check(r)
    }

    fn read_line(&mut self, what: &str) -> Result<Vec<u8>, PickleError> {
        let r = self.input.line(what);
        self.check(r)
    }

    fn read_utf8(&mut self, len: u64) -> Result<String, PickleError> {
        let raw = self.read_bytes(len, "string")?;
        String::from_utf8(raw).map_err(|e| self.error(format!("string is not valid UTF-8 ({e})")))
    }

    fn push(&mut self, item: Item) {
        self.stack.push(item);
    }

    fn push_result(&mut self, item: Result<Item, String>) -> Result<(), PickleError> {
        let item = self.check(item)?;
        self.stack.push(item);
        Ok(())
    }

    /// Start of the current mark segment: items below it are not reachable.
    pub(crate) fn floor(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self) -> Result<Item, PickleError> {
        if self.stack.len() <= self.floor() {
            return Err(self.error("stack underflow"));
        }
        let item = self.stack.pop().ok_or_else(|| self.error("stack underflow"))?;
        self.note_streamed(item);
        Ok(item)
    }

    fn top(&self) -> Result<Item, PickleError> {
        if self.stack.len() <= self.floor() {
            return Err(self.error("stack underflow (no object to act on)"));
        }
        let item = self.stack.last().copied().ok_or_else(|| self.error("stack underflow"))?;
        self.note_streamed(item);
        Ok(item)
    }

    fn note_streamed(&self, item: Item) {
        if let Item::Streamed(_) = item {
            self.touched_streamed.set(true);
        }
    }

    /// Pops the most recent MARK; the marked items are then `stack[start..]`.
    fn take_mark(&mut self) -> Result<usize, PickleError> {
        self.marks.pop().ok_or_else(|| self.error("no MARK on the stack"))
    }

    /// The object just below the marked items (the target of APPENDS, SETITEMS, ...).
    fn below_mark(&self, start: usize) -> Result<Item, PickleError> {
        if start == 0 || start <= self.floor() {
            return Err(self.error("stack underflow (no object below the MARK)"));
        }
        let item = self.stack[start - 1];
        self.note_streamed(item);
        Ok(item)
    }

    fn memo_get(&mut self, key: u64) -> Result<(), PickleError> {
        let Some(item) = self.memo.get(key) else {
            if self.memo.was_released(key) {
                self.touched_streamed.set(true);
                return Err(self.error(format!(
                    "memo key {key} refers to an object released after streaming (the pickle shares it between records)"
                )));
            }
            return Err(self.error(format!("memo key {key} was never stored")));
        };
        self.push(item);
        Ok(())
    }

    fn memo_put(&mut self, key: u64) -> Result<(), PickleError> {
        let top = self.top()?;
        self.memo.put(key, top);
        Ok(())
    }

    fn decimal_key(&mut self) -> Result<u64, PickleError> {
        let line = self.read_line("memo key")?;
        std::str::from_utf8(&line)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| self.error("memo key is not a decimal number"))
    }

    fn push_int(&mut self, value: PyInt) -> Result<(), PickleError> {
        let item = self.heap.int(value);
        self.push_result(item)
    }

    fn push_bytes(&mut self, len: u64) -> Result<(), PickleError> {
        let bytes = self.read_bytes(len, "bytes")?;
        let item = self.heap.bytes(bytes);
        self.push_result(item)
    }

    fn push_str(&mut self, len: u64) -> Result<(), PickleError> {
        let text = self.read_utf8(len)?;
        let item = self.heap.string(text);
        self.push_result(item)
    }

    fn signed_len(&mut self, what: &str) -> Result<u64, PickleError> {
        let n = i32::from_le_bytes(self.read::<4>(what)?);
        u64::try_from(n).map_err(|_| self.error(format!("negative {what} {n}")))
    }

    fn global_from_lines(&mut self) -> Result<Item, PickleError> {
        let module = self.read_line("module name")?;
        let name = self.read_line("global name")?;
        let (Ok(module), Ok(name)) = (String::from_utf8(module), String::from_utf8(name)) else {
            return Err(self.error("global name is not valid UTF-8"));
        };
        let item = self.heap.global(&module, &name);
        self.check(item)
    }

    fn step(&mut self, opcode: u8) -> Result<(), PickleError> {
        match opcode {
            op::PROTO => {
                let [version] = self.read::<1>("protocol number")?;
                if version > HIGHEST_PROTOCOL {
                    return Err(self.error(format!("unsupported protocol {version}")));
                }
            }
            // Frames only help readers that prefetch; the stream is read sequentially anyway.
            op::FRAME => {
                self.read::<8>("frame length")?;
            }
            op::NONE => self.push(Item::None),
            op::NEWTRUE => self.push(Item::Bool(true)),
            op::NEWFALSE => self.push(Item::Bool(false)),
            op::BININT => {
                let v = i32::from_le_bytes(self.read::<4>("int")?);
                self.push(Item::Int(v.into()));
            }
            op::BININT1 => {
                let [v] = self.read::<1>("int")?;
                self.push(Item::Int(v.into()));
            }
            op::BININT2 => {
                let v = u16::from_le_bytes(self.read::<2>("int")?);
                self.push(Item::Int(v.into()));
            }
            op::LONG1 => {
                let [n] = self.read::<1>("length")?;
                let bytes = self.read_bytes(n.into(), "long")?;
                self.push_int(from_le_twos_complement(&bytes))?;
            }
            op::LONG4 => {
                let n = self.signed_len("length")?;
                let bytes = self.read_bytes(n, "long")?;
                self.push_int(from_le_twos_complement(&bytes))?;
            }
            op::INT => {
                let line = self.read_line("int")?;
                // Protocol 0 writes booleans as the ints "00" and "01".
                match line.as_slice() {
                    b"00" => self.push(Item::Bool(false)),
                    b"01" => self.push(Item::Bool(true)),
                    digits => {
                        let v = from_decimal(digits);
                        let v = self.check(v)?;
                        self.push_int(v)?;
                    }
                }
            }
            op::LONG => {
                let mut line = self.read_line("long")?;
                if line.last() == Some(&b'L') {
                    line.pop();
                }
                let v = from_decimal(&line);
                let v = self.check(v)?;
                self.push_int(v)?;
            }
            op::FLOAT => {
                let line = self.read_line("float")?;
                let v = std::str::from_utf8(&line)
                    .ok()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .ok_or_else(|| self.error("argument is not a float"))?;
                self.push(Item::Float(v));
            }
            op::BINFLOAT => {
                let v = f64::from_be_bytes(self.read::<8>("float")?);
                self.push(Item::Float(v));
            }
            op::SHORT_BINSTRING | op::SHORT_BINBYTES => {
                let [n] = self.read::<1>("length")?;
                self.push_bytes(n.into())?;
            }
            op::BINSTRING => {
                let n = self.signed_len("length")?;
                self.push_bytes(n)?;
            }
            op::BINBYTES => {
                let n = u32::from_le_bytes(self.read::<4>("length")?);
                self.push_bytes(n.into())?;
            }
            op::BINBYTES8 | op::BYTEARRAY8 => {
                let n = u64::from_le_bytes(self.read::<8>("length")?);
                self.push_bytes(n)?;
            }
            op::STRING => {
                let line = self.read_line("string")?;
                let bytes = string_literal(&line);
                let bytes = self.check(bytes)?;
                let item = self.heap.bytes(bytes);
                self.push_result(item)?;
            }
            op::SHORT_BINUNICODE => {
                let [n] = self.read::<1>("length")?;
                self.push_str(n.into())?;
            }
            op::BINUNICODE => {
                let n = u32::from_le_bytes(self.read::<4>("length")?);
                self.push_str(n.into())?;
            }
            op::BINUNICODE8 => {
                let n = u64::from_le_bytes(self.read::<8>("length")?);
                self.push_str(n)?;
            }
            op::UNICODE => {
                let line = self.read_line("unicode")?;
                let text = raw_unicode_escape(&line);
                let text = self.check(text)?;
                let item = self.heap.string(text);
                self.push_result(item)?;
            }
            op::EMPTY_TUPLE => self.push(Item::EmptyTuple),
            op::TUPLE1 | op::TUPLE2 | op::TUPLE3 => {
                let n = usize::from(opcode - op::TUPLE1 + 1);
                if self.stack.len() < self.floor() + n {
                    return Err(self.error("stack underflow"));
                }
                let start = self.stack.len() - n;
                let item = self.heap.tuple(self.stack.drain(start..));
                self.push_result(item)?;
            }
            op::TUPLE => {
                let start = self.take_mark()?;
                let item = self.heap.tuple(self.stack.drain(start..));
                self.push_result(item)?;
            }
            op::EMPTY_LIST => {
                let item = self.heap.alloc(Node::List(Vec::new()));
                self.push_result(item)?;
                self.after_container()?;
            }
            op::LIST => {
                let start = self.take_mark()?;
                let items: Vec<Item> = self.stack.drain(start..).collect();
                let item = self.heap.alloc(Node::List(items));
                self.push_result(item)?;
                self.after_container()?;
            }
            op::EMPTY_DICT => {
                let item = self.heap.alloc(Node::Dict(Vec::new()));
                self.push_result(item)?;
                self.after_container()?;
            }
            op::DICT => {
                let start = self.take_mark()?;
                let pairs = self.marked_pairs(start)?;
                let item = self.heap.alloc(Node::Dict(pairs));
                self.push_result(item)?;
                self.after_container()?;
            }
            op::EMPTY_SET => {
                let item = self.heap.alloc(Node::Set(Vec::new()));
                self.push_result(item)?;
                self.after_container()?;
            }
            op::FROZENSET => {
                let start = self.take_mark()?;
                let items: Vec<Item> = self.stack.drain(start..).collect();
                let item = self.heap.alloc(Node::Set(items));
                self.push_result(item)?;
            }
            op::APPEND => {
                self.before_append()?;
                let value = self.pop()?;
                let target = self.top()?;
                self.before_change(self.stack.len() - 1);
                let r = self.heap.extend(target, [value]);
                self.check(r)?;
            }
            op::APPENDS => {
                self.before_append()?;
                let start = self.take_mark()?;
                let target = self.below_mark(start)?;
                self.before_change(start - 1);
                let r = self.heap.extend(target, self.stack.drain(start..));
                self.check(r)?;
            }
            op::ADDITEMS => {
                let start = self.take_mark()?;
                let target = self.below_mark(start)?;
                self.before_change(start - 1);
                let r = self.heap.add_items(target, self.stack.drain(start..));
                self.check(r)?;
            }
            op::SETITEM => {
                let value = self.pop()?;
                let key = self.pop()?;
                let target = self.top()?;
                self.before_change(self.stack.len() - 1);
                let r = self.heap.set_items(target, [(key, value)]);
                self.check(r)?;
            }
            op::SETITEMS => {
                let start = self.take_mark()?;
                let target = self.below_mark(start)?;
                self.before_change(start - 1);
                let pairs = self.marked_pairs(start)?;
                let r = self.heap.set_items(target, pairs);
                self.check(r)?;
            }
            op::MARK => self.marks.push(self.stack.len()),
            op::POP => {
                // CPython pops the last item of the current segment, or else the mark.
                if self.stack.len() > self.floor() {
                    self.stack.pop();
                } else {
                    let start = self.take_mark()?;
                    self.stack.truncate(start);
                }
            }
            op::POP_MARK => {
                let start = self.take_mark()?;
                self.stack.truncate(start);
            }
            op::DUP => {
                let top = self.top()?;
                self.push(top);
            }
            op::BINPUT => {
                let [key] = self.read::<1>("memo key")?;
                self.memo_put(key.into())?;
            }
            op::LONG_BINPUT => {
                let key = u32::from_le_bytes(self.read::<4>("memo key")?);
                self.memo_put(key.into())?;
            }
            op::PUT => {
                let key = self.decimal_key()?;
                self.memo_put(key)?;
            }
            op::MEMOIZE => {
                let key = self.memo.len();
                self.memo_put(key)?;
            }
            op::BINGET => {
                let [key] = self.read::<1>("memo key")?;
                self.memo_get(key.into())?;
            }
            op::LONG_BINGET => {
                let key = u32::from_le_bytes(self.read::<4>("memo key")?);
                self.memo_get(key.into())?;
            }
            op::GET => {
                let key = self.decimal_key()?;
                self.memo_get(key)?;
            }
            op::GLOBAL => {
                let item = self.global_from_lines()?;
                self.push(item);
            }
            op::STACK_GLOBAL => {
                let name = self.pop()?;
                let module = self.pop()?;
                let (Some(module), Some(name)) = (self.heap.as_str(&module), self.heap.as_str(&name)) else {
                    return Err(self.error("module and name must be str"));
                };
                let (module, name) = (module.to_string(), name.to_string());
                let item = self.heap.global(&module, &name);
                self.push_result(item)?;
            }
            op::REDUCE => {
                let args = self.pop()?;
                let callable = self.pop()?;
                let item = self.heap.reduce(callable, args, self.op_offset);
                self.push_result(item)?;
            }
            op::BUILD => {
                let state = self.pop()?;
                let target = self.top()?;
                self.before_change(self.stack.len() - 1);
                let r = self.heap.build(target, state);
                self.check(r)?;
            }
            op::NEWOBJ => {
                let args = self.pop()?;
                let cls = self.pop()?;
                let item = self.heap.new_object(cls, args, None);
                self.push_result(item)?;
            }
            op::NEWOBJ_EX => {
                let kwargs = self.pop()?;
                let args = self.pop()?;
                let cls = self.pop()?;
                let item = self.heap.new_object(cls, args, Some(kwargs));
                self.push_result(item)?;
            }
            op::INST => {
                let callable = self.global_from_lines()?;
                let start = self.take_mark()?;
                let args = self.heap.tuple(self.stack.drain(start..));
                let args = self.check(args)?;
                let item = self.heap.reduce(callable, args, self.op_offset);
                self.push_result(item)?;
            }
            op::OBJ => {
                let start = self.take_mark()?;
                if self.stack.len() <= start {
                    return Err(self.error("no class after the MARK"));
                }
                let callable = self.stack[start];
                let args = self.heap.tuple(self.stack.drain(start + 1..));
                let args = self.check(args)?;
                self.stack.truncate(start);
                let item = self.heap.reduce(callable, args, self.op_offset);
                self.push_result(item)?;
            }
            op::PERSID => {
                let line = self.read_line("persistent id")?;
                let pid = String::from_utf8(line).map_err(|_| self.error("persistent id is not valid UTF-8"))?;
                let pid = self.heap.string(pid);
                let pid = self.check(pid)?;
                let item = self.heap.persistent_id(pid);
                self.push_result(item)?;
            }
            op::BINPERSID => {
                let pid = self.pop()?;
                let item = self.heap.persistent_id(pid);
                self.push_result(item)?;
            }
            op::READONLY_BUFFER => {
                // Read-only views of in-band buffers are plain bytes to us.
                self.top()?;
            }
            op::NEXT_BUFFER => return Err(self.error("out-of-band buffers (pickle protocol 5) are not supported")),
            op::EXT1 | op::EXT2 | op::EXT4 => {
                return Err(self.error("extension registry codes (copyreg) are not supported"))
            }
            other => {
                return Err(self.plain_error(format!("unknown opcode 0x{other:02x}")));
            }
        }
        Ok(())
    }

    /// Streaming: an opcode pushed a new container.
    fn after_container(&mut self) -> Result<(), PickleError> {
        if self.stream.is_some() {
            self.stream_after_container()?;
        }
        Ok(())
    }

    /// Streaming: APPEND(S) is about to take the item on top (if it is above the top MARK).
    fn before_append(&mut self) -> Result<(), PickleError> {
        if self.stream.is_some() && self.stack.len() > self.floor() {
            self.stream_before_append()?;
        }
        Ok(())
    }

    /// Streaming: the object at stack position `target` is about to change.
    fn before_change(&mut self, target: usize) {
        if self.stream.is_some() {
            self.stream_before_change(target);
        }
    }

    /// The marked items `stack[start..]` as key/value pairs, removed from the stack.
    fn marked_pairs(&mut self, start: usize) -> Result<Vec<(Item, Item)>, PickleError> {
        let items = &self.stack[start..];
        if !items.len().is_multiple_of(2) {
            return Err(self.error(format!("odd number of items ({}) for key/value pairs", items.len())));
        }
        let pairs = items.chunks_exact(2).map(|c| (c[0], c[1])).collect();
        self.stack.truncate(start);
        Ok(pairs)
    }
}
