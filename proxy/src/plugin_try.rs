//! `weir plugin test`: runs a plugin's `on-request` on a sample request outside any proxy and
//! describes what it did, so authors can try a filter without running a node.
//! `weir plugin bench`: measures the host's per-call cost of a chain of copies of a plugin,
//! on warm instances and on fresh ones; with a response body, the throughput of its
//! `on-response-body` instead.

use crate::metrics::Metrics;
use crate::plugin_host::{Chain, ChainStop, LoadedPlugin, PluginEngine};
use serde::Deserialize;
use std::sync::Arc;
use weir_bundle::PluginRef;
use weir_sdk_wit::bindings::weir::plugin::types::{Request, Response};

/// A sample request as JSON; every field has a default.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct SampleRequest {
    method: String,
    scheme: String,
    host: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    client_ip: String,
    country: Option<String>,
}

impl Default for SampleRequest {
    fn default() -> Self {
        SampleRequest {
            method: "GET".into(),
            scheme: "http".into(),
            host: "example.test".into(),
            path: "/".into(),
            query: String::new(),
            headers: Vec::new(),
            client_ip: "203.0.113.9".into(),
            country: None,
        }
    }
}

fn load_chain(component: &[u8], config: serde_json::Value, copies: usize) -> Result<Chain, String> {
    let engine = PluginEngine::new(Metrics::new())?;
    let (version, compiled) = engine.component(component).map_err(|e| e.to_string())?;
    let plugins = (0..copies)
        .map(|i| {
            let plugin_ref = PluginRef {
                name: format!("p{i}"),
                source: String::new(),
                config: config.clone(),
                on_error: weir_bundle::FailurePolicy::FailClosed,
                deadline_ms: 100,
                memory_mb: 64,
                max_body_bytes: 1 << 20,
            };
            LoadedPlugin::load(&engine, &compiled, &version, "test", "test", &plugin_ref)
        })
        .collect::<Result<_, _>>()?;
    Ok(Chain { plugins })
}

/// Validates and compiles `component` (once per content, as [`PluginEngine::component`]) and
/// runs its `init` with `config`, as a node would when loading it: `Ok(sha256)` when the plugin
/// accepts the config, else its reason. The portal checks uploads and site configs with this.
pub fn check_plugin(
    engine: &Arc<PluginEngine>,
    component: &[u8],
    config: &serde_json::Value,
) -> Result<String, String> {
    let (version, compiled) = engine.component(component).map_err(|e| e.to_string())?;
    let plugin_ref = PluginRef {
        name: "check".into(),
        source: String::new(),
        config: config.clone(),
        on_error: weir_bundle::FailurePolicy::FailClosed,
        deadline_ms: 1000,
        memory_mb: 64,
        max_body_bytes: 1 << 20,
    };
    LoadedPlugin::load(engine, &compiled, &version, "check", "check", &plugin_ref)?;
    Ok(version)
}

fn sample_request(sample: SampleRequest) -> Request {
    Request {
        method: sample.method,
        scheme: sample.scheme,
        host: sample.host,
        path: sample.path,
        query: sample.query,
        headers: sample
            .headers
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect(),
        client_ip: sample.client_ip,
        country: sample.country,
        tls: None,
        site_id: "test".into(),
        tenant_id: "test".into(),
    }
}

/// Nanoseconds per chain run (p50, p99) over `iterations`, with `fresh` instances or warm ones.
fn time_chain(
    chain: &Chain,
    req: &Request,
    iterations: usize,
    fresh: bool,
) -> Result<(u64, u64), String> {
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        if fresh {
            chain.plugins.iter().for_each(|p| p.drop_warm());
        }
        let mut view = req.clone();
        let started = std::time::Instant::now();
        match chain.on_request(&mut view, |_| true) {
            Ok(_) | Err(ChainStop::Respond(_)) | Err(ChainStop::Redirect(..)) => {}
            Err(ChainStop::Failed { reason, .. }) => {
                return Err(format!("plugin failed: {reason}"))
            }
        }
        samples.push(u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX));
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    Ok((at(0.5), at(0.99)))
}

/// What `weir plugin bench` measures.
#[derive(Debug, Clone, Default)]
pub struct BenchOptions {
    /// Calls per measurement (at least 100).
    pub iterations: usize,
    /// The plugin's config as JSON text; empty means `{}`.
    pub config: String,
    /// A sample request as JSON (see `weir plugin test`); `None` means a GET with ten headers.
    pub request: Option<String>,
    /// A response body: when set, `on-response-body` is measured on it instead of `on-request`.
    pub response_body: Option<Vec<u8>>,
    /// The `Content-Type` of `response_body`.
    pub content_type: String,
}

