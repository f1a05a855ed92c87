//! Node enrollment: a tenant creates a node and gets a one-time join token (1 hour); the node
//! trades it for a credential and learns the portal's ed25519 public key, which it pins to
//! verify the bundles it receives (`signed_bundle`). Tokens and credentials are random, stored only as
//! SHA-256; a revoked node's credential stops working at once.

use crate::db::{now, Pool};
use crate::hub::Hub;
use crate::registry::parse_registry_source;
use crate::store::{Node, Store, StoreError};
use crate::tokens::{hash_token, new_id, new_token};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use rand::RngCore;
use weir_bundle::signing::{self, SignedBundle};
use weir_bundle::Bundle;

/// How long a join token may be used.
pub const JOIN_TTL_S: i64 = 3600;

/// Why enrollment or a node call was refused; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A field is invalid (field, message).
    #[error("{0}: {1}")]
    Invalid(&'static str, String),
    /// No node has this token or credential.
    #[error("unknown {0}")]
    Unknown(&'static str),
    /// The join token was traded already.
    #[error("this join token was already used (the node enrolled at {0}); create a new node for another machine")]
    Used(i64),
    /// The join token expired.
    #[error("this join token expired at {0}; create a new node in the portal")]
    Expired(i64),
    /// The node was revoked.
    #[error("this node was revoked at {0}")]
    Revoked(i64),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What enrollment gives a node.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Enrolled {
    pub node_id: String,
    pub tenant_id: String,
    /// The node's secret: `Authorization: Node <credential>` on every later call.
    pub credential: String,
    /// The portal's ed25519 public key (base64 of 32 bytes): bundles are signed with it.
    pub portal_public_key: String,
}

/// Signs tenants' bundles for their nodes with the portal's key.
#[derive(Clone)]
pub struct Signer {
    store: Store,
    key: SigningKey,
}

impl Signer {
    /// The portal's public key, base64.
    pub fn public_key(&self) -> String {
        signing::public_key(&self.key)
    }

    /// The tenant's newest config as its nodes get it, signed: version 0 and an empty bundle
    /// when nothing is configured yet; uploaded plugins named by content (`sha256:HEX`, which
    /// nodes download and check) instead of `registry:NAME@VERSION`.
    pub async fn signed_bundle(&self, tenant_id: &str) -> Result<SignedBundle, StoreError> {
        let (version, json) = self
            .store
            .latest_config_version(tenant_id)
            .await?
            .unwrap_or_else(|| (0, Bundle::default().to_json()));
        let json = self.plugins_by_content(tenant_id, json).await?;
        Ok(signing::sign(&self.key, version, &json))
    }

    async fn plugins_by_content(
        &self,
        tenant_id: &str,
        json: String,
    ) -> Result<String, StoreError> {
        let Ok(mut bundle) = Bundle::from_json(&json) else {
            return Ok(json);
        };
        let mut changed = false;
        for plugin in bundle.sites.iter_mut().flat_map(|s| s.plugins.iter_mut()) {
            let Some((name, version)) = parse_registry_source(&plugin.source) else {
                continue;
            };
            if let Some(v) = self.store.plugin_version(tenant_id, name, version).await? {
                plugin.source = format!("sha256:{}", v.sha256);
                changed = true;
            }
        }
        Ok(if changed { bundle.to_json() } else { json })
    }
}

/// The node service.
#[derive(Clone)]
pub struct Nodes {
    store: Store,
    signer: Signer,
    hub: Hub,
}

impl Nodes {
    /// The service, with the portal's signing key (created on first start, shared by replicas).
    pub async fn open(store: Store) -> Result<Nodes, StoreError> {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        let stored = store
            .portal_secret("bundle_signing_key", &STANDARD.encode(seed), now())
            .await?;
        let bytes: [u8; 32] = STANDARD
            .decode(stored.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                StoreError::Db(sqlx::Error::Protocol(
                    "portal_secrets.bundle_signing_key is not 32 base64 bytes".into(),
                ))
            })?;
        let signer = Signer {
            store: store.clone(),
            key: SigningKey::from_bytes(&bytes),
        };
        let postgres = match store.pool() {
            Pool::Postgres(pg) => Some(pg.clone()),
            Pool::Sqlite(_) => None,
        };
        Ok(Nodes {
            hub: Hub::new(signer.clone(), postgres),
            store,
            signer,
        })
    }

    /// The portal's public key, base64.
    pub fn public_key(&self) -> String {
        self.signer.public_key()
    }

    /// The push hub.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The tenant's newest config, signed for its nodes.
    pub async fn signed_bundle(&self, tenant_id: &str) -> Result<SignedBundle, StoreError> {
        self.signer.signed_bundle(tenant_id).await
    }

    /// Revokes a node of the tenant: its credential stops working and its stream ends at
    /// once. False when the tenant has no such node.
    pub async fn revoke(&self, tenant_id: &str, node_id: &str) -> Result<bool, StoreError> {
        let revoked = self.store.revoke_node(tenant_id, node_id, now()).await?;
        if revoked {
            self.hub.revoked(node_id).await;
        }
        Ok(revoked)
    }

    /// Creates a node waiting for enrollment; returns it and its join token (shown once).
    pub async fn create(
        &self,
        tenant_id: &str,
        name: &str,
        author: &str,
    ) -> Result<(Node, String), NodeError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(NodeError::Invalid(
                "name",
                "must be 1-100 characters, no control characters".into(),
            ));
        }
        let token = format!("wjt_{}", new_token());
        let node = Node {
            id: new_id("node"),
            tenant_id: tenant_id.to_string(),
            name: name.to_string(),
            join_expires_at: now() + JOIN_TTL_S,
            enrolled_at: None,
            version: None,
            last_seen_at: None,
            revoked_at: None,
            created_by: author.to_string(),
            created_at: now(),
        };
        self.store
            .create_node(
                &node.id,
                tenant_id,
                name,
                &hash_token(&token),
                node.join_expires_at,
                author,
                node.created_at,
            )
            .await?;
        Ok((node, token))
    }

    /// Trades a join token for a credential, once.
    pub async fn enroll(&self, join_token: &str, version: &str) -> Result<Enrolled, NodeError> {
        if version.len() > 64 || version.chars().any(char::is_control) {
            return Err(NodeError::Invalid(
                "version",
                "must be at most 64 printable characters".into(),
            ));
        }
        let join_hash = hash_token(join_token.trim());
        let node = self
            .store
            .node_by_join_hash(&join_hash)
            .await?
            .ok_or(NodeError::Unknown("join token"))?;
        let refusal = |node: &Node| match (node.revoked_at, node.enrolled_at) {
            (Some(at), _) => NodeError::Revoked(at),
            (None, Some(at)) => NodeError::Used(at),
            (None, None) => NodeError::Expired(node.join_expires_at),
        };
        let credential = format!("wnc_{}", new_token());
        if !self
            .store
            .enroll_node(&join_hash, &hash_token(&credential), version, now())
            .await?
        {
            // Lost a race or refused: read again to say why.
            let now_node = self
                .store
                .node_by_join_hash(&join_hash)
                .await?
                .unwrap_or(node);
            return Err(refusal(&now_node));
        }
        Ok(Enrolled {
            node_id: node.id,
            tenant_id: node.tenant_id,
            credential,
            portal_public_key: self.public_key(),
        })
    }

    /// The node a credential belongs to (revoked nodes are unknown).
    pub async fn authenticate(&self, credential: &str) -> Result<Node, NodeError> {
        self.store
            .node_by_credential(&hash_token(credential.trim()), now())
            .await?
            .ok_or(NodeError::Unknown(
                "node credential (revoked, or never issued)",
            ))
    }
}
