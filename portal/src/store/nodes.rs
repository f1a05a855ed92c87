//! Nodes and the portal's own secrets: enrollment (a one-time join token traded for a
//! credential, both stored hashed), revocation, and the signing key row.

use super::{or_duplicate, Store, StoreError};
use crate::db::on_pool;

/// How precisely `nodes.last_seen_at` is kept (seconds); heartbeats keep their own time.
pub const LAST_SEEN_PRECISION_S: i64 = 60;

/// A node as stored (never its token or credential).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Node {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// Until when the join token may be used (Unix seconds).
    pub join_expires_at: i64,
    /// When the node traded its join token (none: not enrolled yet).
    pub enrolled_at: Option<i64>,
    /// The `weir` version the node reported.
    pub version: Option<String>,
    pub last_seen_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
}

/// `SELECT` of every [`Node`] column, followed by the rest of the query.
macro_rules! select_nodes {
    ($rest:literal) => {
        concat!(
            "SELECT id, tenant_id, name, join_expires_at, enrolled_at, version, last_seen_at, revoked_at, created_by, created_at FROM nodes ",
            $rest
        )
    };
}

impl Store {
    /// Creates a node waiting for enrollment with the join token of hash `join_hash`.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_node(
        &self,
        id: &str,
        tenant_id: &str,
        name: &str,
        join_hash: &str,
        join_expires_at: i64,
        created_by: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let result = on_pool!(&self.pool, pool => sqlx::query(
            "INSERT INTO nodes (id, tenant_id, name, join_token_hash, join_expires_at, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(id).bind(tenant_id).bind(name).bind(join_hash).bind(join_expires_at)
            .bind(created_by).bind(now).execute(pool).await.map(|_| ()));
        or_duplicate(result, StoreError::Conflict)
    }

    /// A tenant's nodes, newest first.
    pub async fn nodes(&self, tenant_id: &str) -> Result<Vec<Node>, StoreError> {
        Ok(
            on_pool!(&self.pool, pool => sqlx::query_as::<_, Node>(select_nodes!("WHERE tenant_id = $1 ORDER BY created_at DESC, id"))
            .bind(tenant_id).fetch_all(pool).await)?,
        )
    }

    /// The node a join token (by hash) belongs to, and whether it was used.
    pub async fn node_by_join_hash(&self, join_hash: &str) -> Result<Option<Node>, StoreError> {
        Ok(
            on_pool!(&self.pool, pool => sqlx::query_as::<_, Node>(select_nodes!("WHERE join_token_hash = $1"))
            .bind(join_hash).fetch_optional(pool).await)?,
        )
    }

    /// Trades the join token for a credential, once: true when this call enrolled the node
    /// (unused, unexpired, unrevoked token), false otherwise.
    pub async fn enroll_node(
        &self,
        join_hash: &str,
        credential_hash: &str,
        version: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(&self.pool, pool => sqlx::query(
            "UPDATE nodes SET credential_hash = $2, version = $3, enrolled_at = $4, last_seen_at = $4 WHERE join_token_hash = $1 AND credential_hash IS NULL AND revoked_at IS NULL AND join_expires_at > $4")
            .bind(join_hash).bind(credential_hash).bind(version).bind(now)
            .execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    /// The node a credential belongs to (not revoked); notes that it was seen, to the
    /// minute ([`LAST_SEEN_PRECISION_S`]).
    pub async fn node_by_credential(
        &self,
        credential_hash: &str,
        now: i64,
    ) -> Result<Option<Node>, StoreError> {
        let node = on_pool!(&self.pool, pool => sqlx::query_as::<_, Node>(select_nodes!("WHERE credential_hash = $1 AND revoked_at IS NULL"))
            .bind(credential_hash).fetch_optional(pool).await)?;
        // `last_seen_at` to the minute: a write per node call (every heartbeat of every node)
        // queued behind the heartbeat batches on SQLite's one write lock (bench/fleet.sh).
        let stale = |n: &Node| {
            n.last_seen_at
                .is_none_or(|at| at < now - LAST_SEEN_PRECISION_S)
        };
        if let Some(n) = node.as_ref().filter(|n| stale(n)) {
            on_pool!(&self.pool, pool => sqlx::query("UPDATE nodes SET last_seen_at = $2 WHERE id = $1")
                .bind(&n.id).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
        }
        Ok(node)
    }

    /// Revokes one of a tenant's nodes (its credential stops working at once); false when the
    /// tenant has no such unrevoked node.
    pub async fn revoke_node(
        &self,
        tenant_id: &str,
        id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(&self.pool, pool => sqlx::query(
            "UPDATE nodes SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL")
            .bind(tenant_id).bind(id).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    /// The portal secret `name`, creating it as `value` when absent (replicas race safely:
    /// the first insert wins and everyone reads that one).
    pub async fn portal_secret(
        &self,
        name: &str,
        value: &str,
        now: i64,
    ) -> Result<String, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(
            "INSERT INTO portal_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
            .bind(name).bind(value).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(
            on_pool!(&self.pool, pool => sqlx::query_scalar::<_, String>(
            "SELECT value FROM portal_secrets WHERE name = $1")
            .bind(name).fetch_one(pool).await)?,
        )
    }
}
