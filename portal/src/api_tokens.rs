//! Minting API tokens, for the API and the UI alike: the rules for a new token (name 1-64
//! characters, scope `read` or `write`, expiry 1-3650 days or none) and the secret, which is
//! returned once and stored only as its SHA-256.

use crate::db::now;
use crate::store::{Store, StoreError};
use crate::tokens::{hash_token, new_id, new_token};
use weir_bundle::Problems;

/// A new token; `secret` exists only here.
#[derive(Debug)]
pub struct Minted {
    pub id: String,
    pub name: String,
    pub scope: String,
    pub expires_at: Option<i64>,
    pub secret: String,
}

/// Why no token was made.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    /// Fields are invalid.
    #[error("{0}")]
    Invalid(Problems),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks the request and stores a new token for `tenant_id`.
pub async fn mint(
    store: &Store,
    tenant_id: &str,
    name: &str,
    scope: &str,
    expires_in_days: Option<u32>,
    created_by: &str,
) -> Result<Minted, MintError> {
    let mut problems = Problems::default();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        problems.push("name", "must be 1-64 characters");
    }
    if !matches!(scope, "read" | "write") {
        problems.push("scope", "must be read or write");
    }
    if expires_in_days.is_some_and(|d| !(1..=3650).contains(&d)) {
        problems.push("expires_in_days", "must be between 1 and 3650");
    }
    problems.into_result().map_err(MintError::Invalid)?;
    let secret = format!("weir_{}", new_token());
    let id = new_id("tok");
    let expires_at = expires_in_days.map(|d| now() + i64::from(d) * 86_400);
    store
        .create_api_token(
            &id,
            tenant_id,
            name,
            &hash_token(&secret),
            scope,
            created_by,
            now(),
            expires_at,
        )
        .await?;
    Ok(Minted {
        id,
        name: name.to_string(),
        scope: scope.to_string(),
        expires_at,
        secret,
    })
}
