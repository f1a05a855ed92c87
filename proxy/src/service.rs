//! The proxy service: Weir's request path on Pingora's phases.
//!
//! | phase | what Weir does |
//! |---|---|
//! | `new_ctx` | takes the config snapshot in force; the request keeps it to the end, so a reload never changes a request half-way |
//! | `early_request_filter` | sets the client read timeout, works out the client IP (the peer, or `X-Forwarded-For` from a trusted proxy), checks the header size (431), resolves the site by Host / `:authority`, applies the site's rate limit; refusals are recorded, not yet sent |
//! | `request_filter` | sends the recorded refusal: Weir's 404 for an unknown site, 429 with `Retry-After`, 431; then (sites with plugins only) looks up the client's country once and runs the site's plugin chain (`on-request`): header edits, route-to, rewrite, or an early answer / redirect; a failing plugin gives 503 (or is skipped under `fail_open`) |
//! | (request body) | when a plugin wants the request body and it has a known length within `max_body_bytes` and 64 KiB, `request_filter` reads it ahead into Pingora's retry buffer and runs `on-request-body` (which may answer, e.g. a WAF 403, before the backend sees anything, or replace the body); `request_body_filter` sends the replacement |
//! | `upstream_peer` | picks a backend: the site's pool, then its backup chain, skipping backends that are ejected, down, drained or already tried by this request |
//! | `fail_to_connect` | passive check: ejects the backend for `eject_ms`; the request is retried elsewhere (nothing was sent) |
//! | `upstream_request_filter` | appends the peer's address to `X-Forwarded-For`; sets `X-Forwarded-Proto` |
//! | `error_while_proxy` | retries idempotent requests whose body was buffered and whose response has not started |
//! | `upstream_response_filter` | passive check: a status in `passive_statuses` ejects the backend; then the chain's `on-response` (reverse order) edits the head; when a plugin wants the response body, `Content-Length` is dropped (chunked for HTTP/1.1) |
//! | `response_body_filter` | holds the body (up to the plugins' `max_body_bytes`; larger bodies pass through untouched) and hands it whole to `on-response-body` at the end |
//! | `fail_to_proxy` | answers with Weir's pages: the site's maintenance page with 503 + `Retry-After` when no backend is left, 408 for a slow client, 502/504 for upstream failures |
//! | `logging` | metrics and one JSON access-log line |

use crate::backend::{BackendState, InFlight};
use crate::balancer::PoolState;
use crate::metrics::status_class;
use crate::pages::page;
use crate::plugin_host::{ChainStop, HeaderOp};
use crate::runtime::{Runtime, SiteRuntime};
use crate::state::Shared;
use async_trait::async_trait;
use bytes::Bytes;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::protocols::Digest;
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use pingora::upstreams::peer::HttpPeer;
use pingora::{Error, ErrorSource, ErrorType, Result};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_sdk_wit::bindings::weir::plugin::types::{
    Hooks, Reply, Request as PluginRequest, Response as PluginResponse, TlsInfo,
};

/// Weir's [`ProxyHttp`] implementation.
#[derive(Debug)]
pub struct WeirProxy {
    /// Node state.
    pub shared: Arc<Shared>,
}

/// Why Weir answers a request itself instead of proxying it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    UnknownSite,
    RateLimited { retry_after_s: u64 },
    HeaderTooLarge,
}

/// Per-request state shared across the phases.
pub struct RequestCtx {
    runtime: Arc<Runtime>,
    site: Option<Arc<SiteRuntime>>,
    started: Instant,
    /// The TCP peer.
    peer_ip: Option<IpAddr>,
    /// The client: the peer, or what a trusted proxy says (see `client_ip.rs`).
    client_ip: Option<IpAddr>,
    refusal: Option<Refusal>,
    tried: Vec<Arc<BackendState>>,
    current: Option<(Arc<PoolState>, InFlight)>,
    no_backend: bool,
    route_to: Option<String>,
    plugin_request: Option<PluginRequest>,
    plugin_failed: bool,
    response_body: Option<HeldBody>,
    request_body_replacement: Option<Bytes>,
    _in_flight: NodeInFlight,
}

/// The largest request body read ahead for `on-request-body` plugins: Pingora's retry buffer,
/// which replays it to the backend, holds 64 KiB.
const REQUEST_BODY_READ_AHEAD: usize = 64 << 10;

