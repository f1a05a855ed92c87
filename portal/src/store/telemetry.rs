//! Node telemetry: per-minute site rollups (replaced whole by each heartbeat that carries
//! them), each node's status from its last heartbeat, online/offline events, the UTC hours a
//! node heartbeated in (billing), and rollup retention by plan.

use super::{Store, StoreError};
use crate::db::on_pool;
use weir_bundle::telemetry::SiteMinute;

/// A checked heartbeat ready to be written: the node and tenant come from its credential.
#[derive(Debug, Clone)]
pub struct NodeBeat {
    pub node_id: String,
    pub tenant_id: String,
    /// When the portal received it (Unix seconds).
    pub at: i64,
    pub bundle_version: i64,
    pub bundle_hash: String,
    pub weir_version: String,
    pub apply_error: Option<String>,
    pub uptime_s: u64,
    pub in_flight: u64,
    /// Minutes of the tenant's own sites only.
    pub minutes: Vec<SiteMinute>,
}

/// A stored site-minute of one node (JSON columns as stored).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MinuteRow {
    pub node_id: String,
    pub minute: i64,
    pub req_1xx: i64,
    pub req_2xx: i64,
    pub req_3xx: i64,
    pub req_4xx: i64,
    pub req_5xx: i64,
    pub bytes_in: i64,
    pub bytes_out: i64,
    pub plugin_failures: i64,
    pub latency: String,
    pub waf_blocks: String,
    pub countries: String,
    pub slow_paths: String,
}

/// A node's status from its last heartbeat (and the offline sweeper).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct NodeStatus {
    pub node_id: String,
    pub name: String,
    /// It sent a heartbeat within `[nodes] offline_after_s`.
    pub online: bool,
    /// When it last came online (Unix seconds).
    pub online_since: Option<i64>,
    /// When it was found offline (Unix seconds; none while online).
    pub offline_since: Option<i64>,
    pub last_heartbeat_at: i64,
    /// The bundle version it serves.
    pub bundle_version: i64,
    pub bundle_hash: String,
    /// Its `weir` version.
    pub weir_version: String,
    /// Why it did not apply the newest bundle it received, if it did not.
    pub apply_error: Option<String>,
    pub uptime_s: i64,
    pub in_flight: i64,
}

/// An online/offline transition.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct NodeEvent {
    pub node_id: String,
    pub kind: String,
    pub at: i64,
}

/// A counter as stored (SQL integers are signed 64-bit).
/// Rows in one multi-row statement (17 parameters each stays below SQLite's 32,766).
const ROWS_PER_STATEMENT: usize = 500;

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

impl Store {
    /// The ids of a tenant's sites (its newest config).
    pub async fn site_ids(&self, tenant_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(
            on_pool!(&self.pool, pool => sqlx::query_scalar::<_, String>(
            "SELECT id FROM config_items WHERE tenant_id = $1 AND kind = 'site' ORDER BY id")
            .bind(tenant_id).fetch_all(pool).await)?,
        )
    }

    /// The tenant's newest config version (0: none).
    pub async fn newest_config_version(&self, tenant_id: &str) -> Result<i64, StoreError> {
        Ok(on_pool!(&self.pool, pool => sqlx::query_scalar::<_, i64>(
            "SELECT COALESCE(MAX(version), 0) FROM config_versions WHERE tenant_id = $1")
            .bind(tenant_id).fetch_one(pool).await)?)
    }

