//! `/api/t/{tenant}/plugins`: the built-in plugins and the tenant's uploads. An upload is the
//! raw component as the request body (`Content-Type: application/wasm`), named in the path,
//! with optional `?notes=`.

use crate::app::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::registry::MAX_UPLOAD_BYTES;
use crate::session::Caller;
use crate::store::PluginVersion;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(upload))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES + 1))
}

/// A plugin every tenant has.
#[derive(Serialize, ToSchema)]
struct BuiltinPlugin {
    name: String,
    /// What a site's chain names it by.
    source: String,
}

/// An uploaded version and how a site names it.
#[derive(Serialize, ToSchema)]
struct UploadedPlugin {
    #[serde(flatten)]
    plugin: PluginVersion,
    /// `registry:NAME@VERSION`.
    source: String,
}

#[derive(Serialize, ToSchema)]
struct PluginsBody {
    builtin: Vec<BuiltinPlugin>,
    uploaded: Vec<UploadedPlugin>,
}

fn uploaded(plugin: PluginVersion) -> UploadedPlugin {
    UploadedPlugin {
        source: format!("registry:{}@{}", plugin.name, plugin.version),
        plugin,
    }
}

/// Built-in plugins and the tenant's uploads.
#[utoipa::path(get, path = "/api/t/{tenant}/plugins", tag = "plugins",
    params(("tenant" = String, Path, description = "Tenant id")),
    security(("session" = []), ("token" = [])),
    responses((status = 200, body = PluginsBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list(
    State(s): State<AppState>,
    c: Caller,
    Path(t): Path<String>,
) -> Result<Json<PluginsBody>, ApiError> {
    c.member_of(&s, &t).await?;
    let builtin = weir_proxy::builtin_plugin_names()
        .into_iter()
        .map(|n| BuiltinPlugin {
            name: n.to_string(),
            source: format!("builtin:{n}"),
        })
        .collect();
    let uploaded = s
        .registry
        .list(&t)
        .await?
        .into_iter()
        .map(uploaded)
        .collect();
    Ok(Json(PluginsBody { builtin, uploaded }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    /// What changed in this version (up to 2000 characters).
    #[serde(default)]
    notes: String,
}

/// The raw body, with a size refusal that says the limit.
struct Upload(Bytes);

impl FromRequest<AppState> for Upload {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(Upload)
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::TooLarge(format!("plugins may be at most {MAX_UPLOAD_BYTES} bytes"))
                } else {
                    ApiError::BadRequest(e.body_text())
                }
            })
    }
}

/// Uploads a component as the next version of plugin `{name}`. It is validated as a node
/// would (a `weir:plugin` component, no forbidden imports, compiles in time); a refusal says
/// exactly why (`problems[0].field` is `file`).
#[utoipa::path(post, path = "/api/t/{tenant}/plugins/{name}", tag = "plugins",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The component (any content type is accepted, e.g. application/wasm)"),
    params(("tenant" = String, Path, description = "Tenant id"), ("name" = String, Path, description = "Plugin name: a-z, 0-9, '-'"), UploadQuery),
    security(("session" = [], "csrf" = []), ("token" = [])),
    responses((status = 201, body = UploadedPlugin), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn upload(
    State(s): State<AppState>,
    c: Caller,
    Path((t, name)): Path<(String, String)>,
    Query(q): Query<UploadQuery>,
    Upload(body): Upload,
) -> Result<Response, ApiError> {
    let access = c.admin_of(&s, &t).await?;
    let v = s
        .registry
        .upload(&t, &name, &q.notes, body.to_vec(), &access.author)
        .await?;
    Ok((StatusCode::CREATED, Json(uploaded(v))).into_response())
}
