//! The plugin registry's rows: content-addressed blobs and each tenant's named versions.

use super::{or_duplicate, Store, StoreError};
use crate::db::on_pool;

/// One uploaded version of a tenant's plugin.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct PluginVersion {
    pub name: String,
    pub version: i64,
    pub sha256: String,
    pub size: i64,
    pub notes: String,
    pub created_by: String,
    pub created_at: i64,
}

impl Store {
    /// Stores a blob (no change when the content is already stored) and records it as the
    /// next version of the tenant's plugin `name`; returns the version number.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_plugin_version(
        &self,
        tenant_id: &str,
        name: &str,
        sha256: &str,
        bytes: &[u8],
        notes: &str,
        created_by: &str,
        now: i64,
    ) -> Result<i64, StoreError> {
        let size = bytes.len() as i64;
        let result: Result<i64, sqlx::Error> = on_pool!(&self.pool, pool => async {
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO plugin_blobs (sha256, bytes, size, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING")
                .bind(sha256).bind(bytes).bind(size).bind(now).execute(&mut *tx).await?;
            let version: i64 = sqlx::query_scalar::<_, i64>(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM plugins WHERE tenant_id = $1 AND name = $2")
                .bind(tenant_id).bind(name).fetch_one(&mut *tx).await?;
            sqlx::query("INSERT INTO plugins (tenant_id, name, version, sha256, notes, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(tenant_id).bind(name).bind(version).bind(sha256).bind(notes)
                .bind(created_by).bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(version)
        }.await);
        or_duplicate(result, StoreError::Conflict)
    }

    /// A tenant's plugin versions, by name then newest first.
    pub async fn plugin_versions(&self, tenant_id: &str) -> Result<Vec<PluginVersion>, StoreError> {
        Ok(
            on_pool!(&self.pool, pool => sqlx::query_as::<_, PluginVersion>(
            "SELECT p.name, p.version, p.sha256, b.size, p.notes, p.created_by, p.created_at FROM plugins p JOIN plugin_blobs b ON b.sha256 = p.sha256 WHERE p.tenant_id = $1 ORDER BY p.name, p.version DESC")
            .bind(tenant_id).fetch_all(pool).await)?,
        )
    }

    /// One version of a tenant's plugin.
    pub async fn plugin_version(
        &self,
        tenant_id: &str,
        name: &str,
        version: i64,
    ) -> Result<Option<PluginVersion>, StoreError> {
        Ok(
            on_pool!(&self.pool, pool => sqlx::query_as::<_, PluginVersion>(
            "SELECT p.name, p.version, p.sha256, b.size, p.notes, p.created_by, p.created_at FROM plugins p JOIN plugin_blobs b ON b.sha256 = p.sha256 WHERE p.tenant_id = $1 AND p.name = $2 AND p.version = $3")
            .bind(tenant_id).bind(name).bind(version).fetch_optional(pool).await)?,
        )
    }

    /// A blob's bytes, only when the tenant has a plugin version with that content.
    pub async fn plugin_blob(
        &self,
        tenant_id: &str,
        sha256: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            on_pool!(&self.pool, pool => sqlx::query_scalar::<_, Vec<u8>>(
            "SELECT b.bytes FROM plugin_blobs b WHERE b.sha256 = $2 AND EXISTS (SELECT 1 FROM plugins p WHERE p.tenant_id = $1 AND p.sha256 = b.sha256)")
            .bind(tenant_id).bind(sha256).fetch_optional(pool).await)?,
        )
    }
}
