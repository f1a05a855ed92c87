//! `/api/auth/*` and `/api/session`: signup, email verification, sign-in and -out, password
//! reset, invitations.

use super::{JsonBody, StatusBody};
use crate::app::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::session::{set_cookie, ClientIp, SignedIn};
use crate::store::Membership;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(verify))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(reset_request))
        .routes(routes!(reset))
        .routes(routes!(accept_invite))
        .routes(routes!(session))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Signup {
    /// Becomes the sign-in name; a confirmation link is sent to it.
    email: String,
    /// 10-128 characters.
    password: String,
    /// The tenant (organisation) the account owns.
    organisation: String,
}

/// Creates an account and its tenant and emails a confirmation link. The answer is the same
/// when the address already has an account (that owner gets an email instead).
#[utoipa::path(post, path = "/api/auth/signup", tag = "auth", request_body = Signup,
    responses((status = 202, body = StatusBody), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn signup(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<Signup>,
) -> Result<Response, ApiError> {
    s.accounts
        .signup(&b.email, &b.password, &b.organisation)
        .await?;
    let body = StatusBody::json("check your email for a confirmation link");
    Ok((StatusCode::ACCEPTED, body).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TokenOnly {
    /// The token from the emailed link.
    token: String,
}

/// Confirms an email address with the token from its link.
#[utoipa::path(post, path = "/api/auth/verify", tag = "auth", request_body = TokenOnly,
    responses((status = 200, body = StatusBody), (status = 400, body = ErrorBody)))]
async fn verify(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<TokenOnly>,
) -> Result<Json<StatusBody>, ApiError> {
    s.accounts.verify_email(&b.token).await?;
    Ok(StatusBody::json("email confirmed; you can sign in"))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Login {
    email: String,
    password: String,
}

/// The signed-in user.
#[derive(Serialize, ToSchema)]
struct UserBody {
    id: String,
    email: String,
}

/// A session: who, the CSRF token to send as `X-CSRF-Token`, and the user's tenants.
#[derive(Serialize, ToSchema)]
struct SessionBody {
    user: UserBody,
    csrf_token: String,
    tenants: Vec<Membership>,
}

/// Signs in: sets the `weir_session` cookie. Throttled per email and client address.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = Login,
    responses((status = 200, body = SessionBody), (status = 401, body = ErrorBody),
        (status = 403, description = "email not confirmed yet", body = ErrorBody),
        (status = 429, description = "too many failures; see Retry-After", body = ErrorBody)))]
async fn login(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(b): JsonBody<Login>,
) -> Result<Response, ApiError> {
    let started = s.accounts.login(&b.email, &b.password, &ip).await?;
    let tenants = s.store.memberships_of(&started.user.id).await?;
    let max_age = i64::from(s.config.auth.session_hours) * 3600;
    let cookie = set_cookie(Some(&started.token), max_age, s.config.https());
    let body = SessionBody {
        user: UserBody {
            id: started.user.id,
            email: started.user.email,
        },
        csrf_token: started.csrf_token,
        tenants,
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// Signs out (ends the session).
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", security(("session" = [], "csrf" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn logout(State(s): State<AppState>, caller: SignedIn) -> Result<Response, ApiError> {
    s.store.delete_session(&caller.session_hash).await?;
    let cookie = set_cookie(None, 0, s.config.https());
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// The current session.
#[utoipa::path(get, path = "/api/session", tag = "auth", security(("session" = [])),
    responses((status = 200, body = SessionBody), (status = 401, body = ErrorBody)))]
async fn session(
    State(s): State<AppState>,
    caller: SignedIn,
) -> Result<Json<SessionBody>, ApiError> {
    let tenants = s.store.memberships_of(&caller.user.id).await?;
    Ok(Json(SessionBody {
        user: UserBody {
            id: caller.user.id,
            email: caller.user.email,
        },
        csrf_token: caller.csrf_token,
        tenants,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EmailOnly {
    email: String,
}

/// Emails a password-reset link if the address has an account (same answer either way).
#[utoipa::path(post, path = "/api/auth/reset-request", tag = "auth", request_body = EmailOnly,
    responses((status = 202, body = StatusBody), (status = 400, body = ErrorBody)))]
async fn reset_request(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<EmailOnly>,
) -> Result<Response, ApiError> {
    s.accounts.request_reset(&b.email).await?;
    let body = StatusBody::json("if this address has an account, a reset link is on its way");
    Ok((StatusCode::ACCEPTED, body).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Reset {
    token: String,
    password: String,
}

/// Sets a new password with the token from a reset link; ends every session of the user.
#[utoipa::path(post, path = "/api/auth/reset", tag = "auth", request_body = Reset,
    responses((status = 200, body = StatusBody), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn reset(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<Reset>,
) -> Result<Json<StatusBody>, ApiError> {
    s.accounts.reset_password(&b.token, &b.password).await?;
    Ok(StatusBody::json(
        "password changed; sign in with the new one",
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AcceptInvite {
    token: String,
    /// Needed when the invited address has no account yet.
    #[serde(default)]
    password: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct InviteAccepted {
    status: String,
    tenant_id: String,
}

/// Joins the inviting tenant (creating the account when the address has none).
#[utoipa::path(post, path = "/api/auth/accept-invite", tag = "auth", request_body = AcceptInvite,
    responses((status = 200, body = InviteAccepted), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn accept_invite(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<AcceptInvite>,
) -> Result<Json<InviteAccepted>, ApiError> {
    let tenant_id = s
        .accounts
        .accept_invite(&b.token, b.password.as_deref())
        .await?;
    Ok(Json(InviteAccepted {
        status: "you joined the tenant; sign in to see it".into(),
        tenant_id,
    }))
}