/// A response body held back for the chain's `on-response-body` plugins.
struct HeldBody {
    data: bytes::BytesMut,
    limit: usize,
    view: PluginResponse,
}

/// Counts a request in the node-wide in-flight gauge for as long as it lives.
struct NodeInFlight(prometheus::IntGauge);

impl NodeInFlight {
    fn new(gauge: &prometheus::IntGauge) -> Self {
        gauge.inc();
        NodeInFlight(gauge.clone())
    }
}

impl Drop for NodeInFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Approximate size of the request head as sent: request line plus `name: value\r\n` lines.
fn header_bytes(req: &RequestHeader) -> usize {
    let target = req.uri.path_and_query().map_or(1, |pq| pq.as_str().len())
        + req.uri.authority().map_or(0, |a| a.as_str().len());
    let line = req.method.as_str().len() + target + 12;
    line + req
        .headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum::<usize>()
}

/// The host a request is for: `:authority` (HTTP/2, absolute URI) or the Host header.
fn request_host(req: &RequestHeader) -> Option<&str> {
    req.uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| req.headers.get(http::header::HOST)?.to_str().ok())
}

fn is_tls(session: &Session) -> bool {
    session
        .digest()
        .is_some_and(|d: &Digest| d.ssl_digest.is_some())
}

/// Writes one of Weir's pages (or the site's maintenance page) as a complete response.
async fn send_page(
    session: &mut Session,
    status: u16,
    body: Bytes,
    retry_after_s: Option<u64>,
) -> Result<()> {
    let mut resp = ResponseHeader::build(status, Some(5))?;
    resp.insert_header("content-type", "text/html; charset=utf-8")?;
    resp.insert_header("content-length", body.len().to_string())?;
    resp.insert_header("cache-control", "no-store")?;
    if let Some(s) = retry_after_s {
        resp.insert_header("retry-after", s.to_string())?;
    }
    let head_only = session.req_header().method == http::Method::HEAD;
    session
        .write_response_header(Box::new(resp), head_only)
        .await?;
    if !head_only {
        session.write_response_body(Some(body), true).await?;
    }
    Ok(())
}

/// Header name/value pairs as plugins see them (values that are not UTF-8 are made lossy).
fn header_pairs(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// The request as the site's plugins see it, with the client's `country`.
fn plugin_request(
    session: &Session,
    ctx: &RequestCtx,
    site: &SiteRuntime,
    country: Option<String>,
) -> PluginRequest {
    let req = session.req_header();
    let host = request_host(req).unwrap_or_default();
    let host = host
        .rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h);
    let tls = session
        .digest()
        .and_then(|d| d.ssl_digest.as_ref())
        .map(|ssl| TlsInfo {
            version: ssl.version.to_string(),
            sni: None,
        });
    PluginRequest {
        method: req.method.as_str().to_string(),
        scheme: if tls.is_some() { "https" } else { "http" }.to_string(),
        host: host.to_ascii_lowercase(),
        path: req.uri.path().to_string(),
        query: req.uri.query().unwrap_or_default().to_string(),
        headers: header_pairs(&req.headers),
        client_ip: ctx.client_ip.map(|ip| ip.to_string()).unwrap_or_default(),
        country,
        tls,
        site_id: site.id.clone(),
        tenant_id: site.tenant.clone(),
    }
}

fn apply_request_op(req: &mut RequestHeader, op: &HeaderOp) -> Result<()> {
    match op {
        HeaderOp::Set(name, value) => req.insert_header(name.clone(), value.as_str()),
        HeaderOp::Remove(name) => {
            req.remove_header(name.as_str());
            Ok(())
        }
    }
}

/// Sends a plugin's own answer.
async fn send_reply(session: &mut Session, reply: Reply) -> Result<()> {
    let mut resp = ResponseHeader::build(reply.status, Some(reply.headers.len() + 1))?;
    for (name, value) in &reply.headers {
        resp.insert_header(name.clone(), value.as_str())?;
    }
    resp.insert_header("content-length", reply.body.len().to_string())?;
    let head_only = session.req_header().method == http::Method::HEAD || reply.body.is_empty();
    session
        .write_response_header(Box::new(resp), head_only)
        .await?;
    if !head_only {
        session
            .write_response_body(Some(Bytes::from(reply.body)), true)
            .await?;
    }
    Ok(())
}

