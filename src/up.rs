//! `weir up`: a first try of everything in one process — the portal on SQLite, a small demo
//! backend, and one node enrolled with the portal serving the demo site (WAF and router
//! plugins on). Everything lives in one data directory; a second run reuses it (same login,
//! same node, same config).

use anyhow::{anyhow, Context};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use weir_portal::tenant_config::Kind;

/// Where `weir up` listens and keeps its data.
#[derive(Debug, Clone, clap::Args)]
pub struct UpArgs {
    /// Data directory (portal database, node state, demo login).
    #[arg(long, default_value = "weir-data")]
    pub data_dir: PathBuf,
    /// The portal's address.
    #[arg(long, default_value = "127.0.0.1:7070")]
    pub portal_listen: String,
    /// The node's HTTP address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The node's admin API address.
    #[arg(long, default_value = "127.0.0.1:7072")]
    pub admin_listen: String,
    /// The demo backend's address (stored in the demo pool).
    #[arg(long, default_value = "127.0.0.1:7081")]
    pub demo_backend_listen: String,
}

/// The demo login, kept in `DATA_DIR/demo-login.json` (readable by this user only).
#[derive(serde::Serialize, serde::Deserialize)]
struct DemoLogin {
    email: String,
    password: String,
    tenant: String,
}

const DEMO_EMAIL: &str = "demo@weir.local";

/// Runs portal, demo backend and node until Ctrl-C.
pub fn run(args: UpArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let data_dir = std::fs::canonicalize(&args.data_dir)
        .with_context(|| format!("reading {}", args.data_dir.display()))?;
    let portal_url = format!("http://{}", args.portal_listen);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the portal's runtime")?;
    let (login, join_token) = rt.block_on(start_portal_and_demo(&args, &data_dir, &portal_url))?;
    // The portal and the demo backend keep running on `rt`'s threads; the node runs here.
    let node_dir = data_dir.join("node");
    println!();
    println!("Weir is up (data in {}).", data_dir.display());
    println!(
        "  portal     {portal_url}   sign in as {} / {}",
        login.email, login.password
    );
    println!(
        "  dashboard  {portal_url}/t/{}/sites/demo/dashboard",
        login.tenant
    );
    println!(
        "  node       http://{}/          try: curl http://{}/",
        args.listen, args.listen
    );
    println!("  node admin http://{}/status", args.admin_listen);
    println!("Ctrl-C stops everything.");
    println!();
    let result = weir_proxy::run_managed(
        weir_proxy::ManagedOptions {
            data_dir: node_dir,
            portal: Some(portal_url),
            join_token: join_token.map(weir_bundle::Secret::new),
            settings: None,
        },
        weir_proxy::Overrides {
            listen: Some(vec![args.listen.clone()]),
            admin_listen: Some(args.admin_listen.clone()),
            upgrade: false,
        },
    );
    rt.shutdown_background();
    result.context("the node")
}

/// Starts the portal and the demo backend; on the first run creates the demo login, config
/// and node. Returns the login and, when the node has yet to enroll, its join token.
async fn start_portal_and_demo(
    args: &UpArgs,
    data_dir: &Path,
    portal_url: &str,
) -> anyhow::Result<(DemoLogin, Option<String>)> {
    let backend: SocketAddr = args
        .demo_backend_listen
        .parse()
        .map_err(|e| anyhow!("--demo-backend-listen `{}`: {e}", args.demo_backend_listen))?;
    start_demo_backend(backend).await?;
    let portal_dir = data_dir.join("portal");
    let config = weir_portal::PortalConfig::load(
        None,
        std::env::vars(),
        &weir_portal::Flags {
            listen: Some(args.portal_listen.clone()),
            data_dir: Some(portal_dir),
            public_url: Some(portal_url.to_string()),
            ..weir_portal::Flags::default()
        },
    )
    .context("portal config")?;
    let running = weir_portal::start(config)
        .await
        .context("starting the portal")?;
    let state = running.state;
    let login_file = data_dir.join("demo-login.json");
    let login = match std::fs::read(&login_file) {
        Ok(bytes) => serde_json::from_slice::<DemoLogin>(&bytes)
            .with_context(|| format!("{} is damaged", login_file.display()))?,
        Err(_) => {
            let password = weir_portal::tokens::new_token()[..16].to_string();
            let (_, tenant) = state
                .accounts
                .create_confirmed(DEMO_EMAIL, &password, "Demo")
                .await
                .context("creating the demo login")?;
            let login = DemoLogin {
                email: DEMO_EMAIL.into(),
                password,
                tenant,
            };
            weir_proxy::agent::write_atomic(
                &login_file,
                &serde_json::to_vec_pretty(&login)?,
                0o600,
            )?;
            login
        }
    };
    let bundle = state.config_service.bundle(&login.tenant).await?;
    if bundle.sites.is_empty() {
        put_demo_config(&state, &login.tenant, &args.demo_backend_listen).await?;
    } else if let Some(pool) = bundle.pools.iter().find(|p| p.id == "demo") {
        // The demo backend moved (another --demo-backend-listen): point the pool at it.
        let here = [args.demo_backend_listen.as_str()];
        if !pool.backends.iter().map(|b| b.addr.as_str()).eq(here) {
            state
                .config_service
                .put(
                    &login.tenant,
                    Kind::Pool,
                    "demo",
                    demo_pool(&args.demo_backend_listen),
                    false,
                    "weir up",
                )
                .await
                .map_err(|e| anyhow!("demo pool: {e}"))?;
        }
    }
    let join_token = if data_dir.join("node").join("node.json").exists() {
        None
    } else {
        let (_, token) = state
            .nodes
            .create(&login.tenant, "this machine (weir up)", "weir up")
            .await
            .context("creating the node")?;
        Some(token)
    };
    Ok((login, join_token))
}

fn demo_pool(backend: &str) -> serde_json::Value {
    serde_json::json!({
        "backend": [{ "addr": backend }],
        "health": { "path": "/", "interval_ms": 2000 },
    })
}

async fn put_demo_config(
    state: &weir_portal::AppState,
    tenant: &str,
    backend: &str,
) -> anyhow::Result<()> {
    let pool = demo_pool(backend);
    let site = serde_json::json!({
        "hosts": ["127.0.0.1", "localhost"],
        "pool": "demo",
        "plugin": [
            { "name": "waf", "source": "builtin:waf", "config": { "mode": "block", "paranoia": 1 } },
            { "name": "router", "source": "builtin:router", "config": { "rules": [
                { "name": "robots", "match": { "path": { "exact": "/robots.txt" } },
                  "respond": { "status": 200, "body": "User-agent: *\nDisallow:\n" } },
                { "name": "old home", "match": { "path": { "exact": "/home" } },
                  "redirect": { "to": "/", "status": 301 } }
            ] } }
        ],
    });
    for (kind, id, body) in [(Kind::Pool, "demo", pool), (Kind::Site, "demo", site)] {
        state
            .config_service
            .put(tenant, kind, id, body, true, "weir up")
            .await
            .map_err(|e| anyhow!("demo {} config: {e}", kind.as_str()))?;
    }
    Ok(())
}

/// A tiny backend: answers every GET with a page naming the path.
async fn start_demo_backend(addr: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("demo backend on {addr}"))?;
    let app = axum::Router::new().fallback(|uri: axum::http::Uri| async move {
        axum::response::Html(format!(
            "<!doctype html><title>Weir demo</title><h1>Hello from Weir's demo backend</h1><p>You asked for <code>{}</code>, through a Weir node.</p>\n",
            weir_portal::mail::escape_html(uri.path())
        ))
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(())
}
