//! Telemetry: nodes' heartbeats (`POST /api/node/v1/heartbeat`, node credential) and a site's
//! dashboard (`GET /api/t/{tenant}/sites/{id}/dashboard`, members).

use super::node_routes::NodeCaller;
use super::JsonBody;
use crate::app::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::session::Caller;
use crate::telemetry::{Dashboard, Ingested, Range, TelemetryError};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::Json;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weir_bundle::telemetry::Heartbeat;
use weir_bundle::Problems;

/// The largest heartbeat body (500 minutes with full top-ten lists fit).
const MAX_HEARTBEAT_BYTES: usize = 16 << 20;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(heartbeat))
        .layer(DefaultBodyLimit::max(MAX_HEARTBEAT_BYTES))
        .merge(OpenApiRouter::new().routes(routes!(dashboard)))
}

impl From<TelemetryError> for ApiError {
    fn from(e: TelemetryError) -> Self {
        match e {
            TelemetryError::Invalid(p) => ApiError::Invalid(p),
            TelemetryError::NoSite => ApiError::NotFound,
            TelemetryError::Store(s) => s.into(),
            TelemetryError::Writer(m) => ApiError::Internal(m),
        }
    }
}

/// A node's heartbeat: its status and the traffic rollups it has not delivered yet. Each
/// (site, minute) replaces what this node sent for it before, so a repeated heartbeat never
/// counts twice; minutes of sites the tenant does not have are left out (and named). The
/// answer carries the tenant's newest config version.
#[utoipa::path(post, path = "/api/node/v1/heartbeat", tag = "nodes", request_body = Heartbeat,
    security(("node" = [])),
    responses((status = 200, body = Ingested), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, description = "the body is over 16 MiB"), (status = 422, body = ErrorBody)))]
async fn heartbeat(
    State(s): State<AppState>,
    NodeCaller(node): NodeCaller,
    JsonBody(beat): JsonBody<Heartbeat>,
) -> Result<Json<Ingested>, ApiError> {
    Ok(Json(s.telemetry.ingest(&node, beat).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct RangeQuery {
    /// `1h` (1-minute buckets, the default), `24h` (15-minute) or `7d` (2-hour).
    range: Option<String>,
}

/// The range asked for (`1h` when none); 422 naming `range` otherwise.
pub(crate) fn parse_range(range: Option<&str>) -> Result<Range, ApiError> {
    let text = range.unwrap_or("1h");
    Range::parse(text).ok_or_else(|| {
        let mut p = Problems::default();
        p.push("range", format!("`{text}` is not one of 1h, 24h, 7d"));
        ApiError::Invalid(p)
    })
}

/// A site's traffic over the range from every node: requests by status class, errors,
/// latency percentiles and WAF blocks per time bucket; totals with countries, WAF blocks by
/// category and the slowest paths; and the tenant's node statuses.
#[utoipa::path(get, path = "/api/t/{tenant}/sites/{id}/dashboard", tag = "tenant",
    params(("tenant" = String, Path, description = "Tenant id"), ("id" = String, Path, description = "Site id"), RangeQuery),
    security(("session" = []), ("token" = [])),
    responses((status = 200, body = Dashboard), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn dashboard(
    State(s): State<AppState>,
    c: Caller,
    Path((t, id)): Path<(String, String)>,
    Query(q): Query<RangeQuery>,
) -> Result<Json<Dashboard>, ApiError> {
    c.member_of(&s, &t).await?;
    let range = parse_range(q.range.as_deref())?;
    Ok(Json(s.telemetry.dashboard(&t, &id, range).await?))
}
