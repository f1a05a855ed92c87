//! `/api/auth/*` and `/api/session`: signup, email verification, sign-in and -out, password
//! reset, invitations.

use super::JsonBody;
use crate::app::AppState;
use crate::error::ApiError;
use crate::session::{set_cookie, ClientIp, SignedIn};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/signup", post(signup))
        .route("/api/auth/verify", post(verify))
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/reset-request", post(reset_request))
        .route("/api/auth/reset", post(reset))
        .route("/api/auth/accept-invite", post(accept_invite))
        .route("/api/session", get(session))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Signup {
    email: String,
    password: String,
    organisation: String,
}

async fn signup(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<Signup>,
) -> Result<Response, ApiError> {
    s.accounts
        .signup(&b.email, &b.password, &b.organisation)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "check your email for a confirmation link"})),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenOnly {
    token: String,
}

async fn verify(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<TokenOnly>,
) -> Result<Json<serde_json::Value>, ApiError> {
    s.accounts.verify_email(&b.token).await?;
    Ok(Json(json!({"status": "email confirmed; you can sign in"})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    email: String,
    password: String,
}

async fn login(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(b): JsonBody<Login>,
) -> Result<Response, ApiError> {
    let started = s.accounts.login(&b.email, &b.password, &ip).await?;
    let tenants = s.store.memberships_of(&started.user.id).await?;
    let max_age = i64::from(s.config.auth.session_hours) * 3600;
    let cookie = set_cookie(Some(&started.token), max_age, s.config.https());
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(json!({
            "user": {"id": started.user.id, "email": started.user.email},
            "csrf_token": started.csrf_token,
            "tenants": tenants,
        })),
    )
        .into_response())
}

async fn logout(State(s): State<AppState>, caller: SignedIn) -> Result<Response, ApiError> {
    s.store.delete_session(&caller.session_hash).await?;
    let cookie = set_cookie(None, 0, s.config.https());
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

async fn session(
    State(s): State<AppState>,
    caller: SignedIn,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tenants = s.store.memberships_of(&caller.user.id).await?;
    Ok(Json(json!({
        "user": {"id": caller.user.id, "email": caller.user.email},
        "csrf_token": caller.csrf_token,
        "tenants": tenants,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailOnly {
    email: String,
}

async fn reset_request(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<EmailOnly>,
) -> Result<Response, ApiError> {
    s.accounts.request_reset(&b.email).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "if this address has an account, a reset link is on its way"})),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reset {
    token: String,
    password: String,
}

async fn reset(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<Reset>,
) -> Result<Json<serde_json::Value>, ApiError> {
    s.accounts.reset_password(&b.token, &b.password).await?;
    Ok(Json(
        json!({"status": "password changed; sign in with the new one"}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptInvite {
    token: String,
    #[serde(default)]
    password: Option<String>,
}

async fn accept_invite(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<AcceptInvite>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tenant = s
        .accounts
        .accept_invite(&b.token, b.password.as_deref())
        .await?;
    Ok(Json(
        json!({"status": "you joined the tenant; sign in to see it", "tenant_id": tenant}),
    ))
}
