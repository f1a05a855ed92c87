//! The portal agent of a managed node (`weir proxy --portal URL --join-token T --data-dir DIR`):
//! enrolls once, then holds one event stream to the portal. On connect it says which bundle
//! it serves; the portal sends newer signed bundles as they are saved. Each is verified with
//! the pinned key, its plugin components fetched by SHA-256 and checked, then loaded and
//! checked like a reload and applied atomically (requests in flight finish on the old
//! config); the node stores it as its last good bundle and acknowledges with a heartbeat.
//! Heartbeats every few seconds carry the metric rollups. When the portal is away the node
//! keeps serving and reconnects with jittered backoff; a restarted node serves from its data
//! directory without the portal.

mod node_dir;
mod portal_client;
mod sse;

pub use node_dir::{blob_hash, write_atomic, DirError, NodeDir, NodeIdentity};
pub use portal_client::{PortalClient, PortalError};

use crate::state::Shared;
use async_trait::async_trait;
use parking_lot::Mutex;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use weir_bundle::telemetry::Heartbeat;
use weir_bundle::{Secret, SignedBundle};

/// How a managed node is started.
#[derive(Debug, Clone)]
pub struct ManagedOptions {
    /// The data directory (identity, last good bundle, components).
    pub data_dir: PathBuf,
    /// The portal's URL (needed to enroll; later taken from the identity).
    pub portal: Option<String>,
    /// The one-time join token (needed to enroll only).
    pub join_token: Option<Secret>,
    /// Node-local `[proxy]` settings.
    pub settings: Option<PathBuf>,
}

/// Why a managed node cannot start.
#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    /// The data directory is unusable.
    #[error("data dir: {0}")]
    Dir(#[from] DirError),
    /// Enrollment failed.
    #[error("enrolling: {0}")]
    Portal(#[from] PortalError),
    /// The flags do not fit the data directory.
    #[error("{0}")]
    Usage(String),
}

/// Opens the data directory and returns the node's identity, enrolling first when the
/// directory has none (a blocking call to the portal).
pub fn identity(opts: &ManagedOptions) -> Result<(NodeDir, NodeIdentity), EnrollError> {
    let dir = NodeDir::open(&opts.data_dir)?;
    if let Some(id) = dir.identity()? {
        if let Some(portal) = &opts.portal {
            if portal.trim().trim_end_matches('/') != id.portal {
                return Err(EnrollError::Usage(format!(
                    "--data-dir {} belongs to node {} of the portal at {}, not {portal}; use another data dir, or remove its node.json to enroll again",
                    opts.data_dir.display(),
                    id.node_id,
                    id.portal
                )));
            }
        }
        if opts.join_token.is_some() {
            tracing::warn!(node = %id.node_id, "already enrolled; the join token is not used");
        }
        return Ok((dir, id));
    }
    let (Some(portal), Some(token)) = (&opts.portal, &opts.join_token) else {
        return Err(EnrollError::Usage(format!(
            "--data-dir {} holds no node identity: enroll with --portal URL --join-token TOKEN (create the node in the portal to get a token)",
            opts.data_dir.display()
        )));
    };
    let client = PortalClient::new(portal)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| EnrollError::Usage(format!("cannot start a runtime to enroll: {e}")))?;
    let id = rt.block_on(client.enroll(token.expose()))?;
    dir.save_identity(&id)?;
    tracing::info!(node = %id.node_id, tenant = %id.tenant_id, portal = %id.portal, "node enrolled with the portal");
    Ok((dir, id))
}

/// The agent: a background service of the node.
#[derive(Debug)]
pub struct Agent {
    shared: Arc<Shared>,
    client: PortalClient,
    id: NodeIdentity,
    dir: NodeDir,
    started: Instant,
    /// Send a heartbeat now (after applying a bundle).
    kick: Notify,
    heartbeat_ms: AtomicU64,
    apply_error: Mutex<Option<String>>,
    /// Hash of the last bundle text refused for what it is.
    refused_hash: Mutex<Option<String>>,
}

