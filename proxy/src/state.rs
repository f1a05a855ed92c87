//! State shared by every part of a node: the config snapshot in force, metrics, the SNI
//! resolver, and how to reload — from a config file, or, for a node a portal manages, from
//! its local settings plus the last bundle the portal sent.

use crate::agent::NodeDir;
use crate::loader::{load, load_managed, LoadError, LoadedConfig, Overrides};
use crate::metrics::Metrics;
use crate::plugin_host::PluginEngine;
use crate::runtime::Runtime;
use crate::tls::SniResolver;
use arc_swap::ArcSwap;
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use weir_bundle::{Bundle, Problems, SignedBundle};

/// Where a node's config comes from.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    /// A config file with the node's settings and the sites it serves.
    File(PathBuf),
    /// A node managed by a portal: settings from an optional local file, sites and pools from
    /// the last bundle the portal sent (kept in the data directory).
    Managed {
        /// Node-local `[proxy]` settings (no sites or pools).
        settings: Option<PathBuf>,
        /// The data directory.
        dir: NodeDir,
        /// The pinned portal key the stored bundle is verified with.
        portal_key: String,
    },
}

/// The portal bundle a managed node serves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppliedBundle {
    /// Its version (0: none yet).
    pub version: i64,
    /// SHA-256 of its JSON text (empty: none yet).
    pub hash: String,
}

impl ConfigSource {
    /// Where a node hands its listening sockets to the one replacing it: next to the config
    /// file, or in the data directory.
    pub fn upgrade_sock(&self) -> PathBuf {
        match self {
            ConfigSource::File(path) => path
                .parent()
                .unwrap_or(std::path::Path::new("."))
                .join("weir-upgrade.sock"),
            ConfigSource::Managed { dir, .. } => dir.root().join("upgrade.sock"),
        }
    }

    /// Loads the config; for a managed node, with `candidate` instead of the stored bundle.
    pub fn load(
        &self,
        overrides: &Overrides,
        plugins: &Arc<PluginEngine>,
        candidate: Option<(&SignedBundle, Bundle)>,
    ) -> Result<(LoadedConfig, Option<AppliedBundle>), LoadError> {
        match self {
            ConfigSource::File(path) => Ok((load(path, overrides, plugins)?, None)),
            ConfigSource::Managed {
                settings,
                dir,
                portal_key,
            } => {
                let invalid = |field: &str, message: String| {
                    let mut p = Problems::default();
                    p.push(field, message);
                    LoadError::Invalid(p)
                };
                let (signed, bundle) = match candidate {
                    Some((signed, bundle)) => (Some(signed.clone()), bundle),
                    None => match dir.last_good(portal_key) {
                        Ok(Some((signed, bundle))) => (Some(signed), bundle),
                        Ok(None) => (None, Bundle::default()),
                        Err(e) => return Err(invalid("bundle", e.to_string())),
                    },
                };
                let bundle = dir
                    .with_local_blobs(bundle)
                    .map_err(|m| invalid("bundle", m))?;
                let applied = signed.map_or_else(AppliedBundle::default, |s| AppliedBundle {
                    version: s.version,
                    hash: weir_sdk_wit::sha256_hex(s.bundle.as_bytes()),
                });
                let loaded =
                    load_managed(settings.as_deref(), bundle, dir.root(), overrides, plugins)?;
                Ok((loaded, Some(applied)))
            }
        }
    }
}

/// The node's shared state.
#[derive(Debug)]
pub struct Shared {
    runtime: ArcSwap<Runtime>,
    /// Metrics registry.
    pub metrics: Metrics,
    /// Certificates for TLS listeners.
    pub sni: Arc<SniResolver>,
    /// The wasm engine plugins run on.
    pub plugins: Arc<PluginEngine>,
    /// Serving and listening for signals (false while starting and while draining).
    pub ready: AtomicBool,
    source: ConfigSource,
    overrides: Overrides,
    reload_lock: Mutex<()>,
    applied: Mutex<AppliedBundle>,
}

impl Shared {
    /// State for the config from `source`, starting with `runtime` (built from `applied`).
    pub fn new(
        source: ConfigSource,
        overrides: Overrides,
        runtime: Runtime,
        plugins: Arc<PluginEngine>,
        applied: Option<AppliedBundle>,
    ) -> Self {
        let sni = Arc::new(SniResolver::default());
        sni.set(&runtime.certs);
        Shared {
            runtime: ArcSwap::from_pointee(runtime),
            metrics: plugins.metrics.clone(),
            plugins,
            ready: AtomicBool::new(false),
            sni,
            source,
            overrides,
            reload_lock: Mutex::new(()),
            applied: Mutex::new(applied.unwrap_or_default()),
        }
    }

    /// The snapshot in force now.
    pub fn runtime(&self) -> Arc<Runtime> {
        self.runtime.load_full()
    }

    /// The portal bundle in force (managed nodes; default otherwise).
    pub fn applied(&self) -> AppliedBundle {
        self.applied.lock().clone()
    }

    /// Where the config comes from.
    pub fn source(&self) -> &ConfigSource {
        &self.source
    }

    /// Re-reads the config (file, or local settings and stored bundle) and applies it
    /// atomically; requests already running keep the snapshot they started with. On any
    /// problem the running config stays. Returns the new generation.
    pub fn reload(&self) -> Result<u64, LoadError> {
        let _one_at_a_time = self.reload_lock.lock();
        let (loaded, applied) = self.source.load(&self.overrides, &self.plugins, None)?;
        Ok(self.install(&loaded, applied))
    }

    /// Applies a bundle the portal sent (already verified, plugins downloaded): loaded and
    /// checked like a reload, then stored as the last good bundle, then put in force. On any
    /// problem the running config and the stored bundle stay.
    pub fn apply_bundle(&self, signed: &SignedBundle, bundle: Bundle) -> Result<u64, LoadError> {
        let _one_at_a_time = self.reload_lock.lock();
        let ConfigSource::Managed { dir, .. } = &self.source else {
            let mut p = Problems::default();
            p.push("bundle", "this node is not managed by a portal");
            return Err(LoadError::Invalid(p));
        };
        let (loaded, applied) =
            self.source
                .load(&self.overrides, &self.plugins, Some((signed, bundle)))?;
        dir.save_last_good(signed).map_err(|e| {
            let mut p = Problems::default();
            p.push("bundle", format!("cannot keep the bundle on disk: {e}"));
            LoadError::Invalid(p)
        })?;
        Ok(self.install(&loaded, applied))
    }

    fn install(&self, loaded: &LoadedConfig, applied: Option<AppliedBundle>) -> u64 {
        let old = self.runtime();
        let listeners_changed = loaded.config.proxy.listen != old.settings.listen
            || loaded.config.proxy.tls_listen != old.settings.tls_listen
            || loaded.config.proxy.admin_listen != old.settings.admin_listen;
        if listeners_changed {
            tracing::warn!("listener addresses changed in the config; they apply on restart");
        }
        let new = Runtime::build(loaded, Some(&old), old.generation + 1);
        let generation = new.generation;
        self.sni.set(&new.certs);
        self.runtime.store(Arc::new(new));
        if let Some(applied) = applied {
            tracing::info!(
                generation,
                bundle_version = applied.version,
                "config applied"
            );
            *self.applied.lock() = applied;
        } else {
            tracing::info!(generation, "config reloaded");
        }
        generation
    }
}
