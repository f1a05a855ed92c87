//! A tenant's config: the current items (sites and pools, each a JSON spec) and the version
//! history (the whole bundle after every change). A change and its version row commit together.

use super::{or_duplicate, Store, StoreError};
use crate::db::on_pool;

/// One stored item.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConfigItem {
    pub kind: String,
    pub id: String,
    pub spec: String,
}

/// One version in the history (without its bundle).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct VersionInfo {
    pub version: i64,
    pub summary: String,
    pub author: String,
    pub created_at: i64,
}

/// What a change does to the items.
#[derive(Debug)]
pub enum ConfigChange {
    /// Create or replace one item.
    Put(ConfigItem),
    /// Remove one item.
    Delete { kind: String, id: String },
    /// Replace every item (a rollback).
    ReplaceAll(Vec<ConfigItem>),
}

impl Store {
    /// Every item of a tenant, by kind and id.
    pub async fn config_items(&self, tenant_id: &str) -> Result<Vec<ConfigItem>, StoreError> {
        Ok(
            on_pool!(&self.pool, pool => sqlx::query_as::<_, ConfigItem>(
            "SELECT kind, id, spec FROM config_items WHERE tenant_id = $1 ORDER BY kind, id")
            .bind(tenant_id).fetch_all(pool).await)?,
        )
    }

    /// Applies a change and records the resulting bundle as the next version; returns it.
    pub async fn save_config(
        &self,
        tenant_id: &str,
        change: &ConfigChange,
        bundle_json: &str,
        summary: &str,
        author: &str,
        now: i64,
    ) -> Result<i64, StoreError> {
        let result: Result<i64, sqlx::Error> = on_pool!(&self.pool, pool => async {
            let mut tx = pool.begin().await?;
            let put = |item: &ConfigItem| {
                sqlx::query("INSERT INTO config_items (tenant_id, kind, id, spec, updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, kind, id) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at")
                    .bind(tenant_id.to_string()).bind(item.kind.clone()).bind(item.id.clone())
                    .bind(item.spec.clone()).bind(now)
            };
            match change {
                ConfigChange::Put(item) => {
                    put(item).execute(&mut *tx).await?;
                }
                ConfigChange::Delete { kind, id } => {
                    sqlx::query("DELETE FROM config_items WHERE tenant_id = $1 AND kind = $2 AND id = $3")
                        .bind(tenant_id).bind(kind).bind(id).execute(&mut *tx).await?;
                }
                ConfigChange::ReplaceAll(items) => {
                    sqlx::query("DELETE FROM config_items WHERE tenant_id = $1")
                        .bind(tenant_id).execute(&mut *tx).await?;
                    for item in items {
                        put(item).execute(&mut *tx).await?;
                    }
                }
            }
            let version: i64 = sqlx::query_scalar::<_, i64>(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM config_versions WHERE tenant_id = $1")
                .bind(tenant_id).fetch_one(&mut *tx).await?;
            sqlx::query("INSERT INTO config_versions (tenant_id, version, bundle, summary, author, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(tenant_id).bind(version).bind(bundle_json).bind(summary).bind(author).bind(now)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(version)
        }.await);
        or_duplicate(result, StoreError::Conflict)
    }

    /// The history, newest first.
    pub async fn config_versions(&self, tenant_id: &str) -> Result<Vec<VersionInfo>, StoreError> {
        Ok(
            on_pool!(&self.pool, pool => sqlx::query_as::<_, VersionInfo>(
            "SELECT version, summary, author, created_at FROM config_versions WHERE tenant_id = $1 ORDER BY version DESC")
            .bind(tenant_id).fetch_all(pool).await)?,
        )
    }

    /// The newest version and its bundle (JSON), if the tenant has any.
    pub async fn latest_config_version(
        &self,
        tenant_id: &str,
    ) -> Result<Option<(i64, String)>, StoreError> {
        Ok(
            on_pool!(&self.pool, pool => sqlx::query_as::<_, (i64, String)>(
            "SELECT version, bundle FROM config_versions WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1")
            .bind(tenant_id).fetch_optional(pool).await)?,
        )
    }

    /// The bundle (JSON) of one version.
    pub async fn config_version(
        &self,
        tenant_id: &str,
        version: i64,
    ) -> Result<Option<String>, StoreError> {
        Ok(
            on_pool!(&self.pool, pool => sqlx::query_scalar::<_, String>(
            "SELECT bundle FROM config_versions WHERE tenant_id = $1 AND version = $2")
            .bind(tenant_id).bind(version).fetch_optional(pool).await)?,
        )
    }
}