/// Why a bundle was not applied.
#[derive(Debug)]
struct Refusal {
    message: String,
}

/// What the portal says first on the event stream.
#[derive(Debug, serde::Deserialize)]
struct Hello {
    heartbeat_ms: u64,
}

/// First wait before reconnecting, and the longest.
const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// A stream silent this long (the portal sends a comment every 15 s) is dead.
const STREAM_IDLE: Duration = Duration::from_secs(45);

impl Agent {
    /// The agent for `shared`, a node managed through `dir`.
    pub fn new(shared: Arc<Shared>, dir: NodeDir, id: NodeIdentity) -> Result<Agent, PortalError> {
        Ok(Agent {
            client: PortalClient::new(&id.portal)?,
            shared,
            id,
            dir,
            started: Instant::now(),
            kick: Notify::new(),
            heartbeat_ms: AtomicU64::new(5_000),
            apply_error: Mutex::new(None),
            refused_hash: Mutex::new(None),
        })
    }

    /// Keeps the event stream open, reconnecting with jittered exponential backoff.
    async fn stream_forever(&self) {
        let mut backoff = BACKOFF_MIN;
        loop {
            let result = self.stream_once(&mut backoff).await;
            let wait = match &result {
                Err(e) if e.is_auth() => {
                    tracing::error!(error = %e, node = %self.id.node_id, "the portal refuses this node's credential (revoked?); serving the last good config");
                    Duration::from_secs(60)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "portal event stream lost; serving the last good config");
                    backoff
                }
                Ok(()) => backoff,
            };
            tokio::time::sleep(jitter(wait)).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// One connection: hello, then bundles as they come, until the stream ends.
    async fn stream_once(&self, backoff: &mut Duration) -> Result<(), PortalError> {
        let applied = self.shared.applied();
        let mut resp = self
            .client
            .events(&self.id, applied.version, &applied.hash)
            .await?;
        let mut parser = sse::Parser::default();
        loop {
            let chunk = match tokio::time::timeout(STREAM_IDLE, resp.chunk()).await {
                Err(_) => {
                    return Err(PortalError::Protocol(format!(
                        "event stream silent for {}s",
                        STREAM_IDLE.as_secs()
                    )))
                }
                Ok(Err(e)) => {
                    return Err(PortalError::Unreachable {
                        url: "event stream".into(),
                        message: e.to_string(),
                    })
                }
                Ok(Ok(None)) => return Ok(()),
                Ok(Ok(Some(c))) => c,
            };
            for event in parser.feed(&chunk).map_err(PortalError::Protocol)? {
                match event.name.as_str() {
                    "hello" => {
                        *backoff = BACKOFF_MIN;
                        if let Ok(h) = serde_json::from_str::<Hello>(&event.data) {
                            self.heartbeat_ms
                                .store(h.heartbeat_ms.clamp(200, 300_000), Ordering::Relaxed);
                        }
                        tracing::info!(portal = %self.id.portal, "connected to the portal");
                        self.kick.notify_one();
                    }
                    "bundle" => {
                        let applied = match serde_json::from_str::<SignedBundle>(&event.data) {
                            Ok(signed) => self.apply(signed).await,
                            Err(e) => Err(Refusal {
                                message: format!("a bundle event does not parse: {e}"),
                            }),
                        };
                        if let Err(refusal) = applied {
                            self.refused(&refusal);
                            // Reconnect: the portal sends its newest bundle again, so a
                            // transient failure is retried and a bundle changed in transit
                            // is fetched again.
                            return Err(PortalError::Protocol(refusal.message));
                        }
                    }
                    other => tracing::debug!(event = other, "ignoring portal event"),
                }
            }
        }
    }

    /// Records a refusal for the next heartbeat (sent at once).
    fn refused(&self, refusal: &Refusal) {
        tracing::error!(error = %refusal.message, "bundle refused; the previous config stays");
        *self.apply_error.lock() = Some(refusal.message.clone());
        self.kick.notify_one();
    }

    /// Verifies, completes and applies a bundle. A refusal for what the bundle is (signature,
    /// validation) is remembered by the hash of its text so the same text is not tried
    /// again; a transient one (a download) is not.
    async fn apply(&self, signed: SignedBundle) -> Result<(), Refusal> {
        let current = self.shared.applied();
        let hash = weir_sdk_wit::sha256_hex(signed.bundle.as_bytes());
        if signed.version == current.version && hash == current.hash {
            return Ok(());
        }
        if self.refused_hash.lock().as_deref() == Some(hash.as_str()) {
            return Ok(());
        }
        let version = signed.version;
        let lasting = |message: String| {
            *self.refused_hash.lock() = Some(hash.clone());
            Refusal {
                message: format!("bundle version {version}: {message}"),
            }
        };
        let bundle = signed
            .verify(&self.id.portal_public_key)
            .map_err(|e| lasting(e.to_string()))?;
        if version < current.version {
            return Err(lasting(format!(
                "older than version {} in force; refused",
                current.version
            )));
        }
        for site in &bundle.sites {
            for plugin in &site.plugins {
                let Some(blob) = blob_hash(&plugin.source) else {
                    continue;
                };
                if self.dir.has_blob(blob) {
                    continue;
                }
                let fetched = match self.client.blob(&self.id, blob).await {
                    Ok(bytes) => self.dir.save_blob(blob, &bytes),
                    Err(e) => Err(e.to_string()),
                };
                fetched.map_err(|e| Refusal {
                    message: format!(
                        "bundle version {version}: site {} plugin {}: {e}",
                        site.id, plugin.name
                    ),
                })?;
            }
        }
        let shared = Arc::clone(&self.shared);
        match tokio::task::spawn_blocking(move || shared.apply_bundle(&signed, bundle)).await {
            Ok(Ok(generation)) => {
                tracing::info!(version, generation, "bundle from the portal applied");
                *self.apply_error.lock() = None;
                self.kick.notify_one();
                Ok(())
            }
            Ok(Err(e)) => Err(lasting(e.to_string())),
            Err(e) => Err(Refusal {
                message: format!("bundle version {version}: apply task failed: {e}"),
            }),
        }
    }

    /// Sends heartbeats every interval, and at once when kicked.
    async fn heartbeat_forever(&self) {
        loop {
            let every = Duration::from_millis(self.heartbeat_ms.load(Ordering::Relaxed));
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = self.kick.notified() => {}
            }
            let hb = self.heartbeat();
            match self.client.heartbeat(&self.id, &hb).await {
                Ok(()) => self.shared.metrics.rollups.delivered(&hb.minutes),
                Err(e) => tracing::debug!(error = %e, "heartbeat not delivered"),
            }
        }
    }

    fn heartbeat(&self) -> Heartbeat {
        let applied = self.shared.applied();
        Heartbeat {
            bundle_version: applied.version,
            bundle_hash: applied.hash,
            weir_version: env!("CARGO_PKG_VERSION").to_string(),
            uptime_s: self.started.elapsed().as_secs(),
            in_flight: self.shared.metrics.in_flight.get().max(0) as u64,
            apply_error: self.apply_error.lock().clone(),
            minutes: self.shared.metrics.rollups.pending(),
        }
    }
}

/// `d` scaled by a random factor in [0.5, 1.5), so a fleet does not reconnect in step.
fn jitter(d: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    let unit = (h.finish() % 1_000) as f64 / 1_000.0;
    d.mul_f64(0.5 + unit)
}

#[async_trait]
impl BackgroundService for Agent {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        tokio::select! {
            _ = self.stream_forever() => {}
            _ = self.heartbeat_forever() => {}
            _ = shutdown.changed() => {}
        }
    }
}
