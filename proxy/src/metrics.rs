//! Prometheus metrics of a node, served by the admin API at `/metrics`.

use crate::rollup::Rollups;
use crate::runtime::Runtime;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use std::sync::Arc;

/// Every metric the node exports.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// Requests by site and status class (`2xx`…`5xx`).
    pub requests: IntCounterVec,
    /// Request latency by site, in seconds.
    pub latency: HistogramVec,
    /// Upstream failures by pool, backend and kind (`connect`, `proxy`, `status`).
    pub upstream_errors: IntCounterVec,
    /// Requests refused by the rate limiter, by site.
    pub rate_limited: IntCounterVec,
    /// Requests in flight on this node.
    pub in_flight: IntGauge,
    /// Plugin failures by tenant, plugin, version and reason.
    pub plugin_failures: IntCounterVec,
    /// Counters plugins increment through the host's `metric-incr`.
    pub plugin_metric: IntCounterVec,
    /// Per-site, per-minute rollups for the portal's heartbeats (shared by every clone).
    pub rollups: Arc<Rollups>,
    backend_healthy: IntGaugeVec,
    backend_available: IntGaugeVec,
    backend_in_flight: IntGaugeVec,
    backend_weight: IntGaugeVec,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("static metric definition");
    registry
        .register(Box::new(c.clone()))
        .expect("unique metric name");
    c
}

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("static metric definition");
    registry
        .register(Box::new(g.clone()))
        .expect("unique metric name");
    g
}

impl Metrics {
    /// Registers every metric in a fresh registry.
    pub fn new() -> Self {
        let registry = Registry::new();
        let latency = HistogramVec::new(
            HistogramOpts::new("weir_request_duration_seconds", "Request latency by site").buckets(
                vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0,
                ],
            ),
            &["site"],
        )
        .expect("static metric definition");
        registry
            .register(Box::new(latency.clone()))
            .expect("unique metric name");
        let in_flight = IntGauge::new("weir_in_flight_requests", "Requests in flight")
            .expect("static metric definition");
        registry
            .register(Box::new(in_flight.clone()))
            .expect("unique metric name");
        Metrics {
            requests: counter(
                &registry,
                "weir_requests_total",
                "Requests by site and status class",
                &["site", "class"],
            ),
            upstream_errors: counter(
                &registry,
                "weir_upstream_errors_total",
                "Upstream failures by pool, backend and kind",
                &["pool", "backend", "kind"],
            ),
            plugin_failures: counter(
                &registry,
                "weir_plugin_failures_total",
                "Plugin failures by tenant, plugin, version and reason",
                &["tenant", "plugin", "version", "reason"],
            ),
            plugin_metric: counter(
                &registry,
                "weir_plugin_metric_total",
                "Counters incremented by plugins",
                &["tenant", "plugin", "name"],
            ),
            rate_limited: counter(
                &registry,
                "weir_rate_limited_total",
                "Requests refused by the rate limiter",
                &["site"],
            ),
            backend_healthy: gauge(
                &registry,
                "weir_backend_healthy",
                "Active health check verdict (1 up)",
                &["pool", "backend"],
            ),
            backend_available: gauge(
                &registry,
                "weir_backend_available",
                "Backend takes new requests (1 yes)",
                &["pool", "backend"],
            ),
            backend_in_flight: gauge(
                &registry,
                "weir_backend_in_flight",
                "Requests in flight per backend",
                &["pool", "backend"],
            ),
            backend_weight: gauge(
                &registry,
                "weir_backend_weight",
                "Current backend weight",
                &["pool", "backend"],
            ),
            latency,
            in_flight,
            registry,
            rollups: Arc::new(Rollups::new()),
        }
    }

    /// Renders the text exposition format, with backend gauges read from `runtime` now.
    pub fn render(&self, runtime: &Runtime) -> String {
        for g in [
            &self.backend_healthy,
            &self.backend_available,
            &self.backend_in_flight,
            &self.backend_weight,
        ] {
            g.reset();
        }
        for pool in runtime.pools.values() {
            for b in &pool.backends {
                let labels = [pool.id.as_str(), b.addr.as_str()];
                let s = b.status();
                self.backend_healthy
                    .with_label_values(&labels)
                    .set(i64::from(s.healthy));
                self.backend_available
                    .with_label_values(&labels)
                    .set(i64::from(s.available));
                self.backend_in_flight
                    .with_label_values(&labels)
                    .set(i64::from(s.in_flight));
                self.backend_weight
                    .with_label_values(&labels)
                    .set(i64::from(s.weight));
            }
        }
        let mut out = Vec::new();
        // Encoding metrics we registered ourselves into a Vec cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// `2xx`-style class of a status code.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other",
    }
}
