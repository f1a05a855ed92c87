//! The pages before a tenant: `/` (to the first tenant's dashboard), sign-in, signup, password
//! reset (request and the emailed link), accepting an invitation, and sign-out. The anonymous
//! forms carry the double-submit token of [`Anon`].

use super::forms::{safe_next, FieldErrors, Fields, TOP};
use super::guard::{redirect_with_flash, Anon, AnonForm, Browser, ClientIp, MaybeBrowser};
use super::render::{html, message, UiError};
use crate::app::AppState;
use crate::auth::AuthError;
use crate::db::now;
use crate::session::set_cookie;
use crate::tokens::hash_token;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/signup", get(signup_page).post(signup_submit))
        .route(
            "/reset-request",
            get(reset_request_page).post(reset_request_submit),
        )
        .route("/reset", get(reset_page).post(reset_submit))
        .route("/invite", get(invite_page).post(invite_submit))
        .route("/logout", post(logout))
}

/// An account error as (status, messages by field), or a failure that is ours.
fn auth_errors(e: AuthError) -> Result<(StatusCode, FieldErrors), UiError> {
    let mut errors = FieldErrors::default();
    let status = match e {
        AuthError::Invalid(field, m) => {
            errors.add(field, m);
            StatusCode::UNPROCESSABLE_ENTITY
        }
        AuthError::BadCredentials => {
            errors.add(TOP, "Wrong email or password.");
            StatusCode::UNAUTHORIZED
        }
        AuthError::NotVerified => {
            errors.add(
                TOP,
                "Confirm your email first: open the link we sent you when you signed up.",
            );
            StatusCode::FORBIDDEN
        }
        AuthError::Throttled(s) => {
            errors.add(
                TOP,
                format!(
                    "Too many failed sign-ins. Try again in {} minutes.",
                    s.div_ceil(60)
                ),
            );
            StatusCode::TOO_MANY_REQUESTS
        }
        AuthError::BadToken => {
            errors.add(
                TOP,
                "This link is invalid, was used already or has expired. Ask for a new one.",
            );
            StatusCode::BAD_REQUEST
        }
        AuthError::Store(s) => return Err(s.into()),
        AuthError::Hash(h) => return Err(UiError::Internal(h)),
    };
    Ok((status, errors))
}

/// `template` for an anonymous browser: `data` (a JSON object) plus the form's CSRF token (and
/// no `errors` unless `data` has them), with the cookies the response needs.
fn page(
    anon: &Anon,
    status: StatusCode,
    template: &str,
    mut data: Value,
) -> Result<Response, UiError> {
    if !data.is_object() {
        data = json!({});
    }
    data["csrf_token"] = json!(anon.token);
    if data.get("errors").is_none() {
        data["errors"] = json!(FieldErrors::default());
    }
    Ok(anon.respond((status, html(template, data)?)))
}

/// The form again after `e`: its messages (`errors`) next to the inputs, with the status they
/// call for; a failure that is ours is an error page.
fn refused(
    anon: &Anon,
    e: AuthError,
    template: &str,
    mut data: Value,
) -> Result<Response, UiError> {
    let (status, errors) = auth_errors(e)?;
    if let Some(fields) = data.as_object_mut() {
        fields.insert("errors".into(), json!(errors));
    }
    page(anon, status, template, data)
}

async fn home(
    State(s): State<AppState>,
    MaybeBrowser(b): MaybeBrowser,
) -> Result<Response, UiError> {
    let Some(b) = b else {
        return Ok(Redirect::to("/login").into_response());
    };
    let tenants = s.store.memberships_of(&b.user.id).await?;
    Ok(match tenants.first() {
        Some(m) => Redirect::to(&format!("/t/{}", m.tenant_id)).into_response(),
        None => message(
            StatusCode::OK,
            "No organisation yet",
            "Your account is not part of any organisation. Ask an owner to invite you.",
            None,
        ),
    })
}

#[derive(Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

async fn login_page(
    MaybeBrowser(b): MaybeBrowser,
    anon: Anon,
    Query(q): Query<NextQuery>,
) -> Result<Response, UiError> {
    if b.is_some() {
        return Ok(Redirect::to(safe_next(&q.next)).into_response());
    }
    let data = json!({"next": safe_next(&q.next), "email": "", "errors": FieldErrors::default(), "flash": anon.flash});
    page(&anon, StatusCode::OK, "login.html", data)
}

async fn login_submit(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    AnonForm { anon, form }: AnonForm,
) -> Result<Response, UiError> {
    let next = safe_next(form.get("next"));
    match s
        .accounts
        .login(form.get("email"), form.get("password"), &ip)
        .await
    {
        Ok(started) => {
            let max_age = i64::from(s.config.auth.session_hours) * 3600;
            let cookie = set_cookie(Some(&started.token), max_age, s.config.https());
            Ok(([(header::SET_COOKIE, cookie)], Redirect::to(next)).into_response())
        }
        Err(e) => {
            let data = json!({"next": next, "email": form.get("email")});
            refused(&anon, e, "login.html", data)
        }
    }
}

async fn signup_page(anon: Anon) -> Result<Response, UiError> {
    let data = json!({"email": "", "organisation": ""});
    page(&anon, StatusCode::OK, "signup.html", data)
}

