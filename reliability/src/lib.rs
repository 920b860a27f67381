//! Shared pieces of brisk's reliability suite: a server started in-process on `127.0.0.1:0`,
//! a raw HTTP/1.1 client that sends exact bytes and parses what comes back, and the smuggling
//! corpus reader. The tests live in `tests/`; see `README.md` and `RESULTS.md`.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use brisk::{App, ServeError};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub mod corpus;
pub mod flood;
pub mod process;

/// A brisk app served on an ephemeral port with `App::serve_with_shutdown`.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServeError>>>,
}

impl Server {
    /// Binds `127.0.0.1:0` and serves `app` until [`Server::trigger_shutdown`].
    pub async fn start(app: App) -> Server {
        let listener = brisk::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.serve_with_shutdown(listener, async {
            let _ = stopped.await;
        }));
        Server { addr, stop: Some(stop), task: Some(task) }
    }

    /// Resolves the shutdown future: the server stops accepting and drains.
    pub fn trigger_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits for the serve future to resolve (call [`Server::trigger_shutdown`] first).
    pub async fn join(&mut self) -> Result<(), ServeError> {
        match self.task.take() {
            Some(task) => task.await.expect("server task panicked"),
            None => Ok(()),
        }
    }

    /// Triggers shutdown and waits for the server to finish.
    pub async fn stop(mut self) {
        self.trigger_shutdown();
        self.join().await.expect("server stopped with an error");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.trigger_shutdown();
    }
}

/// One parsed HTTP/1.x response.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// Header lines, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The (de-chunked) body.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// A header's value, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The body as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What one raw exchange produced.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Every complete response, in order (1xx interim responses left out).
    pub responses: Vec<RawResponse>,
    /// Bytes after the last complete response (a truncated or unparsable answer).
    pub trailing: Vec<u8>,
    /// The server closed (or reset) the connection on its own, before we half-closed.
    pub closed_by_server: bool,
    /// The server closed only after we half-closed our side (it was waiting for more bytes).
    pub closed_after_our_eof: bool,
}

/// Sends `bytes` on a fresh connection, reads until the server closes or stays silent for
/// `idle`; if it is still open, half-closes our side and reads until EOF (at most 2 s).
pub async fn exchange(addr: SocketAddr, bytes: &[u8], idle: Duration) -> io::Result<Exchange> {
    let mut stream = TcpStream::connect(addr).await?;
    // The server may reject before we finish writing; a broken pipe is an answer, not an error.
    let _ = stream.write_all(bytes).await;
    let mut buf = Vec::new();
    let mut closed_by_server = false;
    let mut closed_after_our_eof = false;
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match tokio::time::timeout(idle, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed_by_server = true;
                break;
            }
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => break,
        }
    }
    if !closed_by_server {
        let _ = stream.shutdown().await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        loop {
            match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    closed_after_our_eof = true;
                    break;
                }
                Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
                Err(_) => break,
            }
        }
    }
    let (responses, trailing) = parse_responses(&buf);
    Ok(Exchange { responses, trailing, closed_by_server, closed_after_our_eof })
}

