//! API tokens: per tenant, scoped (`read` or `write`), stored as SHA-256, revocable.

use super::{Store, StoreError};
use crate::db::on_pool;

/// A token as listed (never its secret).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub scope: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

impl Store {
    /// Stores a new token (by hash).
    #[allow(clippy::too_many_arguments)]
    pub async fn create_api_token(
        &self,
        id: &str,
        tenant_id: &str,
        name: &str,
        token_hash: &str,
        scope: &str,
        created_by: &str,
        now: i64,
        expires_at: Option<i64>,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(
            "INSERT INTO api_tokens (id, tenant_id, name, token_hash, scope, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(id).bind(tenant_id).bind(name).bind(token_hash).bind(scope).bind(created_by)
            .bind(now).bind(expires_at).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The live (unrevoked, unexpired) token with this hash; records its use.
    pub async fn use_api_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<ApiToken>, StoreError> {
        let token = on_pool!(&self.pool, pool => sqlx::query_as::<_, ApiToken>(
            "SELECT id, tenant_id, name, scope, created_by, created_at, expires_at, last_used_at FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)")
            .bind(token_hash).bind(now).fetch_optional(pool).await)?;
        if let Some(t) = &token {
            on_pool!(&self.pool, pool => sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
                .bind(&t.id).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
        }
        Ok(token)
    }

    /// A tenant's live tokens, newest first.
    pub async fn api_tokens(&self, tenant_id: &str) -> Result<Vec<ApiToken>, StoreError> {
        Ok(on_pool!(&self.pool, pool => sqlx::query_as::<_, ApiToken>(
            "SELECT id, tenant_id, name, scope, created_by, created_at, expires_at, last_used_at FROM api_tokens WHERE tenant_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id")
            .bind(tenant_id).fetch_all(pool).await)?)
    }

    /// Revokes one of a tenant's tokens; false when the tenant has no such live token.
    pub async fn revoke_api_token(
        &self,
        tenant_id: &str,
        id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(&self.pool, pool => sqlx::query(
            "UPDATE api_tokens SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL")
            .bind(tenant_id).bind(id).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }
}
