//! The signed-in member on a tenant's page (`/t/{tenant}/…`): [`Ctx`] (from the session and
//! the path; 404 when the user is not a member, so another tenant looks like no tenant),
//! [`AdminForm`] (a change posted by an owner or admin, its CSRF token checked first), and the
//! app-layout responses built from them.

use super::forms::{Fields, FormView};
use super::guard::{clear_flash, redirect_with_flash, Browser};
use super::render::{html, Shell, UiError};
use crate::app::AppState;
use crate::store::Membership;
use crate::tenant_config::ConfigError;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::HashMap;

/// The signed-in user on one of their tenants' pages.
pub struct Ctx {
    pub b: Browser,
    pub member: Membership,
    pub tenants: Vec<Membership>,
}

/// The signed-in browser and the path's captures (`tenant`, and `id` where the route has one).
async fn browser_and_path(
    parts: &mut Parts,
    s: &AppState,
) -> Result<(Browser, HashMap<String, String>), Response> {
    let b = Browser::from_request_parts(parts, s)
        .await
        .map_err(IntoResponse::into_response)?;
    let Path(captures) = Path::<HashMap<String, String>>::from_request_parts(parts, s)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((b, captures))
}

/// The capture `name` of a path (empty when the route has none).
fn capture(captures: &HashMap<String, String>, name: &str) -> String {
    captures.get(name).cloned().unwrap_or_default()
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let (b, captures) = browser_and_path(parts, s).await?;
        Ctx::load(s, b, &capture(&captures, "tenant"))
            .await
            .map_err(IntoResponse::into_response)
    }
}

/// A change posted on a tenant's page: the form's CSRF token is the session's, the user is a
/// member (else 404) and may change things (owner or admin, else 403), in that order.
pub struct AdminForm {
    pub ctx: Ctx,
    pub form: Fields,
    /// The path's `{id}` (empty on a route without one).
    pub id: String,
}

impl FromRequest<AppState> for AdminForm {
    type Rejection = Response;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let (b, captures) = browser_and_path(&mut parts, s).await?;
        let form = Fields::from_request(Request::from_parts(parts, body), s)
            .await
            .map_err(IntoResponse::into_response)?;
        let checked = async {
            b.check_csrf(form.get("csrf_token"))?;
            let ctx = Ctx::load(s, b, &capture(&captures, "tenant")).await?;
            ctx.require_admin()?;
            Ok::<_, UiError>(ctx)
        };
        let ctx = checked.await.map_err(IntoResponse::into_response)?;
        let id = capture(&captures, "id");
        Ok(AdminForm { ctx, form, id })
    }
}

impl Ctx {
    /// The user's membership of `tenant`; 404 when none (another tenant looks like no tenant).
    pub async fn load(s: &AppState, b: Browser, tenant: &str) -> Result<Ctx, UiError> {
        let tenants = s.store.memberships_of(&b.user.id).await?;
        let member = tenants
            .iter()
            .find(|m| m.tenant_id == tenant)
            .cloned()
            .ok_or(UiError::NotFound)?;
        Ok(Ctx { b, member, tenants })
    }

    /// The tenant's id.
    pub fn tenant(&self) -> &str {
        &self.member.tenant_id
    }

    /// Owners and admins may change things.
    pub fn can_change(&self) -> bool {
        matches!(self.member.role.as_str(), "owner" | "admin")
    }

    /// Refuses members (read-only).
    pub fn require_admin(&self) -> Result<(), UiError> {
        if self.can_change() {
            Ok(())
        } else {
            Err(UiError::Forbidden(format!(
                "Your role ({}) can only read this organisation's settings. Ask an owner or admin to make this change.",
                self.member.role
            )))
        }
    }

    /// Who changes are recorded as.
    pub fn author(&self) -> &str {
        &self.b.user.email
    }

    /// A path in this tenant: `/t/{id}{rest}`.
    pub fn path(&self, rest: &str) -> String {
        format!("/t/{}{rest}", self.member.tenant_id)
    }

    /// Renders `template` in the app layout with `data` (a JSON object) plus `shell` and
    /// `base`, clearing a shown flash message.
    pub fn page(
        &self,
        s: &AppState,
        nav: &'static str,
        template: &str,
        data: Value,
    ) -> Result<Response, UiError> {
        self.page_with(s, StatusCode::OK, nav, template, data)
    }

    /// [`Ctx::page`] with a status (422 for a form with errors).
    pub fn page_with(
        &self,
        s: &AppState,
        status: StatusCode,
        nav: &'static str,
        template: &str,
        mut data: Value,
    ) -> Result<Response, UiError> {
        if !data.is_object() {
            data = json!({});
        }
        data["shell"] = json!(Shell::new(
            &self.member,
            &self.tenants,
            &self.b.csrf_token,
            nav,
            self.b.flash.clone()
        ));
        data["base"] = json!(self.path(""));
        let mut r = (status, html(template, data)?).into_response();
        if self.b.flash.is_some() {
            if let Ok(v) = clear_flash(s).parse() {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        Ok(r)
    }

    /// A page with a form: `data` plus the form's values (`form`) and messages (`errors`),
    /// answered with the form's status.
    pub fn form_page(
        &self,
        s: &AppState,
        nav: &'static str,
        template: &str,
        mut data: Value,
        form: FormView,
    ) -> Result<Response, UiError> {
        if !data.is_object() {
            data = json!({});
        }
        data["form"] = form.values;
        data["errors"] = json!(form.errors);
        self.page_with(s, form.status, nav, template, data)
    }

    /// The answer to a config change (a delete, a rollback): on to `done` with `ok(version)`,
    /// or back to `back` with `failed: why` (something still uses the item, …); 404 when the
    /// item is gone.
    pub fn after_change(
        &self,
        s: &AppState,
        result: Result<i64, ConfigError>,
        (done, ok): (&str, impl FnOnce(i64) -> String),
        (back, failed): (&str, &str),
    ) -> Result<Response, UiError> {
        match result {
            Ok(version) => Ok(redirect_with_flash(s, &self.path(done), "ok", &ok(version))),
            Err(ConfigError::NotFound) => Err(UiError::NotFound),
            Err(ConfigError::Store(e)) => Err(e.into()),
            Err(e) => Ok(redirect_with_flash(
                s,
                &self.path(back),
                "error",
                &format!("{failed}: {}", config_error(e).text()),
            )),
        }
    }
}

/// A config error as a page error (problems and conflicts become a refusal with the reasons).
pub fn config_error(e: ConfigError) -> UiError {
    match e {
        ConfigError::NotFound => UiError::NotFound,
        ConfigError::Store(s) => s.into(),
        ConfigError::Invalid(p) => UiError::invalid(&p),
        other => UiError::Refused(StatusCode::CONFLICT, other.to_string()),
    }
}
