//! Downloading one file into `<name>.part`: resumes with HTTP Range, falls back to a full download
//! when the server ignores Range, retries interruptions with exponential backoff, and hashes the
//! bytes as they arrive so that a 100 GB archive is not read a second time to verify it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, RANGE};
use reqwest::{StatusCode, Url};

use super::kaggle::KaggleCredentials;
use super::progress;
use super::verify::{hash_into, Digests, Hashers};

/// Network behaviour. The defaults suit real archives; tests shrink them to keep runs short.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Time allowed to open a connection; failing to connect at all means "no network", which
    /// fails at once instead of retrying.
    pub connect_timeout: Duration,
    /// Longest silence allowed while waiting for the response or for the next bytes of the body.
    pub read_timeout: Duration,
    /// Further attempts after an interruption (a dropped connection, a stall, a 5xx). The count
    /// restarts whenever an attempt made progress, so a long download survives many short outages.
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one, up to `backoff_max`.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(15),
            read_timeout: Duration::from_secs(60),
            retries: 5,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
        }
    }
}

impl HttpOptions {
    fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32 << retry.saturating_sub(1).min(16);
        self.backoff_initial.saturating_mul(factor).min(self.backoff_max)
    }
}

/// The HTTP client: rustls with the `ring` provider, no automatic decompression (a `.gz` must
/// arrive byte for byte as published, or its checksum would not match).
pub fn client(options: &HttpOptions) -> Result<Client> {
    // Installing fails only when a provider is already installed, which is just as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .user_agent(concat!("elmbench/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(options.connect_timeout)
        // The blocking client applies this to the wait for the response and to each read of the
        // body, so it is a read timeout, not a limit on the whole download.
        .timeout(options.read_timeout)
        .build()
        .context("cannot set up the HTTP client")
}

/// What to download and where.
pub struct DownloadJob<'a> {
    pub url: &'a Url,
    pub credentials: Option<&'a KaggleCredentials>,
    /// The `.part` file; bytes already in it are kept and the download resumes after them.
    pub part: &'a Path,
    pub expected_size: Option<u64>,
    /// Names the file in messages.
    pub label: &'a str,
}

/// The result of a completed download.
#[derive(Debug)]
pub struct Downloaded {
    pub digests: Digests,
    /// Bytes that were already in the `.part` file when this run resumed it.
    pub resumed_from: Option<u64>,
    /// The server answered a Range request with the whole file, so it was downloaded in full.
    pub range_ignored: bool,
    pub attempts: u32,
}

/// The host could not be reached at all: no network, DNS failure, nothing listening.
#[derive(Debug)]
pub struct Unreachable {
    pub url: String,
    pub detail: String,
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot connect to {} ({}); is this machine offline?", self.url, self.detail)
    }
}

impl std::error::Error for Unreachable {}

/// How one attempt ended when it did not finish the file.
enum Interrupted {
    /// Worth another attempt (dropped connection, stall, 5xx); `progressed` if bytes arrived.
    Retry { why: String, progressed: bool },
    /// Retrying cannot help (404, 403, size mismatch, no network, local I/O error).
    Fatal(anyhow::Error),
}

/// State carried across attempts.
struct Transfer<'a> {
    job: &'a DownloadJob<'a>,
    hashers: Hashers,
    /// Bytes in the `.part` file, all of them hashed.
    have: u64,
    range_ignored: bool,
    received_any: bool,
    bar: indicatif::ProgressBar,
}