/// Parses as many complete responses from `buf` as it holds; returns them and the rest.
pub fn parse_responses(mut buf: &[u8]) -> (Vec<RawResponse>, Vec<u8>) {
    let mut out = Vec::new();
    while let Some((res, used)) = parse_one(buf) {
        buf = &buf[used..];
        if res.status >= 200 {
            out.push(res);
        }
    }
    (out, buf.to_vec())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_one(buf: &[u8]) -> Option<(RawResponse, usize)> {
    let head_end = find(buf, b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    if !status_line.starts_with("HTTP/1.") {
        return None;
    }
    let status: u16 = status_line.get(9..12)?.parse().ok()?;
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let res = RawResponse { status, headers, body: Vec::new() };
    let rest = &buf[head_end..];
    if status < 200 || status == 204 || status == 304 {
        return Some((res, head_end));
    }
    if res.header("transfer-encoding").is_some_and(|te| te.eq_ignore_ascii_case("chunked")) {
        let (body, used) = dechunk(rest)?;
        return Some((RawResponse { body, ..res }, head_end + used));
    }
    let len: usize = res.header("content-length")?.parse().ok()?;
    let body = rest.get(..len)?.to_vec();
    Some((RawResponse { body, ..res }, head_end + len))
}

fn dechunk(mut buf: &[u8]) -> Option<(Vec<u8>, usize)> {
    let start = buf.len();
    let mut body = Vec::new();
    loop {
        let line_end = find(buf, b"\r\n")?;
        let size_text = std::str::from_utf8(&buf[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        buf = &buf[line_end + 2..];
        if size == 0 {
            let end = find(buf, b"\r\n")?;
            if end != 0 {
                // trailers: skip to the blank line
                let t = find(buf, b"\r\n\r\n")?;
                buf = &buf[t + 4..];
            } else {
                buf = &buf[2..];
            }
            return Some((body, start - buf.len()));
        }
        body.extend_from_slice(buf.get(..size)?);
        buf = buf.get(size + 2..)?;
    }
}

/// A keep-alive connection that sends requests and reads one response each.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn { reader: BufReader::new(stream) })
    }

    /// Writes `request` (exact bytes) and reads the response.
    pub async fn send(&mut self, request: &[u8]) -> io::Result<RawResponse> {
        self.reader.get_mut().write_all(request).await?;
        self.read_response().await
    }

    /// Reads one final response (skipping 1xx).
    pub async fn read_response(&mut self) -> io::Result<RawResponse> {
        loop {
            let res = self.read_one().await?;
            if res.status >= 200 {
                return Ok(res);
            }
        }
    }

    async fn read_line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).await? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed"));
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }

    async fn read_one(&mut self) -> io::Result<RawResponse> {
        let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
        let status_line = self.read_line().await?;
        let status: u16 =
            status_line.get(9..12).and_then(|s| s.parse().ok()).ok_or_else(|| bad("bad status line"))?;
        let mut headers = Vec::new();
        loop {
            let line = self.read_line().await?;
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').ok_or_else(|| bad("bad header line"))?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        let mut res = RawResponse { status, headers, body: Vec::new() };
        if status < 200 || status == 204 || status == 304 {
            return Ok(res);
        }
        if res.header("transfer-encoding").is_some_and(|te| te.eq_ignore_ascii_case("chunked")) {
            loop {
                let size_line = self.read_line().await?;
                let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                    .map_err(|_| bad("bad chunk size"))?;
                if size == 0 {
                    while !self.read_line().await?.is_empty() {}
                    break;
                }
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk).await?;
                chunk.truncate(size);
                res.body.extend_from_slice(&chunk);
            }
        } else if let Some(len) = res.header("content-length") {
            let len: usize = len.parse().map_err(|_| bad("bad content-length"))?;
            let mut body = vec![0; len];
            self.reader.read_exact(&mut body).await?;
            res.body = body;
        } else {
            self.reader.read_to_end(&mut res.body).await?;
        }
        Ok(res)
    }
}

/// `GET path` on a fresh connection; the response.
pub async fn get_path(addr: SocketAddr, path: &str) -> io::Result<RawResponse> {
    let mut conn = Conn::connect(addr).await?;
    conn.send(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes()).await
}

/// Installs (once) a panic hook that stays silent for panics whose message contains
/// `marker` and forwards every other panic (a failing assertion ...) to the default hook.
pub fn quiet_panics_containing(marker: &'static str) {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        if !message.contains(marker) {
            default(info);
        }
    }));
}

/// Latency summary of a sample, in microseconds.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    /// Samples.
    pub n: usize,
    /// Median.
    pub p50_us: u128,
    /// 99th percentile.
    pub p99_us: u128,
    /// Slowest.
    pub max_us: u128,
}

impl Latency {
    /// Summarises `samples` (any order).
    pub fn of(mut samples: Vec<Duration>) -> Latency {
        samples.sort();
        let n = samples.len();
        let at = |q: f64| samples.get(((n as f64 * q) as usize).min(n.saturating_sub(1))).copied();
        Latency {
            n,
            p50_us: at(0.5).unwrap_or_default().as_micros(),
            p99_us: at(0.99).unwrap_or_default().as_micros(),
            max_us: samples.last().copied().unwrap_or_default().as_micros(),
        }
    }
}

impl std::fmt::Display for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "n={} p50={}us p99={}us max={}us", self.n, self.p50_us, self.p99_us, self.max_us)
    }
}
