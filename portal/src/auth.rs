//! Accounts: signup, email verification, sign-in with throttling, sessions, password reset and
//! invitations. Passwords are argon2id hashes; every token is random, single-use where it is a
//! link, and stored only as its SHA-256. Answers never reveal whether an email has an account.

use crate::config::PortalConfig;
use crate::db::now;
use crate::mail;
use crate::store::{EmailToken, NewUser, Store, StoreError, User};
use crate::tokens::{hash_token, new_id, new_token};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::{Arc, OnceLock};

const VERIFY_TTL_S: i64 = 24 * 3600;
const RESET_TTL_S: i64 = 3600;
const INVITE_TTL_S: i64 = 7 * 24 * 3600;

/// Why an account operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A field is invalid (field, message).
    #[error("{0}: {1}")]
    Invalid(&'static str, String),
    /// Wrong email or password (deliberately not saying which).
    #[error("wrong email or password")]
    BadCredentials,
    /// The password was right but the email is not confirmed yet.
    #[error("confirm your email first: we sent you a link when you signed up")]
    NotVerified,
    /// Too many failed sign-ins.
    #[error("too many failed sign-ins; try again in {0} seconds")]
    Throttled(u64),
    /// The link is unknown, used or expired.
    #[error("this link is invalid, used or expired")]
    BadToken,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing failed (should not happen with valid parameters).
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// A started session: the cookie value and the CSRF token that goes with it.
#[derive(Debug)]
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
    pub user: User,
}

/// The account service.
#[derive(Clone)]
pub struct Accounts {
    store: Store,
    config: Arc<PortalConfig>,
    argon: Argon2<'static>,
}

/// Lowercases and checks an email address.
pub fn normalize_email(email: &str) -> Result<String, AuthError> {
    let email = email.trim().to_ascii_lowercase();
    if email.len() > 254 || email.parse::<lettre::Address>().is_err() {
        return Err(AuthError::Invalid(
            "email",
            "is not an email address".into(),
        ));
    }
    Ok(email)
}

fn check_password(password: &str, email: &str) -> Result<(), AuthError> {
    let n = password.chars().count();
    if n < 10 {
        return Err(AuthError::Invalid(
            "password",
            "must be at least 10 characters".into(),
        ));
    }
    if n > 128 {
        return Err(AuthError::Invalid(
            "password",
            "must be at most 128 characters".into(),
        ));
    }
    if password.eq_ignore_ascii_case(email) {
        return Err(AuthError::Invalid(
            "password",
            "must not be your email address".into(),
        ));
    }
    Ok(())
}

impl Accounts {
    /// The service over `store`, hashing with the configured argon2id cost.
    pub fn new(store: Store, config: Arc<PortalConfig>) -> Result<Accounts, AuthError> {
        let params = Params::new(config.auth.argon2_memory_kib, 2, 1, None)
            .map_err(|e| AuthError::Hash(e.to_string()))?;
        Ok(Accounts {
            store,
            config,
            argon: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
        })
    }

