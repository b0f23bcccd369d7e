//! A purpose-built reader for Python pickles (protocol 2 and the subset torch uses).

pub mod writer;
