//! The data directory of a portal-managed node: its identity (`node.json`, mode 0600), the
//! last bundle it applied (`bundle.json`, still signed: it is verified again at every start)
//! and the plugin components that bundle names (`blobs/SHA256.wasm`, checked by hash). Every
//! file is written to a temporary name and renamed, so a crash never leaves half a file.

use std::io::Write;
use std::path::{Path, PathBuf};
use weir_bundle::{Bundle, Secret, SignedBundle};
use weir_sdk_wit::sha256_hex;

/// What enrollment gave this node.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeIdentity {
    /// The portal's base URL.
    pub portal: String,
    /// This node's id.
    pub node_id: String,
    /// The tenant it serves.
    pub tenant_id: String,
    /// `Authorization: Node <credential>`.
    pub credential: Secret,
    /// The portal's ed25519 public key (base64), pinned at enrollment.
    pub portal_public_key: String,
}

/// Why the data directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not what Weir wrote there.
    #[error("{path}: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// A plugin source naming a component by content: `sha256:HEX`.
pub fn blob_hash(source: &str) -> Option<&str> {
    source
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A node's data directory.
#[derive(Debug, Clone)]
pub struct NodeDir {
    root: PathBuf,
}

impl NodeDir {
    /// The directory at `root`, created (with `blobs/`) if missing.
    pub fn open(root: &Path) -> Result<NodeDir, DirError> {
        let blobs = root.join("blobs");
        std::fs::create_dir_all(&blobs).map_err(|source| DirError::Io {
            path: blobs,
            source,
        })?;
        Ok(NodeDir {
            root: root.to_path_buf(),
        })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn identity_path(&self) -> PathBuf {
        self.root.join("node.json")
    }

    fn bundle_path(&self) -> PathBuf {
        self.root.join("bundle.json")
    }

    /// Where the component with `hash` is kept.
    pub fn blob_path(&self, hash: &str) -> PathBuf {
        self.root.join("blobs").join(format!("{hash}.wasm"))
    }

    /// The identity, if this node has enrolled.
    pub fn identity(&self) -> Result<Option<NodeIdentity>, DirError> {
        let path = self.identity_path();
        let Some(text) = read_if_exists(&path)? else {
            return Ok(None);
        };
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|e| DirError::Corrupt {
                path,
                message: format!("not a node identity: {e}"),
            })
    }

    /// Stores the identity, readable by this user only.
    pub fn save_identity(&self, id: &NodeIdentity) -> Result<(), DirError> {
        let json = serde_json::to_vec_pretty(id).map_err(|e| DirError::Corrupt {
            path: self.identity_path(),
            message: e.to_string(),
        })?;
        write_atomic(&self.identity_path(), &json, 0o600)
    }

    /// The last bundle this node applied, verified with the pinned key; `None` before the
    /// first one.
    pub fn last_good(&self, portal_key: &str) -> Result<Option<(SignedBundle, Bundle)>, DirError> {
        let path = self.bundle_path();
        let Some(text) = read_if_exists(&path)? else {
            return Ok(None);
        };
        let corrupt = |message: String| DirError::Corrupt {
            path: path.clone(),
            message,
        };
        let signed: SignedBundle = serde_json::from_slice(&text)
            .map_err(|e| corrupt(format!("not a signed bundle: {e}")))?;
        let bundle = signed
            .verify(portal_key)
            .map_err(|e| corrupt(e.to_string()))?;
        Ok(Some((signed, bundle)))
    }

    /// Records `signed` as the bundle in force.
    pub fn save_last_good(&self, signed: &SignedBundle) -> Result<(), DirError> {
        let json = serde_json::to_vec(signed).map_err(|e| DirError::Corrupt {
            path: self.bundle_path(),
            message: e.to_string(),
        })?;
        write_atomic(&self.bundle_path(), &json, 0o600)
    }

    /// Whether the component with `hash` is here and intact.
    pub fn has_blob(&self, hash: &str) -> bool {
        std::fs::read(self.blob_path(hash)).is_ok_and(|b| sha256_hex(&b) == hash)
    }

    /// Stores a downloaded component after checking that its content has `hash`.
    pub fn save_blob(&self, hash: &str, bytes: &[u8]) -> Result<(), String> {
        let actual = sha256_hex(bytes);
        if actual != hash {
            return Err(format!(
                "plugin blob {hash}: the content's SHA-256 is {actual}; refused"
            ));
        }
        write_atomic(&self.blob_path(hash), bytes, 0o644).map_err(|e| e.to_string())
    }

    /// The bundle with every `sha256:HEX` plugin source replaced by the path of that
    /// component here; a missing or damaged component is an error naming the site and plugin.
    pub fn with_local_blobs(&self, mut bundle: Bundle) -> Result<Bundle, String> {
        for site in &mut bundle.sites {
            for plugin in &mut site.plugins {
                if let Some(hash) = blob_hash(&plugin.source).map(str::to_string) {
                    if !self.has_blob(&hash) {
                        return Err(format!(
                            "site {} plugin {}: component {hash} is missing or damaged in {}",
                            site.id,
                            plugin.name,
                            self.root.join("blobs").display()
                        ));
                    }
                    plugin.source = self.blob_path(&hash).display().to_string();
                }
            }
        }
        Ok(bundle)
    }
}

fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, DirError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(DirError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes `bytes` to a temporary file beside `path` with `mode`, syncs it and renames it over
/// `path`: a crash never leaves half a file.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), DirError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| DirError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use std::os::unix::fs::PermissionsExt;
    use weir_bundle::signing;

    #[test]
    fn identity_is_private_and_bundles_are_verified_again_on_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let nd = NodeDir::open(dir.path()).expect("open");
        assert!(nd.identity().expect("read").is_none());
        let key = SigningKey::from_bytes(&[7; 32]);
        let id = NodeIdentity {
            portal: "http://portal".into(),
            node_id: "node_1".into(),
            tenant_id: "t".into(),
            credential: Secret::new("wnc_secret"),
            portal_public_key: signing::public_key(&key),
        };
        nd.save_identity(&id).expect("save");
        let mode = std::fs::metadata(dir.path().join("node.json"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            nd.identity().expect("read").map(|i| i.credential),
            Some(Secret::new("wnc_secret"))
        );
        assert!(!format!("{id:?}").contains("wnc_secret"));

        let signed = signing::sign(&key, 3, r#"{"site":[],"pool":[]}"#);
        nd.save_last_good(&signed).expect("save");
        let (again, _) = nd
            .last_good(&id.portal_public_key)
            .expect("read")
            .expect("present");
        assert_eq!(again.version, 3);
        let mut tampered = signed.clone();
        tampered.version = 4;
        nd.save_last_good(&tampered).expect("save");
        let err = nd.last_good(&id.portal_public_key).expect_err("tampered");
        assert!(err.to_string().contains("does not match"), "{err}");
    }

    #[test]
    fn blobs_are_kept_by_hash_and_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let nd = NodeDir::open(dir.path()).expect("open");
        let hash = sha256_hex(b"component");
        let err = nd.save_blob(&hash, b"other").expect_err("wrong content");
        assert!(err.contains("refused"), "{err}");
        assert!(!nd.has_blob(&hash));
        let mut bundle = Bundle::from_json(&format!(
            r#"{{"site":[{{"id":"s","hosts":["s.test"],"pool":"p","plugin":[{{"name":"f","source":"sha256:{hash}"}}]}}],"pool":[]}}"#
        ))
        .expect("bundle");
        let missing = nd.with_local_blobs(bundle.clone()).expect_err("missing");
        assert!(missing.contains("site s plugin f"), "{missing}");
        nd.save_blob(&hash, b"component").expect("save");
        bundle = nd.with_local_blobs(bundle).expect("resolved");
        assert_eq!(
            bundle.sites[0].plugins[0].source,
            nd.blob_path(&hash).display().to_string()
        );
        std::fs::write(nd.blob_path(&hash), b"bit rot").expect("write");
        assert!(!nd.has_blob(&hash), "damage is noticed");
        assert_eq!(blob_hash("sha256:xyz"), None);
    }
}
