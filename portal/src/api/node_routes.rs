//! Nodes: a tenant's nodes (`/api/t/{tenant}/nodes`: list, create with a one-time join token,
//! revoke) and the node-facing API (`/api/node/v1/…`: enroll with the join token, then calls
//! with `Authorization: Node <credential>`: who am I, the newest signed bundle, the event
//! stream that pushes bundles, plugin components by SHA-256).

use super::JsonBody;
use crate::app::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::nodes::{Enrolled, NodeError, JOIN_TTL_S};
use crate::session::Caller;
use crate::store::Node;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
        .routes(routes!(enroll))
        .routes(routes!(whoami))
        .routes(routes!(bundle))
        .routes(routes!(events))
        .routes(routes!(blob))
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> Self {
        match e {
            NodeError::Invalid(field, message) => {
                let mut p = weir_bundle::Problems::default();
                p.push(field, message);
                ApiError::Invalid(p)
            }
            NodeError::Unknown(_) => ApiError::Unauthorized(e.to_string()),
            NodeError::Used(_) => ApiError::Conflict(e.to_string()),
            NodeError::Expired(_) => ApiError::Gone(e.to_string()),
            NodeError::Revoked(_) => ApiError::Forbidden(e.to_string()),
            NodeError::Store(s) => s.into(),
        }
    }
}

#[derive(Serialize, ToSchema)]
struct NodesBody {
    nodes: Vec<ListedNode>,
}

/// A node and, once it sent a heartbeat, its status.
#[derive(Serialize, ToSchema)]
struct ListedNode {
    #[serde(flatten)]
    node: Node,
    status: Option<crate::telemetry::NodeStatus>,
}

