//! The serde model of a node config and of the bundle inside it. Every key is documented in
//! `docs/config.md`; defaults live here and only here.

use crate::Secret;
use serde::{Deserialize, Serialize};

/// A node's whole config file: node-local `[proxy]` settings plus the bundle it serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(from = "NodeConfigFile")]
pub struct NodeConfig {
    /// Listeners, timeouts and limits of this node.
    #[serde(default)]
    pub proxy: ProxySettings,
    /// Sites and pools (the part the portal produces).
    #[serde(flatten)]
    pub bundle: Bundle,
}

/// The file's shape: serde cannot combine `deny_unknown_fields` with `flatten`, and a flattened
/// struct loses the parser's positions in error messages, so the file is read flat.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeConfigFile {
    #[serde(default)]
    proxy: ProxySettings,
    #[serde(default)]
    site: Vec<Site>,
    #[serde(default)]
    pool: Vec<Pool>,
}

impl From<NodeConfigFile> for NodeConfig {
    fn from(f: NodeConfigFile) -> Self {
        NodeConfig {
            proxy: f.proxy,
            bundle: Bundle {
                sites: f.site,
                pools: f.pool,
            },
        }
    }
}

/// Sites and pools: what the portal produces for a tenant's nodes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// Sites, matched by the request's Host.
    #[serde(default, rename = "site")]
    pub sites: Vec<Site>,
    /// Backend pools that sites send traffic to.
    #[serde(default, rename = "pool")]
    pub pools: Vec<Pool>,
}

/// Node-local settings (`[proxy]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProxySettings {
    /// Plain-HTTP listen addresses (`ip:port`).
    pub listen: Vec<String>,
    /// TLS listen addresses; certificates come from the sites' `[site.tls]`.
    pub tls_listen: Vec<String>,
    /// Admin API address; loopback by default. A non-loopback address needs `admin_token`.
    pub admin_listen: String,
    /// Bearer token for the admin API (env `WEIR_ADMIN_TOKEN`).
    pub admin_token: Option<Secret>,
    /// Worker threads; 0 means one per CPU.
    pub threads: usize,
    /// Accept HTTP/2 over cleartext (prior knowledge) on `listen`.
    pub h2c: bool,
    /// Largest request header block accepted, in bytes; larger gets 431.
    pub max_header_bytes: usize,
    /// How long a client may take to send each read of the request, in ms; slower gets 408.
    pub client_timeout_ms: u64,
    /// Connect timeout to a backend, in ms.
    pub connect_timeout_ms: u64,
    /// Read timeout on a backend response, in ms.
    pub upstream_timeout_ms: u64,
    /// How many times one request may be tried on another backend.
    pub max_retries: usize,
    /// On SIGTERM: how long to finish in-flight requests before exiting, in seconds.
    pub shutdown_timeout_s: u64,
    /// One JSON access-log line per request on stdout.
    pub access_log: bool,
    /// Directory for precompiled plugins (`.cwasm`), reused across restarts; unset: plugins
    /// are compiled at every start.
    pub plugin_cache_dir: Option<String>,
    /// MaxMind-format country database (`.mmdb`: GeoLite2/GeoIP2 Country, DB-IP Lite,
    /// ip-location-db), relative to the config file; re-read when the file changes. Unset: no
    /// country is known.
    pub geo_db: Option<String>,
    /// Networks (CIDR, or a bare address) of proxies in front of this node whose
    /// `X-Forwarded-For` is believed; from anyone else it is ignored.
    pub trusted_proxies: Vec<String>,
}

impl Default for ProxySettings {
    fn default() -> Self {
        ProxySettings {
            listen: vec!["127.0.0.1:8080".into()],
            tls_listen: Vec::new(),
            admin_listen: "127.0.0.1:9901".into(),
            admin_token: None,
            threads: 0,
            h2c: false,
            max_header_bytes: 64 * 1024,
            client_timeout_ms: 10_000,
            connect_timeout_ms: 2_000,
            upstream_timeout_ms: 30_000,
            max_retries: 3,
            shutdown_timeout_s: 10,
            access_log: true,
            plugin_cache_dir: None,
            geo_db: None,
            trusted_proxies: Vec::new(),
        }
    }
}

/// A site: hostnames served by one pool (`[[site]]`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// Unique id, `[a-z0-9_-]`.
    pub id: String,
    /// Hostnames (exact, or `*.example.com` for one label of wildcard).
    pub hosts: Vec<String>,
    /// The pool traffic goes to.
    pub pool: String,
    /// HTML served with 503 when no backend is left (maintenance page). Path, relative to the
    /// config file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_page: Option<String>,
    /// The maintenance page's HTML itself, instead of `error_page` (how the portal sends it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_page_html: Option<String>,
    /// `Retry-After` seconds sent with the 503 and 429 pages.
    #[serde(default = "default_retry_after_s")]
    pub retry_after_s: u32,
    /// Certificate served for this site's hosts on `tls_listen` (chosen by SNI).
    #[serde(default)]
    pub tls: Option<SiteTls>,
    /// Per-client-IP request rate limit.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// The tenant that owns the site; plugins run under the tenant's key-value store and
    /// limits, isolated from other tenants.
    #[serde(default = "default_tenant")]
    pub tenant: String,
    /// The plugin chain, run in this order (`[[site.plugin]]`).
    #[serde(default, rename = "plugin")]
    pub plugins: Vec<PluginRef>,
}

