//! The node's one wasmtime engine: component model, epoch interruption driven by a 1 ms ticker
//! thread, the pooling allocator (falling back to on-demand allocation where the OS refuses
//! its address-space reservation), and compiled components cached by content hash so a
//! reload or a second site using the same plugin never compiles it again.

use super::kv::KvStore;
use crate::geo::GeoSlot;
use crate::metrics::Metrics;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::Component;
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
    ProfilingStrategy,
};
use weir_sdk_wit::{check_interface, precheck, sha256_hex, validate, Limits, ValidationError};

/// Epoch ticks per millisecond of deadline.
pub const TICK: Duration = Duration::from_millis(1);
/// Largest memory any plugin may be given (`memory_mb` is validated against this).
const MAX_PLUGIN_MEMORY: usize = 1024 << 20;

/// Engine, caches and tenants' stores.
pub struct PluginEngine {
    /// The wasmtime engine.
    pub engine: Engine,
    /// Whether the pooling allocator is in use.
    pub pooling: bool,
    /// Node metrics (plugin calls and failures are counted here).
    pub metrics: Metrics,
    /// The node's country database (`proxy.geo_db`), behind the `geo-country` import.
    pub geo: Arc<GeoSlot>,
    components: Mutex<HashMap<String, Component>>,
    tenants: Mutex<HashMap<String, Arc<KvStore>>>,
    cache_dir: Mutex<Option<PathBuf>>,
}

impl std::fmt::Debug for PluginEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginEngine")
            .field("pooling", &self.pooling)
            .finish_non_exhaustive()
    }
}

fn config(pooling: bool) -> Config {
    let mut cfg = Config::new();
    cfg.wasm_component_model(true);
    cfg.epoch_interruption(true);
    cfg.cranelift_opt_level(OptLevel::Speed);
    // Plugins are compiled at start and on reload, while the node serves: one compiling
    // thread leaves the other cores to traffic (with every core compiling, plugin calls of
    // requests in flight ran past their deadlines during a reload on a 2-core node).
    cfg.parallel_compilation(false);
    // Diagnostics only: `WEIR_PLUGIN_PERFMAP=1` writes /tmp/perf-PID.map so `perf record` /
    // `perf report` can name the plugins' compiled functions (see docs/architecture.md).
    if std::env::var_os("WEIR_PLUGIN_PERFMAP").is_some() {
        cfg.profiler(ProfilingStrategy::PerfMap);
    }
    if pooling {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(1000);
        pool.total_core_instances(1000);
        pool.total_memories(1000);
        pool.total_tables(1000);
        pool.max_memory_size(MAX_PLUGIN_MEMORY);
        pool.linear_memory_keep_resident(1 << 20);
        pool.table_keep_resident(1 << 20);
        cfg.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    cfg
}

impl PluginEngine {
    /// Builds the engine and starts its epoch ticker.
    pub fn new(metrics: Metrics) -> Result<Arc<Self>, String> {
        let (engine, pooling) = match Engine::new(&config(true)) {
            Ok(e) => (e, true),
            Err(pool_error) => {
                tracing::warn!(error = %pool_error, "pooling allocator refused; using on-demand instance allocation");
                let e = Engine::new(&config(false)).map_err(|e| format!("wasmtime engine: {e}"))?;
                (e, false)
            }
        };
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("weir-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(TICK);
                }
            })
            .map_err(|e| format!("epoch ticker thread: {e}"))?;
        Ok(Arc::new(PluginEngine {
            engine,
            pooling,
            metrics,
            geo: Arc::default(),
            components: Mutex::new(HashMap::new()),
            tenants: Mutex::new(HashMap::new()),
            cache_dir: Mutex::new(None),
        }))
    }

    /// Sets (or clears) the directory of precompiled plugins.
    pub fn set_cache_dir(&self, dir: Option<PathBuf>) {
        *self.cache_dir.lock() = dir;
    }

    /// Validates and compiles `bytes` once per content (in memory, and on disk when a cache
    /// directory is set); returns its version (SHA-256) too.
    pub fn component(&self, bytes: &[u8]) -> Result<(String, Component), ValidationError> {
        let version = sha256_hex(bytes);
        if let Some(c) = self.components.lock().get(&version) {
            return Ok((version, c.clone()));
        }
        let limits = Limits::default();
        let disk = self
            .cache_dir
            .lock()
            .clone()
            .map(|dir| super::disk_cache::path_for(&dir, &self.engine, &version));
        let cached = disk.as_deref().and_then(|path| {
            precheck(bytes, &limits).ok()?;
            let c = super::disk_cache::load(&self.engine, path)?;
            check_interface(&self.engine, &c).ok()?;
            tracing::info!(version = %&version[..12], "plugin loaded precompiled from cache");
            Some(c)
        });
        let component = match cached {
            Some(c) => c,
            None => {
                let c = validate(&self.engine, bytes, &limits)?;
                if let Some(path) = &disk {
                    super::disk_cache::store(&c, path);
                }
                c
            }
        };
        self.components
            .lock()
            .insert(version.clone(), component.clone());
        Ok((version, component))
    }

    /// The key-value store of `tenant` (kept across reloads).
    pub fn tenant_store(&self, tenant: &str) -> Arc<KvStore> {
        Arc::clone(self.tenants.lock().entry(tenant.to_string()).or_default())
    }
}
