//! Weir's node: a Pingora reverse proxy with Weir's balancer, health checks, failover,
//! rate limiting, TLS by SNI, admin API, metrics and access log.
//!
//! [`run`] loads the config, binds the listeners and serves until a signal stops it.
// One justified exception: loading precompiled plugins (plugin_host/disk_cache.rs).
#![deny(unsafe_code)]

mod admin;
pub mod agent;
mod backend;
mod balancer;
mod client_guard;
mod client_ip;
mod clock;
pub mod geo;
mod health;
pub mod loader;
mod logging;
pub mod metrics;
mod pages;
mod plugin_host;
mod plugin_try;
mod rate_limit;
pub mod rollup;
mod runtime;
mod service;
mod signals;
mod state;
mod tls;

pub use agent::ManagedOptions;
pub use loader::{load, LoadError, LoadedConfig, Overrides};
pub use logging::init as init_logging;
pub use metrics::Metrics;
pub use plugin_host::builtin::{lookup as builtin_plugin, names as builtin_plugin_names};
pub use plugin_host::PluginEngine;
pub use plugin_try::{bench_plugin, check_plugin, try_plugin, BenchOptions};
pub use rollup::Rollups;

use parking_lot::Mutex;
use pingora::apps::HttpServerOptions;
use pingora::listeners::tls::TlsSettings;
use pingora::proxy::http_proxy;
use pingora::server::configuration::ServerConf;
use pingora::server::{RunArgs, Server};
use pingora::services::background::background_service;
use pingora::services::listening::Service;
use std::path::PathBuf;
use std::sync::Arc;

