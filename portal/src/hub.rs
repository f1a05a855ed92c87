//! Config fan-out to connected nodes. Each tenant with nodes connected has one watch channel
//! holding its newest signed bundle, signed and serialised once for all of them; a saved change
//! ([`Hub::changed`]) replaces it and every stream sends it on. Revocations are broadcast so a
//! revoked node's stream ends at once. With PostgreSQL, several portal replicas share the
//! database: changes and revocations are also sent as `NOTIFY`, and [`Hub::follow_postgres`]
//! applies the other replicas' ones here.

use crate::nodes::Signer;
use crate::store::StoreError;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{broadcast, watch};
use weir_bundle::SignedBundle;

/// Channel names for PostgreSQL `NOTIFY`.
const CONFIG_CHANNEL: &str = "weir_config";
const REVOKE_CHANNEL: &str = "weir_revoke";

/// A bundle as pushed: the signed bundle, its JSON for the stream, the hash of its text.
#[derive(Debug)]
pub struct Pushed {
    /// The signed bundle.
    pub signed: SignedBundle,
    /// `signed` as JSON (the event's data).
    pub json: String,
    /// SHA-256 hex of `signed.bundle` (what a node reports it serves).
    pub hash: String,
    /// The ids of the bundle's sites (heartbeats are checked against them).
    pub site_ids: Vec<String>,
}

type Slot = watch::Sender<Option<Arc<Pushed>>>;

/// The hub (cheap to clone).
#[derive(Clone)]
pub struct Hub {
    signer: Signer,
    tenants: Arc<Mutex<HashMap<String, Slot>>>,
    revoked: broadcast::Sender<String>,
    postgres: Option<sqlx::PgPool>,
}

impl Hub {
    /// A hub signing with `signer`; `postgres` when replicas share a PostgreSQL database.
    pub fn new(signer: Signer, postgres: Option<sqlx::PgPool>) -> Hub {
        Hub {
            signer,
            tenants: Arc::default(),
            revoked: broadcast::channel(1024).0,
            postgres,
        }
    }

    /// The tenant's newest bundle now and every newer one as it is saved.
    pub async fn subscribe(
        &self,
        tenant_id: &str,
    ) -> Result<watch::Receiver<Option<Arc<Pushed>>>, StoreError> {
        let rx = self
            .tenants
            .lock()
            .entry(tenant_id.to_string())
            .or_insert_with(|| watch::channel(None).0)
            .subscribe();
        if rx.borrow().is_none() {
            self.refresh(tenant_id).await?;
        }
        Ok(rx)
    }

    /// The newest bundle of a tenant whose nodes are connected here, from memory (kept
    /// current by saves here and, with PostgreSQL, by the other replicas' notifications).
    pub fn current(&self, tenant_id: &str) -> Option<Arc<Pushed>> {
        self.tenants
            .lock()
            .get(tenant_id)
            .and_then(|slot| slot.borrow().clone())
    }

    /// Revocations (node ids) from now on.
    pub fn revocations(&self) -> broadcast::Receiver<String> {
        self.revoked.subscribe()
    }

    /// Signs the tenant's newest version and hands it to its streams, if it is newer than
    /// what they have.
    async fn refresh(&self, tenant_id: &str) -> Result<(), StoreError> {
        let signed = self.signer.signed_bundle(tenant_id).await?;
        let json = serde_json::to_string(&signed).map_err(|e| {
            StoreError::Db(sqlx::Error::Protocol(format!("serialising a bundle: {e}")))
        })?;
        let site_ids = weir_bundle::Bundle::from_json(&signed.bundle)
            .map(|b| b.sites.into_iter().map(|s| s.id).collect())
            .unwrap_or_default();
        let pushed = Arc::new(Pushed {
            hash: weir_sdk_wit::sha256_hex(signed.bundle.as_bytes()),
            signed,
            json,
            site_ids,
        });
        let tenants = self.tenants.lock();
        if let Some(slot) = tenants.get(tenant_id) {
            slot.send_if_modified(|current| {
                let newer = current
                    .as_ref()
                    .is_none_or(|c| pushed.signed.version > c.signed.version);
                if newer {
                    *current = Some(Arc::clone(&pushed));
                }
                newer
            });
        }
        Ok(())
    }

    /// A change to the tenant's config was saved here: its connected nodes get it, and so do
    /// the other replicas'.
    pub async fn changed(&self, tenant_id: &str) {
        self.changed_here(tenant_id).await;
        self.notify(CONFIG_CHANNEL, tenant_id).await;
    }

    async fn changed_here(&self, tenant_id: &str) {
        let watched = {
            let mut tenants = self.tenants.lock();
            match tenants.get(tenant_id) {
                Some(slot) if slot.receiver_count() == 0 => {
                    tenants.remove(tenant_id);
                    false
                }
                Some(_) => true,
                None => false,
            }
        };
        if watched {
            if let Err(e) = self.refresh(tenant_id).await {
                tracing::error!(error = %e, tenant = tenant_id, "cannot push the new config");
            }
        }
    }

    /// A node was revoked here: its stream ends, here and on the other replicas.
    pub async fn revoked(&self, node_id: &str) {
        let _ = self.revoked.send(node_id.to_string());
        self.notify(REVOKE_CHANNEL, node_id).await;
    }

    async fn notify(&self, channel: &str, payload: &str) {
        if let Some(pg) = &self.postgres {
            if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(channel)
                .bind(payload)
                .execute(pg)
                .await
            {
                tracing::error!(error = %e, channel, "NOTIFY failed; other replicas learn of it at their nodes' next connect");
            }
        }
    }

    /// Applies the other replicas' changes and revocations (PostgreSQL only): runs until the
    /// process ends, reconnecting when the connection drops. A change missed while
    /// reconnecting reaches nodes when they reconnect (they send what they have).
    pub async fn follow_postgres(self) {
        let Some(pg) = self.postgres.clone() else {
            return;
        };
        loop {
            match sqlx::postgres::PgListener::connect_with(&pg).await {
                Ok(mut listener) => {
                    if let Err(e) = listener.listen_all([CONFIG_CHANNEL, REVOKE_CHANNEL]).await {
                        tracing::error!(error = %e, "LISTEN failed");
                    } else {
                        tracing::info!("following other portal replicas (LISTEN)");
                        // Anything saved while not listening: refresh every watched tenant.
                        let watched: Vec<String> = self.tenants.lock().keys().cloned().collect();
                        for t in watched {
                            self.changed_here(&t).await;
                        }
                        loop {
                            match listener.recv().await {
                                Ok(n) if n.channel() == CONFIG_CHANNEL => {
                                    self.changed_here(n.payload()).await
                                }
                                Ok(n) => {
                                    let _ = self.revoked.send(n.payload().to_string());
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, "LISTEN connection lost");
                                    break;
                                }
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot LISTEN for other replicas"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
}