fn default_tenant() -> String {
    "default".into()
}

/// What happens to a request when a plugin fails (trap, deadline, memory, invalid action).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FailurePolicy {
    /// Answer 503 with a generic page.
    #[default]
    FailClosed,
    /// Skip the plugin for this request (logged and counted).
    FailOpen,
    /// Answer 503, throw the instance away and start fresh ones, backing off while it keeps
    /// failing.
    Reload,
}

/// One plugin in a site's chain (`[[site.plugin]]`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginRef {
    /// A name for logs and metrics, unique in the chain.
    pub name: String,
    /// Path of the component (`.wasm`), relative to the config file.
    pub source: String,
    /// Handed to the plugin's `init` as JSON.
    #[serde(default = "empty_object")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub config: serde_json::Value,
    /// What a failure does.
    #[serde(default)]
    pub on_error: FailurePolicy,
    /// CPU time one hook call may take, in ms.
    #[serde(default = "default_deadline_ms")]
    pub deadline_ms: u64,
    /// Linear memory the plugin may grow to, in MiB.
    #[serde(default = "default_memory_mb")]
    pub memory_mb: u32,
    /// Largest body buffered for the plugin's body hooks, in bytes.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: u32,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

fn default_deadline_ms() -> u64 {
    5
}

fn default_memory_mb() -> u32 {
    16
}

fn default_max_body_bytes() -> u32 {
    1 << 20
}

fn default_retry_after_s() -> u32 {
    30
}

/// Certificate chain and private key of a site (`[site.tls]`): each either a PEM file on the
/// node (`cert`, `key`) or the PEM text itself (`cert_pem`, `key_pem`, which is how the portal
/// sends them).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SiteTls {
    /// Path to the PEM certificate chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<String>,
    /// Path to the PEM private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The PEM certificate chain itself, instead of `cert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_pem: Option<String>,
    /// The PEM private key itself, instead of `key`; never printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub key_pem: Option<Secret>,
}

/// Leaky bucket per client IP (`[site.rate_limit]`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Sustained requests per second per client IP.
    pub rate: f64,
    /// Requests a client may send at once above the rate.
    pub burst: u32,
}

/// How a pool picks a backend.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// Each backend in turn.
    #[default]
    RoundRobin,
    /// Smooth weighted round robin (nginx's), by `weight`.
    Weighted,
    /// The backend with the fewest requests in flight.
    LeastConn,
}

/// A pool of backends (`[[pool]]`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    /// Unique id, `[a-z0-9_-]`.
    pub id: String,
    /// Balancing algorithm.
    #[serde(default)]
    pub algorithm: Algorithm,
    /// Pool used when this one has no healthy backend.
    #[serde(default)]
    pub backup: Option<String>,
    /// Active and passive health checking.
    #[serde(default)]
    pub health: Health,
    /// PEM CA bundle that verifies backends with `tls = true`; the system roots when unset.
    #[serde(default)]
    pub tls_ca: Option<String>,
    /// The backends.
    #[serde(default, rename = "backend")]
    pub backends: Vec<Backend>,
}

/// Health checking of a pool's backends (`[pool.health]`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Health {
    /// Path of the active HTTP check; no active checks when unset.
    pub path: Option<String>,
    /// Time between active checks, in ms.
    pub interval_ms: u64,
    /// Timeout of one active check, in ms.
    pub timeout_ms: u64,
    /// Failed checks in a row that mark a backend down.
    pub fail_after: u32,
    /// Passed checks in a row that mark a down backend up.
    pub pass_after: u32,
    /// Response statuses that eject a backend at once (passive check).
    pub passive_statuses: Vec<u16>,
    /// How long a passive ejection (status or connect error) lasts, in ms.
    pub eject_ms: u64,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            path: None,
            interval_ms: 1_000,
            timeout_ms: 500,
            fail_after: 1,
            pass_after: 2,
            passive_statuses: vec![500, 501, 502, 503, 504],
            eject_ms: 5_000,
        }
    }
}

/// One backend server (`[[pool.backend]]`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    /// `host:port` or `ip:port`.
    pub addr: String,
    /// Share of traffic for the `weighted` algorithm (0 sends none).
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Speak TLS to this backend (verified against the pool's `tls_ca`).
    #[serde(default)]
    pub tls: bool,
    /// Server name sent and verified with TLS; the host part of `addr` when unset.
    #[serde(default)]
    pub sni: Option<String>,
}

fn default_weight() -> u32 {
    1
}
