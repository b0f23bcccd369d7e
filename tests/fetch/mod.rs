//! Tests of `elmbench fetch` (issue 6). Every network test talks to a server on 127.0.0.1 that the
//! test starts itself (see `server.rs`); no real download is made.

mod download_tests;
mod extract_tests;
mod manifest_tests;
mod server;
mod structure_tests;
mod support;
