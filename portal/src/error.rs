//! `ApiError`: what a failed request answers. Users see a specific reason for their mistakes
//! (4xx, with `{field, message}` problems where a field is at fault); internal failures are
//! logged with an id and answered with that id only.

use crate::auth::AuthError;
use crate::store::StoreError;
use crate::tenant_config::ConfigError;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use weir_bundle::Problems;

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// Fields are invalid.
    #[error("invalid")]
    Invalid(Problems),
    /// Not signed in, or the credentials are wrong.
    #[error("{0}")]
    Unauthorized(String),
    /// Signed in but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing here for this caller (also for other tenants' ids).
    #[error("not found")]
    NotFound,
    /// The change conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// It existed but is gone for good (an expired link or token).
    #[error("{0}")]
    Gone(String),
    /// The body is over a size limit.
    #[error("{0}")]
    TooLarge(String),
    /// Too many attempts; retry after this many seconds.
    #[error("{0}")]
    TooMany(String, u64),
    /// A failure that is not the caller's; the detail is logged, not sent.
    #[error("internal: {0}")]
    Internal(String),
}

/// The body of every error answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for people.
    pub error: String,
    /// The fields at fault, when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<weir_bundle::Problem>>,
    /// For internal errors: the id to quote to support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error, problems, id) = match &self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone(), None, None),
            ApiError::Invalid(p) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "some fields are invalid".into(),
                Some(p),
                None,
            ),
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, m.clone(), None, None),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, m.clone(), None, None),
            ApiError::NotFound => (StatusCode::NOT_FOUND, self.to_string(), None, None),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, m.clone(), None, None),
            ApiError::Gone(m) => (StatusCode::GONE, m.clone(), None, None),
            ApiError::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, m.clone(), None, None),
            ApiError::TooMany(m, _) => (StatusCode::TOO_MANY_REQUESTS, m.clone(), None, None),
            ApiError::Internal(detail) => {
                let id = crate::tokens::new_id("err");
                tracing::error!(error_id = %id, error = %detail, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; quote this id to support".into(),
                    None,
                    Some(id),
                )
            }
        };
        let mut response = (
            status,
            Json(ErrorBody {
                error,
                problems: problems.map(|p| p.0.clone()),
                id,
            }),
        )
            .into_response();
        if let ApiError::TooMany(_, retry) = self {
            if let Ok(v) = HeaderValue::from_str(&retry.to_string()) {
                response.headers_mut().insert("retry-after", v);
            }
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => ApiError::Conflict(e.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Invalid(field, message) => {
                let mut p = Problems::default();
                p.push(field, message);
                ApiError::Invalid(p)
            }
            AuthError::BadCredentials => ApiError::Unauthorized(e.to_string()),
            AuthError::NotVerified => ApiError::Forbidden(e.to_string()),
            AuthError::Throttled(s) => ApiError::TooMany(e.to_string(), s),
            AuthError::BadToken => ApiError::BadRequest(e.to_string()),
            AuthError::Store(s) => s.into(),
            AuthError::Hash(h) => ApiError::Internal(h),
        }
    }
}

impl From<crate::registry::RegistryError> for ApiError {
    fn from(e: crate::registry::RegistryError) -> Self {
        use crate::registry::RegistryError;
        match e {
            RegistryError::Invalid(field, message) => {
                let mut p = Problems::default();
                p.push(field, message);
                ApiError::Invalid(p)
            }
            RegistryError::Rejected(reason) => {
                let mut p = Problems::default();
                p.push("file", reason);
                ApiError::Invalid(p)
            }
            RegistryError::Store(s) => s.into(),
        }
    }
}

impl From<ConfigError> for ApiError {
    fn from(e: ConfigError) -> Self {
        match e {
            ConfigError::Malformed(m) => ApiError::BadRequest(m),
            ConfigError::Invalid(p) => ApiError::Invalid(p),
            ConfigError::NotFound => ApiError::NotFound,
            ConfigError::Exists(..) => ApiError::Conflict(e.to_string()),
            ConfigError::Store(s) => s.into(),
        }
    }
}
