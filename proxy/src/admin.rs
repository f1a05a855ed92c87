//! The admin API (loopback by default; bearer token when configured, required off loopback):
//!
//! | method | path | does |
//! |---|---|---|
//! | GET | `/status` | config generation, the portal bundle in force (managed nodes), every pool and backend: available, healthy, ejected, draining, in flight, weight |
//! | POST | `/pools/{pool}/backends/{addr}/drain` | no new requests to the backend; in-flight ones finish |
//! | POST | `/pools/{pool}/backends/{addr}/undrain` | takes new requests again |
//! | PUT | `/pools/{pool}/backends/{addr}/weight` | body `{"weight": N}`, 0-10000, until the next reload |
//! | POST | `/reload` | re-reads the config file (like SIGHUP) |
//! | GET | `/metrics` | Prometheus text format |
//! | GET | `/ready` | 200 once serving and listening for signals, 503 while starting or draining (no token needed) |

use crate::backend::BackendState;
use crate::state::{ConfigSource, Shared};
use async_trait::async_trait;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use parking_lot::Mutex;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The admin API as a background service on an already bound listener.
#[derive(Debug)]
pub struct AdminService {
    /// Node state.
    pub shared: Arc<Shared>,
    /// Bound at start-up so a taken port is reported before serving; `None` when a node
    /// taking over from another waits for the old one to let go of `address`.
    pub listener: Mutex<Option<std::net::TcpListener>>,
    /// The admin address.
    pub address: String,
}

#[async_trait]
impl BackgroundService for AdminService {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let taken = self.listener.lock().take();
        let listener = match taken {
            Some(l) => tokio::net::TcpListener::from_std(l),
            None => loop {
                match tokio::net::TcpListener::bind(&self.address).await {
                    Ok(l) => break Ok(l),
                    Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {}
                    Err(e) => break Err(e),
                }
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
                    _ = shutdown.changed() => return,
                }
            },
        };
        let listener = match listener {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "admin API cannot listen");
                return;
            }
        };
        let app = router(Arc::clone(&self.shared));
        let stop = async move {
            let _ = shutdown.changed().await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(error = %e, "admin API stopped");
        }
    }
}

#[derive(Serialize)]
struct ApiError {
    error: String,
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(ApiError {
            error: message.into(),
        }),
    )
        .into_response()
}

/// The admin routes over `shared`.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .route("/reload", post(reload))
        .route("/pools/{pool}/backends/{addr}/drain", post(drain))
        .route("/pools/{pool}/backends/{addr}/undrain", post(undrain))
        .route("/pools/{pool}/backends/{addr}/weight", put(set_weight))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&shared),
            require_token,
        ))
        .route("/ready", get(ready))
        .with_state(shared)
}

/// Constant-time comparison, so a token cannot be guessed byte by byte from timings.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn require_token(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let runtime = shared.runtime();
    if let Some(token) = &runtime.settings.admin_token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| same_secret(g.as_bytes(), token.expose().as_bytes())) {
            return error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
        }
    }
    next.run(req).await
}

#[derive(Serialize)]
struct PoolStatus {
    id: String,
    algorithm: weir_bundle::Algorithm,
    backup: Option<String>,
    backends: Vec<crate::backend::BackendStatus>,
}

#[derive(Serialize)]
struct NodeStatus {
    generation: u64,
    /// The portal bundle in force (managed nodes only).
    #[serde(skip_serializing_if = "Option::is_none")]
    bundle: Option<BundleStatus>,
    pools: Vec<PoolStatus>,
}

#[derive(Serialize)]
struct BundleStatus {
    version: i64,
    hash: String,
}

async fn status(State(shared): State<Arc<Shared>>) -> Json<NodeStatus> {
    let runtime = shared.runtime();
    let mut pools: Vec<PoolStatus> = runtime
        .pools
        .values()
        .map(|p| PoolStatus {
            id: p.id.clone(),
            algorithm: p.algorithm,
            backup: p.backup.clone(),
            backends: p.backends.iter().map(|b| b.status()).collect(),
        })
        .collect();
    pools.sort_by(|a, b| a.id.cmp(&b.id));
    let bundle = matches!(shared.source(), ConfigSource::Managed { .. }).then(|| {
        let applied = shared.applied();
        BundleStatus {
            version: applied.version,
            hash: applied.hash,
        }
    });
    Json(NodeStatus {
        generation: runtime.generation,
        bundle,
        pools,
    })
}

async fn ready(State(shared): State<Arc<Shared>>) -> Response {
    if shared.ready.load(std::sync::atomic::Ordering::Relaxed) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let body = shared.metrics.render(&shared.runtime());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

async fn reload(State(shared): State<Arc<Shared>>) -> Response {
    let result = tokio::task::spawn_blocking(move || shared.reload()).await;
    match result {
        Ok(Ok(generation)) => Json(serde_json::json!({ "generation": generation })).into_response(),
        Ok(Err(e)) => error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reload task failed: {e}"),
        ),
    }
}

fn find_backend(shared: &Shared, pool: &str, addr: &str) -> Result<Arc<BackendState>, String> {
    let runtime = shared.runtime();
    let pool_state = runtime
        .pools
        .get(pool)
        .ok_or_else(|| format!("no pool `{pool}`"))?;
    pool_state
        .backends
        .iter()
        .find(|b| b.addr == addr)
        .cloned()
        .ok_or_else(|| format!("no backend `{addr}` in pool `{pool}`"))
}

async fn set_draining(shared: &Shared, pool: &str, addr: &str, draining: bool) -> Response {
    match find_backend(shared, pool, addr) {
        Ok(b) => {
            b.set_draining(draining);
            tracing::info!(pool, backend = addr, draining, "drain state changed");
            Json(b.status()).into_response()
        }
        Err(not_found) => error(StatusCode::NOT_FOUND, not_found),
    }
}

async fn drain(
    State(shared): State<Arc<Shared>>,
    Path((pool, addr)): Path<(String, String)>,
) -> Response {
    set_draining(&shared, &pool, &addr, true).await
}

async fn undrain(
    State(shared): State<Arc<Shared>>,
    Path((pool, addr)): Path<(String, String)>,
) -> Response {
    set_draining(&shared, &pool, &addr, false).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightBody {
    weight: u32,
}

async fn set_weight(
    State(shared): State<Arc<Shared>>,
    Path((pool, addr)): Path<(String, String)>,
    body: Result<Json<WeightBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(WeightBody { weight }) = match body {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("body must be {{\"weight\": N}}: {e}"),
            )
        }
    };
    if weight > 10_000 {
        return error(
            StatusCode::BAD_REQUEST,
            "weight must be between 0 and 10000",
        );
    }
    match find_backend(&shared, &pool, &addr) {
        Ok(b) => {
            b.set_weight(weight);
            tracing::info!(pool, backend = addr, weight, "weight changed");
            Json(b.status()).into_response()
        }
        Err(not_found) => error(StatusCode::NOT_FOUND, not_found),
    }
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
    }
}
