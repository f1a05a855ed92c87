//! `/api/t/{tenant}/plugins`: the built-in plugins and the tenant's uploads. An upload is the
//! raw component as the request body (`Content-Type: application/wasm`), named in the path,
//! with optional `?notes=`.

use crate::app::AppState;
use crate::error::ApiError;
use crate::registry::MAX_UPLOAD_BYTES;
use crate::session::Caller;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/t/{tenant}/plugins", get(list))
        .route(
            "/api/t/{tenant}/plugins/{name}",
            axum::routing::post(upload).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES + 1)),
        )
}

async fn list(
    State(s): State<AppState>,
    c: Caller,
    Path(t): Path<String>,
) -> Result<Json<Value>, ApiError> {
    c.member_of(&s, &t).await?;
    let uploaded = s.registry.list(&t).await?;
    let builtin: Vec<Value> = weir_proxy::builtin_plugin_names()
        .into_iter()
        .map(|n| json!({"name": n, "source": format!("builtin:{n}")}))
        .collect();
    let uploaded: Vec<Value> = uploaded
        .into_iter()
        .map(|v| {
            let source = format!("registry:{}@{}", v.name, v.version);
            let mut row = json!(v);
            row["source"] = json!(source);
            row
        })
        .collect();
    Ok(Json(json!({ "builtin": builtin, "uploaded": uploaded })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
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
    let source = format!("registry:{}@{}", v.name, v.version);
    Ok((
        StatusCode::CREATED,
        Json(json!({ "plugin": v, "source": source })),
    )
        .into_response())
}
