//! A tenant's pages (`/t/{tenant}/…`) other than sites, pools and plugins: the dashboard,
//! members and invitations, API tokens, the config history with diffs and rollback, and
//! settings. [`Ctx`] is the signed-in user's membership of the tenant in the path (404 when
//! none), shared by every tenant page.

use super::forms::{number, FieldErrors, Fields};
use super::guard::{clear_flash, redirect_with_flash, Browser};
use super::render::{html, Shell, UiError};
use crate::api_tokens::{mint, MintError};
use crate::app::AppState;
use crate::db::now;
use crate::store::Membership;
use crate::tenant_config::ConfigError;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}", get(dashboard))
        .route("/t/{tenant}/members", get(members).post(invite))
        .route("/t/{tenant}/tokens", get(tokens).post(create_token))
        .route("/t/{tenant}/tokens/{id}/revoke", post(revoke_token))
        .route("/t/{tenant}/history", get(history))
        .route("/t/{tenant}/history/{version}", get(version))
        .route("/t/{tenant}/history/{version}/rollback", post(rollback))
        .route("/t/{tenant}/settings", get(settings))
}

/// The signed-in user on one of their tenants' pages.
pub struct Ctx {
    pub b: Browser,
    pub member: Membership,
    pub tenants: Vec<Membership>,
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

    /// Like [`Ctx::load`] for a form: the CSRF token must be the session's first.
    pub async fn load_form(
        s: &AppState,
        b: Browser,
        tenant: &str,
        form: &Fields,
    ) -> Result<Ctx, UiError> {
        b.check_csrf(form.get("csrf_token"))?;
        Ctx::load(s, b, tenant).await
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

    /// Renders `template` in the app layout with `data` (a JSON object) plus `shell` and `base`.
    pub fn render(
        &self,
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
        let page = html(template, data)?;
        Ok((status, page).into_response())
    }

    /// [`Ctx::render`], clearing a shown flash message.
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
        data: Value,
    ) -> Result<Response, UiError> {
        let mut r = self.render(status, nav, template, data)?;
        if self.b.flash.is_some() {
            if let Ok(v) = clear_flash(s).parse() {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        Ok(r)
    }
}

/// A config error as a page error (problems and conflicts become a refusal with the reasons).
pub fn config_error(e: ConfigError) -> UiError {
    match e {
        ConfigError::NotFound => UiError::NotFound,
        ConfigError::Store(s) => s.into(),
        ConfigError::Invalid(p) => UiError::Refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            p.0.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => UiError::Refused(StatusCode::CONFLICT, other.to_string()),
    }
}

async fn dashboard(
    State(s): State<AppState>,
    b: Browser,
    Path(t): Path<String>,
) -> Result<Response, UiError> {
    let ctx = Ctx::load(&s, b, &t).await?;
    let bundle = s.config_service.bundle(&t).await?;
    let uploads = s.registry.list(&t).await?;
    let mut upload_names: Vec<&str> = uploads.iter().map(|u| u.name.as_str()).collect();
    upload_names.dedup();
    let versions = s.config_service.versions(&t).await?;
    let members = s.store.members(&t).await?;
    let plugin_uses: usize = bundle.sites.iter().map(|x| x.plugins.len()).sum();
    ctx.page(
        &s,
        "dashboard",
        "dashboard.html",
        json!({
            "sites": bundle.sites.len(),
            "pools": bundle.pools.len(),
            "backends": bundle.pools.iter().map(|p| p.backends.len()).sum::<usize>(),
            "uploads": upload_names.len(),
            "builtins": weir_proxy::builtin_plugin_names().len(),
            "plugin_uses": plugin_uses,
            "members": members.len(),
            "versions": versions.iter().take(5).collect::<Vec<_>>(),
            "version_count": versions.len(),
        }),
    )
}

async fn members_page(
    s: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    form: Value,
    errors: FieldErrors,
) -> Result<Response, UiError> {
    let members = s.store.members(ctx.tenant()).await?;
    ctx.page_with(
        s,
        status,
        "members",
        "members.html",
        json!({"members": members, "form": form, "errors": errors}),
    )
}

async fn members(
    State(s): State<AppState>,
    b: Browser,
    Path(t): Path<String>,
) -> Result<Response, UiError> {
    let ctx = Ctx::load(&s, b, &t).await?;
    members_page(
        &s,
        &ctx,
        StatusCode::OK,
        json!({"email": "", "role": "member"}),
        FieldErrors::default(),
    )
    .await
}

async fn invite(
    State(s): State<AppState>,
    b: Browser,
    Path(t): Path<String>,
    form: Fields,
) -> Result<Response, UiError> {
    let ctx = Ctx::load_form(&s, b, &t, &form).await?;
    ctx.require_admin()?;
    let (email, role) = (form.get("email").trim(), form.get("role"));
    match s
        .accounts
        .invite(&t, &ctx.member.tenant_name, ctx.author(), email, role)
        .await
    {
        Ok(()) => Ok(redirect_with_flash(
            &s,
            &ctx.path("/members"),
            "ok",
            &format!("Invitation sent to {email}."),
        )),
        Err(crate::auth::AuthError::Invalid(field, m)) => {
            let mut errors = FieldErrors::default();
            errors.add(field, m);
            members_page(
                &s,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"email": email, "role": role}),
                errors,
            )
            .await
        }
        Err(e) => Err(crate::error::ApiError::from(e).into()),
    }
}

