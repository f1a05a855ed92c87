//! The portal application: shared state, the router (API, link pages, health), security
//! headers on every response, and [`serve`], which runs migrations, the outbox sender and the
//! HTTP server.

use crate::auth::Accounts;
use crate::config::PortalConfig;
use crate::db::{DbError, Pool};
use crate::mail::Sender;
use crate::nodes::Nodes;
use crate::registry::Registry;
use crate::store::Store;
use crate::telemetry::Telemetry;
use crate::tenant_config::TenantConfig;
use crate::{api, pages, ui};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<PortalConfig>,
    pub accounts: Accounts,
    pub config_service: TenantConfig,
    pub registry: Registry,
    pub nodes: Nodes,
    pub telemetry: Telemetry,
}

/// Why the portal could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Db(#[from] DbError),
    #[error("{0}")]
    Setup(String),
    #[error("listening on {0}: {1}")]
    Listen(String, std::io::Error),
}

impl AppState {
    /// Opens and migrates the database and builds the services.
    pub async fn open(config: PortalConfig) -> Result<AppState, StartError> {
        let url = config.database_url();
        {
            std::fs::create_dir_all(&config.data_dir).map_err(|e| {
                StartError::Setup(format!(
                    "creating data dir {}: {e}",
                    config.data_dir.display()
                ))
            })?;
        }
        let pool = Pool::connect(url.expose()).await?;
        pool.migrate().await?;
        tracing::info!(backend = pool.backend(), "database ready");
        let store = Store::new(pool);
        let config = Arc::new(config);
        let accounts = Accounts::new(store.clone(), config.clone())
            .map_err(|e| StartError::Setup(e.to_string()))?;
        let registry = Registry::new(store.clone(), &config.data_dir).map_err(StartError::Setup)?;
        let nodes = Nodes::open(store.clone())
            .await
            .map_err(|e| StartError::Setup(format!("signing key: {e}")))?;
        Ok(AppState {
            config_service: TenantConfig::new(store.clone(), registry.clone(), nodes.hub().clone()),
            telemetry: Telemetry::start(store.clone(), config.clone(), nodes.hub().clone()),
            registry,
            nodes,
            store,
            config,
            accounts,
        })
    }
}

/// Security headers for every response.
async fn secure_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: &'static str, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(
        h,
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    set(h, "x-content-type-options", "nosniff");
    set(h, "x-frame-options", "DENY");
    set(h, "referrer-policy", "same-origin");
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, "cache-control", "no-store");
    }
    response
}

/// The whole router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(api::routes())
        .merge(pages::routes())
        .merge(ui::routes())
        .route("/healthz", get(|| async { "ok" }))
        .layer(axum::middleware::map_response(secure_headers))
        .with_state(state)
}

/// A portal serving in the background.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its state (services, store).
    pub state: AppState,
    /// The HTTP server; ends only on a listener error.
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Starts the portal on `config.listen`: migrations, outbox sender, replica follower
/// (PostgreSQL), HTTP.
pub async fn start(config: PortalConfig) -> Result<Running, StartError> {
    let listen = config.listen.clone();
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| StartError::Listen(listen.clone(), e))?;
    start_on(config, listener).await
}

/// [`start`] on a listener bound already (its address may be in `config.public_url`).
pub async fn start_on(
    config: PortalConfig,
    listener: tokio::net::TcpListener,
) -> Result<Running, StartError> {
    let listen = config.listen.clone();
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Listen(listen.clone(), e))?;
    let state = AppState::open(config).await?;
    let sender = Sender::new(state.store.clone(), &state.config.smtp)
        .map_err(|e| StartError::Setup(e.to_string()))?;
    tokio::spawn(sender.run(Duration::from_millis(state.config.smtp.poll_ms)));
    tokio::spawn(state.nodes.hub().clone().follow_postgres());
    tokio::spawn(state.telemetry.clone().run_jobs());
    tracing::info!(listen = %addr, public_url = %state.config.public_url, "portal listening");
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Running {
        addr,
        state,
        server,
    })
}

/// Runs the portal until the process ends.
pub async fn serve(config: PortalConfig) -> Result<(), StartError> {
    let listen = config.listen.clone();
    let running = start(config).await?;
    println!("weir portal listening on http://{}", running.addr);
    let failed = |e: std::io::Error| StartError::Listen(listen.clone(), e);
    running
        .server
        .await
        .map_err(|e| failed(std::io::Error::other(e)))?
        .map_err(failed)
}
