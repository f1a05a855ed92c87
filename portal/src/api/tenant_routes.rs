//! `/api/t/{tenant}/…`: members, sites, pools, API tokens and the config history of one
//! tenant. Every handler first checks the caller's access to `{tenant}` (404 when it has none),
//! and every query below it is scoped by that tenant id.

use super::{JsonBody, StatusBody};
use crate::api_tokens::{mint, MintError};
use crate::app::AppState;
use crate::db::now;
use crate::error::{ApiError, ErrorBody};
use crate::session::{Caller, SignedIn};
use crate::store::{ApiToken, Membership, VersionInfo};
use crate::tenant_config::{DiffLine, Kind};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weir_bundle::{Bundle, Pool, Site};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(members, invite))
        .routes(routes!(list_sites, create_site))
        .routes(routes!(get_site, put_site, delete_site))
        .routes(routes!(list_pools, create_pool))
        .routes(routes!(get_pool, put_pool, delete_pool))
        .routes(routes!(tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(versions))
        .routes(routes!(version))
        .routes(routes!(diff))
        .routes(routes!(rollback))
}

#[derive(Serialize, ToSchema)]
struct MembersBody {
    members: Vec<Membership>,
}

/// The tenant's members and their roles.
#[utoipa::path(get, path = "/api/t/{tenant}/members", tag = "tenant",
    params(("tenant" = String, Path, description = "Tenant id")),
    security(("session" = []), ("token" = [])),
    responses((status = 200, body = MembersBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn members(
    State(s): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<MembersBody>, ApiError> {
    caller.member_of(&s, &tenant).await?;
    let members = s.store.members(&tenant).await?;
    Ok(Json(MembersBody { members }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Invite {
    email: String,
    /// `admin` or `member` (default).
    #[serde(default = "member")]
    role: String,
}

fn member() -> String {
    "member".into()
}

/// Emails an invitation to join the tenant (owners and admins).
#[utoipa::path(post, path = "/api/t/{tenant}/members", tag = "tenant", request_body = Invite,
    params(("tenant" = String, Path, description = "Tenant id")),
    security(("session" = [], "csrf" = []), ("token" = [])),
    responses((status = 202, body = StatusBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn invite(
    State(s): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    JsonBody(b): JsonBody<Invite>,
) -> Result<Response, ApiError> {
    let access = caller.admin_of(&s, &tenant).await?;
    let name = s
        .store
        .tenant(&tenant)
        .await?
        .map(|t| t.name)
        .unwrap_or_default();
    s.accounts
        .invite(&tenant, &name, &access.author, &b.email, &b.role)
        .await?;
    Ok((StatusCode::ACCEPTED, StatusBody::json("invitation sent")).into_response())
}

/// The id of a new item, from the body.
fn body_id(body: &Value) -> Result<String, ApiError> {
    body.get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ApiError::BadRequest("missing field `id`".into()))
}

#[derive(Serialize, ToSchema)]
struct SitesBody {
    sites: Vec<Site>,
}

#[derive(Serialize, ToSchema)]
struct PoolsBody {
    pools: Vec<Pool>,
}

/// A saved site and the config version the change made.
#[derive(Serialize, ToSchema)]
struct SiteSaved {
    version: i64,
    site: Site,
}

/// A saved pool and the config version the change made.
#[derive(Serialize, ToSchema)]
struct PoolSaved {
    version: i64,
    pool: Pool,
}

/// The config version a change made.
#[derive(Serialize, ToSchema)]
struct VersionBody {
    version: i64,
}

async fn bundle_of(s: &AppState, caller: &Caller, tenant: &str) -> Result<Bundle, ApiError> {
    caller.member_of(s, tenant).await?;
    Ok(s.config_service.bundle_for_display(tenant).await?)
}

async fn site_of(s: &AppState, caller: &Caller, tenant: &str, id: &str) -> Result<Site, ApiError> {
    let bundle = bundle_of(s, caller, tenant).await?;
    bundle
        .sites
        .into_iter()
        .find(|x| x.id == id)
        .ok_or(ApiError::NotFound)
}

async fn pool_of(s: &AppState, caller: &Caller, tenant: &str, id: &str) -> Result<Pool, ApiError> {
    let bundle = bundle_of(s, caller, tenant).await?;
    bundle
        .pools
        .into_iter()
        .find(|x| x.id == id)
        .ok_or(ApiError::NotFound)
}

/// Validates and saves an item (owners, admins, write tokens); returns the new version.
async fn save(
    s: &AppState,
    caller: &Caller,
    tenant: &str,
    kind: Kind,
    id: &str,
    body: Value,
    create: bool,
) -> Result<i64, ApiError> {
    let access = caller.admin_of(s, tenant).await?;
    Ok(s.config_service
        .put(tenant, kind, id, body, create, &access.author)
        .await?)
}

async fn remove(
    s: &AppState,
    caller: &Caller,
    tenant: &str,
    kind: Kind,
    id: &str,
) -> Result<Json<VersionBody>, ApiError> {
    let access = caller.admin_of(s, tenant).await?;
    let version = s
        .config_service
        .delete(tenant, kind, id, &access.author)
        .await?;
    Ok(Json(VersionBody { version }))
}

fn created<T: Serialize>(create: bool, body: T) -> Response {
    let status = if create {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(body)).into_response()
}

/// The tenant's sites.
#[utoipa::path(get, path = "/api/t/{tenant}/sites", tag = "tenant",
    params(("tenant" = String, Path, description = "Tenant id")),
    security(("session" = []), ("token" = [])),
    responses((status = 200, body = SitesBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_sites(
    State(s): State<AppState>,
    c: Caller,
    Path(t): Path<String>,
) -> Result<Json<SitesBody>, ApiError> {
    let sites = bundle_of(&s, &c, &t).await?.sites;
    Ok(Json(SitesBody { sites }))
}

/// The tenant's pools.
#[utoipa::path(get, path = "/api/t/{tenant}/pools", tag = "tenant",
    params(("tenant" = String, Path, description = "Tenant id")),
    security(("session" = []), ("token" = [])),
    responses((status = 200, body = PoolsBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_pools(
    State(s): State<AppState>,
    c: Caller,
    Path(t): Path<String>,
) -> Result<Json<PoolsBody>, ApiError> {
    let pools = bundle_of(&s, &c, &t).await?.pools;
    Ok(Json(PoolsBody { pools }))
}

/// One site.
#[utoipa::path(get, path = "/api/t/{tenant}/sites/{id}", tag = "tenant",
    params(("tenant" = String, Path, description = "Tenant id"), ("id" = String, Path, description = "Site id")),
    security(("session" = []), ("token" = [])),
    responses((status = 200, body = Site), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_site(
    State(s): State<AppState>,
    c: Caller,
    Path((t, id)): Path<(String, String)>,
) -> Result<Json<Site>, ApiError> {
    Ok(Json(site_of(&s, &c, &t, &id).await?))
}

/// One pool.
#[utoipa::path(get, path = "/api/t/{tenant}/pools/{id}", tag = "tenant",
    params(("tenant" = String, Path, description = "Tenant id"), ("id" = String, Path, description = "Pool id")),
    security(("session" = []), ("token" = [])),
    responses((status = 200, body = Pool), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_pool(
    State(s): State<AppState>,
    c: Caller,
    Path((t, id)): Path<(String, String)>,
) -> Result<Json<Pool>, ApiError> {
    Ok(Json(pool_of(&s, &c, &t, &id).await?))
}

/// Creates a site. Its plugins must be `builtin:NAME` or `registry:NAME@VERSION`, and each
/// plugin's own `init` must accept its config; problems name the field.
#[utoipa::path(post, path = "/api/t/{tenant}/sites", tag = "tenant", request_body = Site,
    params(("tenant" = String, Path, description = "Tenant id")),
    security(("session" = [], "csrf" = []), ("token" = [])),
    responses((status = 201, body = SiteSaved), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_site(
    State(s): State<AppState>,
    c: Caller,
    Path(t): Path<String>,
    JsonBody(b): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let id = body_id(&b)?;
    let version = save(&s, &c, &t, Kind::Site, &id, b, true).await?;
    let site = site_of(&s, &c, &t, &id).await?;
    Ok(created(true, SiteSaved { version, site }))
}

/// Creates a pool with its backends.
#[utoipa::path(post, path = "/api/t/{tenant}/pools", tag = "tenant", request_body = Pool,
    params(("tenant" = String, Path, description = "Tenant id")),
    security(("session" = [], "csrf" = []), ("token" = [])),
    responses((status = 201, body = PoolSaved), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_pool(
    State(s): State<AppState>,
    c: Caller,
    Path(t): Path<String>,
    JsonBody(b): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let id = body_id(&b)?;
    let version = save(&s, &c, &t, Kind::Pool, &id, b, true).await?;
    let pool = pool_of(&s, &c, &t, &id).await?;
    Ok(created(true, PoolSaved { version, pool }))
}

/// Replaces a site (the id comes from the path).
#[utoipa::path(put, path = "/api/t/{tenant}/sites/{id}", tag = "tenant", request_body = Site,
    params(("tenant" = String, Path, description = "Tenant id"), ("id" = String, Path, description = "Site id")),
    security(("session" = [], "csrf" = []), ("token" = [])),
    responses((status = 200, body = SiteSaved), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_site(
    State(s): State<AppState>,
    c: Caller,
    Path((t, id)): Path<(String, String)>,
    JsonBody(b): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let version = save(&s, &c, &t, Kind::Site, &id, b, false).await?;
    let site = site_of(&s, &c, &t, &id).await?;
    Ok(created(false, SiteSaved { version, site }))
}

/// Replaces a pool (the id comes from the path).
#[utoipa::path(put, path = "/api/t/{tenant}/pools/{id}", tag = "tenant", request_body = Pool,
    params(("tenant" = String, Path, description = "Tenant id"), ("id" = String, Path, description = "Pool id")),
    security(("session" = [], "csrf" = []), ("token" = [])),
    responses((status = 200, body = PoolSaved), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_pool(
    State(s): State<AppState>,
    c: Caller,
    Path((t, id)): Path<(String, String)>,
    JsonBody(b): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let version = save(&s, &c, &t, Kind::Pool, &id, b, false).await?;
    let pool = pool_of(&s, &c, &t, &id).await?;
    Ok(created(false, PoolSaved { version, pool }))
}

/// Deletes a site.
#[utoipa::path(delete, path = "/api/t/{tenant}/sites/{id}", tag = "tenant",
    params(("tenant" = String, Path, description = "Tenant id"), ("id" = String, Path, description = "Site id")),
    security(("session" = [], "csrf" = []), ("token" = [])),
    responses((status = 200, body = VersionBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_site(
    State(s): State<AppState>,
    c: Caller,
    Path((t, id)): Path<(String, String)>,
) -> Result<Json<VersionBody>, ApiError> {
    remove(&s, &c, &t, Kind::Site, &id).await
}

/// Deletes a pool; refused (422, naming the site) while a site still uses it.
#[utoipa::path(delete, path = "/api/t/{tenant}/pools/{id}", tag = "tenant",
    params(("tenant" = String, Path, description = "Tenant id"), ("id" = String, Path, description = "Pool id")),
    security(("session" = [], "csrf" = []), ("token" = [])),
    responses((status = 200, body = VersionBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn delete_pool(
    State(s): State<AppState>,
    c: Caller,
    Path((t, id)): Path<(String, String)>,
) -> Result<Json<VersionBody>, ApiError> {
    remove(&s, &c, &t, Kind::Pool, &id).await
}

#[derive(Serialize, ToSchema)]
struct VersionsBody {
    versions: Vec<VersionInfo>,
}

/// The config history, newest first.
#[utoipa::path(get, path = "/api/t/{tenant}/versions", tag = "tenant",
    params(("tenant" = String, Path, description = "Tenant id")),
    security(("session" = []), ("token" = [])),
    responses((status = 200, body = VersionsBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn versions(
    State(s): State<AppState>,
    c: Caller,
    Path(t): Path<String>,
) -> Result<Json<VersionsBody>, ApiError> {
    c.member_of(&s, &t).await?;
    let versions = s.config_service.versions(&t).await?;
    Ok(Json(VersionsBody { versions }))
}

#[derive(Serialize, ToSchema)]
struct VersionBundle {
    version: i64,
    bundle: Bundle,
}

/// The whole config (bundle) of one version; version 0 is the empty start.
#[utoipa::path(get, path = "/api/t/{tenant}/versions/{version}", tag = "tenant",
    params(("tenant" = String, Path, description = "Tenant id"), ("version" = i64, Path, description = "Version number")),
    security(("session" = []), ("token" = [])),
    responses((status = 200, body = VersionBundle), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn version(
    State(s): State<AppState>,
    c: Caller,
    Path((t, v)): Path<(String, i64)>,
) -> Result<Json<VersionBundle>, ApiError> {
    c.member_of(&s, &t).await?;
    let bundle = s.config_service.version(&t, v).await?;
    Ok(Json(VersionBundle { version: v, bundle }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DiffQuery {
    /// The version to compare with (default: the one before).
    against: Option<i64>,
}

#[derive(Serialize, ToSchema)]
struct DiffBody {
    from: i64,
    to: i64,
    lines: Vec<DiffLine>,
}

/// A line diff of two versions' bundles (pretty JSON).
#[utoipa::path(get, path = "/api/t/{tenant}/versions/{version}/diff", tag = "tenant",
    params(("tenant" = String, Path, description = "Tenant id"), ("version" = i64, Path, description = "Version number"), DiffQuery),
    security(("session" = []), ("token" = [])),
    responses((status = 200, body = DiffBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn diff(
    State(s): State<AppState>,
    c: Caller,
    Path((t, v)): Path<(String, i64)>,
    Query(q): Query<DiffQuery>,
) -> Result<Json<DiffBody>, ApiError> {
    c.member_of(&s, &t).await?;
    let from = q.against.unwrap_or(v.saturating_sub(1)).max(0);
    let lines = s.config_service.diff(&t, from, v).await?;
    Ok(Json(DiffBody { from, to: v, lines }))
}

#[derive(Serialize, ToSchema)]
struct RollbackBody {
    /// The new version.
    version: i64,
    /// The version whose config is current again.
    restored: i64,
}

/// Makes a version's config current again, as a new version.
#[utoipa::path(post, path = "/api/t/{tenant}/versions/{version}/rollback", tag = "tenant",
    params(("tenant" = String, Path, description = "Tenant id"), ("version" = i64, Path, description = "Version number")),
    security(("session" = [], "csrf" = []), ("token" = [])),
    responses((status = 200, body = RollbackBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn rollback(
    State(s): State<AppState>,
    c: Caller,
    Path((t, v)): Path<(String, i64)>,
) -> Result<Json<RollbackBody>, ApiError> {
    let access = c.admin_of(&s, &t).await?;
    let version = s.config_service.rollback(&t, v, &access.author).await?;
    Ok(Json(RollbackBody {
        version,
        restored: v,
    }))
}

#[derive(Serialize, ToSchema)]
struct TokensBody {
    tokens: Vec<ApiToken>,
}

/// The tenant's live API tokens (never their secrets). Signed-in owners and admins only.
#[utoipa::path(get, path = "/api/t/{tenant}/tokens", tag = "tenant",
    params(("tenant" = String, Path, description = "Tenant id")),
    security(("session" = [])),
    responses((status = 200, body = TokensBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn tokens(
    State(s): State<AppState>,
    u: SignedIn,
    Path(t): Path<String>,
) -> Result<Json<TokensBody>, ApiError> {
    u.admin_of(&s, &t).await?;
    let tokens = s.store.api_tokens(&t).await?;
    Ok(Json(TokensBody { tokens }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewToken {
    /// 1-64 characters, for people.
    name: String,
    /// `read` or `write`.
    scope: String,
    /// 1-3650; no expiry when unset.
    #[serde(default)]
    expires_in_days: Option<u32>,
}

/// A new token: `token` is the secret, in this answer and nowhere else, ever.
#[derive(Serialize, ToSchema)]
struct NewTokenBody {
    id: String,
    name: String,
    scope: String,
    expires_at: Option<i64>,
    token: String,
    note: String,
}

/// Creates an API token.
#[utoipa::path(post, path = "/api/t/{tenant}/tokens", tag = "tenant", request_body = NewToken,
    params(("tenant" = String, Path, description = "Tenant id")),
    security(("session" = [], "csrf" = [])),
    responses((status = 201, body = NewTokenBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_token(
    State(s): State<AppState>,
    u: SignedIn,
    Path(t): Path<String>,
    JsonBody(b): JsonBody<NewToken>,
) -> Result<Response, ApiError> {
    u.admin_of(&s, &t).await?;
    let minted = mint(
        &s.store,
        &t,
        &b.name,
        &b.scope,
        b.expires_in_days,
        &u.user.email,
    )
    .await
    .map_err(|e| match e {
        MintError::Invalid(p) => ApiError::Invalid(p),
        MintError::Store(e) => e.into(),
    })?;
    let body = NewTokenBody {
        id: minted.id,
        name: minted.name,
        scope: minted.scope,
        expires_at: minted.expires_at,
        token: minted.secret,
        note: "store this token now: it is not shown again".into(),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Revokes an API token at once.
#[utoipa::path(delete, path = "/api/t/{tenant}/tokens/{id}", tag = "tenant",
    params(("tenant" = String, Path, description = "Tenant id"), ("id" = String, Path, description = "Token id")),
    security(("session" = [], "csrf" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
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
