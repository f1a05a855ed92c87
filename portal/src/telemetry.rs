//! Node telemetry: heartbeats in (checked, minutes of sites the node's tenant does not have
//! left out, then written by a group-commit writer), node online/offline status (a sweeper),
//! rollup retention by tenant plan, and site dashboards out. The node and tenant always come
//! from the node's credential, never from what it sends.

mod dashboard;
mod jobs;
mod validate;
mod writer;

pub use dashboard::{Bucket, CountryCount, Dashboard, PathTotal, Range, Totals};
pub use validate::validate;

use crate::config::PortalConfig;
use crate::db::now;
use crate::hub::Hub;
pub use crate::store::NodeStatus;
use crate::store::{Node, NodeBeat, Store, StoreError};
use std::collections::BTreeSet;
use std::sync::Arc;
use weir_bundle::telemetry::Heartbeat;
use weir_bundle::Problems;

/// Why a telemetry call failed.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The heartbeat is invalid (each problem names its field).
    #[error("invalid heartbeat")]
    Invalid(Problems),
    /// No such site for this tenant.
    #[error("no such site")]
    NoSite,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The heartbeat writer failed or stopped.
    #[error("heartbeat writer: {0}")]
    Writer(String),
}

/// What a heartbeat did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Ingested {
    /// Site-minutes stored (each replacing what this node sent for it before).
    pub stored_minutes: usize,
    /// Site-minutes left out: their site is not one of the tenant's.
    pub ignored_minutes: usize,
    /// The sites left out.
    pub unknown_sites: Vec<String>,
    /// The tenant's newest config version (the node is behind when it serves an older one).
    pub bundle_version: i64,
}

/// The telemetry service (cheap to clone; clones share the writer).
#[derive(Clone)]
pub struct Telemetry {
    store: Store,
    config: Arc<PortalConfig>,
    writer: writer::Writer,
    hub: Hub,
}

impl Telemetry {
    /// The service; starts its heartbeat writer on the current Tokio runtime. `hub` knows the
    /// newest bundle of tenants whose nodes are connected.
    pub fn start(store: Store, config: Arc<PortalConfig>, hub: Hub) -> Telemetry {
        Telemetry {
            writer: writer::Writer::start(store.clone()),
            store,
            config,
            hub,
        }
    }

    /// Takes a heartbeat from an authenticated node.
    pub async fn ingest(&self, node: &Node, beat: Heartbeat) -> Result<Ingested, TelemetryError> {
        let at = now();
        let problems = validate(&beat, at.div_euclid(60));
        if !problems.is_empty() {
            return Err(TelemetryError::Invalid(problems));
        }
        // The tenant's sites and newest version: from the push hub's memory when its nodes
        // are connected here (no database reads per heartbeat), else from the store.
        let (site_ids, newest) = match self.hub.current(&node.tenant_id) {
            Some(p) => (p.site_ids.clone(), p.signed.version),
            None => (
                self.store.site_ids(&node.tenant_id).await?,
                self.store.newest_config_version(&node.tenant_id).await?,
            ),
        };
        let sites: BTreeSet<String> = site_ids.into_iter().collect();
        let (minutes, ignored): (Vec<_>, Vec<_>) = beat
            .minutes
            .into_iter()
            .partition(|m| sites.contains(&m.site));
        let unknown_sites: BTreeSet<String> = ignored.iter().map(|m| m.site.clone()).collect();
        let stored_minutes = minutes.len();
        self.writer
            .write(NodeBeat {
                node_id: node.id.clone(),
                tenant_id: node.tenant_id.clone(),
                at,
                bundle_version: beat.bundle_version,
                bundle_hash: beat.bundle_hash,
                weir_version: beat.weir_version,
                apply_error: beat.apply_error,
                uptime_s: beat.uptime_s,
                in_flight: beat.in_flight,
                minutes,
            })
            .await
            .map_err(TelemetryError::Writer)?;
        Ok(Ingested {
            stored_minutes,
            ignored_minutes: ignored.len(),
            unknown_sites: unknown_sites.into_iter().collect(),
            bundle_version: newest,
        })
    }

    /// The status of each of a tenant's nodes that ever sent a heartbeat.
    pub async fn node_statuses(&self, tenant_id: &str) -> Result<Vec<NodeStatus>, StoreError> {
        self.store.node_statuses(tenant_id).await
    }

    /// A site's traffic over `range`, ending with the current minute.
    pub async fn dashboard(
        &self,
        tenant_id: &str,
        site_id: &str,
        range: Range,
    ) -> Result<Dashboard, TelemetryError> {
        if !self
            .store
            .site_ids(tenant_id)
            .await?
            .iter()
            .any(|s| s == site_id)
        {
            return Err(TelemetryError::NoSite);
        }
        let (from, to) = range.window(now().div_euclid(60));
        let rows = self
            .store
            .site_minutes(tenant_id, site_id, from, to)
            .await?;
        let nodes = self.node_statuses(tenant_id).await?;
        Ok(Dashboard::build(site_id, range, from, &rows, nodes))
    }

    /// Marks offline the nodes whose last heartbeat is older than `[nodes] offline_after_s`
    /// at `now`; returns how many.
    pub async fn sweep(&self, now: i64) -> Result<usize, StoreError> {
        let cut = now - i64::from(self.config.nodes.offline_after_s);
        let gone = self.store.mark_offline(cut, now).await?;
        let mut by_tenant: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for (node, tenant) in &gone {
            tracing::info!(node = %node, tenant = %tenant, "node offline (no heartbeat)");
            by_tenant.entry(tenant).or_default().push(node);
        }
        for (tenant, nodes) in by_tenant {
            self.mail_offline(tenant, &nodes).await?;
        }
        Ok(gone.len())
    }

    /// Tells the tenant's owners and admins (through the outbox) that `nodes` went offline;
    /// the tenant's names and members are read once for all of them.
    async fn mail_offline(&self, tenant_id: &str, nodes: &[&str]) -> Result<(), StoreError> {
        let statuses = self.store.node_statuses(tenant_id).await?;
        let admins: Vec<_> = self
            .store
            .members(tenant_id)
            .await?
            .into_iter()
            .filter(|m| m.role == "owner" || m.role == "admin")
            .collect();
        for node_id in nodes {
            let name = statuses
                .iter()
                .find(|n| n.node_id == *node_id)
                .map_or(*node_id, |n| n.name.as_str());
            for m in &admins {
                let mail = crate::mail::node_offline(
                    &m.email,
                    self.config.base_url(),
                    tenant_id,
                    &m.tenant_name,
                    name,
                );
                crate::mail::enqueue(&self.store, &mail).await?;
            }
        }
        Ok(())
    }

    /// Deletes rollups older than each tenant plan's retention at `now`; returns how many.
    pub async fn apply_retention(&self, now: i64) -> Result<u64, StoreError> {
        let mut deleted = 0;
        for plan in self.store.tenant_plans().await? {
            if !self.config.retention.contains_key(&plan) {
                tracing::warn!(plan = %plan, "no [retention] setting for this plan; keeping its rollups as long as the longest plan's");
            }
            let days = i64::from(self.config.retention_days(&plan));
            let cut = now.div_euclid(60) - days * 24 * 60;
            deleted += self.store.delete_minutes_before(&plan, cut).await?;
        }
        Ok(deleted)
    }

    /// The background jobs: the offline sweeper and retention; runs until the process ends.
    pub async fn run_jobs(self) {
        jobs::run(self).await;
    }
}