/// Downloads `job.url` into `job.part` and returns the checksums of the complete file.
/// Progress notes (resume, retries) go to `out`.
pub fn download(
    client: &Client,
    job: &DownloadJob,
    options: &HttpOptions,
    show_progress: bool,
    out: &mut dyn Write,
) -> Result<Downloaded> {
    let mut hashers = Hashers::new();
    let mut have = 0;
    let mut resumed_from = None;
    if let Ok(meta) = std::fs::metadata(job.part) {
        let len = meta.len();
        if job.expected_size.is_some_and(|size| len > size) {
            writeln!(
                out,
                "  {}: the partial download is longer than the expected {} bytes; starting afresh",
                job.label,
                job.expected_size.unwrap_or(0)
            )?;
            remove_part(job.part)?;
        } else if len > 0 {
            // Hash what is already there so that the finished file need not be read again.
            hash_into(job.part, &mut hashers, show_progress)?;
            have = len;
            resumed_from = Some(len);
            writeln!(out, "  {}: resuming the partial download at byte {len}", job.label)?;
        }
    }
    let bar = progress::bytes_bar(show_progress, job.expected_size, job.label);
    bar.set_position(have);
    let mut transfer = Transfer { job, hashers, have, range_ignored: false, received_any: false, bar };
    let mut attempts = 0;
    let mut retries_in_a_row = 0;
    loop {
        attempts += 1;
        match transfer.attempt(client, out) {
            Ok(()) => break,
            Err(Interrupted::Fatal(error)) => {
                transfer.bar.abandon();
                return Err(error);
            }
            Err(Interrupted::Retry { why, progressed }) => {
                if progressed {
                    retries_in_a_row = 0;
                }
                retries_in_a_row += 1;
                if retries_in_a_row > options.retries {
                    transfer.bar.abandon();
                    bail!(
                        "giving up on {} after {attempts} attempts: {why}; the {} bytes received are kept in {} and the next fetch resumes from there",
                        job.url,
                        transfer.have,
                        job.part.display()
                    );
                }
                let delay = options.backoff(retries_in_a_row);
                writeln!(
                    out,
                    "  {}: {why}; retrying in {} ms (retry {retries_in_a_row} of {})",
                    job.label,
                    delay.as_millis(),
                    options.retries
                )?;
                std::thread::sleep(delay);
            }
        }
    }
    transfer.bar.finish_and_clear();
    Ok(Downloaded { digests: transfer.hashers.finish(), resumed_from, range_ignored: transfer.range_ignored, attempts })
}

fn remove_part(part: &Path) -> Result<()> {
    match std::fs::remove_file(part) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", part.display())),
    }
}

/// An error with its causes, on one line (reqwest hides the useful part in the source chain).
fn describe(error: reqwest::Error) -> String {
    format!("{:#}", anyhow::Error::from(error))
}