/// Why the node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The config could not be loaded.
    #[error(transparent)]
    Config(#[from] LoadError),
    /// A listen address could not be bound.
    #[error("cannot listen on {addr} ({key}): {source}")]
    Bind {
        /// The config key.
        key: &'static str,
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The wasm engine could not start.
    #[error("plugin engine: {0}")]
    Plugins(String),
    /// A managed node could not enroll or open its data directory.
    #[error(transparent)]
    Managed(#[from] agent::EnrollError),
    /// Pingora refused a TLS listener.
    #[error("TLS listener {addr}: {message}")]
    Tls {
        /// The address.
        addr: String,
        /// Pingora's message.
        message: String,
    },
}

fn bind_check(key: &'static str, addr: &str) -> Result<std::net::TcpListener, StartError> {
    std::net::TcpListener::bind(addr).map_err(|source| StartError::Bind {
        key,
        addr: addr.to_string(),
        source,
    })
}

/// Loads the config at `config_path` and serves it until SIGTERM/SIGINT. Returns only on
/// start-up errors or after shutdown.
pub fn run(config_path: PathBuf, overrides: Overrides) -> Result<(), StartError> {
    serve(state::ConfigSource::File(config_path), overrides, None)
}

/// Runs a node managed by a portal: enrolls when its data directory has no identity yet,
/// serves the last good bundle kept there at once (none: every host gets the 404 page) and
/// follows the portal's pushes. Returns only on start-up errors or after shutdown.
pub fn run_managed(opts: ManagedOptions, overrides: Overrides) -> Result<(), StartError> {
    let (dir, id) = agent::identity(&opts)?;
    let source = state::ConfigSource::Managed {
        settings: opts.settings.clone(),
        dir: dir.clone(),
        portal_key: id.portal_public_key.clone(),
    };
    serve(source, overrides, Some((dir, id)))
}

fn serve(
    source: state::ConfigSource,
    overrides: Overrides,
    managed: Option<(agent::NodeDir, agent::NodeIdentity)>,
) -> Result<(), StartError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    if let Err(e) = signals::install_early() {
        tracing::warn!(error = %e, "cannot register signal handlers early");
    }
    let plugins = PluginEngine::new(Metrics::new()).map_err(StartError::Plugins)?;
    let (loaded, applied) = source.load(&overrides, &plugins, None)?;
    let settings = loaded.config.proxy.clone();

    // Bind-test every address first so a taken port is a clear error, not a panic later. A
    // node taking over from a running one (`--upgrade`) gets the traffic sockets from it and
    // binds the admin address once the old node lets go of it.
    let admin_listener = match bind_check("proxy.admin_listen", &settings.admin_listen) {
        Ok(l) => Some(l),
        Err(StartError::Bind { source, .. })
            if overrides.upgrade && source.kind() == std::io::ErrorKind::AddrInUse =>
        {
            None
        }
        Err(e) => return Err(e),
    };
    if let Some(l) = &admin_listener {
        l.set_nonblocking(true).map_err(|source| StartError::Bind {
            key: "proxy.admin_listen",
            addr: settings.admin_listen.clone(),
            source,
        })?;
    }
    if !overrides.upgrade {
        for addr in &settings.listen {
            drop(bind_check("proxy.listen", addr)?);
        }
        for addr in &settings.tls_listen {
            drop(bind_check("proxy.tls_listen", addr)?);
        }
    }
    let upgrade_sock = source.upgrade_sock();
    let upgrade = overrides.upgrade;

    let runtime = runtime::Runtime::build(&loaded, None, 1);
    let shared = Arc::new(state::Shared::new(
        source, overrides, runtime, plugins, applied,
    ));

    let mut conf = ServerConf {
        threads: if settings.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            settings.threads
        },
        // Pingora counts tries, Weir counts retries.
        max_retries: settings.max_retries + 1,
        grace_period_seconds: Some(settings.shutdown_timeout_s),
        graceful_shutdown_timeout_seconds: Some(1),
        ..ServerConf::default()
    };
    conf.daemon = false;
    conf.upgrade_sock = upgrade_sock.display().to_string();
    let opt = pingora::server::configuration::Opt {
        upgrade,
        ..Default::default()
    };
    if upgrade {
        tracing::info!(socket = %conf.upgrade_sock, "waiting for the running node's sockets (send it SIGQUIT)");
    }
    let mut server = Server::new_with_opt_and_conf(Some(opt), conf);
    server.bootstrap();

    let mut app = http_proxy(
        &server.configuration,
        service::WeirProxy {
            shared: Arc::clone(&shared),
        },
    );
    let mut options = HttpServerOptions::default();
    options.h2c = settings.h2c;
    app.server_options = Some(options);
    let mut proxy = Service::new(
        "weir proxy".to_string(),
        client_guard::ClientGuard {
            inner: Arc::new(app),
            shared: Arc::clone(&shared),
            h2c: settings.h2c,
        },
    );
    for addr in &settings.listen {
        proxy.add_tcp(addr);
    }
    for addr in &settings.tls_listen {
        let mut tls = TlsSettings::intermediate("", "").map_err(|e| StartError::Tls {
            addr: addr.clone(),
            message: e.to_string(),
        })?;
        tls.set_cert_resolver(
            Arc::clone(&shared.sni) as Arc<dyn rustls::server::ResolvesServerCert>
        );
        tls.enable_h2();
        proxy.add_tls_with_settings(addr, None, tls);
    }
    server.add_service(proxy);
    server.add_service(background_service(
        "health checks",
        health::HealthChecker {
            shared: Arc::clone(&shared),
        },
    ));
    server.add_service(background_service(
        "geo database",
        geo::GeoWatcher {
            slot: Arc::clone(&shared.plugins.geo),
        },
    ));
    server.add_service(background_service(
        "admin api",
        admin::AdminService {
            shared: Arc::clone(&shared),
            listener: Mutex::new(admin_listener),
            address: settings.admin_listen.clone(),
        },
    ));
    if let Some((dir, id)) = managed {
        let agent = agent::Agent::new(Arc::clone(&shared), dir, id)
            .map_err(|e| StartError::Managed(agent::EnrollError::Portal(e)))?;
        server.add_service(background_service("portal agent", agent));
    }
    tracing::info!(
        listen = ?settings.listen,
        tls_listen = ?settings.tls_listen,
        admin = %settings.admin_listen,
        "weir proxy starting"
    );
    server.run(RunArgs {
        shutdown_signal: Box::new(signals::SignalWatch { shared }),
    });
    logging::flush();
    Ok(())
}