impl WeirProxy {
    /// Prepares to hold the response body for `on-response-body` plugins: drops
    /// `Content-Length` (the body may change) and frames it chunked for HTTP/1.1 clients.
    /// Bodies that cannot have content, and bodies announced larger than any plugin wants,
    /// are not held at all.
    fn hold_response_body(
        &self,
        session: &Session,
        upstream_response: &mut ResponseHeader,
        ctx: &mut RequestCtx,
        view: PluginResponse,
    ) -> Result<()> {
        let Some(site) = &ctx.site else {
            return Ok(());
        };
        let limit = site.chain.max_body(Hooks::RESPONSE_BODY);
        let status = upstream_response.status.as_u16();
        let no_body = matches!(status, 100..=199 | 204 | 304)
            || session.req_header().method == http::Method::HEAD;
        let announced = upstream_response
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
        if no_body || announced.is_some_and(|n| n > limit) {
            return Ok(());
        }
        upstream_response.remove_header(&http::header::CONTENT_LENGTH);
        if !session.is_http2() && session.req_header().version == http::Version::HTTP_11 {
            upstream_response.insert_header(http::header::TRANSFER_ENCODING, "chunked")?;
        }
        ctx.response_body = Some(HeldBody {
            data: bytes::BytesMut::with_capacity(announced.unwrap_or(8192).min(limit)),
            limit,
            view,
        });
        Ok(())
    }

    /// Reads a request body of known length that fits every limit ahead of the backend, hands
    /// it to the chain's `on-request-body` plugins, and keeps it in Pingora's retry buffer to
    /// send on. A body of unknown length (chunked) or over the limit is not read ahead: it
    /// streams to the backend and the hook is not called. `Ok(Err(stop))` when a plugin
    /// answered or failed.
    async fn request_body_hook(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
        site: &SiteRuntime,
        view: &PluginRequest,
    ) -> Result<std::result::Result<(), ChainStop>> {
        let limit = site
            .chain
            .max_body(Hooks::REQUEST_BODY)
            .min(REQUEST_BODY_READ_AHEAD);
        let length = session
            .req_header()
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
        let Some(length) = length.filter(|n| (1..=limit).contains(n)) else {
            return Ok(Ok(()));
        };
        session.as_mut().enable_retry_buffering();
        let mut body = Vec::with_capacity(length);
        while let Some(chunk) = session.read_request_body().await? {
            body.extend_from_slice(&chunk);
        }
        match site.chain.on_request_body(view, body) {
            Ok(Some(new)) => {
                session
                    .req_header_mut()
                    .insert_header(http::header::CONTENT_LENGTH, new.len().to_string())?;
                ctx.request_body_replacement = Some(Bytes::from(new));
                Ok(Ok(()))
            }
            Ok(None) => Ok(Ok(())),
            Err(stop) => {
                session.set_keepalive(None);
                Ok(Err(stop))
            }
        }
    }

    /// Answers a request the plugin chain stopped: its reply, its redirect, or 503.
    async fn answer_stop(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
        stop: ChainStop,
    ) -> Result<()> {
        match stop {
            ChainStop::Respond(reply) => send_reply(session, reply).await,
            ChainStop::Redirect(status, location) => {
                let reply = Reply {
                    status,
                    headers: vec![("location".into(), location)],
                    body: Vec::new(),
                };
                send_reply(session, reply).await
            }
            ChainStop::Failed { .. } => {
                ctx.plugin_failed = true;
                send_page(session, 503, page(503), None).await
            }
        }
    }

    fn count_upstream_error(&self, ctx: &RequestCtx, kind: &str) {
        if let Some((pool, flight)) = &ctx.current {
            self.shared
                .metrics
                .upstream_errors
                .with_label_values(&[pool.id.as_str(), flight.backend().addr.as_str(), kind])
                .inc();
        }
    }
}

#[async_trait]
impl ProxyHttp for WeirProxy {
    type CTX = RequestCtx;

