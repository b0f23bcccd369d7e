//! All integration tests compile into this one binary (a link costs minutes on a 2-core machine).
mod fetch;