/// Measures `on-request` of `component` on the sample request (default: a GET with ten
/// headers): a chain of one and of four copies, warm instances and fresh ones. Returns a
/// Markdown table.
pub fn bench_plugin(component: &[u8], options: &BenchOptions) -> Result<String, String> {
    if let Some(body) = &options.response_body {
        return bench_response_body(component, options, body);
    }
    let sample = match &options.request {
        Some(json) => serde_json::from_str(json).map_err(|e| format!("request JSON: {e}"))?,
        None => SampleRequest {
            path: "/products/42".into(),
            query: "ref=home".into(),
            headers: (0..10)
                .map(|i| (format!("x-header-{i}"), format!("value-{i}")))
                .collect(),
            ..SampleRequest::default()
        },
    };
    let req = sample_request(sample);
    let config = parse_config(&options.config)?;
    let iterations = options.iterations.max(100);
    let mut out = String::from("| chain | instances | p50 µs | p99 µs |\n|---|---|---:|---:|\n");
    let mut p50s = Vec::new();
    for copies in [1usize, 4] {
        let chain = load_chain(component, config.clone(), copies)?;
        // Warm up allocator pools and caches.
        time_chain(&chain, &req, 100, false)?;
        for fresh in [false, true] {
            let n = if fresh { iterations / 10 } else { iterations };
            let (p50, p99) = time_chain(&chain, &req, n.max(100), fresh)?;
            p50s.push(p50);
            out.push_str(&format!(
                "| {copies} | {} | {:.2} | {:.2} |\n",
                if fresh { "fresh" } else { "warm" },
                p50 as f64 / 1000.0,
                p99 as f64 / 1000.0
            ));
        }
    }
    let ratio = |a: u64, b: u64| a as f64 / b.max(1) as f64;
    out.push_str(&format!(
        "\nratios (p50): chain of 4 / chain of 1 (warm) = {:.2}; fresh / warm (chain of 1) = {:.1}\n",
        ratio(p50s[2], p50s[0]),
        ratio(p50s[1], p50s[0])
    ));
    Ok(out)
}

/// Nanoseconds per `on-response-body` call of a chain of one warm instance (p50, p99) over
/// `iterations`, and the length of the body it returned.
fn time_response_body(
    chain: &Chain,
    req: &Request,
    resp: &Response,
    body: &[u8],
    iterations: usize,
) -> Result<(u64, u64, usize), String> {
    let mut samples = Vec::with_capacity(iterations);
    let mut out_len = body.len();
    for _ in 0..iterations {
        let input = body.to_vec();
        let started = std::time::Instant::now();
        match chain.on_response_body(req, resp, input) {
            Ok(out) => out_len = out.len(),
            Err(ChainStop::Failed { reason, .. }) => {
                return Err(format!("plugin failed: {reason}"))
            }
            Err(ChainStop::Respond(_)) | Err(ChainStop::Redirect(..)) => {}
        }
        samples.push(u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX));
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    Ok((at(0.5), at(0.99), out_len))
}

/// Measures `on-response-body` of `component` on `body` (a 200 with `options.content_type`,
/// after a GET), one warm instance. Returns a Markdown table with MB/s at the median.
fn bench_response_body(
    component: &[u8],
    options: &BenchOptions,
    body: &[u8],
) -> Result<String, String> {
    let sample = match &options.request {
        Some(json) => serde_json::from_str(json).map_err(|e| format!("request JSON: {e}"))?,
        None => SampleRequest::default(),
    };
    let req = sample_request(sample);
    let resp = Response {
        status: 200,
        headers: vec![
            ("content-type".into(), options.content_type.clone()),
            ("content-length".into(), body.len().to_string()),
        ],
    };
    let chain = load_chain(component, parse_config(&options.config)?, 1)?;
    let iterations = options.iterations.max(100);
    time_response_body(&chain, &req, &resp, body, 20)?;
    let (p50, p99, out_len) = time_response_body(&chain, &req, &resp, body, iterations)?;
    let mbps = body.len() as f64 / (p50.max(1) as f64 / 1e9) / 1e6;
    Ok(format!(
        "| bytes in | bytes out | p50 µs | p99 µs | MB/s (p50) |\n|---:|---:|---:|---:|---:|\n\
         | {} | {out_len} | {:.1} | {:.1} | {mbps:.1} |\n",
        body.len(),
        p50 as f64 / 1000.0,
        p99 as f64 / 1000.0,
    ))
}

/// Parses a plugin config given on the command line; empty text means `{}`.
fn parse_config(config: &str) -> Result<serde_json::Value, String> {
    if config.trim().is_empty() {
        return Ok(serde_json::json!({}));
    }
    serde_json::from_str(config).map_err(|e| format!("config JSON: {e}"))
}

/// Loads `component` with `config` (JSON), runs `on-request` on `request` (JSON) and returns a
/// description of the outcome. Errors name what was wrong.
pub fn try_plugin(component: &[u8], config: &str, request: &str) -> Result<String, String> {
    let sample: SampleRequest =
        serde_json::from_str(request).map_err(|e| format!("request JSON: {e}"))?;
    let chain = load_chain(component, parse_config(config)?, 1)?;
    let version = chain
        .plugins
        .first()
        .map(|p| p.meta.version.clone())
        .unwrap_or_default();
    let mut req = sample_request(sample);
    let outcome = match chain.on_request(&mut req, |_| true) {
        Ok(edits) => format!(
            "continue\n  header edits: {:?}\n  route-to: {:?}\n  rewrite-path: {:?}",
            edits.headers, edits.route_to, edits.rewrite_path
        ),
        Err(ChainStop::Respond(reply)) => format!(
            "respond {}\n  headers: {:?}\n  body: {:?}",
            reply.status,
            reply.headers,
            String::from_utf8_lossy(&reply.body)
        ),
        Err(ChainStop::Redirect(status, location)) => format!("redirect {status} {location}"),
        Err(ChainStop::Failed { reason, .. }) => format!("failed: {reason}"),
    };
    Ok(format!("plugin version {version}\n{outcome}"))
}