async fn signup_submit(
    State(s): State<AppState>,
    AnonForm { anon, form }: AnonForm,
) -> Result<Response, UiError> {
    let (email, organisation) = (form.get("email"), form.get("organisation"));
    match s
        .accounts
        .signup(email, form.get("password"), organisation)
        .await
    {
        Ok(()) => Ok(anon.respond(message(
            StatusCode::OK,
            "Check your email",
            &format!(
                "We sent a confirmation link to {}. Open it to confirm your address, then sign in.",
                email.trim()
            ),
            Some(("/login", "Go to sign in")),
        ))),
        Err(e) => {
            let data = json!({"email": email, "organisation": organisation});
            refused(&anon, e, "signup.html", data)
        }
    }
}

async fn reset_request_page(anon: Anon) -> Result<Response, UiError> {
    page(
        &anon,
        StatusCode::OK,
        "reset_request.html",
        json!({"email": ""}),
    )
}

async fn reset_request_submit(
    State(s): State<AppState>,
    AnonForm { anon, form }: AnonForm,
) -> Result<Response, UiError> {
    let email = form.get("email").trim();
    s.accounts
        .request_reset(email)
        .await
        .or_else(|e| auth_errors(e).map(|_| ()))?;
    Ok(anon.respond(message(
        StatusCode::OK,
        "Check your email",
        &format!("If {email} has an account, a link to choose a new password is on its way. It works for one hour."),
        Some(("/login", "Back to sign in")),
    )))
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

fn bad_link(anon: &Anon) -> Response {
    anon.respond(message(
        StatusCode::BAD_REQUEST,
        "Link not valid",
        "This link is invalid, was used already or has expired.",
        Some(("/reset-request", "Ask for a new password link")),
    ))
}

async fn reset_page(
    State(s): State<AppState>,
    anon: Anon,
    Query(q): Query<TokenQuery>,
) -> Result<Response, UiError> {
    let link = hash_token(&q.token);
    match s.store.peek_email_token(&link, "reset", now()).await? {
        Some(_) => page(
            &anon,
            StatusCode::OK,
            "reset.html",
            json!({"token": q.token}),
        ),
        None => Ok(bad_link(&anon)),
    }
}

async fn reset_submit(
    State(s): State<AppState>,
    AnonForm { anon, form }: AnonForm,
) -> Result<Response, UiError> {
    let token = form.get("token");
    match s.accounts.reset_password(token, form.get("password")).await {
        Ok(()) => Ok(anon.respond(message(
            StatusCode::OK,
            "Password changed",
            "Your new password is set and every other session of your account was signed out.",
            Some(("/login", "Sign in")),
        ))),
        Err(AuthError::BadToken) => Ok(bad_link(&anon)),
        Err(e) => {
            // The check failed after the link was used up: a new link is needed.
            let (status, mut errors) = auth_errors(e)?;
            errors.add(TOP, "This link is used up now; ask for a new one below.");
            let data = json!({"token": "", "used": true, "errors": errors});
            page(&anon, status, "reset.html", data)
        }
    }
}

/// The invitation page's data for `token`, or `None` when the link is not usable.
async fn invitation(s: &AppState, token: &str) -> Result<Option<serde_json::Value>, UiError> {
    let Some(t) = s
        .store
        .peek_email_token(&hash_token(token), "invite", now())
        .await?
    else {
        return Ok(None);
    };
    let tenant_name = match &t.tenant_id {
        Some(id) => s
            .store
            .tenant(id)
            .await?
            .map(|t| t.name)
            .unwrap_or_default(),
        None => return Ok(None),
    };
    let has_account = s.store.user_by_email(&t.email).await?.is_some();
    Ok(Some(json!({
        "token": token,
        "email": t.email,
        "tenant_name": tenant_name,
        "role": t.role,
        "has_account": has_account,
    })))
}

async fn invite_page(
    State(s): State<AppState>,
    anon: Anon,
    Query(q): Query<TokenQuery>,
) -> Result<Response, UiError> {
    let Some(invite) = invitation(&s, &q.token).await? else {
        return Ok(bad_link(&anon));
    };
    page(
        &anon,
        StatusCode::OK,
        "invite.html",
        json!({ "invite": invite }),
    )
}

async fn invite_submit(
    State(s): State<AppState>,
    AnonForm { anon, form }: AnonForm,
) -> Result<Response, UiError> {
    let token = form.get("token");
    let Some(invite) = invitation(&s, token).await? else {
        return Ok(bad_link(&anon));
    };
    let password = Some(form.get("password")).filter(|p| !p.is_empty());
    match s.accounts.accept_invite(token, password).await {
        Ok(tenant_id) => Ok(anon.respond(message(
            StatusCode::OK,
            "Welcome aboard",
            &format!(
                "You joined {}. Sign in with {} to get started.",
                invite["tenant_name"].as_str().unwrap_or("the organisation"),
                invite["email"].as_str().unwrap_or("your account"),
            ),
            Some((&format!("/t/{tenant_id}"), "Open the dashboard")),
        ))),
        Err(AuthError::BadToken) => Ok(bad_link(&anon)),
        Err(e) => refused(&anon, e, "invite.html", json!({ "invite": invite })),
    }
}

async fn logout(State(s): State<AppState>, b: Browser, form: Fields) -> Result<Response, UiError> {
    b.check_csrf(form.get("csrf_token"))?;
    s.store.delete_session(&b.session_hash).await?;
    let mut response = redirect_with_flash(&s, "/login", "ok", "You are signed out.");
    if let Ok(v) = set_cookie(None, 0, s.config.https()).parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}
