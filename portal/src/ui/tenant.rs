//! A tenant's pages (`/t/{tenant}/…`) other than sites, pools and plugins: the dashboard,
//! members and invitations, API tokens, the config history with diffs and rollback, and
//! settings.

use super::ctx::{config_error, AdminForm, Ctx};
use super::forms::{number, FieldErrors, FormView};
use super::guard::redirect_with_flash;
use super::render::UiError;
use crate::api_tokens::{mint, MintError};
use crate::app::AppState;
use crate::db::now;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::Response;
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
        .route("/t/{tenant}/history/{id}", get(version))
        .route("/t/{tenant}/history/{id}/rollback", post(rollback))
        .route("/t/{tenant}/settings", get(settings))
}

async fn dashboard(State(s): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    let t = ctx.tenant();
    let bundle = s.config_service.bundle(t).await?;
    let uploads = s.registry.list(t).await?;
    let mut upload_names: Vec<&str> = uploads.iter().map(|u| u.name.as_str()).collect();
    upload_names.dedup();
    let versions = s.config_service.versions(t).await?;
    let members = s.store.members(t).await?;
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

/// The members list with the invitation form.
async fn members_page(s: &AppState, ctx: &Ctx, form: FormView) -> Result<Response, UiError> {
    let members = s.store.members(ctx.tenant()).await?;
    let data = json!({ "members": members });
    ctx.form_page(s, "members", "members.html", data, form)
}

async fn members(State(s): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    let blank = FormView::blank(json!({"email": "", "role": "member"}));
    members_page(&s, &ctx, blank).await
}

async fn invite(
    State(s): State<AppState>,
    AdminForm { ctx, form, .. }: AdminForm,
) -> Result<Response, UiError> {
    let (email, role) = (form.get("email").trim(), form.get("role"));
    let (t, tenant_name) = (ctx.tenant(), &ctx.member.tenant_name);
    match s
        .accounts
        .invite(t, tenant_name, ctx.author(), email, role)
        .await
    {
        Ok(()) => Ok(redirect_with_flash(
            &s,
            &ctx.path("/members"),
            "ok",
            &format!("Invitation sent to {email}."),
        )),
        Err(crate::auth::AuthError::Invalid(field, m)) => {
            let kept = json!({"email": email, "role": role});
            let form = FormView::refused(kept, FieldErrors::one(field, m));
            members_page(&s, &ctx, form).await
        }
        Err(e) => Err(crate::error::ApiError::from(e).into()),
    }
}

/// The API tokens (owners and admins only) with the form for a new one.
async fn tokens_page(s: &AppState, ctx: &Ctx, form: FormView) -> Result<Response, UiError> {
    let tokens = if ctx.can_change() {
        s.store.api_tokens(ctx.tenant()).await?
    } else {
        Vec::new()
    };
    let data = json!({ "tokens": tokens });
    ctx.form_page(s, "tokens", "tokens.html", data, form)
}

async fn tokens(State(s): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    let blank = FormView::blank(json!({"name": "", "scope": "read", "expires_in_days": "90"}));
    tokens_page(&s, &ctx, blank).await
}

/// Creates an API token with the same rules as `POST /api/t/{tenant}/tokens`; the secret is
/// shown on the answer page and nowhere else.
async fn create_token(
    State(s): State<AppState>,
    AdminForm { ctx, form, .. }: AdminForm,
) -> Result<Response, UiError> {
    let mut errors = FieldErrors::default();
    let name = form.get("name").trim();
    let scope = form.get("scope");
    let days: Option<u32> = number(&mut errors, "expires_in_days", form.get("expires_in_days"));
    let minted = if errors.is_empty() {
        match mint(&s.store, ctx.tenant(), name, scope, days, ctx.author()).await {
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
        return tokens_page(&s, &ctx, FormView::refused(kept, errors)).await;
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
    AdminForm { ctx, id, .. }: AdminForm,
) -> Result<Response, UiError> {
    if !s.store.revoke_api_token(ctx.tenant(), &id, now()).await? {
        return Err(UiError::NotFound);
    }
    Ok(redirect_with_flash(
        &s,
        &ctx.path("/tokens"),
        "ok",
        "The token is revoked; it stopped working at once.",
    ))
}

async fn history(State(s): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    let versions = s.config_service.versions(ctx.tenant()).await?;
    ctx.page(&s, "history", "history.html", json!({"versions": versions}))
}

async fn version(
    State(s): State<AppState>,
    ctx: Ctx,
    Path((_, v)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let t = ctx.tenant();
    let v: i64 = v.parse().map_err(|_| UiError::NotFound)?;
    let versions = s.config_service.versions(t).await?;
    let info = versions
        .iter()
        .find(|x| x.version == v)
        .ok_or(UiError::NotFound)?;
    let lines = s
        .config_service
        .diff(t, v.saturating_sub(1).max(0), v)
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
    AdminForm { ctx, id, .. }: AdminForm,
) -> Result<Response, UiError> {
    let v: i64 = id.parse().map_err(|_| UiError::NotFound)?;
    let result = s
        .config_service
        .rollback(ctx.tenant(), v, ctx.author())
        .await;
    ctx.after_change(
        &s,
        result,
        ("/history", |new| {
            format!("Rolled back to version {v}; the result is version {new}.")
        }),
        (&format!("/history/{v}"), "Could not roll back"),
    )
}

async fn settings(State(s): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    let tenant = s
        .store
        .tenant(ctx.tenant())
        .await?
        .ok_or(UiError::NotFound)?;
    ctx.page(&s, "settings", "settings.html", json!({"tenant": tenant}))
}
