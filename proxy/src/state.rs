//! State shared by every part of a node: the config snapshot in force, metrics, the SNI
//! resolver, and how to reload.

use crate::loader::{load, LoadError, Overrides};
use crate::metrics::Metrics;
use crate::plugin_host::PluginEngine;
use crate::runtime::Runtime;
use crate::tls::SniResolver;
use arc_swap::ArcSwap;
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

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
    config_path: PathBuf,
    overrides: Overrides,
    reload_lock: Mutex<()>,
}

impl Shared {
    /// State for the config at `config_path`, starting with `runtime`.
    pub fn new(
        config_path: PathBuf,
        overrides: Overrides,
        runtime: Runtime,
        plugins: Arc<PluginEngine>,
    ) -> Self {
        let sni = Arc::new(SniResolver::default());
        sni.set(&runtime.certs);
        Shared {
            runtime: ArcSwap::from_pointee(runtime),
            metrics: plugins.metrics.clone(),
            plugins,
            ready: AtomicBool::new(false),
            sni,
            config_path,
            overrides,
            reload_lock: Mutex::new(()),
        }
    }

    /// The snapshot in force now.
    pub fn runtime(&self) -> Arc<Runtime> {
        self.runtime.load_full()
    }

    /// Re-reads the config file and applies it atomically; requests already running keep the
    /// snapshot they started with. On any problem the running config stays. Returns the new
    /// generation.
    pub fn reload(&self) -> Result<u64, LoadError> {
        let _one_at_a_time = self.reload_lock.lock();
        let loaded = load(&self.config_path, &self.overrides, &self.plugins)?;
        let old = self.runtime();
        let listeners_changed = loaded.config.proxy.listen != old.settings.listen
            || loaded.config.proxy.tls_listen != old.settings.tls_listen
            || loaded.config.proxy.admin_listen != old.settings.admin_listen;
        if listeners_changed {
            tracing::warn!("listener addresses changed in the config; they apply on restart");
        }
        let new = Runtime::build(&loaded, Some(&old), old.generation + 1);
        let generation = new.generation;
        self.sni.set(&new.certs);
        self.runtime.store(Arc::new(new));
        tracing::info!(generation, "config reloaded");
        Ok(generation)
    }
}