    async fn hash(&self, password: &str) -> Result<String, AuthError> {
        let argon = self.argon.clone();
        let password = password.to_string();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            argon
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| AuthError::Hash(e.to_string()))
        })
        .await
        .map_err(|e| AuthError::Hash(e.to_string()))?
    }

    async fn verify(&self, password: &str, hash: &str) -> bool {
        let argon = self.argon.clone();
        let password = password.to_string();
        let hash = hash.to_string();
        tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|h| argon.verify_password(password.as_bytes(), &h).is_ok())
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false)
    }

    /// A hash to verify against when the email is unknown, so timing does not tell.
    async fn dummy_hash(&self) -> String {
        static DUMMY: OnceLock<String> = OnceLock::new();
        if let Some(h) = DUMMY.get() {
            return h.clone();
        }
        let h = self.hash("not-a-real-password").await.unwrap_or_default();
        DUMMY.get_or_init(|| h).clone()
    }

    async fn send_link(
        &self,
        purpose: &str,
        email: &str,
        user_id: Option<&str>,
        tenant: Option<(&str, &str)>,
        ttl: i64,
    ) -> Result<String, AuthError> {
        let token = new_token();
        let t = EmailToken {
            token_hash: hash_token(&token),
            purpose: purpose.to_string(),
            email: email.to_string(),
            user_id: user_id.map(str::to_string),
            tenant_id: tenant.map(|t| t.0.to_string()),
            role: tenant.map(|t| t.1.to_string()),
            expires_at: now() + ttl,
        };
        self.store.insert_email_token(&t, now()).await?;
        Ok(token)
    }

    /// Checks a signup's fields and hashes the password.
    async fn new_user<'o>(
        &self,
        email: &str,
        password: &str,
        organisation: &'o str,
    ) -> Result<(NewUser, &'o str), AuthError> {
        let email = normalize_email(email)?;
        check_password(password, &email)?;
        let organisation = organisation.trim();
        if organisation.is_empty() || organisation.chars().count() > 100 {
            return Err(AuthError::Invalid(
                "organisation",
                "must be 1-100 characters".into(),
            ));
        }
        let user = NewUser {
            id: new_id("usr"),
            email,
            password_hash: self.hash(password).await?,
        };
        Ok((user, organisation))
    }

    /// Creates an account whose address is taken as confirmed, with its tenant (operators
    /// only: `weir up`'s demo login). Returns (user id, tenant id).
    pub async fn create_confirmed(
        &self,
        email: &str,
        password: &str,
        organisation: &str,
    ) -> Result<(String, String), AuthError> {
        let (user, organisation) = self.new_user(email, password, organisation).await?;
        let tenant = new_id("tnt");
        self.store
            .create_account(&user, &tenant, organisation, now())
            .await?;
        self.store.mark_verified(&user.id, now()).await?;
        Ok((user.id, tenant))
    }

    /// Creates the account and its tenant and emails a verification link. An email that
    /// already has an account gets a "you already have an account" email instead; the answer
    /// is the same either way.
    pub async fn signup(
        &self,
        email: &str,
        password: &str,
        organisation: &str,
    ) -> Result<(), AuthError> {
        let (user, organisation) = self.new_user(email, password, organisation).await?;
        let email = user.email.clone();
        let base = self.config.base_url();
        match self
            .store
            .create_account(&user, &new_id("tnt"), organisation, now())
            .await
        {
            Ok(()) => {
                let token = self
                    .send_link("verify", &email, Some(&user.id), None, VERIFY_TTL_S)
                    .await?;
                mail::enqueue(&self.store, &mail::verify_email(&email, base, &token)).await?;
            }
            Err(StoreError::EmailTaken) => {
                let token = self
                    .send_link("reset", &email, None, None, RESET_TTL_S)
                    .await?;
                mail::enqueue(&self.store, &mail::account_exists(&email, base, &token)).await?;
            }
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// Confirms an email address from its link.
    pub async fn verify_email(&self, token: &str) -> Result<(), AuthError> {
        let t = self
            .store
            .take_email_token(&hash_token(token), "verify", now())
            .await?
            .ok_or(AuthError::BadToken)?;
        let user_id = t.user_id.ok_or(AuthError::BadToken)?;
        self.store.mark_verified(&user_id, now()).await?;
        Ok(())
    }

    /// Signs in; throttled per email and per client address.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        ip: &str,
    ) -> Result<NewSession, AuthError> {
        let email = normalize_email(email).map_err(|_| AuthError::BadCredentials)?;
        let auth = &self.config.auth;
        let window = i64::from(auth.login_window_s);
        let max = i64::from(auth.login_max_failures);
        let (by_email, by_ip) = self
            .store
            .login_failures(&email, ip, now() - window)
            .await?;
        if by_email >= max || by_ip >= max * 4 {
            return Err(AuthError::Throttled(window as u64));
        }
        let user = self.store.user_by_email(&email).await?;
        let hash = match &user {
            Some(u) => u.password_hash.clone(),
            None => self.dummy_hash().await,
        };
        let ok = self.verify(password, &hash).await;
        let Some(user) = user.filter(|_| ok) else {
            self.store.record_login_failure(&email, ip, now()).await?;
            return Err(AuthError::BadCredentials);
        };
        if user.email_verified_at.is_none() {
            return Err(AuthError::NotVerified);
        }
        self.store
            .clear_login_failures(&email, now() - window)
            .await?;
        let token = new_token();
        let csrf_token = new_token();
        let expires = now() + i64::from(auth.session_hours) * 3600;
        self.store
            .create_session(&hash_token(&token), &user.id, &csrf_token, now(), expires)
            .await?;
        Ok(NewSession {
            token,
            csrf_token,
            user,
        })
    }

    /// Emails a reset link when the account exists (the answer is the same when not).
    pub async fn request_reset(&self, email: &str) -> Result<(), AuthError> {
        let Ok(email) = normalize_email(email) else {
            return Ok(());
        };
        if let Some(user) = self.store.user_by_email(&email).await? {
            let token = self
                .send_link("reset", &email, Some(&user.id), None, RESET_TTL_S)
                .await?;
            mail::enqueue(
                &self.store,
                &mail::password_reset(&email, self.config.base_url(), &token),
            )
            .await?;
        }
        Ok(())
    }

    /// Sets a new password from a reset link; ends all the user's sessions.
    pub async fn reset_password(&self, token: &str, password: &str) -> Result<(), AuthError> {
        let hash = hash_token(token);
        // Check the new password before using the link up, so a typo costs nothing.
        let t = self
            .store
            .peek_email_token(&hash, "reset", now())
            .await?
            .ok_or(AuthError::BadToken)?;
        let user = self
            .store
            .user_by_email(&t.email)
            .await?
            .ok_or(AuthError::BadToken)?;
        check_password(password, &user.email)?;
        let new_hash = self.hash(password).await?;
        self.store
            .take_email_token(&hash, "reset", now())
            .await?
            .ok_or(AuthError::BadToken)?;
        self.store.set_password(&user.id, &new_hash).await?;
        // The link came by email, so the address is confirmed too.
        self.store.mark_verified(&user.id, now()).await?;
        Ok(())
    }

    /// Emails an invitation to join `tenant_id` with `role`.
    pub async fn invite(
        &self,
        tenant_id: &str,
        tenant_name: &str,
        inviter: &str,
        email: &str,
        role: &str,
    ) -> Result<(), AuthError> {
        let email = normalize_email(email)?;
        if !matches!(role, "admin" | "member") {
            return Err(AuthError::Invalid("role", "must be admin or member".into()));
        }
        let token = self
            .send_link(
                "invite",
                &email,
                None,
                Some((tenant_id, role)),
                INVITE_TTL_S,
            )
            .await?;
        mail::enqueue(
            &self.store,
            &mail::invitation(&email, self.config.base_url(), &token, tenant_name, inviter),
        )
        .await?;
        Ok(())
    }

    /// Accepts an invitation: joins the tenant, creating the account (with `password`) when the
    /// email has none. Returns the tenant id.
    pub async fn accept_invite(
        &self,
        token: &str,
        password: Option<&str>,
    ) -> Result<String, AuthError> {
        let hash = hash_token(token);
        // Check everything before using the link up, so a missing password costs nothing.
        let t = self
            .store
            .peek_email_token(&hash, "invite", now())
            .await?
            .ok_or(AuthError::BadToken)?;
        let existing = self.store.user_by_email(&t.email).await?;
        let new_user = match &existing {
            Some(_) => None,
            None => {
                let password = password.ok_or(AuthError::Invalid(
                    "password",
                    "choose a password for your new account".into(),
                ))?;
                check_password(password, &t.email)?;
                Some(NewUser {
                    id: new_id("usr"),
                    email: t.email.clone(),
                    password_hash: self.hash(password).await?,
                })
            }
        };
        let t = self
            .store
            .take_email_token(&hash, "invite", now())
            .await?
            .ok_or(AuthError::BadToken)?;
        let (Some(tenant_id), Some(role)) = (t.tenant_id, t.role) else {
            return Err(AuthError::BadToken);
        };
        let user_id = match (existing, new_user) {
            (Some(user), _) => user.id,
            (None, Some(user)) => {
                self.store.create_user(&user, true, now()).await?;
                user.id
            }
            (None, None) => return Err(AuthError::BadToken),
        };
        self.store
            .add_member(&tenant_id, &user_id, &role, now())
            .await?;
        Ok(tenant_id)
    }
}
