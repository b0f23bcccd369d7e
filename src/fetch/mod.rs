//! Download, resume, verify and unpack the real dataset archives (issue 6).
