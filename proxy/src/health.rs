//! Active health checks: every pool with `health.path` is probed each `interval_ms` with an
//! HTTP/1.1 GET (over TLS for TLS backends). A 2xx or 3xx within `timeout_ms` passes; the
//! backend goes down after `fail_after` failures in a row and comes back after `pass_after`
//! passes. (Passive checks live in the proxy service: a status in `passive_statuses` or a
//! connect error ejects the backend for `eject_ms`.)

use crate::backend::BackendState;
use crate::balancer::PoolState;
use crate::state::Shared;
use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use rustls::pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// How often the checker looks for due pools.
const TICK: Duration = Duration::from_millis(20);

/// The background service running active checks.
#[derive(Debug)]
pub struct HealthChecker {
    /// Node state.
    pub shared: Arc<Shared>,
}

#[async_trait]
impl BackgroundService for HealthChecker {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            let runtime = self.shared.runtime();
            for pool in runtime.pools.values() {
                if pool.health.path.is_none() || !pool.check_due() {
                    continue;
                }
                for backend in &pool.backends {
                    if backend.begin_check() {
                        tokio::spawn(check_one(Arc::clone(pool), Arc::clone(backend)));
                    }
                }
            }
        }
    }
}

async fn check_one(pool: Arc<PoolState>, backend: Arc<BackendState>) {
    let h = &pool.health;
    let result = tokio::time::timeout(Duration::from_millis(h.timeout_ms), probe(&pool, &backend))
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} ms", h.timeout_ms)));
    if backend.record_check(result.is_ok(), h.fail_after, h.pass_after) {
        match &result {
            Ok(status) => {
                tracing::info!(pool = %pool.id, backend = %backend.addr, status, "backend is up")
            }
            Err(reason) => {
                tracing::warn!(pool = %pool.id, backend = %backend.addr, %reason, "backend is down")
            }
        }
    }
    backend.end_check();
}

/// One probe: the status of a 2xx/3xx answer, or why it failed.
async fn probe(pool: &PoolState, backend: &BackendState) -> Result<u16, String> {
    let path = pool.health.path.as_deref().unwrap_or("/");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: weir-health-check\r\nConnection: close\r\n\r\n",
        backend.sni
    );
    let tcp = TcpStream::connect(&backend.addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let status = if backend.tls {
        let config = pool
            .check_tls
            .clone()
            .ok_or_else(|| "no TLS client config".to_string())?;
        let name = ServerName::try_from(backend.sni.clone())
            .map_err(|e| format!("bad server name `{}`: {e}", backend.sni))?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        exchange(tls, &request).await?
    } else {
        exchange(tcp, &request).await?
    };
    if (200..400).contains(&status) {
        Ok(status)
    } else {
        Err(format!("status {status}"))
    }
}

/// Sends `request` and reads the status code of the answer's status line.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    request: &str,
) -> Result<u16, String> {
    s.write_all(request.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    while !buf.windows(2).any(|w| w == b"\r\n") {
        if buf.len() > 4096 {
            return Err("status line too long".into());
        }
        let n = s.read(&mut chunk).await.map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("connection closed before a status line".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    parse_status_line(&buf).ok_or_else(|| "not an HTTP response".to_string())
}

fn parse_status_line(buf: &[u8]) -> Option<u16> {
    let line = buf.split(|&b| b == b'\r').next()?;
    let mut parts = line.split(|&b| b == b' ');
    let version = parts.next()?;
    if !version.starts_with(b"HTTP/1.") {
        return None;
    }
    std::str::from_utf8(parts.next()?).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_status_line;

    #[test]
    fn status_lines_parse() {
        assert_eq!(parse_status_line(b"HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(parse_status_line(b"HTTP/1.0 503\r\n"), Some(503));
        assert_eq!(parse_status_line(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status_line(b"HTTP/1.1 abc\r\n"), None);
    }
}
