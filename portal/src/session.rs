//! Who is calling: [`SignedIn`] is a browser session (cookie `weir_session`: HttpOnly,
//! SameSite=Lax, Secure over https) with the CSRF check every state-changing request must pass
//! (the `X-CSRF-Token` header must equal the session's token); [`Caller`] is that or an API
//! token (`Authorization: Bearer weir_…`, bound to one tenant and a scope). Tenant access
//! checks answer 404 for tenants the caller has no part in.

use crate::app::AppState;
use crate::db::now;
use crate::error::ApiError;
use crate::store::{ApiToken, Membership, User};
use crate::tokens::{constant_time_eq, hash_token};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::Method;

/// The session cookie's name.
pub const COOKIE: &str = "weir_session";

/// A signed-in browser (or script holding a session cookie).
#[derive(Debug)]
pub struct SignedIn {
    pub user: User,
    /// The stored hash of the session token (to sign out).
    pub session_hash: String,
    /// The session's CSRF token.
    pub csrf_token: String,
}

/// The value of cookie `name`, if sent.
pub fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_string())
}

/// The `weir_session` cookie's value, if sent.
pub fn session_cookie(parts: &Parts) -> Option<String> {
    cookie(&parts.headers, COOKIE)
}

/// `Set-Cookie` for a new session (or, with `None`, one that clears it).
pub fn set_cookie(token: Option<&str>, max_age_s: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match token {
        Some(t) => {
            format!("{COOKIE}={t}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{secure}")
        }
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let signed_out = || ApiError::Unauthorized("sign in first".into());
        let token = session_cookie(parts).ok_or_else(signed_out)?;
        let session_hash = hash_token(&token);
        let session = state
            .store
            .session(&session_hash, now())
            .await?
            .ok_or_else(signed_out)?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !constant_time_eq(sent, &session.csrf_token) {
                return Err(ApiError::Forbidden(
                    "missing or wrong X-CSRF-Token header (take it from GET /api/session)".into(),
                ));
            }
        }
        let user = state
            .store
            .user(&session.user_id)
            .await?
            .ok_or_else(signed_out)?;
        Ok(SignedIn {
            user,
            session_hash,
            csrf_token: session.csrf_token,
        })
    }
}

/// Whoever calls a tenant route: a signed-in user or an API token.
#[derive(Debug)]
pub enum Caller {
    /// A browser session.
    User(SignedIn),
    /// An API token of one tenant.
    Token(ApiToken),
}

/// What a caller may do in one tenant.
#[derive(Debug)]
pub struct Access {
    pub tenant_id: String,
    pub tenant_name: String,
    /// `owner`, `admin` or `member` (a `write` token acts as admin, `read` as member).
    pub role: String,
    /// Who changes are recorded as: the user's email, or `token:NAME`.
    pub author: String,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match bearer {
            Some(token) => state
                .store
                .use_api_token(&hash_token(token.trim()), now())
                .await?
                .map(Caller::Token)
                .ok_or_else(|| {
                    ApiError::Unauthorized("the API token is unknown, revoked or expired".into())
                }),
            None => Ok(Caller::User(
                SignedIn::from_request_parts(parts, state).await?,
            )),
        }
    }
}

impl SignedIn {
    /// The user's membership of `tenant_id`; 404 when none (another tenant's id looks
    /// exactly like one that does not exist).
    pub async fn member_of(
        &self,
        state: &AppState,
        tenant_id: &str,
    ) -> Result<Membership, ApiError> {
        state
            .store
            .membership(tenant_id, &self.user.id)
            .await?
            .ok_or(ApiError::NotFound)
    }

    /// Like [`SignedIn::member_of`], and the role may change things (owner or admin).
    pub async fn admin_of(
        &self,
        state: &AppState,
        tenant_id: &str,
    ) -> Result<Membership, ApiError> {
        let m = self.member_of(state, tenant_id).await?;
        may_change(&m.role)?;
        Ok(m)
    }
}

fn may_change(role: &str) -> Result<(), ApiError> {
    if matches!(role, "owner" | "admin") {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "your role ({role}) can only read this tenant's settings"
        )))
    }
}

impl Caller {
    /// The caller's access to `tenant_id`; 404 when it has none.
    pub async fn member_of(&self, state: &AppState, tenant_id: &str) -> Result<Access, ApiError> {
        match self {
            Caller::User(u) => {
                let m = u.member_of(state, tenant_id).await?;
                Ok(Access {
                    tenant_id: m.tenant_id,
                    tenant_name: m.tenant_name,
                    role: m.role,
                    author: u.user.email.clone(),
                })
            }
            Caller::Token(t) if t.tenant_id == tenant_id => Ok(Access {
                tenant_id: t.tenant_id.clone(),
                tenant_name: String::new(),
                role: if t.scope == "write" {
                    "admin"
                } else {
                    "member"
                }
                .into(),
                author: format!("token:{}", t.name),
            }),
            Caller::Token(_) => Err(ApiError::NotFound),
        }
    }

    /// Like [`Caller::member_of`], and the caller may change things.
    pub async fn admin_of(&self, state: &AppState, tenant_id: &str) -> Result<Access, ApiError> {
        let a = self.member_of(state, tenant_id).await?;
        if let Caller::Token(t) = self {
            if t.scope != "write" {
                return Err(ApiError::Forbidden(format!(
                    "the token `{}` has the read scope; changes need a write token",
                    t.name
                )));
            }
        }
        may_change(&a.role)?;
        Ok(a)
    }
}

/// The client's address (`unknown` when the server runs without connection info, as in
/// router tests).
#[derive(Debug)]
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string());
        Ok(ClientIp(ip))
    }
}
