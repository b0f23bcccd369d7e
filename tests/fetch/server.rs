//! A tiny HTTP/1.1 server on 127.0.0.1 for the fetch tests, so that each test controls Range
//! handling, dropped connections, stalls and status codes. Bounded: it accepts at most
//! `MAX_CONNECTIONS`, stops after `LIFETIME` or when dropped, and every connection thread ends by
//! itself (stalls are short sleeps).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const MAX_CONNECTIONS: usize = 100;
const LIFETIME: Duration = Duration::from_secs(60);

/// How the server answers one path.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Serves the body, honouring `Range: bytes=N-` with 206 (416 past the end).
    Normal,
    /// Always answers 200 with the whole body, whatever Range says.
    IgnoreRange,
    /// The first request gets full headers but only `after` bytes, then the connection closes;
    /// later requests are `Normal`.
    DropOnce { after: usize },
    /// The first request gets `after` bytes, then silence for `stall`; later requests `Normal`.
    StallOnce { after: usize, stall: Duration },
    /// The first request gets `after` bytes, later requests none; each then falls silent for
    /// `stall`.
    StallAlways { after: usize, stall: Duration },
    /// The first `times` requests get this status with no body; later requests are `Normal`.
    StatusFirst { status: u16, times: usize },
}

#[derive(Clone, Debug)]
pub struct Route {
    pub path: String,
    pub body: Vec<u8>,
    pub behaviour: Behaviour,
}

impl Route {
    pub fn new(path: &str, body: &[u8], behaviour: Behaviour) -> Route {
        Route { path: path.to_string(), body: body.to_vec(), behaviour }
    }
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Logged {
    pub path: String,
    pub range: Option<String>,
    pub authorization: Option<String>,
}

pub struct TestServer {
    port: u16,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Logged>>>,
    accept_thread: Option<JoinHandle<()>>,
}

struct Shared {
    routes: Vec<Route>,
    served: Mutex<HashMap<String, usize>>,
    log: Arc<Mutex<Vec<Logged>>>,
    stop: Arc<AtomicBool>,
}

impl TestServer {
    pub fn start(routes: Vec<Route>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let port = listener.local_addr().expect("local addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let shared =
            Arc::new(Shared { routes, served: Mutex::new(HashMap::new()), log: log.clone(), stop: stop.clone() });
        let accept_stop = stop.clone();
        let accept_thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut accepted = 0;
            while !accept_stop.load(Ordering::SeqCst) && started.elapsed() < LIFETIME && accepted < MAX_CONNECTIONS {
                match listener.accept() {
                    Ok((stream, _)) => {
                        accepted += 1;
                        let shared = shared.clone();
                        std::thread::spawn(move || {
                            let _ = serve(stream, &shared);
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => break,
                }
            }
        });
        TestServer { port, stop, log, accept_thread: Some(accept_thread) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.log.lock().unwrap().clone()
    }

    pub fn requests_for(&self, path: &str) -> Vec<Logged> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
    }
}

/// A port on 127.0.0.1 with nothing listening: connecting is refused at once.
pub fn closed_port_url(path: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}{path}")
}

fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        if stream.read(&mut byte)? == 0 {
            break;
        }
        head.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then_some(value.trim())
    })
}

/// Sleeps up to `total`, waking early when the server stops.
fn stall(total: Duration, stop: &AtomicBool) {
    let until = Instant::now() + total;
    while Instant::now() < until && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn serve(mut stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let head = read_head(&mut stream)?;
    let path = head.lines().next().and_then(|l| l.split_whitespace().nth(1)).unwrap_or("").to_string();
    let range = header(&head, "range").map(str::to_string);
    shared.log.lock().unwrap().push(Logged {
        path: path.clone(),
        range: range.clone(),
        authorization: header(&head, "authorization").map(str::to_string),
    });
    let Some(route) = shared.routes.iter().find(|r| r.path == path) else {
        let body = b"not found";
        write!(stream, "HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len())?;
        stream.write_all(body)?;
        return Ok(());
    };
    let nth = {
        let mut served = shared.served.lock().unwrap();
        let count = served.entry(path.clone()).or_insert(0);
        *count += 1;
        *count
    };
    let body = &route.body;
    let mut behaviour = route.behaviour.clone();
    match behaviour {
        Behaviour::StatusFirst { status, times } if nth <= times => {
            write!(stream, "HTTP/1.1 {status} Test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
            return Ok(());
        }
        Behaviour::DropOnce { .. } | Behaviour::StallOnce { .. } | Behaviour::StatusFirst { .. } if nth > 1 => {
            behaviour = Behaviour::Normal
        }
        _ => {}
    }
    let start = match (&behaviour, &range) {
        (Behaviour::IgnoreRange, _) | (_, None) => None,
        (_, Some(r)) => {
            r.strip_prefix("bytes=").and_then(|r| r.strip_suffix('-')).and_then(|n| n.parse::<usize>().ok())
        }
    };
    let (status_line, extra, slice) = match start {
        Some(s) if s >= body.len() => {
            write!(
                stream,
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            return Ok(());
        }
        Some(s) => (
            "206 Partial Content",
            format!("Content-Range: bytes {s}-{}/{}\r\n", body.len() - 1, body.len()),
            &body[s..],
        ),
        None => ("200 OK", String::new(), &body[..]),
    };
    write!(
        stream,
        "HTTP/1.1 {status_line}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n{extra}Connection: close\r\n\r\n",
        slice.len()
    )?;
    match behaviour {
        Behaviour::DropOnce { after } => {
            stream.write_all(&slice[..after.min(slice.len())])?;
            stream.flush()?;
            // Give the client time to take the bytes before the connection goes away.
            std::thread::sleep(Duration::from_millis(50));
            stream.shutdown(Shutdown::Both)?;
        }
        Behaviour::StallOnce { after, stall: d } | Behaviour::StallAlways { after, stall: d } => {
            let after = if nth == 1 { after } else { 0 };
            stream.write_all(&slice[..after.min(slice.len())])?;
            stream.flush()?;
            stall(d, &shared.stop);
            let _ = stream.shutdown(Shutdown::Both);
        }
        _ => {
            stream.write_all(slice)?;
            stream.flush()?;
        }
    }
    Ok(())
}
