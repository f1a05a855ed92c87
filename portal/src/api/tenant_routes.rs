//! `/api/t/{tenant}/…`: members, sites, pools and the config history of one tenant. Every
//! handler first checks the caller's membership of `{tenant}` (404 when none), and every query
//! below it is scoped by that tenant id.

use super::JsonBody;
use crate::app::AppState;
use crate::db::now;
use crate::error::ApiError;
use crate::session::{Caller, SignedIn};
use crate::tenant_config::Kind;
use crate::tokens::{hash_token, new_id, new_token};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/t/{tenant}/members", get(members).post(invite))
        .route("/api/t/{tenant}/sites", get(list_sites).post(create_site))
        .route(
            "/api/t/{tenant}/sites/{id}",
            get(get_site).put(put_site).delete(delete_site),
        )
        .route("/api/t/{tenant}/pools", get(list_pools).post(create_pool))
        .route(
            "/api/t/{tenant}/pools/{id}",
            get(get_pool).put(put_pool).delete(delete_pool),
        )
        .route("/api/t/{tenant}/tokens", get(tokens).post(create_token))
        .route(
            "/api/t/{tenant}/tokens/{id}",
            axum::routing::delete(revoke_token),
        )
        .route("/api/t/{tenant}/versions", get(versions))
        .route("/api/t/{tenant}/versions/{version}", get(version))
        .route("/api/t/{tenant}/versions/{version}/diff", get(diff))
        .route(
            "/api/t/{tenant}/versions/{version}/rollback",
            post(rollback),
        )
}

async fn members(
    State(s): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.member_of(&s, &tenant).await?;
    let members = s.store.members(&tenant).await?;
    Ok(Json(json!({ "members": members })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Invite {
    email: String,
    #[serde(default = "member")]
    role: String,
}

fn member() -> String {
    "member".into()
}

async fn invite(
    State(s): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    JsonBody(b): JsonBody<Invite>,
) -> Result<Response, ApiError> {
    let m = caller.admin_of(&s, &tenant).await?;
    let name = s
        .store
        .tenant(&tenant)
        .await?
        .map(|t| t.name)
        .unwrap_or_default();
    s.accounts
        .invite(&tenant, &name, &m.author, &b.email, &b.role)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "invitation sent"})),
    )
        .into_response())
}

/// The id of a new item, from the body.
fn body_id(body: &Value) -> Result<String, ApiError> {
    body.get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ApiError::BadRequest("missing field `id`".into()))
}

async fn list(
    s: &AppState,
    caller: &Caller,
    tenant: &str,
    kind: Kind,
) -> Result<Json<Value>, ApiError> {
    caller.member_of(s, tenant).await?;
    let bundle = s.config_service.bundle(tenant).await?;
    Ok(Json(match kind {
        Kind::Site => json!({ "sites": bundle.sites }),
        Kind::Pool => json!({ "pools": bundle.pools }),
    }))
}

async fn one(
    s: &AppState,
    caller: &Caller,
    tenant: &str,
    kind: Kind,
    id: &str,
) -> Result<Json<Value>, ApiError> {
    caller.member_of(s, tenant).await?;
    let bundle = s.config_service.bundle(tenant).await?;
    let found = match kind {
        Kind::Site => bundle.sites.iter().find(|x| x.id == id).map(|x| json!(x)),
        Kind::Pool => bundle.pools.iter().find(|x| x.id == id).map(|x| json!(x)),
    };
    found.map(Json).ok_or(ApiError::NotFound)
}

async fn save(
    s: &AppState,
    caller: &Caller,
    tenant: &str,
    kind: Kind,
    id: &str,
    body: Value,
    create: bool,
) -> Result<Response, ApiError> {
    let access = caller.admin_of(s, tenant).await?;
    let version = s
        .config_service
        .put(tenant, kind, id, body, create, &access.author)
        .await?;
    let item = one(s, caller, tenant, kind, id).await?.0;
    let status = if create {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({ "version": version, kind.as_str(): item })),
    )
        .into_response())
}

async fn remove(
    s: &AppState,
    caller: &Caller,
    tenant: &str,
    kind: Kind,
    id: &str,
) -> Result<Json<Value>, ApiError> {
    let access = caller.admin_of(s, tenant).await?;
    let version = s
        .config_service
        .delete(tenant, kind, id, &access.author)
        .await?;
    Ok(Json(json!({ "version": version })))
}

async fn list_sites(
    State(s): State<AppState>,
    c: Caller,
    Path(t): Path<String>,
) -> Result<Json<Value>, ApiError> {
    list(&s, &c, &t, Kind::Site).await
}

async fn list_pools(
    State(s): State<AppState>,
    c: Caller,
    Path(t): Path<String>,
) -> Result<Json<Value>, ApiError> {
    list(&s, &c, &t, Kind::Pool).await
}

