//! Users, tenants, memberships, sessions, one-time email tokens and failed sign-ins.

use super::{or_duplicate, Store, StoreError};
use crate::db::on_pool;

/// A user account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub email_verified_at: Option<i64>,
    pub created_at: i64,
}

/// What signup stores.
#[derive(Debug)]
pub struct NewUser {
    pub id: String,
    pub email: String,
    pub password_hash: String,
}

/// A tenant (organisation).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

/// A user's role in a tenant.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Membership {
    pub tenant_id: String,
    pub tenant_name: String,
    pub user_id: String,
    pub email: String,
    pub role: String,
}

/// A signed-in browser or API client.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    pub user_id: String,
    pub csrf_token: String,
    pub expires_at: i64,
}

/// A one-time link sent by email (verify, reset, invite), stored by hash.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EmailToken {
    pub token_hash: String,
    pub purpose: String,
    pub email: String,
    pub user_id: Option<String>,
    pub tenant_id: Option<String>,
    pub role: Option<String>,
    pub expires_at: i64,
}

impl Store {
    /// Creates a user, a tenant named `tenant_name` and the user's owner membership, together.
    pub async fn create_account(
        &self,
        user: &NewUser,
        tenant_id: &str,
        tenant_name: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let result: Result<(), sqlx::Error> = on_pool!(&self.pool, pool => async {
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)")
                .bind(&user.id).bind(&user.email).bind(&user.password_hash).bind(now)
                .execute(&mut *tx).await?;
            sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(tenant_id).bind(tenant_name).bind(now)
                .execute(&mut *tx).await?;
            sqlx::query("INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES ($1, $2, 'owner', $3)")
                .bind(tenant_id).bind(&user.id).bind(now)
                .execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        or_duplicate(result, StoreError::EmailTaken)
    }

    /// Creates a user without a tenant (an invited member accepting).
    pub async fn create_user(
        &self,
        user: &NewUser,
        verified: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        let verified_at = verified.then_some(now);
        let result = on_pool!(&self.pool, pool => sqlx::query(
            "INSERT INTO users (id, email, password_hash, email_verified_at, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&user.id).bind(&user.email).bind(&user.password_hash).bind(verified_at).bind(now)
            .execute(pool).await.map(|_| ()));
        or_duplicate(result, StoreError::EmailTaken)
    }

    /// The user with this (lowercase) email.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        Ok(on_pool!(&self.pool, pool => sqlx::query_as::<_, User>(
            "SELECT id, email, password_hash, email_verified_at, created_at FROM users WHERE email = $1")
            .bind(email).fetch_optional(pool).await)?)
    }

    /// The user with this id.
    pub async fn user(&self, id: &str) -> Result<Option<User>, StoreError> {
        Ok(on_pool!(&self.pool, pool => sqlx::query_as::<_, User>(
            "SELECT id, email, password_hash, email_verified_at, created_at FROM users WHERE id = $1")
            .bind(id).fetch_optional(pool).await)?)
    }

    /// Marks the user's email as verified (first time only).
    pub async fn mark_verified(&self, user_id: &str, now: i64) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(
            "UPDATE users SET email_verified_at = $2 WHERE id = $1 AND email_verified_at IS NULL")
            .bind(user_id).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Replaces the password hash and ends every session of the user.
    pub async fn set_password(&self, user_id: &str, hash: &str) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => async {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                .bind(user_id).bind(hash).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id).execute(&mut *tx).await?;
            tx.commit().await
        }.await)?;
        Ok(())
    }

    /// Stores a one-time token.
    pub async fn insert_email_token(&self, t: &EmailToken, now: i64) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(
            "INSERT INTO email_tokens (token_hash, purpose, email, user_id, tenant_id, role, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&t.token_hash).bind(&t.purpose).bind(&t.email).bind(&t.user_id)
            .bind(&t.tenant_id).bind(&t.role).bind(t.expires_at).bind(now)
            .execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Uses up a token: returns it only if it exists for `purpose`, is unexpired and unused,
    /// and marks it used in the same statement (two concurrent uses cannot both succeed).
    pub async fn take_email_token(
        &self,
        token_hash: &str,
        purpose: &str,
        now: i64,
    ) -> Result<Option<EmailToken>, StoreError> {
        let taken = on_pool!(&self.pool, pool => sqlx::query(
            "UPDATE email_tokens SET used_at = $3 WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3")
            .bind(token_hash).bind(purpose).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
        if taken != 1 {
            return Ok(None);
        }
        Ok(
            on_pool!(&self.pool, pool => sqlx::query_as::<_, EmailToken>(
            "SELECT token_hash, purpose, email, user_id, tenant_id, role, expires_at FROM email_tokens WHERE token_hash = $1")
            .bind(token_hash).fetch_optional(pool).await)?,
        )
    }

    /// A usable (unexpired, unused) token, without using it up.
    pub async fn peek_email_token(
        &self,
        token_hash: &str,
        purpose: &str,
        now: i64,
    ) -> Result<Option<EmailToken>, StoreError> {
        Ok(
            on_pool!(&self.pool, pool => sqlx::query_as::<_, EmailToken>(
            "SELECT token_hash, purpose, email, user_id, tenant_id, role, expires_at FROM email_tokens WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3")
            .bind(token_hash).bind(purpose).bind(now).fetch_optional(pool).await)?,
        )
    }

    /// Starts a session.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: &str,
        csrf_token: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(token_hash).bind(user_id).bind(csrf_token).bind(now).bind(expires_at)
            .execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The unexpired session with this token hash.
    pub async fn session(&self, token_hash: &str, now: i64) -> Result<Option<Session>, StoreError> {
        Ok(on_pool!(&self.pool, pool => sqlx::query_as::<_, Session>(
            "SELECT user_id, csrf_token, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2")
            .bind(token_hash).bind(now).fetch_optional(pool).await)?)
    }

    /// Ends one session.
    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Records a failed sign-in.
    pub async fn record_login_failure(
        &self,
        email: &str,
        ip: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => sqlx::query("INSERT INTO login_failures (email, ip, at) VALUES ($1, $2, $3)")
            .bind(email).bind(ip).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Failed sign-ins since `since`: (for this email, from this address).
    pub async fn login_failures(
        &self,
        email: &str,
        ip: &str,
        since: i64,
    ) -> Result<(i64, i64), StoreError> {
        let count = |sql: &'static str, key: &str| {
            let key = key.to_string();
            async move {
                on_pool!(&self.pool, pool => sqlx::query_scalar::<_, i64>(sql)
                    .bind(key).bind(since).fetch_one(pool).await)
            }
        };
        let by_email = count(
            "SELECT COUNT(*) FROM login_failures WHERE email = $1 AND at >= $2",
            email,
        )
        .await?;
        let by_ip = count(
            "SELECT COUNT(*) FROM login_failures WHERE ip = $1 AND at >= $2",
            ip,
        )
        .await?;
        Ok((by_email, by_ip))
    }

    /// Forgets failed sign-ins for an email (after a successful one) and old rows.
    pub async fn clear_login_failures(
        &self,
        email: &str,
        older_than: i64,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => sqlx::query("DELETE FROM login_failures WHERE email = $1 OR at < $2")
            .bind(email).bind(older_than).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The tenant with this id.
    pub async fn tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
        Ok(on_pool!(&self.pool, pool => sqlx::query_as::<_, Tenant>(
            "SELECT id, name, created_at FROM tenants WHERE id = $1")
            .bind(id).fetch_optional(pool).await)?)
    }

    /// The tenants a user belongs to.
    pub async fn memberships_of(&self, user_id: &str) -> Result<Vec<Membership>, StoreError> {
        Ok(
            on_pool!(&self.pool, pool => sqlx::query_as::<_, Membership>(
            "SELECT m.tenant_id, t.name AS tenant_name, m.user_id, u.email, m.role FROM memberships m JOIN tenants t ON t.id = m.tenant_id JOIN users u ON u.id = m.user_id WHERE m.user_id = $1 ORDER BY t.name, t.id")
            .bind(user_id).fetch_all(pool).await)?,
        )
    }

    /// The user's membership of one tenant, if any.
    pub async fn membership(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> Result<Option<Membership>, StoreError> {
        Ok(
            on_pool!(&self.pool, pool => sqlx::query_as::<_, Membership>(
            "SELECT m.tenant_id, t.name AS tenant_name, m.user_id, u.email, m.role FROM memberships m JOIN tenants t ON t.id = m.tenant_id JOIN users u ON u.id = m.user_id WHERE m.tenant_id = $1 AND m.user_id = $2")
            .bind(tenant_id).bind(user_id).fetch_optional(pool).await)?,
        )
    }

    /// The members of a tenant.
    pub async fn members(&self, tenant_id: &str) -> Result<Vec<Membership>, StoreError> {
        Ok(
            on_pool!(&self.pool, pool => sqlx::query_as::<_, Membership>(
            "SELECT m.tenant_id, t.name AS tenant_name, m.user_id, u.email, m.role FROM memberships m JOIN tenants t ON t.id = m.tenant_id JOIN users u ON u.id = m.user_id WHERE m.tenant_id = $1 ORDER BY u.email")
            .bind(tenant_id).fetch_all(pool).await)?,
        )
    }

    /// Adds a member (no change when already one).
    pub async fn add_member(
        &self,
        tenant_id: &str,
        user_id: &str,
        role: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(
            "INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, user_id) DO NOTHING")
            .bind(tenant_id).bind(user_id).bind(role).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }
}
