//! The JSON API under `/api`: accounts and sessions ([`auth_routes`]), each tenant's resources
//! ([`tenant_routes`]), plugins ([`plugin_routes`]), nodes ([`node_routes`]) and heartbeats and
//! dashboards ([`telemetry_routes`]). Every route
//! is registered together with its OpenAPI description (utoipa), and the document is served
//! at `/api/openapi.json`, so the spec cannot leave out a route. Bodies that do not parse get 400 with the parser's reason.

mod auth_routes;
mod node_routes;
mod plugin_routes;
mod telemetry_routes;
mod tenant_routes;

use crate::app::AppState;
use crate::error::ApiError;
use axum::extract::{FromRequest, Request};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// The document's fixed parts; paths and schemas come from the routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Weir portal API",
        description = "Accounts, tenants, sites, pools, plugins and config history of the Weir control plane. Sign in (cookie `weir_session` + header `X-CSRF-Token` on changes) or send an API token (`Authorization: Bearer weir_…`).",
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Signup, email confirmation, sign-in, reset, invitations"),
        (name = "tenant", description = "A tenant's members, sites, pools, tokens and history"),
        (name = "plugins", description = "Built-in plugins and the tenant's uploads"),
        (name = "nodes", description = "Node enrollment and the node-facing API"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("weir_session"))),
        );
        components.add_security_scheme(
            "csrf",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-CSRF-Token"))),
        );
        components.add_security_scheme(
            "node",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Node <credential>` from enrollment",
            ))),
        );
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API's routes with their OpenAPI document.
fn documented() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth_routes::routes())
        .merge(tenant_routes::routes())
        .merge(plugin_routes::routes())
        .merge(node_routes::routes())
        .merge(telemetry_routes::routes())
        .split_for_parts()
}

/// The OpenAPI document of every `/api` route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented().1
}

/// Every `/api` route, and `/api/openapi.json`.
pub fn routes() -> Router<AppState> {
    let (router, doc) = documented();
    let doc = Json(doc);
    router.route("/api/openapi.json", get(move || async move { doc.clone() }))
}

/// `{"status": "..."}`: what a step did.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct StatusBody {
    pub status: String,
}

impl StatusBody {
    fn json(status: &str) -> Json<StatusBody> {
        Json(StatusBody {
            status: status.to_string(),
        })
    }
}

/// A JSON body whose rejection is an [`ApiError`] with the reason.
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(rejection) => Err(ApiError::BadRequest(rejection.body_text())),
        }
    }
}
