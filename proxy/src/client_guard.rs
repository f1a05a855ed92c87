//! The HTTP/1 front door: reads each request head under Weir's limits before Pingora parses
//! it, so slow and oversized heads get a real answer instead of a silent close.
//!
//! Pingora reads request heads with a per-read timeout only (and answers an overlong head with
//! 400). This guard waits for the first byte of a request (up to the keep-alive timeout; an
//! idle connection just closes), then gives the whole head `client_timeout_ms` (else 408) and
//! `max_header_bytes` (else 431). The bytes read are handed to Pingora as the session's
//! pipelined prefix, so nothing is parsed twice. HTTP/2 connections (ALPN or h2c preface) go
//! straight to Pingora, whose h2 stack has its own limits.

use crate::pages::page;
use crate::state::Shared;
use async_trait::async_trait;
use bytes::BytesMut;
use pingora::apps::{HttpServerApp, ServerApp};
use pingora::protocols::http::ServerSession;
use pingora::protocols::{Stream, ALPN};
use pingora::server::ShutdownWatch;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout, Instant};

/// How long an idle keep-alive connection waits for its next request.
const KEEPALIVE: Duration = Duration::from_secs(60);
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Wraps the Pingora proxy app `A` with the head guard.
pub struct ClientGuard<A> {
    /// The proxy app.
    pub inner: Arc<A>,
    /// Node state (for the current limits).
    pub shared: Arc<Shared>,
    /// Whether cleartext HTTP/2 is accepted.
    pub h2c: bool,
}

/// What reading a request head came to.
enum Head {
    /// A complete head (and maybe the start of the body) is in the buffer.
    Complete(BytesMut),
    /// The client closed or stayed idle: close quietly.
    Idle,
    /// Answer with this status and close.
    Refuse(u16),
}

async fn read_head(
    stream: &mut Stream,
    limit: usize,
    head_timeout: Duration,
    shutdown: &ShutdownWatch,
) -> Head {
    let mut buf = BytesMut::with_capacity(4096);
    let mut stop = shutdown.clone();
    let first = tokio::select! {
        biased;
        r = timeout(KEEPALIVE, stream.read_buf(&mut buf)) => r,
        _ = stop.wait_for(|down| *down) => return Head::Idle,
    };
    match first {
        Ok(Ok(n)) if n > 0 => {}
        _ => return Head::Idle,
    }
    let deadline = Instant::now() + head_timeout;
    let mut scanned: usize = 0;
    loop {
        let from = scanned.saturating_sub(3);
        if buf[from..].windows(4).any(|w| w == b"\r\n\r\n") {
            return Head::Complete(buf);
        }
        scanned = buf.len();
        if buf.len() > limit {
            return Head::Refuse(431);
        }
        match tokio::time::timeout_at(deadline, stream.read_buf(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {}
            Ok(_) => return Head::Idle,
            Err(_) => return Head::Refuse(408),
        }
    }
}

async fn refuse(mut stream: Stream, status: u16) {
    let body = page(status);
    let reason = match status {
        408 => "Request Timeout",
        _ => "Request Header Fields Too Large",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(&body).await;
    let _ = stream.flush().await;
    let _ = stream.shutdown().await;
}

#[async_trait]
impl<A> ServerApp for ClientGuard<A>
where
    A: HttpServerApp + ServerApp + Send + Sync + 'static,
{
    async fn process_new(
        self: &Arc<Self>,
        mut stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        let is_tls = stream.get_ssl_digest().is_some();
        let is_h2 = if is_tls {
            matches!(stream.selected_alpn_proto(), Some(ALPN::H2))
        } else if self.h2c {
            let mut preface = [0u8; H2_PREFACE.len()];
            matches!(stream.try_peek(&mut preface).await, Ok(true)) && preface == H2_PREFACE
        } else {
            false
        };
        if is_h2 {
            return ServerApp::process_new(&self.inner, stream, shutdown).await;
        }
        let mut settings = None;
        loop {
            let (limit, head_timeout) = {
                let runtime = self.shared.runtime();
                (
                    runtime.settings.max_header_bytes,
                    Duration::from_millis(runtime.settings.client_timeout_ms),
                )
            };
            let prefix = match read_head(&mut stream, limit, head_timeout, shutdown).await {
                Head::Complete(prefix) => prefix,
                Head::Idle => return None,
                Head::Refuse(status) => {
                    refuse(stream, status).await;
                    return None;
                }
            };
            let mut session = ServerSession::new_http1(stream);
            match settings.take() {
                Some(persistent) => pingora::apps::HttpPersistentSettings::apply_to_session(
                    persistent,
                    &mut session,
                ),
                None => session.set_keepalive(Some(KEEPALIVE.as_secs())),
            }
            if *shutdown.borrow() {
                session.set_keepalive(None);
            }
            session.set_pipelined_prefix(prefix);
            let reused = self.inner.process_new_http(session, shutdown).await?;
            let (next, persistent) = reused.consume();
            stream = next;
            settings = persistent;
        }
    }

    async fn cleanup(&self) {
        ServerApp::cleanup(self.inner.as_ref()).await;
    }
}