impl Transfer<'_> {
    fn request(&self, client: &Client) -> RequestBuilder {
        let mut request = client.get(self.job.url.clone());
        if self.have > 0 {
            request = request.header(RANGE, format!("bytes={}-", self.have));
        }
        if let Some(credentials) = self.job.credentials {
            request = request.basic_auth(&credentials.username, Some(&credentials.key));
        }
        request
    }

    /// Forgets the partial file: used when the server sends the whole file again.
    fn restart(&mut self) -> Result<(), Interrupted> {
        remove_part(self.job.part).map_err(Interrupted::Fatal)?;
        self.hashers = Hashers::new();
        self.have = 0;
        self.bar.set_position(0);
        Ok(())
    }

    fn attempt(&mut self, client: &Client, out: &mut dyn Write) -> Result<(), Interrupted> {
        let url = self.job.url;
        let response = match self.request(client).send() {
            Ok(response) => response,
            Err(error) if error.is_connect() && !self.received_any => {
                return Err(Interrupted::Fatal(anyhow::Error::new(Unreachable {
                    url: url.to_string(),
                    detail: describe(error),
                })));
            }
            Err(error) => {
                return Err(Interrupted::Retry {
                    why: format!("request failed: {}", describe(error)),
                    progressed: false,
                })
            }
        };
        let status = response.status();
        let total = match status {
            StatusCode::PARTIAL_CONTENT if self.have > 0 => {
                let range = content_range(&response);
                match range {
                    Some((start, total)) if start == self.have => total,
                    _ => {
                        // A range we did not ask for: safest is to start over.
                        self.restart()?;
                        return Err(Interrupted::Retry {
                            why: format!(
                                "the server answered the Range request with an unexpected range ({})",
                                header_text(&response, CONTENT_RANGE)
                            ),
                            progressed: false,
                        });
                    }
                }
            }
            StatusCode::OK | StatusCode::PARTIAL_CONTENT => {
                if self.have > 0 {
                    let _ = writeln!(
                        out,
                        "  {}: the server ignored the Range request (answered {status}); downloading the whole file again",
                        self.job.label
                    );
                    self.range_ignored = true;
                    self.restart()?;
                }
                content_length(&response)
            }
            StatusCode::RANGE_NOT_SATISFIABLE if self.have > 0 => {
                // Nothing after byte `have`: the partial file may already be complete.
                let total = content_range(&response).and_then(|(_, total)| total).or(self.job.expected_size);
                if total == Some(self.have) {
                    return Ok(());
                }
                self.restart()?;
                return Err(Interrupted::Retry {
                    why: "the server refused to resume (416); starting afresh".to_string(),
                    progressed: false,
                });
            }
            StatusCode::NOT_FOUND | StatusCode::GONE => {
                return Err(Interrupted::Fatal(anyhow::anyhow!(
                    "{url} answered {status}: the file is not there (wrong URL or mirror?)"
                )));
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                let hint = match self.job.credentials {
                    Some(c) => format!(
                        "; the Kaggle credentials from {} were refused, or the dataset's terms have not been accepted on its Kaggle page",
                        c.origin
                    ),
                    None => String::new(),
                };
                return Err(Interrupted::Fatal(anyhow::anyhow!("{url} answered {status}: access refused{hint}")));
            }
            status
                if status.is_server_error()
                    || status == StatusCode::TOO_MANY_REQUESTS
                    || status == StatusCode::REQUEST_TIMEOUT =>
            {
                return Err(Interrupted::Retry { why: format!("the server answered {status}"), progressed: false });
            }
            status => {
                return Err(Interrupted::Fatal(anyhow::anyhow!("{url} answered {status}, which elmbench cannot use")));
            }
        };
        let announced_total = match total {
            Some(total) if status == StatusCode::PARTIAL_CONTENT => Some(total),
            Some(rest) => Some(self.have + rest),
            None => None,
        };
        if let (Some(announced), Some(expected)) = (announced_total, self.job.expected_size) {
            if announced != expected {
                let _ = remove_part(self.job.part);
                return Err(Interrupted::Fatal(anyhow::anyhow!(
                    "{url} offers {announced} bytes but the manifest expects {expected}: the upstream file changed or the mirror holds another file"
                )));
            }
        }
        if let Some(announced) = announced_total {
            if self.job.expected_size.is_none() {
                self.bar.set_length(announced);
            }
        }
        self.stream_body(response, announced_total)
    }

    /// Appends the response body to the `.part` file, hashing as it goes.
    fn stream_body(&mut self, mut response: Response, announced_total: Option<u64>) -> Result<(), Interrupted> {
        let part = self.job.part;
        let fatal_io = |e: std::io::Error, what: &str| {
            Interrupted::Fatal(anyhow::Error::new(e).context(format!("cannot {what} {}", part.display())))
        };
        let mut file = if self.have > 0 { OpenOptions::new().append(true).open(part) } else { File::create(part) }
            .map_err(|e| fatal_io(e, "write"))?;
        let mut buf = vec![0u8; 256 * 1024];
        let mut progressed = false;
        loop {
            match response.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    file.write_all(&buf[..n]).map_err(|e| fatal_io(e, "write"))?;
                    self.hashers.update(&buf[..n]);
                    self.have += n as u64;
                    self.bar.inc(n as u64);
                    self.received_any = true;
                    progressed = true;
                }
                Err(error) => {
                    file.flush().map_err(|e| fatal_io(e, "write"))?;
                    let why = if is_timeout(&error) {
                        format!("no data for longer than the read timeout after {} bytes", self.have)
                    } else {
                        format!("connection lost after {} bytes ({})", self.have, error_chain(&error))
                    };
                    return Err(Interrupted::Retry { why, progressed });
                }
            }
        }
        file.sync_all().map_err(|e| fatal_io(e, "write"))?;
        if let Some(total) = announced_total {
            if self.have < total {
                return Err(Interrupted::Retry {
                    why: format!("the connection closed after {} of {total} bytes", self.have),
                    progressed,
                });
            }
        }
        Ok(())
    }
}

/// The error and its causes on one line (reqwest wraps the I/O cause in its own error).
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut cause = error.source();
    while let Some(inner) = cause {
        parts.push(inner.to_string());
        cause = inner.source();
    }
    parts.dedup();
    parts.join(": ")
}

/// Whether a body read failed because the read timeout expired. reqwest reports it as an I/O
/// error wrapping a reqwest error whose `is_timeout` says so.
fn is_timeout(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::TimedOut
        || error.get_ref().and_then(|inner| inner.downcast_ref::<reqwest::Error>()).is_some_and(|e| e.is_timeout())
}

fn header_text(response: &Response, name: reqwest::header::HeaderName) -> String {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("none").to_string()
}

fn content_length(response: &Response) -> Option<u64> {
    response.headers().get(CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// `Content-Range: bytes <start>-<end>/<total>` (or `bytes */<total>` on a 416) as (start, total).
fn content_range(response: &Response) -> Option<(u64, Option<u64>)> {
    let text = response.headers().get(CONTENT_RANGE)?.to_str().ok()?;
    let rest = text.trim().strip_prefix("bytes")?.trim();
    let (range, total) = rest.split_once('/')?;
    let total = total.trim().parse().ok();
    let start = if range.trim() == "*" { 0 } else { range.split_once('-')?.0.trim().parse().ok()? };
    Some((start, total))
}
