//! One plugin of a site's chain: its compiled component, limits, failure policy, and a pool
//! of warm instances (each its own `Store`, already through `init`). A call takes an instance,
//! runs one hook under the epoch deadline and memory limit, and returns it to the pool; an
//! instance that failed is thrown away (a trapped instance refuses every later call).

use super::engine::PluginEngine;
use super::kv::KvStore;
use crate::clock::now_ms;
use crate::geo::GeoSlot;
use parking_lot::Mutex;
use std::sync::Arc;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{ResourceLimiter, Store, Trap};
use weir_bundle::{FailurePolicy, PluginRef};
use weir_sdk_wit::bindings::weir::plugin::types::{Hooks, LogLevel, PluginCapabilities};
use weir_sdk_wit::bindings::{Plugin, PluginPre};

/// Warm instances kept per plugin.
const WARM_INSTANCES: usize = 64;
/// Longest log line a plugin may write.
const MAX_LOG_BYTES: usize = 2048;

/// Who a plugin is, for logs and metrics.
#[derive(Debug, Clone)]
pub struct PluginMeta {
    /// Tenant id.
    pub tenant: String,
    /// Site id.
    pub site: String,
    /// Name in the chain.
    pub name: String,
    /// First 12 hex digits of the component's SHA-256.
    pub version: String,
}

/// Why a plugin call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureReason {
    /// The call ran past `deadline_ms`.
    Deadline,
    /// The plugin tried to grow past `memory_mb`.
    Memory,
    /// The plugin trapped (panic, unreachable, out-of-bounds...).
    Trap(String),
    /// The plugin returned something the host refuses.
    InvalidAction(String),
    /// A fresh instance could not be made (or `init` failed on it).
    Instantiate(String),
    /// The reload policy is backing off after repeated failures.
    BackingOff,
}

impl FailureReason {
    /// A short label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            FailureReason::Deadline => "deadline",
            FailureReason::Memory => "memory",
            FailureReason::Trap(_) => "trap",
            FailureReason::InvalidAction(_) => "invalid_action",
            FailureReason::Instantiate(_) => "instantiate",
            FailureReason::BackingOff => "backing_off",
        }
    }
}

impl std::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FailureReason::Deadline => f.write_str("deadline exceeded"),
            FailureReason::Memory => f.write_str("memory limit reached"),
            FailureReason::Trap(m) => write!(f, "trap: {m}"),
            FailureReason::InvalidAction(m) => write!(f, "invalid action: {m}"),
            FailureReason::Instantiate(m) => write!(f, "instantiate: {m}"),
            FailureReason::BackingOff => f.write_str("backing off after repeated failures"),
        }
    }
}

/// A failed plugin call and what the chain must do about it.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The reason.
    pub reason: FailureReason,
    /// The plugin's policy.
    pub policy: FailurePolicy,
}

/// Per-store host state: the tenant's store, limits, identity.
pub struct HostState {
    meta: Arc<PluginMeta>,
    kv: Arc<KvStore>,
    metrics: crate::metrics::Metrics,
    geo: Arc<GeoSlot>,
    memory_limit: usize,
    hit_memory_limit: bool,
}

