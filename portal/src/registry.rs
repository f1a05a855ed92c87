//! The plugin registry: tenants upload components, which are validated like a node validates
//! them (a component of the `weir:plugin` world, no forbidden imports, compiles in time),
//! compiled once per content (kept in `DATA_DIR/plugin-cache`), stored by SHA-256 and numbered
//! per name. Sites refer to `builtin:NAME` or `registry:NAME@VERSION`; a plugin's config is
//! checked by running the plugin's own `init` with it.

use crate::db::now;
use crate::store::{PluginVersion, Store, StoreError};
use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use weir_proxy::{Metrics, PluginEngine};

/// Largest accepted upload.
pub const MAX_UPLOAD_BYTES: usize = 16 << 20;

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A field is invalid (field, message).
    #[error("{0}: {1}")]
    Invalid(&'static str, String),
    /// The file is not a plugin Weir can run; the reason says why.
    #[error("{0}")]
    Rejected(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The name and version in a `registry:NAME@VERSION` plugin source.
pub fn parse_registry_source(source: &str) -> Option<(&str, i64)> {
    let (name, version) = source.strip_prefix("registry:")?.split_once('@')?;
    Some((name, version.parse().ok()?))
}

/// The registry.
#[derive(Clone)]
pub struct Registry {
    store: Store,
    engine: Arc<PluginEngine>,
}

/// Checks a plugin name (the same rule as `weir plugin new`).
fn check_name(name: &str) -> Result<(), RegistryError> {
    if weir_sdk_wit::is_valid_plugin_name(name) {
        Ok(())
    } else {
        Err(RegistryError::Invalid(
            "name",
            "must be 1-63 characters of a-z, 0-9 and '-'".into(),
        ))
    }
}

impl Registry {
    /// A registry compiling into `data_dir/plugin-cache`.
    pub fn new(store: Store, data_dir: &Path) -> Result<Registry, String> {
        let engine = PluginEngine::new(Metrics::new())?;
        engine.set_cache_dir(Some(data_dir.join("plugin-cache")));
        Ok(Registry { store, engine })
    }

    /// Validates, compiles and stores an upload as the next version of `name`.
    pub async fn upload(
        &self,
        tenant_id: &str,
        name: &str,
        notes: &str,
        bytes: Vec<u8>,
        author: &str,
    ) -> Result<PluginVersion, RegistryError> {
        check_name(name)?;
        if notes.chars().count() > 2000 {
            return Err(RegistryError::Invalid(
                "notes",
                "must be at most 2000 characters".into(),
            ));
        }
        if bytes.len() > MAX_UPLOAD_BYTES {
            return Err(RegistryError::Rejected(format!(
                "the file is {} bytes; plugins may be at most {MAX_UPLOAD_BYTES} bytes",
                bytes.len()
            )));
        }
        let engine = self.engine.clone();
        let (sha256, bytes) = tokio::task::spawn_blocking(move || {
            engine
                .component(&bytes)
                .map(|(sha, _)| (sha, bytes))
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| RegistryError::Rejected(format!("validation stopped: {e}")))?
        .map_err(RegistryError::Rejected)?;
        let version = self
            .store
            .add_plugin_version(
                tenant_id,
                name,
                &sha256,
                &bytes,
                notes.trim(),
                author,
                now(),
            )
            .await?;
        self.store
            .plugin_version(tenant_id, name, version)
            .await?
            .ok_or(RegistryError::Store(StoreError::Conflict))
    }

    /// The tenant's uploaded versions.
    pub async fn list(&self, tenant_id: &str) -> Result<Vec<PluginVersion>, StoreError> {
        self.store.plugin_versions(tenant_id).await
    }

    /// The component a site's plugin `source` names, for this tenant, or why there is none.
    pub async fn resolve(
        &self,
        tenant_id: &str,
        source: &str,
    ) -> Result<Cow<'static, [u8]>, String> {
        if let Some(found) = weir_proxy::builtin_plugin(source) {
            return found.map(Cow::Borrowed);
        }
        let unknown = || {
            format!(
                "`{source}` is not a plugin: use builtin:NAME ({}) or registry:NAME@VERSION of an upload",
                weir_proxy::builtin_plugin_names().join(", ")
            )
        };
        let (name, version) = parse_registry_source(source).ok_or_else(unknown)?;
        let missing = || format!("this tenant has no plugin {name} version {version}");
        let v = self
            .store
            .plugin_version(tenant_id, name, version)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(missing)?;
        let bytes = self
            .store
            .plugin_blob(tenant_id, &v.sha256)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(missing)?;
        Ok(Cow::Owned(bytes))
    }

    /// Runs the plugin's `init` with `config`: `Err` carries the plugin's own reason.
    pub async fn check_config(
        &self,
        component: Cow<'static, [u8]>,
        config: serde_json::Value,
    ) -> Result<(), String> {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || {
            weir_proxy::check_plugin(&engine, &component, &config).map(|_| ())
        })
        .await
        .map_err(|e| format!("checking stopped: {e}"))?
    }
}