    /// Writes heartbeats in one transaction: each node's status (an `online` event when it was
    /// offline or new), its hour, and its minutes, each replacing what the same node sent for
    /// the same site and minute before. A few multi-row statements per batch, not a few per
    /// heartbeat: on PostgreSQL the round trips were the limit (bench/fleet.sh). Within a
    /// batch, a node's later heartbeat wins.
    pub async fn write_heartbeats(&self, beats: &[NodeBeat]) -> Result<(), StoreError> {
        use std::collections::HashMap;
        let mut last_beat: HashMap<&str, &NodeBeat> = HashMap::new();
        let mut hours: HashMap<(&str, i64), &str> = HashMap::new();
        let mut minutes: HashMap<(&str, &str, i64), (&NodeBeat, &SiteMinute)> = HashMap::new();
        for b in beats {
            last_beat.insert(&b.node_id, b);
            hours.insert((&b.node_id, b.at.div_euclid(3600)), &b.tenant_id);
            for m in &b.minutes {
                minutes.insert((&b.node_id, &m.site, m.minute), (b, m));
            }
        }
        // Sorted by key, so concurrent writers (and the sweeper) lock rows in one order.
        let mut statuses: Vec<&NodeBeat> = last_beat.into_values().collect();
        statuses.sort_by(|a, b| a.node_id.cmp(&b.node_id));
        let mut hours: Vec<((&str, i64), &str)> = hours.into_iter().collect();
        hours.sort();
        let mut minutes: Vec<_> = minutes.into_iter().collect();
        minutes.sort_by(|a, b| a.0.cmp(&b.0));
        let result: Result<(), sqlx::Error> = on_pool!(&self.pool, pool => async {
            let mut tx = pool.begin().await?;
            for chunk in statuses.chunks(ROWS_PER_STATEMENT) {
                let mut q = sqlx::QueryBuilder::new("INSERT INTO node_status (node_id, tenant_id, online, last_heartbeat_at, bundle_version, bundle_hash, weir_version, apply_error, uptime_s, in_flight) ");
                q.push_values(chunk, |mut row, b| {
                    row.push_bind(&b.node_id).push_bind(&b.tenant_id).push_bind(0i64).push_bind(b.at)
                        .push_bind(b.bundle_version).push_bind(&b.bundle_hash).push_bind(&b.weir_version)
                        .push_bind(&b.apply_error).push_bind(int(b.uptime_s)).push_bind(int(b.in_flight));
                });
                q.push(" ON CONFLICT (node_id) DO UPDATE SET last_heartbeat_at = excluded.last_heartbeat_at, bundle_version = excluded.bundle_version, bundle_hash = excluded.bundle_hash, weir_version = excluded.weir_version, apply_error = excluded.apply_error, uptime_s = excluded.uptime_s, in_flight = excluded.in_flight");
                q.build().execute(&mut *tx).await?;
                let mut q = sqlx::QueryBuilder::new("UPDATE node_status SET online = 1, online_since = last_heartbeat_at, offline_since = NULL WHERE online = 0 AND node_id IN (");
                let mut ids = q.separated(", ");
                for b in chunk {
                    ids.push_bind(&b.node_id);
                }
                q.push(") RETURNING node_id, tenant_id, last_heartbeat_at");
                let came_online: Vec<(String, String, i64)> = q.build_query_as().fetch_all(&mut *tx).await?;
                if !came_online.is_empty() {
                    let mut q = sqlx::QueryBuilder::new("INSERT INTO node_events (node_id, tenant_id, kind, at) ");
                    q.push_values(&came_online, |mut row, (node, tenant, at)| {
                        row.push_bind(node).push_bind(tenant).push_bind("online").push_bind(at);
                    });
                    q.build().execute(&mut *tx).await?;
                }
            }
            for chunk in hours.chunks(ROWS_PER_STATEMENT) {
                let mut q = sqlx::QueryBuilder::new("INSERT INTO node_hours (node_id, hour, tenant_id) ");
                q.push_values(chunk, |mut row, ((node, hour), tenant)| {
                    row.push_bind(*node).push_bind(*hour).push_bind(*tenant);
                });
                q.push(" ON CONFLICT (node_id, hour) DO NOTHING");
                q.build().execute(&mut *tx).await?;
            }
            for chunk in minutes.chunks(ROWS_PER_STATEMENT) {
                let mut q = sqlx::QueryBuilder::new("INSERT INTO site_minutes (node_id, site_id, minute, tenant_id, req_1xx, req_2xx, req_3xx, req_4xx, req_5xx, bytes_in, bytes_out, plugin_failures, latency, waf_blocks, countries, slow_paths, updated_at) ");
                q.push_values(chunk, |mut row, (_, (b, m))| {
                    row.push_bind(&b.node_id).push_bind(&m.site).push_bind(m.minute).push_bind(&b.tenant_id)
                        .push_bind(int(m.requests[0])).push_bind(int(m.requests[1])).push_bind(int(m.requests[2]))
                        .push_bind(int(m.requests[3])).push_bind(int(m.requests[4]))
                        .push_bind(int(m.bytes_in)).push_bind(int(m.bytes_out)).push_bind(int(m.plugin_failures))
                        .push_bind(json(&m.latency)).push_bind(json(&m.waf_blocks)).push_bind(json(&m.countries))
                        .push_bind(json(&m.slow_paths)).push_bind(b.at);
                });
                q.push(" ON CONFLICT (node_id, site_id, minute) DO UPDATE SET req_1xx = excluded.req_1xx, req_2xx = excluded.req_2xx, req_3xx = excluded.req_3xx, req_4xx = excluded.req_4xx, req_5xx = excluded.req_5xx, bytes_in = excluded.bytes_in, bytes_out = excluded.bytes_out, plugin_failures = excluded.plugin_failures, latency = excluded.latency, waf_blocks = excluded.waf_blocks, countries = excluded.countries, slow_paths = excluded.slow_paths, updated_at = excluded.updated_at");
                q.build().execute(&mut *tx).await?;
            }
            tx.commit().await
        }.await);
        Ok(result?)
    }