impl ResourceLimiter for HostState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_limit {
            self.hit_memory_limit = true;
            return Err(wasmtime::Error::msg(format!(
                "memory limit of {} MiB reached",
                self.memory_limit >> 20
            )));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

impl weir_sdk_wit::bindings::weir::plugin::types::Host for HostState {}

impl weir_sdk_wit::bindings::weir::plugin::host::Host for HostState {
    fn log(&mut self, level: LogLevel, message: String) {
        let mut message = message;
        if message.len() > MAX_LOG_BYTES {
            let mut cut = MAX_LOG_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        let m = &self.meta;
        match level {
            LogLevel::Debug => {
                tracing::debug!(tenant = %m.tenant, site = %m.site, plugin = %m.name, version = %m.version, "{message}")
            }
            LogLevel::Info => {
                tracing::info!(tenant = %m.tenant, site = %m.site, plugin = %m.name, version = %m.version, "{message}")
            }
            LogLevel::Warn => {
                tracing::warn!(tenant = %m.tenant, site = %m.site, plugin = %m.name, version = %m.version, "{message}")
            }
            LogLevel::Error => {
                tracing::error!(tenant = %m.tenant, site = %m.site, plugin = %m.name, version = %m.version, "{message}")
            }
        }
    }

    fn now_ms(&mut self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    fn kv_get(&mut self, key: String) -> Option<String> {
        self.kv.get(&key, now_ms())
    }

    fn kv_set(&mut self, key: String, value: String, ttl_ms: u64) -> Result<(), String> {
        self.kv.set(&key, value, ttl_ms, now_ms())
    }

    fn kv_incr(&mut self, key: String, delta: i64, ttl_ms: u64) -> Result<i64, String> {
        self.kv.incr(&key, delta, ttl_ms, now_ms())
    }

    fn metric_incr(&mut self, name: String, value: u64) {
        let valid = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if valid {
            self.metrics
                .plugin_metric
                .with_label_values(&[
                    self.meta.tenant.as_str(),
                    self.meta.name.as_str(),
                    name.as_str(),
                ])
                .inc_by(value);
            self.metrics
                .rollups
                .record_plugin_metric(&self.meta.site, &name, value);
        }
    }

    fn geo_country(&mut self, ip: String) -> Option<String> {
        self.geo.country(ip.trim().parse().ok()?)
    }
}

/// One warm instance.
pub struct Instance {
    store: Store<HostState>,
    bindings: Plugin,
}

impl Instance {
    /// The store and the plugin's exports, to make one call.
    pub fn parts(&mut self) -> (&mut Store<HostState>, &Plugin) {
        (&mut self.store, &self.bindings)
    }
}

#[derive(Debug, Default)]
struct Backoff {
    failures_in_row: u32,
    until_ms: u64,
}

/// A plugin loaded for one site.
pub struct LoadedPlugin {
    /// Identity for logs and metrics.
    pub meta: Arc<PluginMeta>,
    /// Failure policy.
    pub policy: FailurePolicy,
    /// Deadline per call, in epoch ticks (ms).
    pub deadline_ms: u64,
    /// Body bytes the host buffers for this plugin's body hooks.
    pub max_body_bytes: usize,
    /// Hooks the plugin asked for.
    pub hooks: Hooks,
    engine: Arc<PluginEngine>,
    pre: PluginPre<HostState>,
    config_json: String,
    kv: Arc<KvStore>,
    memory_limit: usize,
    warm: Mutex<Vec<Instance>>,
    backoff: Mutex<Backoff>,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("meta", &self.meta)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

fn classify(error: &wasmtime::Error, state: &HostState) -> FailureReason {
    if state.hit_memory_limit {
        return FailureReason::Memory;
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => FailureReason::Deadline,
        Some(trap) => FailureReason::Trap(trap.to_string()),
        None => FailureReason::Trap(format!("{error:#}")),
    }
}

impl LoadedPlugin {
    /// Links `component`, makes a first instance (running `init` with the site's config) and
    /// reads its capabilities. An `init` error is returned as the plugin's own message.
    pub fn load(
        engine: &Arc<PluginEngine>,
        component: &Component,
        version: &str,
        tenant: &str,
        site: &str,
        plugin: &PluginRef,
    ) -> Result<Arc<Self>, String> {
        let mut linker: Linker<HostState> = Linker::new(&engine.engine);
        Plugin::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(|e| format!("link: {e:#}"))?;
        let pre = linker
            .instantiate_pre(component)
            .and_then(PluginPre::new)
            .map_err(|e| format!("link: {e:#}"))?;
        let loaded = LoadedPlugin {
            meta: Arc::new(PluginMeta {
                tenant: tenant.to_string(),
                site: site.to_string(),
                name: plugin.name.clone(),
                version: version.chars().take(12).collect(),
            }),
            policy: plugin.on_error,
            deadline_ms: plugin.deadline_ms,
            max_body_bytes: 0,
            hooks: Hooks::empty(),
            engine: Arc::clone(engine),
            pre,
            config_json: plugin.config.to_string(),
            kv: engine.tenant_store(tenant),
            memory_limit: (plugin.memory_mb as usize) << 20,
            warm: Mutex::new(Vec::new()),
            backoff: Mutex::new(Backoff::default()),
        };
        let mut first = loaded.instantiate().map_err(|r| match r {
            FailureReason::Instantiate(message) => message,
            other => other.to_string(),
        })?;
        let caps: PluginCapabilities = {
            let (store, bindings) = first.parts();
            store.set_epoch_deadline(loaded.deadline_ms.max(1) * 20);
            bindings
                .weir_plugin_filter()
                .call_capabilities(&mut *store)
                .map_err(|e| format!("capabilities: {}", classify(&e, store.data())))?
        };
        let max_body = (caps.max_body_bytes as usize).min(plugin.max_body_bytes as usize);
        let loaded = LoadedPlugin {
            hooks: caps.hooks,
            max_body_bytes: max_body,
            ..loaded
        };
        loaded.warm.lock().push(first);
        Ok(Arc::new(loaded))
    }

    /// A fresh instance through `init`.
    fn instantiate(&self) -> Result<Instance, FailureReason> {
        let state = HostState {
            meta: Arc::clone(&self.meta),
            kv: Arc::clone(&self.kv),
            metrics: self.engine.metrics.clone(),
            geo: Arc::clone(&self.engine.geo),
            memory_limit: self.memory_limit,
            hit_memory_limit: false,
        };
        let mut store = Store::new(&self.engine.engine, state);
        store.limiter(|s| s);
        // init may parse a large config: it gets twenty times the hook deadline.
        store.set_epoch_deadline(self.deadline_ms.max(1) * 20);
        let bindings = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| FailureReason::Instantiate(format!("{e:#}")))?;
        match bindings
            .weir_plugin_filter()
            .call_init(&mut store, &self.config_json)
        {
            Ok(Ok(())) => Ok(Instance { store, bindings }),
            Ok(Err(message)) => Err(FailureReason::Instantiate(format!(
                "init failed: {message}"
            ))),
            Err(e) => Err(FailureReason::Instantiate(format!(
                "init failed: {}",
                classify(&e, store.data())
            ))),
        }
    }

    /// Runs one hook call on a warm (or fresh) instance under the deadline; a failed instance
    /// is dropped. `check` validates what the plugin returned.
    pub fn call<R>(
        &self,
        hook: impl FnOnce(&mut Store<HostState>, &Plugin) -> wasmtime::Result<R>,
        check: impl FnOnce(&R) -> Result<(), String>,
    ) -> Result<R, Failure> {
        let fail = |reason: FailureReason| Failure {
            reason,
            policy: self.policy,
        };
        if self.policy == FailurePolicy::Reload && self.backoff.lock().until_ms > now_ms() {
            return Err(self.record_failure(fail(FailureReason::BackingOff), None));
        }
        let taken = self.warm.lock().pop();
        let mut instance = match taken {
            Some(i) => i,
            None => self
                .instantiate()
                .map_err(|r| self.record_failure(fail(r), None))?,
        };
        let (store, bindings) = instance.parts();
        store.set_epoch_deadline(self.deadline_ms.max(1));
        let started = std::time::Instant::now();
        let result = hook(store, bindings);
        let elapsed = Some(started.elapsed());
        match result {
            Ok(value) => match check(&value) {
                Ok(()) => {
                    self.backoff.lock().failures_in_row = 0;
                    let mut warm = self.warm.lock();
                    if warm.len() < WARM_INSTANCES {
                        warm.push(instance);
                    }
                    Ok(value)
                }
                // A plugin that answers nonsense is not trusted with its next call either.
                Err(msg) => {
                    Err(self.record_failure(fail(FailureReason::InvalidAction(msg)), elapsed))
                }
            },
            Err(e) => {
                let reason = classify(&e, instance.store.data());
                Err(self.record_failure(fail(reason), elapsed))
            }
        }
    }

    /// Counts and logs a failure; under the reload policy, throws away the warm instances and
    /// backs off (100 ms doubling to 30 s) while failures repeat.
    fn record_failure(&self, failure: Failure, elapsed: Option<std::time::Duration>) -> Failure {
        let m = &self.meta;
        self.engine
            .metrics
            .plugin_failures
            .with_label_values(&[
                m.tenant.as_str(),
                m.name.as_str(),
                m.version.as_str(),
                failure.reason.label(),
            ])
            .inc();
        self.engine.metrics.rollups.record_plugin_failure(&m.site);
        tracing::warn!(
            tenant = %m.tenant, site = %m.site, plugin = %m.name, version = %m.version,
            reason = %failure.reason, policy = ?failure.policy,
            call_ms = elapsed.map(|d| d.as_secs_f64() * 1000.0),
            "plugin failed"
        );
        if failure.policy == FailurePolicy::Reload && failure.reason != FailureReason::BackingOff {
            self.warm.lock().clear();
            let mut b = self.backoff.lock();
            b.failures_in_row = b.failures_in_row.saturating_add(1);
            if b.failures_in_row > 1 {
                let delay = 100u64
                    .saturating_mul(1 << (b.failures_in_row - 2).min(9))
                    .min(30_000);
                b.until_ms = now_ms() + delay;
            }
        }
        failure
    }

    /// Drops every warm instance, so the next call makes a fresh one (benchmarks compare the
    /// two ways).
    pub fn drop_warm(&self) {
        self.warm.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_sdk_wit::bindings::weir::plugin::host::Host;
    use weir_testkit::mmdb::{write_country_db, RecordShape};

    #[test]
    fn geo_country_answers_from_the_node_database() {
        let engine = PluginEngine::new(crate::metrics::Metrics::new()).expect("engine");
        let mut state = HostState {
            meta: Arc::new(PluginMeta {
                tenant: "t".into(),
                site: "s".into(),
                name: "p".into(),
                version: "v".into(),
            }),
            kv: engine.tenant_store("t"),
            metrics: engine.metrics.clone(),
            geo: Arc::clone(&engine.geo),
            memory_limit: 1 << 20,
            hit_memory_limit: false,
        };
        assert_eq!(state.geo_country("203.0.113.9".into()), None, "no database");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.mmdb");
        let db = write_country_db(RecordShape::CountryCode, &[("203.0.113.0/24", "de")]);
        std::fs::write(&path, db).expect("write");
        let opened = crate::geo::GeoDb::open(&path).expect("opens");
        engine.geo.set(Some(Arc::new(opened)));
        assert_eq!(
            state.geo_country(" 203.0.113.9".into()).as_deref(),
            Some("DE")
        );
        assert_eq!(state.geo_country("198.51.100.1".into()), None);
        assert_eq!(state.geo_country("not an address".into()), None);
    }
}
