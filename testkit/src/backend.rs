//! A small real HTTP/1.1 server with keep-alive whose answers tests steer at run time:
//! status, delay, health-check status. It answers with its name in the body and in
//! `x-backend`, honours `?sleep_ms=N`, and can be
//! killed (every connection cut at once) and restarted on the same port. Every `x-…` request
//! header comes back as `x-seen-…`.

use parking_lot::Mutex;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinSet;

struct Inner {
    name: String,
    status: AtomicU16,
    health_status: AtomicU16,
    delay_ms: AtomicU64,
    hits: AtomicU64,
    health_hits: AtomicU64,
}

/// A running (or killed) test backend.
pub struct Backend {
    addr: SocketAddr,
    inner: Arc<Inner>,
    tasks: Arc<Mutex<JoinSet<()>>>,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Backend {
    /// Starts a plain-HTTP backend named `name` on a free port.
    pub async fn start(name: &str) -> Backend {
        Self::start_inner(name, None).await
    }

    /// Starts a backend that speaks TLS with `cert_pem`/`key_pem`.
    pub async fn start_tls(name: &str, cert_pem: &str, key_pem: &str) -> Backend {
        let certs: Vec<_> = rustls_pemfile::certs(&mut cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .expect("test cert PEM");
        let key = rustls_pemfile::private_key(&mut key_pem.as_bytes())
            .expect("test key PEM")
            .expect("a key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("test cert");
        Self::start_inner(
            name,
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
        )
        .await
    }

    async fn start_inner(name: &str, tls: Option<tokio_rustls::TlsAcceptor>) -> Backend {
        let listener = bind("127.0.0.1:0".parse().expect("addr")).await;
        let addr = listener.local_addr().expect("local addr");
        let backend = Backend {
            addr,
            inner: Arc::new(Inner {
                name: name.to_string(),
                status: AtomicU16::new(200),
                health_status: AtomicU16::new(200),
                delay_ms: AtomicU64::new(0),
                hits: AtomicU64::new(0),
                health_hits: AtomicU64::new(0),
            }),
            tasks: Arc::new(Mutex::new(JoinSet::new())),
            tls,
        };
        backend.serve(listener);
        backend
    }

    fn serve(&self, listener: TcpListener) {
        let inner = Arc::clone(&self.inner);
        let tasks = Arc::clone(&self.tasks);
        let tls = self.tls.clone();
        self.tasks.lock().spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let inner = Arc::clone(&inner);
                let tls = tls.clone();
                tasks.lock().spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(s) = acceptor.accept(stream).await {
                                serve_connection(s, &inner).await;
                            }
                        }
                        None => serve_connection(stream, &inner).await,
                    }
                });
            }
        });
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The name it answers with.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Status of ordinary answers (default 200).
    pub fn set_status(&self, status: u16) {
        self.inner.status.store(status, Relaxed);
    }

    /// Status of `/healthz` answers (default 200).
    pub fn set_health_status(&self, status: u16) {
        self.inner.health_status.store(status, Relaxed);
    }

    /// Delay before every ordinary answer.
    pub fn set_delay(&self, delay: Duration) {
        self.inner.delay_ms.store(
            u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            Relaxed,
        );
    }

    /// Ordinary requests answered so far.
    pub fn hits(&self) -> u64 {
        self.inner.hits.load(Relaxed)
    }

    /// `/healthz` requests answered so far.
    pub fn health_hits(&self) -> u64 {
        self.inner.health_hits.load(Relaxed)
    }

    /// Stops listening and cuts every open connection, like a crashed process.
    pub fn kill(&self) {
        self.tasks.lock().abort_all();
    }

    /// Listens again on the same port after [`Self::kill`].
    pub async fn restart(&self) {
        self.kill();
        let mut tries = 0;
        let listener = loop {
            match try_bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if tries < 100 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("cannot rebind {}: {e}", self.addr),
            }
        };
        self.serve(listener);
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn try_bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

async fn bind(addr: SocketAddr) -> TcpListener {
    try_bind(addr).await.expect("bind test backend")
}

/// Serves keep-alive HTTP/1.1 requests on one connection until it closes.
async fn serve_connection<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, inner: &Inner) {
    let mut buf = Vec::with_capacity(4096);
    loop {
        let Some(head_end) = read_head(&mut s, &mut buf).await else {
            return;
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default().to_string();
        let mut content_length = 0usize;
        let mut close = false;
        let mut echoed = String::new();
        for line in lines {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            match k.as_str() {
                "content-length" => content_length = v.parse().unwrap_or(0),
                "connection" => close = v.eq_ignore_ascii_case("close"),
                _ => {}
            }
            if let Some(rest) = k.strip_prefix("x-") {
                echoed.push_str(&format!("x-seen-{rest}: {v}\r\n"));
            }
        }
        let mut rest = buf.split_off(head_end);
        while rest.len() < content_length {
            let mut chunk = [0u8; 8192];
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => rest.extend_from_slice(&chunk[..n]),
            }
        }
        buf = rest.split_off(content_length);
        let body_len = rest.len();
        let target = request_line.split(' ').nth(1).unwrap_or("/").to_string();
        let (status, body) = if target.starts_with("/healthz") {
            inner.health_hits.fetch_add(1, Relaxed);
            (inner.health_status.load(Relaxed), "health\n".to_string())
        } else {
            inner.hits.fetch_add(1, Relaxed);
            let sleep = target
                .split_once("sleep_ms=")
                .and_then(|(_, v)| v.split('&').next()?.parse::<u64>().ok())
                .unwrap_or(0)
                + inner.delay_ms.load(Relaxed);
            if sleep > 0 {
                tokio::time::sleep(Duration::from_millis(sleep)).await;
            }
            (
                inner.status.load(Relaxed),
                format!("{} {} body={body_len}\n", inner.name, target),
            )
        };
        let response = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nx-backend: {}\r\n{echoed}{}\r\n{body}",
            body.len(),
            inner.name,
            if close { "connection: close\r\n" } else { "" },
        );
        if s.write_all(response.as_bytes()).await.is_err() || close {
            return;
        }
    }
}

/// Reads until a full request head is in `buf`; returns the offset after `\r\n\r\n`.
async fn read_head<S: AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> Option<usize> {
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(i + 4);
        }
        if buf.len() > 1 << 20 {
            return None;
        }
        let mut chunk = [0u8; 8192];
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}
