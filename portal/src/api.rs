//! The JSON API under `/api`: accounts and sessions ([`auth_routes`]) and each tenant's
//! resources ([`tenant_routes`]) and plugins ([`plugin_routes`]). Bodies that do not parse get 400 with the parser's reason.

mod auth_routes;
mod plugin_routes;
mod tenant_routes;

use crate::app::AppState;
use crate::error::ApiError;
use axum::extract::{FromRequest, Request};
use axum::Router;

/// Every `/api` route.
pub fn routes() -> Router<AppState> {
    auth_routes::routes()
        .merge(tenant_routes::routes())
        .merge(plugin_routes::routes())
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