/// The tenant's nodes with their enrollment state and status (online or offline, since when,
/// version, bundle applied, last heartbeat).
#[utoipa::path(get, path = "/api/t/{tenant}/nodes", tag = "nodes",
    params(("tenant" = String, Path, description = "Tenant id")),
    security(("session" = []), ("token" = [])),
    responses((status = 200, body = NodesBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list(
    State(s): State<AppState>,
    c: Caller,
    Path(t): Path<String>,
) -> Result<Json<NodesBody>, ApiError> {
    c.member_of(&s, &t).await?;
    let mut statuses = s.telemetry.node_statuses(&t).await?;
    let nodes = s
        .store
        .nodes(&t)
        .await?
        .into_iter()
        .map(|node| {
            let status = statuses
                .iter()
                .position(|st| st.node_id == node.id)
                .map(|i| statuses.swap_remove(i));
            ListedNode { node, status }
        })
        .collect();
    Ok(Json(NodesBody { nodes }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewNode {
    /// For people: 1-100 characters.
    name: String,
}

/// A new node and its join token: the token is in this answer only and works once, for an
/// hour.
#[derive(Serialize, ToSchema)]
struct NewNodeBody {
    node: Node,
    join_token: String,
    expires_in_s: i64,
    /// The command that enrolls a machine with this token.
    command: String,
}

/// Creates a node waiting for enrollment (owners, admins, write tokens).
#[utoipa::path(post, path = "/api/t/{tenant}/nodes", tag = "nodes", request_body = NewNode,
    params(("tenant" = String, Path, description = "Tenant id")),
    security(("session" = [], "csrf" = []), ("token" = [])),
    responses((status = 201, body = NewNodeBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(s): State<AppState>,
    c: Caller,
    Path(t): Path<String>,
    JsonBody(b): JsonBody<NewNode>,
) -> Result<Response, ApiError> {
    let access = c.admin_of(&s, &t).await?;
    let (node, join_token) = s.nodes.create(&t, &b.name, &access.author).await?;
    let command = format!(
        "weir proxy --portal {} --join-token {join_token} --data-dir /var/lib/weir",
        s.config.base_url()
    );
    let body = NewNodeBody {
        node,
        join_token,
        expires_in_s: JOIN_TTL_S,
        command,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Revokes a node: its credential stops working at once.
#[utoipa::path(delete, path = "/api/t/{tenant}/nodes/{id}", tag = "nodes",
    params(("tenant" = String, Path, description = "Tenant id"), ("id" = String, Path, description = "Node id")),
    security(("session" = [], "csrf" = []), ("token" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revoke(
    State(s): State<AppState>,
    c: Caller,
    Path((t, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    c.admin_of(&s, &t).await?;
    if s.nodes.revoke(&t, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Enroll {
    join_token: String,
    /// The node's `weir` version.
    #[serde(default)]
    version: String,
}

/// Trades a join token for the node's credential and the portal's public key. A used,
/// expired or unknown token is refused with the reason (409, 410, 401).
#[utoipa::path(post, path = "/api/node/v1/enroll", tag = "nodes", request_body = Enroll,
    responses((status = 200, body = Enrolled), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 410, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn enroll(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<Enroll>,
) -> Result<Json<Enrolled>, ApiError> {
    Ok(Json(s.nodes.enroll(&b.join_token, &b.version).await?))
}

/// An enrolled, unrevoked node calling (`Authorization: Node <credential>`).
pub(crate) struct NodeCaller(pub(crate) Node);

impl FromRequestParts<AppState> for NodeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let credential = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Node "))
            .ok_or_else(|| {
                ApiError::Unauthorized("send Authorization: Node <credential>".into())
            })?;
        Ok(NodeCaller(s.nodes.authenticate(credential).await?))
    }
}

/// The calling node as the portal knows it (a revoked node gets 401 at once).
#[utoipa::path(get, path = "/api/node/v1/whoami", tag = "nodes",
    security(("node" = [])),
    responses((status = 200, body = Node), (status = 401, body = ErrorBody)))]
async fn whoami(NodeCaller(node): NodeCaller) -> Json<Node> {
    Json(node)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Have {
    /// The version the node has applied; the answer is 204 when it is the newest.
    have: Option<i64>,
}

/// The tenant's newest config, signed with the portal's key (verify it with the key pinned at
/// enrollment). 204 when the node already has it. Carries the sites' private keys: nodes need
/// them to serve TLS.
#[utoipa::path(get, path = "/api/node/v1/bundle", tag = "nodes", params(Have),
    security(("node" = [])),
    responses((status = 200, body = weir_bundle::SignedBundle), (status = 204, description = "the node has the newest version"),
        (status = 401, body = ErrorBody)))]
async fn bundle(
    State(s): State<AppState>,
    NodeCaller(node): NodeCaller,
    axum::extract::Query(q): axum::extract::Query<Have>,
) -> Result<Response, ApiError> {
    let signed = s.nodes.signed_bundle(&node.tenant_id).await?;
    if q.have == Some(signed.version) {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Json(signed).into_response())
}

/// A comment on the stream this often keeps proxies and the node's idle check content.
const KEEPALIVE: std::time::Duration = std::time::Duration::from_secs(15);

/// The node's event stream (server-sent events). Send `X-Weir-Bundle-Hash` (SHA-256 of the
/// bundle JSON the node serves). Events: `hello` (`{"node_id", "heartbeat_ms"}`), then
/// `bundle` (a signed bundle) at once when the node's differs from the newest, and again each
/// time the tenant's config changes. A revoked node's stream ends at once.
#[utoipa::path(get, path = "/api/node/v1/events", tag = "nodes",
    params(("x-weir-bundle-hash" = Option<String>, Header, description = "SHA-256 hex of the bundle JSON the node serves")),
    security(("node" = [])),
    responses((status = 200, content_type = "text/event-stream", description = "the event stream"),
        (status = 401, body = ErrorBody)))]
async fn events(
    State(s): State<AppState>,
    NodeCaller(node): NodeCaller,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let have = headers
        .get("x-weir-bundle-hash")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let revocations = s.nodes.hub().revocations();
    let bundles = s.nodes.hub().subscribe(&node.tenant_id).await?;
    let hello = Event::default().event("hello").data(
        serde_json::json!({ "node_id": node.id, "heartbeat_ms": s.config.nodes.heartbeat_ms })
            .to_string(),
    );
    struct Stream {
        node_id: String,
        have: Option<String>,
        bundles: tokio::sync::watch::Receiver<Option<std::sync::Arc<crate::hub::Pushed>>>,
        revocations: tokio::sync::broadcast::Receiver<String>,
    }
    let state = Stream {
        node_id: node.id,
        have: Some(have),
        bundles,
        revocations,
    };
    let rest = futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(have) = st.have.take() {
                // The bundle in force now, unless the node serves it already.
                let now = st.bundles.borrow_and_update().clone();
                match now {
                    Some(p) if p.hash != have => return Some((p, st)),
                    _ => continue,
                }
            }
            tokio::select! {
                changed = st.bundles.changed() => {
                    changed.ok()?;
                    let next = st.bundles.borrow_and_update().clone();
                    if let Some(p) = next {
                        return Some((p, st));
                    }
                }
                revoked = st.revocations.recv() => match revoked {
                    Ok(id) if id == st.node_id => return None,
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                },
            }
        }
    });
    use futures_util::StreamExt as _;
    let stream = futures_util::stream::once(async { hello })
        .chain(rest.map(|p| Event::default().event("bundle").data(p.json.as_str())))
        .map(Ok::<_, std::convert::Infallible>);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEPALIVE))
        .into_response())
}

/// A plugin component the tenant uploaded, by SHA-256 (as named by `sha256:HEX` sources in
/// the signed bundle). Nodes check the hash of what they get.
#[utoipa::path(get, path = "/api/node/v1/blobs/{sha256}", tag = "nodes",
    params(("sha256" = String, Path, description = "SHA-256 hex of the component")),
    security(("node" = [])),
    responses((status = 200, content_type = "application/wasm", description = "the component"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn blob(
    State(s): State<AppState>,
    NodeCaller(node): NodeCaller,
    Path(sha256): Path<String>,
) -> Result<Response, ApiError> {
    let well_formed = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed {
        return Err(ApiError::NotFound);
    }
    let bytes = s
        .store
        .plugin_blob(&node.tenant_id, &sha256.to_ascii_lowercase())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/wasm")],
        bytes,
    )
        .into_response())
}
