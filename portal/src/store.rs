//! Persistence: [`Store`] owns the pool, and each submodule adds the queries of one area. Every
//! query that touches tenant data takes the tenant id and filters by it.

mod accounts;
mod api_tokens;
mod config_items;
mod nodes;
mod outbox;
mod plugins;
mod telemetry;

pub use accounts::{EmailToken, Membership, NewUser, Session, Tenant, User};
pub use api_tokens::ApiToken;
pub use config_items::{ConfigChange, ConfigItem, VersionInfo};
pub use nodes::Node;
pub use outbox::{NewMail, OutboxMail};
pub use plugins::PluginVersion;
pub use telemetry::{MinuteRow, NodeBeat, NodeEvent, NodeStatus};

use crate::db::{is_unique_violation, Pool};

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The email address already has an account.
    #[error("an account with this email already exists")]
    EmailTaken,
    /// Two changes raced for the same version number; the caller may retry.
    #[error("another change was saved at the same time")]
    Conflict,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The portal's data, on SQLite or PostgreSQL.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
}

impl Store {
    /// A store on an open (and migrated) pool.
    pub fn new(pool: Pool) -> Store {
        Store { pool }
    }

    /// The pool, for jobs that need their own queries.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}

/// A database result with a unique-key violation reported as `on_duplicate` (a taken email,
/// a version number another writer took).
fn or_duplicate<T>(
    result: Result<T, sqlx::Error>,
    on_duplicate: StoreError,
) -> Result<T, StoreError> {
    match result {
        Err(e) if is_unique_violation(&e) => Err(on_duplicate),
        other => Ok(other?),
    }
}