    /// A tenant's site's minutes `from..to` from every node, oldest first.
    pub async fn site_minutes(
        &self,
        tenant_id: &str,
        site_id: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<MinuteRow>, StoreError> {
        Ok(on_pool!(&self.pool, pool => sqlx::query_as::<_, MinuteRow>(
            "SELECT node_id, minute, req_1xx, req_2xx, req_3xx, req_4xx, req_5xx, bytes_in, bytes_out, plugin_failures, latency, waf_blocks, countries, slow_paths FROM site_minutes WHERE tenant_id = $1 AND site_id = $2 AND minute >= $3 AND minute < $4 ORDER BY minute, node_id")
            .bind(tenant_id).bind(site_id).bind(from).bind(to).fetch_all(pool).await)?)
    }

    /// The status of each of a tenant's nodes that ever sent a heartbeat, by name.
    pub async fn node_statuses(&self, tenant_id: &str) -> Result<Vec<NodeStatus>, StoreError> {
        Ok(
            on_pool!(&self.pool, pool => sqlx::query_as::<_, NodeStatus>(
            "SELECT s.node_id, n.name, s.online = 1 AS online, s.online_since, s.offline_since, s.last_heartbeat_at, s.bundle_version, s.bundle_hash, s.weir_version, s.apply_error, s.uptime_s, s.in_flight FROM node_status s JOIN nodes n ON n.id = s.node_id WHERE s.tenant_id = $1 AND n.tenant_id = $1 ORDER BY n.name, s.node_id")
            .bind(tenant_id).fetch_all(pool).await)?,
        )
    }

    /// Marks offline every online node whose last heartbeat is older than `cut`, recording an
    /// `offline` event for each at `now`; returns (node, tenant) of each.
    pub async fn mark_offline(
        &self,
        cut: i64,
        now: i64,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let result: Result<Vec<(String, String)>, sqlx::Error> = on_pool!(&self.pool, pool => async {
            let mut tx = pool.begin().await?;
            let gone = sqlx::query_as::<_, (String, String)>(
                "UPDATE node_status SET online = 0, offline_since = $2 WHERE online = 1 AND last_heartbeat_at < $1 RETURNING node_id, tenant_id")
                .bind(cut).bind(now).fetch_all(&mut *tx).await?;
            for (node, tenant) in &gone {
                sqlx::query("INSERT INTO node_events (node_id, tenant_id, kind, at) VALUES ($1, $2, 'offline', $3)")
                    .bind(node).bind(tenant).bind(now).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(gone)
        }.await);
        Ok(result?)
    }

    /// A tenant's online/offline transitions, oldest first.
    pub async fn node_events(&self, tenant_id: &str) -> Result<Vec<NodeEvent>, StoreError> {
        Ok(on_pool!(&self.pool, pool => sqlx::query_as::<_, NodeEvent>(
            "SELECT node_id, kind, at FROM node_events WHERE tenant_id = $1 ORDER BY at, id")
            .bind(tenant_id).fetch_all(pool).await)?)
    }

    /// How many of a tenant's nodes heartbeated in UTC hour `hour` (Unix seconds / 3600).
    pub async fn active_nodes_in_hour(
        &self,
        tenant_id: &str,
        hour: i64,
    ) -> Result<i64, StoreError> {
        Ok(on_pool!(&self.pool, pool => sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM node_hours WHERE tenant_id = $1 AND hour = $2")
            .bind(tenant_id).bind(hour).fetch_one(pool).await)?)
    }

    /// The plans tenants are on.
    pub async fn tenant_plans(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            on_pool!(&self.pool, pool => sqlx::query_scalar::<_, String>(
            "SELECT DISTINCT plan FROM tenants ORDER BY plan")
            .fetch_all(pool).await)?,
        )
    }

    /// Puts a tenant on `plan`; false when there is no such tenant.
    pub async fn set_tenant_plan(&self, tenant_id: &str, plan: &str) -> Result<bool, StoreError> {
        let done = on_pool!(&self.pool, pool => sqlx::query("UPDATE tenants SET plan = $2 WHERE id = $1")
            .bind(tenant_id).bind(plan).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    /// Deletes the rollups of the tenants on `plan` from before `minute`; returns how many.
    pub async fn delete_minutes_before(&self, plan: &str, minute: i64) -> Result<u64, StoreError> {
        Ok(on_pool!(&self.pool, pool => sqlx::query(
            "DELETE FROM site_minutes WHERE minute < $2 AND tenant_id IN (SELECT id FROM tenants WHERE plan = $1)")
            .bind(plan).bind(minute).execute(pool).await.map(|r| r.rows_affected()))?)
    }
}