async fn tokens_page(
    s: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    form: Value,
    errors: FieldErrors,
) -> Result<Response, UiError> {
    let tokens = if ctx.can_change() {
        s.store.api_tokens(ctx.tenant()).await?
    } else {
        Vec::new()
    };
    ctx.page_with(
        s,
        status,
        "tokens",
        "tokens.html",
        json!({"tokens": tokens, "form": form, "errors": errors}),
    )
}

async fn tokens(
    State(s): State<AppState>,
    b: Browser,
    Path(t): Path<String>,
) -> Result<Response, UiError> {
    let ctx = Ctx::load(&s, b, &t).await?;
    tokens_page(
        &s,
        &ctx,
        StatusCode::OK,
        json!({"name": "", "scope": "read", "expires_in_days": "90"}),
        FieldErrors::default(),
    )
    .await
}

/// Creates an API token with the same rules as `POST /api/t/{tenant}/tokens`; the secret is
/// shown on the answer page and nowhere else.
async fn create_token(
    State(s): State<AppState>,
    b: Browser,
    Path(t): Path<String>,
    form: Fields,
) -> Result<Response, UiError> {
    let ctx = Ctx::load_form(&s, b, &t, &form).await?;
    ctx.require_admin()?;
    let mut errors = FieldErrors::default();
    let name = form.get("name").trim();
    let scope = form.get("scope");
    let days: Option<u32> = number(&mut errors, "expires_in_days", form.get("expires_in_days"));
    let minted = if errors.is_empty() {
        match mint(&s.store, &t, name, scope, days, ctx.author()).await {
            Ok(minted) => Some(minted),
            Err(MintError::Invalid(problems)) => {
                for p in problems.0 {
                    errors.add(p.field, p.message);
                }
                None
            }
            Err(MintError::Store(e)) => return Err(e.into()),
        }
    } else {
        None
    };
    let Some(minted) = minted else {
        let kept =
            json!({"name": name, "scope": scope, "expires_in_days": form.get("expires_in_days")});
        return tokens_page(&s, &ctx, StatusCode::UNPROCESSABLE_ENTITY, kept, errors).await;
    };
    let (name, scope, expires_at, secret) =
        (minted.name, minted.scope, minted.expires_at, minted.secret);
    let mut r = ctx.page(
        &s,
        "tokens",
        "token_created.html",
        json!({"name": name, "scope": scope, "expires_at": expires_at, "secret": secret}),
    )?;
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

async fn revoke_token(
    State(s): State<AppState>,
    b: Browser,
    Path((t, id)): Path<(String, String)>,
    form: Fields,
) -> Result<Response, UiError> {
    let ctx = Ctx::load_form(&s, b, &t, &form).await?;
    ctx.require_admin()?;
    if !s.store.revoke_api_token(&t, &id, now()).await? {
        return Err(UiError::NotFound);
    }
    Ok(redirect_with_flash(
        &s,
        &ctx.path("/tokens"),
        "ok",
        "The token is revoked; it stopped working at once.",
    ))
}

async fn history(
    State(s): State<AppState>,
    b: Browser,
    Path(t): Path<String>,
) -> Result<Response, UiError> {
    let ctx = Ctx::load(&s, b, &t).await?;
    let versions = s.config_service.versions(&t).await?;
    ctx.page(&s, "history", "history.html", json!({"versions": versions}))
}

async fn version(
    State(s): State<AppState>,
    b: Browser,
    Path((t, v)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let ctx = Ctx::load(&s, b, &t).await?;
    let v: i64 = v.parse().map_err(|_| UiError::NotFound)?;
    let versions = s.config_service.versions(&t).await?;
    let info = versions
        .iter()
        .find(|x| x.version == v)
        .ok_or(UiError::NotFound)?;
    let lines = s
        .config_service
        .diff(&t, v.saturating_sub(1).max(0), v)
        .await
        .map_err(config_error)?;
    let current = versions.first().map(|x| x.version) == Some(v);
    let added = lines.iter().filter(|l| l.op == '+').count();
    let removed = lines.iter().filter(|l| l.op == '-').count();
    let lines: Vec<Value> = lines
        .iter()
        .map(|l| json!({"op": l.op.to_string(), "text": l.text}))
        .collect();
    ctx.page(
        &s,
        "history",
        "version.html",
        json!({"info": info, "lines": lines, "current": current, "added": added, "removed": removed}),
    )
}

async fn rollback(
    State(s): State<AppState>,
    b: Browser,
    Path((t, v)): Path<(String, String)>,
    form: Fields,
) -> Result<Response, UiError> {
    let ctx = Ctx::load_form(&s, b, &t, &form).await?;
    ctx.require_admin()?;
    let v: i64 = v.parse().map_err(|_| UiError::NotFound)?;
    match s.config_service.rollback(&t, v, ctx.author()).await {
        Ok(new) => Ok(redirect_with_flash(
            &s,
            &ctx.path("/history"),
            "ok",
            &format!("Rolled back to version {v}; the result is version {new}."),
        )),
        Err(ConfigError::NotFound) => Err(UiError::NotFound),
        Err(ConfigError::Store(e)) => Err(e.into()),
        Err(e) => Ok(redirect_with_flash(
            &s,
            &ctx.path(&format!("/history/{v}")),
            "error",
            &format!("Could not roll back: {}", config_error(e).text()),
        )),
    }
}

async fn settings(
    State(s): State<AppState>,
    b: Browser,
    Path(t): Path<String>,
) -> Result<Response, UiError> {
    let ctx = Ctx::load(&s, b, &t).await?;
    let tenant = s.store.tenant(&t).await?.ok_or(UiError::NotFound)?;
    ctx.page(&s, "settings", "settings.html", json!({"tenant": tenant}))
}