async fn get_site(
    State(s): State<AppState>,
    c: Caller,
    Path((t, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    one(&s, &c, &t, Kind::Site, &id).await
}

async fn get_pool(
    State(s): State<AppState>,
    c: Caller,
    Path((t, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    one(&s, &c, &t, Kind::Pool, &id).await
}

async fn create_site(
    State(s): State<AppState>,
    c: Caller,
    Path(t): Path<String>,
    JsonBody(b): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let id = body_id(&b)?;
    save(&s, &c, &t, Kind::Site, &id, b, true).await
}

async fn create_pool(
    State(s): State<AppState>,
    c: Caller,
    Path(t): Path<String>,
    JsonBody(b): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let id = body_id(&b)?;
    save(&s, &c, &t, Kind::Pool, &id, b, true).await
}

async fn put_site(
    State(s): State<AppState>,
    c: Caller,
    Path((t, id)): Path<(String, String)>,
    JsonBody(b): JsonBody<Value>,
) -> Result<Response, ApiError> {
    save(&s, &c, &t, Kind::Site, &id, b, false).await
}

async fn put_pool(
    State(s): State<AppState>,
    c: Caller,
    Path((t, id)): Path<(String, String)>,
    JsonBody(b): JsonBody<Value>,
) -> Result<Response, ApiError> {
    save(&s, &c, &t, Kind::Pool, &id, b, false).await
}

async fn delete_site(
    State(s): State<AppState>,
    c: Caller,
    Path((t, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    remove(&s, &c, &t, Kind::Site, &id).await
}

async fn delete_pool(
    State(s): State<AppState>,
    c: Caller,
    Path((t, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    remove(&s, &c, &t, Kind::Pool, &id).await
}

async fn versions(
    State(s): State<AppState>,
    c: Caller,
    Path(t): Path<String>,
) -> Result<Json<Value>, ApiError> {
    c.member_of(&s, &t).await?;
    Ok(Json(
        json!({ "versions": s.config_service.versions(&t).await? }),
    ))
}

async fn version(
    State(s): State<AppState>,
    c: Caller,
    Path((t, v)): Path<(String, i64)>,
) -> Result<Json<Value>, ApiError> {
    c.member_of(&s, &t).await?;
    let bundle = s.config_service.version(&t, v).await?;
    Ok(Json(json!({ "version": v, "bundle": bundle })))
}

#[derive(Deserialize)]
struct DiffQuery {
    against: Option<i64>,
}

async fn diff(
    State(s): State<AppState>,
    c: Caller,
    Path((t, v)): Path<(String, i64)>,
    Query(q): Query<DiffQuery>,
) -> Result<Json<Value>, ApiError> {
    c.member_of(&s, &t).await?;
    let from = q.against.unwrap_or(v - 1).max(0);
    let lines = s.config_service.diff(&t, from, v).await?;
    Ok(Json(json!({ "from": from, "to": v, "lines": lines })))
}

async fn rollback(
    State(s): State<AppState>,
    c: Caller,
    Path((t, v)): Path<(String, i64)>,
) -> Result<Json<Value>, ApiError> {
    let access = c.admin_of(&s, &t).await?;
    let version = s.config_service.rollback(&t, v, &access.author).await?;
    Ok(Json(json!({ "version": version, "restored": v })))
}

async fn tokens(
    State(s): State<AppState>,
    u: SignedIn,
    Path(t): Path<String>,
) -> Result<Json<Value>, ApiError> {
    u.admin_of(&s, &t).await?;
    Ok(Json(json!({ "tokens": s.store.api_tokens(&t).await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    scope: String,
    #[serde(default)]
    expires_in_days: Option<u32>,
}

/// Creates an API token; its secret is in this answer and nowhere else, ever.
async fn create_token(
    State(s): State<AppState>,
    u: SignedIn,
    Path(t): Path<String>,
    JsonBody(b): JsonBody<NewToken>,
) -> Result<Response, ApiError> {
    u.admin_of(&s, &t).await?;
    let mut problems = weir_bundle::Problems::default();
    let name = b.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        problems.push("name", "must be 1-64 characters");
    }
    if !matches!(b.scope.as_str(), "read" | "write") {
        problems.push("scope", "must be read or write");
    }
    if b.expires_in_days.is_some_and(|d| !(1..=3650).contains(&d)) {
        problems.push("expires_in_days", "must be between 1 and 3650");
    }
    problems.into_result().map_err(ApiError::Invalid)?;
    let secret = format!("weir_{}", new_token());
    let id = new_id("tok");
    let expires_at = b.expires_in_days.map(|d| now() + i64::from(d) * 86_400);
    s.store
        .create_api_token(
            &id,
            &t,
            name,
            &hash_token(&secret),
            &b.scope,
            &u.user.email,
            now(),
            expires_at,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "name": name, "scope": b.scope, "expires_at": expires_at, "token": secret,
                     "note": "store this token now: it is not shown again" })),
    )
        .into_response())
}

async fn revoke_token(
    State(s): State<AppState>,
    u: SignedIn,
    Path((t, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    u.admin_of(&s, &t).await?;
    if s.store.revoke_api_token(&t, &id, now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
