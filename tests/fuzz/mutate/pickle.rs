//! Pickle-aware mutations: an opcode walk finds every integer argument and length field, which
//! are set to huge or off-by-a-little values; opcodes are swapped, duplicated or dropped; small
//! integers become 9-byte LONG1 integers past 2^63.

use crate::rng::Rng;

/// What follows an opcode.
#[derive(Clone, Copy, PartialEq)]
enum Arg {
    None,
    /// A little-endian integer of this many bytes.
    Int(usize),
    /// A little-endian length of this many bytes, then that many bytes.
    Len(usize),
    /// Newline-terminated text lines.
    Lines(usize),
    /// An 8-byte big-endian float.
    Float,
}

fn arg(code: u8) -> Option<Arg> {
    Some(match code {
        b'('
        | b'.'
        | b'0'
        | b'1'
        | b'2'
        | b'N'
        | b'R'
        | b'a'
        | b'b'
        | b'd'
        | b'}'
        | b'e'
        | b'l'
        | b']'
        | b'o'
        | b's'
        | b't'
        | b')'
        | b'u'
        | b'Q'
        | 0x81
        | 0x85..=0x89
        | 0x8f..=0x94
        | 0x97
        | 0x98 => Arg::None,
        b'K' | b'q' | b'h' | 0x80 | 0x82 => Arg::Int(1),
        b'M' | 0x83 => Arg::Int(2),
        b'J' | b'r' | b'j' | 0x84 => Arg::Int(4),
        0x95 => Arg::Int(8),
        b'U' | b'C' | 0x8c | 0x8a => Arg::Len(1),
        b'X' | b'T' | b'B' | 0x8b => Arg::Len(4),
        0x8d | 0x8e | 0x96 => Arg::Len(8),
        b'I' | b'L' | b'F' | b'S' | b'V' | b'P' | b'g' | b'p' => Arg::Lines(1),
        b'c' | b'i' => Arg::Lines(2),
        b'G' => Arg::Float,
        _ => return None,
    })
}

/// Opcodes a swap may put in (every known one).
const CODES: &[u8] = b"(.012NRabd}el]os t)uQKqhMJrjUCXTBIGLFSVPgpci\x80\x81\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x90\x91\x92\x93\x94\x95\x96";

/// One opcode: where it starts, its argument's kind and where the argument (or its length
/// field) starts, and where the next opcode starts.
struct Op {
    at: usize,
    arg: Arg,
    end: usize,
}

/// The opcodes of `data` until the first unknown one or the end.
fn walk(data: &[u8]) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let Some(a) = arg(data[i]) else { break };
        let body = i + 1;
        let end = match a {
            Arg::None => body,
            Arg::Int(n) => body + n,
            Arg::Float => body + 8,
            Arg::Len(n) => {
                if body + n > data.len() {
                    break;
                }
                let mut v = [0u8; 8];
                v[..n].copy_from_slice(&data[body..body + n]);
                let len = u64::from_le_bytes(v);
                match (body + n).checked_add(len as usize) {
                    Some(e) if len < (1 << 40) => e,
                    _ => break,
                }
            }
            Arg::Lines(k) => {
                let mut j = body;
                for _ in 0..k {
                    match data[j.min(data.len())..].iter().position(|&b| b == b'\n') {
                        Some(p) => j += p + 1,
                        None => j = data.len() + 1,
                    }
                }
                j
            }
        };
        if end > data.len() {
            break;
        }
        ops.push(Op { at: i, arg: a, end });
        i = end;
    }
    ops
}

fn write_le(data: &mut [u8], at: usize, width: usize, value: u64) {
    data[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
}

pub fn mutate(rng: &mut Rng, data: &[u8]) -> Option<Vec<u8>> {
    let ops = walk(data);
    if ops.is_empty() {
        return None;
    }
    let mut d = data.to_vec();
    match rng.below(8) {
        0..=3 => {
            // An integer argument or a length field set to an interesting value.
            let fields: Vec<&Op> = ops.iter().filter(|o| matches!(o.arg, Arg::Int(_) | Arg::Len(_))).collect();
            if fields.is_empty() {
                return None;
            }
            let op = *rng.pick(&fields);
            let width = match op.arg {
                Arg::Int(n) | Arg::Len(n) => n,
                _ => unreachable!(),
            };
            let near = op.end - op.at;
            let value = super::interesting(rng, near);
            write_le(&mut d, op.at + 1, width, value);
        }
        4 => {
            // A small integer becomes LONG1 with 9 bytes (past i64 / u64).
            let ints: Vec<&Op> = ops.iter().filter(|o| matches!(o.arg, Arg::Int(_)) && d[o.at] != 0x80).collect();
            if ints.is_empty() {
                return None;
            }
            let op = *rng.pick(&ints);
            let mut long = vec![0x8a, 9];
            long.extend_from_slice(&super::interesting(rng, 0).to_le_bytes());
            long.push(*rng.pick(&[0u8, 1, 0x7f, 0x80, 0xff]));
            d.splice(op.at..op.end, long);
        }
        5 => {
            // Another opcode in this one's place (its argument bytes stay, and are read anew).
            let op = rng.pick(&ops);
            d[op.at] = *rng.pick(CODES);
        }
        6 => {
            // An opcode (with its argument) repeated: extra MARKs, APPENDS, SETITEMS, BUILDs.
            let op = rng.pick(&ops);
            let piece = d[op.at..op.end].to_vec();
            let times = 1 + rng.below(3);
            for _ in 0..times {
                d.splice(op.end..op.end, piece.iter().copied());
            }
        }
        _ => {
            let op = rng.pick(&ops);
            if matches!(op.arg, Arg::Float) && rng.one_in(2) {
                let v = *rng.pick(&[f64::NAN, f64::INFINITY, -1e300, 1e300, -0.0, 4.5e15]);
                d[op.at + 1..op.end].copy_from_slice(&v.to_be_bytes());
            } else {
                d.drain(op.at..op.end);
            }
        }
    }
    Some(d)
}
