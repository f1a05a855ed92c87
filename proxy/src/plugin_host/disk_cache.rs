//! Precompiled plugins on disk: `<dir>/<sha256>-<engine hash>.cwasm`, so a restarted node
//! does not compile its plugins again. Files are written atomically (temp file + rename) and
//! keyed by the component's content hash and the engine's compatibility hash, so a file is
//! only ever read back by an engine that can run it.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::component::Component;
use wasmtime::Engine;

/// The cache file for a component `version` under `dir`.
pub fn path_for(dir: &Path, engine: &Engine, version: &str) -> PathBuf {
    let mut h = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    dir.join(format!("{version}-{:016x}.cwasm", h.finish()))
}

/// Loads a precompiled component, or `None` when there is none (or it cannot be used).
pub fn load(engine: &Engine, path: &Path) -> Option<Component> {
    if !path.is_file() {
        return None;
    }
    // SAFETY: `deserialize_file` trusts that the file holds code wasmtime compiled for this
    // engine configuration. The file lives in the node's own cache directory, was written
    // by `store` below from `Component::serialize` (atomically, so never half-written), and
    // its name carries the engine's compatibility hash; wasmtime additionally checks the
    // header and refuses artifacts of another version or configuration.
    #[allow(unsafe_code)]
    let loaded = unsafe { Component::deserialize_file(engine, path) };
    match loaded {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "ignoring unusable precompiled plugin");
            None
        }
    }
}

/// Writes `component` to `path` (best effort: a cache that cannot be written is logged).
pub fn store(component: &Component, path: &Path) {
    let result = component
        .serialize()
        .map_err(|e| e.to_string())
        .and_then(|bytes| {
            let dir = path.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, bytes).map_err(|e| e.to_string())?;
            std::fs::rename(&tmp, path).map_err(|e| e.to_string())
        });
    if let Err(e) = result {
        tracing::warn!(path = %path.display(), error = %e, "cannot write precompiled plugin");
    }
}
