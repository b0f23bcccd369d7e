//! The one error type of the pickle reader: what went wrong and at which byte of the input.

use std::fmt;

/// A malformed or unsupported pickle. `offset` is the byte position of the opcode being
/// executed when the problem was found (for end-of-input problems, that opcode's start).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PickleError {
    pub offset: u64,
    pub message: String,
}

impl fmt::Display for PickleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pickle byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for PickleError {}
