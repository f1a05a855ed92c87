//! `weir plugin test`: runs a plugin's `on-request` on a sample request outside any proxy and
//! describes what it did, so authors can try a filter without running a node.

use crate::metrics::Metrics;
use crate::plugin_host::{Chain, ChainStop, LoadedPlugin, PluginEngine};
use serde::Deserialize;
use weir_bundle::PluginRef;
use weir_sdk_wit::bindings::weir::plugin::types::Request;

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

/// Loads `component` with `config` (JSON), runs `on-request` on `request` (JSON) and returns a
/// description of the outcome. Errors name what was wrong.
pub fn try_plugin(component: &[u8], config: &str, request: &str) -> Result<String, String> {
    let sample: SampleRequest =
        serde_json::from_str(request).map_err(|e| format!("request JSON: {e}"))?;
    let config: serde_json::Value =
        serde_json::from_str(config).map_err(|e| format!("config JSON: {e}"))?;
    let engine = PluginEngine::new(Metrics::new())?;
    let (version, compiled) = engine.component(component).map_err(|e| e.to_string())?;
    let plugin_ref = PluginRef {
        name: "test".into(),
        source: String::new(),
        config,
        on_error: weir_bundle::FailurePolicy::FailClosed,
        deadline_ms: 100,
        memory_mb: 64,
        max_body_bytes: 1 << 20,
    };
    let plugin = LoadedPlugin::load(&engine, &compiled, &version, "test", "test", &plugin_ref)?;
    let chain = Chain {
        plugins: vec![plugin],
    };
    let mut req = Request {
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
    };
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
    Ok(format!("plugin version {}\n{outcome}", &version[..12]))
}
