//! The telemetry background jobs: the offline sweeper (a third of `[nodes] offline_after_s`,
//! between 0.2 and 5 s) and retention (at start, then hourly). Every replica may run them:
//! both are single conditional statements, so replicas racing do the work once.

use super::Telemetry;
use crate::db::now;
use std::time::Duration;

const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// Runs both jobs until the process ends.
pub(super) async fn run(t: Telemetry) {
    let every_ms = (u64::from(t.config.nodes.offline_after_s) * 1000 / 3).clamp(200, 5000);
    let mut sweep = tokio::time::interval(Duration::from_millis(every_ms));
    let mut retention = tokio::time::interval(RETENTION_EVERY);
    for tick in [&mut sweep, &mut retention] {
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    loop {
        tokio::select! {
            _ = sweep.tick() => {
                if let Err(e) = t.sweep(now()).await {
                    tracing::warn!(error = %e, "offline sweep failed");
                }
            }
            _ = retention.tick() => {
                match t.apply_retention(now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "old traffic rollups deleted"),
                    Err(e) => tracing::warn!(error = %e, "retention failed"),
                }
            }
        }
    }
}
