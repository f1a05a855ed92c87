//! Who is at the browser and whether their form is genuine: [`Browser`] loads the session from
//! the `weir_session` cookie (no header check: HTML forms send the session's CSRF token as the
//! hidden `csrf_token` field, checked by [`Browser::check_csrf`]); [`Anon`] gives anonymous
//! forms a double-submit token (cookie `weir_csrf`, HttpOnly, SameSite=Strict, equal to the
//! hidden field), checked by [`AnonForm`]; flash messages ride in a short-lived `weir_flash`
//! cookie.

use super::forms::Fields;
use super::render::{Flash, UiError};
use crate::app::AppState;
use crate::db::now;
use crate::session::session_cookie;
use crate::store::User;
use crate::tokens::{constant_time_eq, hash_token, new_token};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Redirect, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

const CSRF_COOKIE: &str = "weir_csrf";
const FLASH_COOKIE: &str = "weir_flash";

pub use crate::session::cookie;

fn secure_attr(state: &AppState) -> &'static str {
    if state.config.https() {
        "; Secure"
    } else {
        ""
    }
}

/// The flash message sent with this request, if any.
fn read_flash(headers: &HeaderMap) -> Option<Flash> {
    let raw = cookie(headers, FLASH_COOKIE)?;
    let bytes = URL_SAFE_NO_PAD.decode(raw.as_bytes()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (kind, message) = text.split_once('|')?;
    let kind = if kind == "error" { "error" } else { "ok" };
    Some(Flash {
        kind: kind.into(),
        message: message.chars().take(500).collect(),
    })
}

/// `Set-Cookie` that removes the flash after it was shown.
pub fn clear_flash(state: &AppState) -> String {
    format!(
        "{FLASH_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        secure_attr(state)
    )
}

/// A 303 to `to` that shows `message` there (`kind`: `ok` or `error`).
pub fn redirect_with_flash(state: &AppState, to: &str, kind: &str, message: &str) -> Response {
    let value = URL_SAFE_NO_PAD.encode(format!("{kind}|{message}"));
    let cookie = format!(
        "{FLASH_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=60{}",
        secure_attr(state)
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(to)).into_response()
}

/// A signed-in browser.
#[derive(Debug)]
pub struct Browser {
    pub user: User,
    /// The stored hash of the session token (to sign out).
    pub session_hash: String,
    /// The session's CSRF token, which every form of a signed-in page carries.
    pub csrf_token: String,
    /// The flash message to show on this page.
    pub flash: Option<Flash>,
}

impl Browser {
    /// Refuses unless `sent` (the form's `csrf_token`) is the session's token.
    pub fn check_csrf(&self, sent: &str) -> Result<(), UiError> {
        if !sent.is_empty() && constant_time_eq(sent, &self.csrf_token) {
            Ok(())
        } else {
            Err(UiError::Csrf)
        }
    }
}

/// The signed-in browser behind `parts`, if any.
async fn load(parts: &Parts, state: &AppState) -> Result<Option<Browser>, UiError> {
    let Some(token) = session_cookie(parts) else {
        return Ok(None);
    };
    let session_hash = hash_token(&token);
    let Some(session) = state.store.session(&session_hash, now()).await? else {
        return Ok(None);
    };
    let Some(user) = state.store.user(&session.user_id).await? else {
        return Ok(None);
    };
    Ok(Some(Browser {
        user,
        session_hash,
        csrf_token: session.csrf_token,
        flash: read_flash(&parts.headers),
    }))
}

impl FromRequestParts<AppState> for Browser {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, UiError> {
        match load(parts, state).await? {
            Some(b) => Ok(b),
            None => {
                // After signing in, come back here; a form's target cannot be revisited by GET.
                let next = if parts.method == Method::GET {
                    parts.uri.path_and_query().map_or("/", |p| p.as_str())
                } else {
                    "/"
                };
                Err(UiError::SignIn(next.to_string()))
            }
        }
    }
}

/// A browser that may or may not be signed in.
pub struct MaybeBrowser(pub Option<Browser>);

impl FromRequestParts<AppState> for MaybeBrowser {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, UiError> {
        Ok(MaybeBrowser(load(parts, state).await?))
    }
}

/// An anonymous form's double-submit token and the flash for the page.
#[derive(Debug)]
pub struct Anon {
    /// The token the page's hidden `csrf_token` field carries.
    pub token: String,
    /// The browser sent no (usable) `weir_csrf` cookie: the response sets one.
    fresh: bool,
    secure: &'static str,
    pub flash: Option<Flash>,
}

impl Anon {
    /// Refuses unless the browser sent a `weir_csrf` cookie equal to `sent`.
    pub fn check(&self, sent: &str) -> Result<(), UiError> {
        if !self.fresh && constant_time_eq(sent, &self.token) {
            Ok(())
        } else {
            Err(UiError::Csrf)
        }
    }

    /// The `Set-Cookie` values this response needs (the token when new, clearing the flash).
    pub fn cookies(&self) -> Vec<(header::HeaderName, String)> {
        let mut out = Vec::new();
        if self.fresh {
            out.push((
                header::SET_COOKIE,
                format!(
                    "{CSRF_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=86400{}",
                    self.token, self.secure
                ),
            ));
        }
        if self.flash.is_some() {
            out.push((
                header::SET_COOKIE,
                format!(
                    "{FLASH_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
                    self.secure
                ),
            ));
        }
        out
    }

    /// `page` with the cookies this response needs.
    pub fn respond(&self, page: impl IntoResponse) -> Response {
        let mut response = page.into_response();
        for (name, value) in self.cookies() {
            if let Ok(v) = value.parse() {
                response.headers_mut().append(name, v);
            }
        }
        response
    }
}

impl FromRequestParts<AppState> for Anon {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let sent = cookie(&parts.headers, CSRF_COOKIE).filter(|t| {
            t.len() == 43
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        let (token, fresh) = match sent {
            Some(t) => (t, false),
            None => (new_token(), true),
        };
        Ok(Anon {
            token,
            fresh,
            secure: secure_attr(state),
            flash: read_flash(&parts.headers),
        })
    }
}

/// An anonymous form whose double-submit token is the browser's `weir_csrf` cookie.
pub struct AnonForm {
    pub anon: Anon,
    pub form: Fields,
}

impl FromRequest<AppState> for AnonForm {
    type Rejection = UiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, UiError> {
        let (mut parts, body) = req.into_parts();
        let Ok(anon) = Anon::from_request_parts(&mut parts, state).await;
        let form = Fields::from_request(Request::from_parts(parts, body), state).await?;
        anon.check(form.get("csrf_token"))?;
        Ok(AnonForm { anon, form })
    }
}

/// The client's address (for sign-in throttling), `unknown` when the server does not say.
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string()),
        ))
    }
}