    /// No downstream modules: Pingora's default adds a (disabled) compression module that
    /// would still run on every request. Compression, when it comes, will be a deliberate
    /// per-site feature.
    fn init_downstream_modules(&self, _modules: &mut pingora::modules::http::HttpModules) {}

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx {
            runtime: self.shared.runtime(),
            site: None,
            started: Instant::now(),
            peer_ip: None,
            client_ip: None,
            refusal: None,
            tried: Vec::new(),
            current: None,
            no_backend: false,
            route_to: None,
            plugin_request: None,
            plugin_failed: false,
            response_body: None,
            request_body_replacement: None,
            _in_flight: NodeInFlight::new(&self.shared.metrics.in_flight),
        }
    }

    async fn early_request_filter(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        let settings = &ctx.runtime.settings;
        session.set_read_timeout(Some(Duration::from_millis(settings.client_timeout_ms)));
        ctx.peer_ip = session
            .client_addr()
            .and_then(|a| a.as_inet())
            .map(|a| a.ip());
        let req = session.req_header();
        ctx.client_ip = ctx.peer_ip.map(|peer| {
            let forwarded = req.headers.get_all("x-forwarded-for").iter();
            ctx.runtime
                .trusted_proxies
                .client_ip(peer, forwarded.map(|v| v.as_bytes()))
        });
        if header_bytes(req) > settings.max_header_bytes {
            ctx.refusal = Some(Refusal::HeaderTooLarge);
            return Ok(());
        }
        ctx.site = request_host(req).and_then(|h| ctx.runtime.site_for_host(h).cloned());
        let Some(site) = &ctx.site else {
            ctx.refusal = Some(Refusal::UnknownSite);
            return Ok(());
        };
        if let (Some(limiter), Some(ip)) = (&site.limiter, ctx.client_ip) {
            if let Err(retry_after_s) = limiter.admit(ip) {
                self.shared
                    .metrics
                    .rate_limited
                    .with_label_values(&[site.id.as_str()])
                    .inc();
                ctx.refusal = Some(Refusal::RateLimited { retry_after_s });
            }
        }
        Ok(())
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        if let Some(refusal) = ctx.refusal {
            let (status, retry_after) = match refusal {
                Refusal::UnknownSite => (404, None),
                Refusal::RateLimited { retry_after_s } => (429, Some(retry_after_s)),
                Refusal::HeaderTooLarge => (431, None),
            };
            if status == 431 {
                session.set_keepalive(None);
            }
            send_page(session, status, page(status), retry_after).await?;
            return Ok(true);
        }
        let Some(site) = ctx.site.clone() else {
            return Ok(false);
        };
        if site.chain.plugins.is_empty() {
            return Ok(false);
        }
        let wants_request = site.chain.wants(Hooks::REQUEST);
        let country = ctx
            .client_ip
            .and_then(|ip| self.shared.plugins.geo.country(ip));
        let mut view = plugin_request(session, ctx, &site, country);
        if wants_request {
            let runtime = Arc::clone(&ctx.runtime);
            match site
                .chain
                .on_request(&mut view, |pool| runtime.pools.contains_key(pool))
            {
                Ok(edits) => {
                    let req = session.req_header_mut();
                    for op in &edits.headers {
                        apply_request_op(req, op)?;
                    }
                    if let Some(path) = &edits.rewrite_path {
                        let uri = http::Uri::try_from(path.as_str()).map_err(|e| {
                            Error::because(ErrorType::InternalError, "plugin rewrite", e)
                        })?;
                        req.set_uri(uri);
                    }
                    ctx.route_to = edits.route_to;
                }
                Err(stop) => {
                    self.answer_stop(session, ctx, stop).await?;
                    return Ok(true);
                }
            }
        }
        if site.chain.wants(Hooks::REQUEST_BODY) {
            if let Err(stop) = self.request_body_hook(session, ctx, &site, &view).await? {
                self.answer_stop(session, ctx, stop).await?;
                return Ok(true);
            }
        }
        ctx.plugin_request = Some(view);
        Ok(false)
    }

    async fn request_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        _end_of_stream: bool,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        // The body was read ahead and replaced by a plugin: the (replayed) original goes out
        // as the replacement, on every attempt.
        if let (Some(replacement), Some(_)) = (&ctx.request_body_replacement, body.as_ref()) {
            *body = Some(replacement.clone());
        }
        Ok(())
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> Result<Box<HttpPeer>> {
        let Some(site) = ctx.site.clone() else {
            return Error::e_explain(ErrorType::InternalError, "no site resolved");
        };
        // Release the previous attempt's backend before choosing again.
        ctx.current = None;
        let Some((pool, backend)) = ctx.runtime.pick(&site, ctx.route_to.as_deref(), &ctx.tried)
        else {
            ctx.no_backend = true;
            return Error::e_explain(
                ErrorType::Custom("no backend available"),
                format!(
                    "site {}: every backend is down, ejected, drained or tried",
                    site.id
                ),
            );
        };
        let settings = &ctx.runtime.settings;
        let mut peer = HttpPeer::new(backend.socket, backend.tls, backend.sni.clone());
        peer.options.connection_timeout = Some(Duration::from_millis(settings.connect_timeout_ms));
        peer.options.read_timeout = Some(Duration::from_millis(settings.upstream_timeout_ms));
        peer.options.write_timeout = Some(Duration::from_millis(settings.upstream_timeout_ms));
        if backend.tls {
            peer.options.ca = pool.tls_ca.clone();
        }
        ctx.tried.push(Arc::clone(&backend));
        ctx.current = Some((pool, backend.acquire()));
        Ok(Box::new(peer))
    }

    fn fail_to_connect(
        &self,
        _session: &mut Session,
        _peer: &HttpPeer,
        ctx: &mut RequestCtx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        self.count_upstream_error(ctx, "connect");
        if let Some((pool, flight)) = &ctx.current {
            flight.backend().eject(pool.health.eject_ms);
            tracing::warn!(pool = %pool.id, backend = %flight.backend().addr, error = %e, "connect failed; backend ejected");
        }
        // Nothing reached the backend, so any request may go elsewhere.
        e.set_retry(true);
        e
    }

    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream_request: &mut RequestHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        // Each hop appends the address it was connected from (to every value received, as
        // one list: several X-Forwarded-For lines are one list in order).
        if let Some(ip) = ctx.peer_ip {
            let mut forwarded = String::new();
            for prev in upstream_request.headers.get_all("x-forwarded-for") {
                forwarded.push_str(&String::from_utf8_lossy(prev.as_bytes()));
                forwarded.push_str(", ");
            }
            forwarded.push_str(&ip.to_string());
            upstream_request.insert_header("x-forwarded-for", forwarded)?;
        }
        let proto = if is_tls(session) { "https" } else { "http" };
        upstream_request.insert_header("x-forwarded-proto", proto)?;
        Ok(())
    }

    fn error_while_proxy(
        &self,
        peer: &HttpPeer,
        session: &mut Session,
        e: Box<Error>,
        ctx: &mut RequestCtx,
        _client_reused: bool,
    ) -> Box<Error> {
        self.count_upstream_error(ctx, "proxy");
        let mut e = e.more_context(format!("peer: {peer}"));
        // A client that went away is not a reason to try another backend.
        let retry = !ctx.plugin_failed
            && *e.esource() != ErrorSource::Downstream
            && session.req_header().method.is_idempotent()
            && !session.as_ref().retry_buffer_truncated()
            && session.response_written().is_none();
        e.set_retry(retry);
        e
    }

    async fn upstream_response_filter(
        &self,
        session: &mut Session,
        upstream_response: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        let status = upstream_response.status.as_u16();
        if let Some((pool, flight)) = &ctx.current {
            if pool.health.passive_statuses.contains(&status) {
                flight.backend().eject(pool.health.eject_ms);
                self.count_upstream_error(ctx, "status");
                tracing::warn!(pool = %pool.id, backend = %flight.backend().addr, status, "passive check: backend ejected");
            }
        }
        let (Some(site), Some(view)) = (&ctx.site, &ctx.plugin_request) else {
            return Ok(());
        };
        let wants_body = site.chain.wants(Hooks::RESPONSE_BODY);
        if !site.chain.wants(Hooks::RESPONSE) && !wants_body {
            return Ok(());
        }
        let mut resp = PluginResponse {
            status,
            headers: header_pairs(&upstream_response.headers),
        };
        if site.chain.wants(Hooks::RESPONSE) {
            match site.chain.on_response(view, &mut resp) {
                Ok(edits) => {
                    for op in &edits.headers {
                        match op {
                            HeaderOp::Set(name, value) => {
                                upstream_response.insert_header(name.clone(), value.as_str())?;
                            }
                            HeaderOp::Remove(name) => {
                                upstream_response.remove_header(name.as_str());
                            }
                        }
                    }
                    if let Some(status) = edits.status {
                        upstream_response.set_status(status)?;
                    }
                }
                Err(stop) => {
                    ctx.plugin_failed = true;
                    let reason = stop.to_string();
                    return Error::e_explain(ErrorType::HTTPStatus(503), reason);
                }
            }
        }
        if wants_body {
            self.hold_response_body(session, upstream_response, ctx, resp)?;
        }
        Ok(())
    }

    fn response_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut RequestCtx,
    ) -> Result<Option<Duration>> {
        let Some(held) = ctx.response_body.as_mut() else {
            return Ok(None);
        };
        if let Some(chunk) = body.take() {
            held.data.extend_from_slice(&chunk);
        }
        if held.data.len() > held.limit {
            // Larger than any plugin wants: release what was held and stop holding.
            *body = Some(std::mem::take(&mut held.data).freeze());
            ctx.response_body = None;
            return Ok(None);
        }
        if !end_of_stream {
            return Ok(None);
        }
        let (Some(held), Some(site), Some(view)) =
            (ctx.response_body.take(), &ctx.site, &ctx.plugin_request)
        else {
            return Ok(None);
        };
        match site
            .chain
            .on_response_body(view, &held.view, held.data.to_vec())
        {
            Ok(out) => {
                *body = Some(Bytes::from(out));
                Ok(None)
            }
            Err(stop) => {
                // The head is already on its way: the response can only be cut short.
                let reason = stop.to_string();
                Error::e_explain(
                    ErrorType::InternalError,
                    format!("response body aborted: {reason}"),
                )
            }
        }
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &Error,
        ctx: &mut RequestCtx,
    ) -> FailToProxy {
        let downstream_gone = matches!(
            e.etype(),
            ErrorType::WriteError | ErrorType::ReadError | ErrorType::ConnectionClosed
        ) && *e.esource() == ErrorSource::Downstream;
        let status = if ctx.no_backend {
            503
        } else {
            match (e.etype(), e.esource()) {
                (ErrorType::HTTPStatus(code), _) => *code,
                (_, ErrorSource::Downstream) if downstream_gone => 0,
                (ErrorType::ReadTimedout, ErrorSource::Downstream) => 408,
                (_, ErrorSource::Downstream) => 400,
                (ErrorType::ReadTimedout | ErrorType::WriteTimedout, ErrorSource::Upstream)
                | (ErrorType::ConnectTimedout, _) => 504,
                (_, ErrorSource::Upstream) => 502,
                _ => 500,
            }
        };
        if status > 0 && session.response_written().is_none() {
            let (body, retry_after) = match (&ctx.site, status) {
                (Some(site), 503) => (
                    site.error_page.clone().unwrap_or_else(|| page(503)),
                    Some(u64::from(site.retry_after_s)),
                ),
                _ => (page(status), None),
            };
            if let Err(write_error) = send_page(session, status, body, retry_after).await {
                tracing::debug!(error = %write_error, "could not send the error page");
            }
        }
        FailToProxy {
            error_code: status,
            can_reuse_downstream: false,
        }
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut RequestCtx) {
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        let elapsed = ctx.started.elapsed();
        let site_id = ctx.site.as_ref().map_or("-", |s| s.id.as_str());
        let metrics = &self.shared.metrics;
        metrics
            .requests
            .with_label_values(&[site_id, status_class(status)])
            .inc();
        metrics
            .latency
            .with_label_values(&[site_id])
            .observe(elapsed.as_secs_f64());
        if let Some(site) = &ctx.site {
            // Countries only when the node has a geo database (`--`: it does not know).
            let country = self.shared.plugins.geo.current().map(|db| {
                ctx.client_ip
                    .and_then(|ip| db.country(ip))
                    .unwrap_or_else(|| "--".to_string())
            });
            metrics.rollups.record_request(
                &site.id,
                status,
                u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
                session.body_bytes_read() as u64,
                session.body_bytes_sent() as u64,
                session.req_header().uri.path(),
                country.as_deref(),
            );
        }
        if !ctx.runtime.settings.access_log {
            return;
        }
        let req = session.req_header();
        let (pool, backend) = ctx.current.as_ref().map_or(("-", "-"), |(p, f)| {
            (p.id.as_str(), f.backend().addr.as_str())
        });
        tracing::info!(
            target: "weir::access",
            site = site_id,
            method = %req.method,
            host = request_host(req).unwrap_or("-"),
            path = req.uri.path(),
            status,
            pool,
            backend,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            bytes_sent = session.body_bytes_sent(),
            bytes_received = session.body_bytes_read(),
            client_ip = %ctx.client_ip.map_or_else(|| "-".to_string(), |ip| ip.to_string()),
            retries = ctx.tried.len().saturating_sub(1),
            error = %e.map_or_else(String::new, |e| e.etype().as_str().to_string()),
        );
    }
}
