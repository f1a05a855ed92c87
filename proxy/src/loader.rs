//! Loads a node config: defaults → TOML file → `WEIR_*` environment → CLI flags, then
//! validation, then the files the config names (certificates, keys, CA bundles, error pages,
//! the geo database). Every problem is collected with its key path; nothing is applied unless
//! all is well.

use crate::geo::GeoDb;
use crate::plugin_host::{builtin, Chain, LoadedPlugin, PluginEngine};
use pingora::utils::tls::WrappedX509;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir_bundle::{NodeConfig, ParseError, Problems, Secret, Site};

/// Settings given on the command line; they win over the file and the environment.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Replaces `proxy.listen`.
    pub listen: Option<Vec<String>>,
    /// Replaces `proxy.admin_listen`.
    pub admin_listen: Option<String>,
    /// Take the listening sockets over from the node running now (`--upgrade`), which hands
    /// them over on SIGQUIT.
    pub upgrade: bool,
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid config (syntax, unknown key, wrong type).
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        source: ParseError,
    },
    /// The config parsed but has problems.
    #[error("{0}")]
    Invalid(Problems),
    /// The plugin engine could not start.
    #[error("plugin engine: {0}")]
    Plugins(String),
}

/// A validated config with the contents of every file it names.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The config after all layers.
    pub config: NodeConfig,
    /// Certificate and key per site id.
    pub certs: HashMap<String, Arc<CertifiedKey>>,
    /// Maintenance page HTML per site id.
    pub error_pages: HashMap<String, bytes::Bytes>,
    /// CA certificates per pool id.
    pub pool_cas: HashMap<String, Vec<CertificateDer<'static>>>,
    /// The socket address of every backend `addr`, resolved at load time.
    pub resolved: HashMap<String, SocketAddr>,
    /// The plugin chain of every site, loaded and through `init`.
    pub chains: HashMap<String, Arc<Chain>>,
}

impl LoadedConfig {
    /// A config that names no files (no TLS, pages or CAs), with its backends resolved.
    pub fn without_files(config: NodeConfig) -> Result<Self, Problems> {
        let resolved = resolve_backends(&config)?;
        Ok(LoadedConfig {
            config,
            certs: HashMap::new(),
            error_pages: HashMap::new(),
            pool_cas: HashMap::new(),
            resolved,
            chains: HashMap::new(),
        })
    }

    /// Pingora's form of a pool's CA certificates.
    pub fn pingora_ca(&self, pool: &str) -> Option<Arc<[WrappedX509]>> {
        self.pool_cas.get(pool).map(|certs| {
            certs
                .iter()
                .map(|c| WrappedX509::new(c.to_vec(), pingora::utils::tls::parse_x509))
                .collect()
        })
    }
}

/// Reads, layers, validates and loads the config at `path`; plugins are compiled and
/// initialised on `plugins`.
pub fn load(
    path: &Path,
    overrides: &Overrides,
    plugins: &Arc<PluginEngine>,
) -> Result<LoadedConfig, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let config = NodeConfig::from_toml(&text).map_err(|source| LoadError::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    finish(config, base, overrides, plugins)
}

/// Loads a portal-managed node's config: the node-local `[proxy]` settings from `settings`
/// (a TOML file without sites or pools; none: defaults) and `bundle`, the sites and pools the
/// portal sent. Relative paths in the settings are relative to that file; without one, to
/// `data_dir`. Plugins are precompiled into `data_dir/plugin-cache` unless the settings say
/// otherwise, so a restart serves at once.
pub fn load_managed(
    settings: Option<&Path>,
    bundle: weir_bundle::Bundle,
    data_dir: &Path,
    overrides: &Overrides,
    plugins: &Arc<PluginEngine>,
) -> Result<LoadedConfig, LoadError> {
    let mut config = NodeConfig::default();
    let mut base = data_dir;
    if let Some(path) = settings {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        config = NodeConfig::from_toml(&text).map_err(|source| LoadError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        if !config.bundle.sites.is_empty() || !config.bundle.pools.is_empty() {
            let mut p = Problems::default();
            p.push(
                "site",
                format!(
                    "a node managed by a portal serves the portal's sites and pools; remove [[site]] and [[pool]] from {}",
                    path.display()
                ),
            );
            return Err(LoadError::Invalid(p));
        }
        base = path.parent().unwrap_or(Path::new("."));
    }
    config.bundle = bundle;
    if config.proxy.plugin_cache_dir.is_none() {
        config.proxy.plugin_cache_dir = Some(data_dir.join("plugin-cache").display().to_string());
    }
    finish(config, base, overrides, plugins)
}

/// The layers after the file (environment, flags), validation, then the files it names.
fn finish(
    mut config: NodeConfig,
    base: &Path,
    overrides: &Overrides,
    plugins: &Arc<PluginEngine>,
) -> Result<LoadedConfig, LoadError> {
    let mut problems = apply_env(&mut config, |k| std::env::var(k).ok());
    apply_overrides(&mut config, overrides);
    problems.extend(config.validate());
    if !problems.is_empty() {
        return Err(LoadError::Invalid(problems));
    }
    load_files(config, base, plugins)
}

/// Applies `WEIR_LISTEN` (comma-separated), `WEIR_TLS_LISTEN`, `WEIR_ADMIN_LISTEN`,
/// `WEIR_ADMIN_TOKEN` and `WEIR_THREADS`.
pub fn apply_env(config: &mut NodeConfig, var: impl Fn(&str) -> Option<String>) -> Problems {
    let mut problems = Problems::default();
    let list = |v: String| -> Vec<String> {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    };
    let p = &mut config.proxy;
    if let Some(v) = var("WEIR_LISTEN") {
        p.listen = list(v);
    }
    if let Some(v) = var("WEIR_TLS_LISTEN") {
        p.tls_listen = list(v);
    }
    if let Some(v) = var("WEIR_ADMIN_LISTEN") {
        p.admin_listen = v;
    }
    if let Some(v) = var("WEIR_ADMIN_TOKEN") {
        p.admin_token = Some(Secret::new(v));
    }
    if let Some(v) = var("WEIR_THREADS") {
        match v.parse() {
            Ok(n) => p.threads = n,
            Err(_) => problems.push("WEIR_THREADS", format!("`{v}` is not a whole number")),
        }
    }
    problems
}

fn apply_overrides(config: &mut NodeConfig, o: &Overrides) {
    if let Some(listen) = &o.listen {
        config.proxy.listen = listen.clone();
    }
    if let Some(admin) = &o.admin_listen {
        config.proxy.admin_listen = admin.clone();
    }
}

fn resolve(base: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn load_files(
    config: NodeConfig,
    base: &Path,
    plugins: &Arc<PluginEngine>,
) -> Result<LoadedConfig, LoadError> {
    let mut problems = Problems::default();
    let mut chains = HashMap::new();
    plugins.set_cache_dir(
        config
            .proxy
            .plugin_cache_dir
            .as_deref()
            .map(|d| resolve(base, d)),
    );
    for (i, site) in config.bundle.sites.iter().enumerate() {
        match load_chain(i, site, base, plugins) {
            Ok(chain) => {
                chains.insert(site.id.clone(), Arc::new(chain));
            }
            Err(more) => problems.extend(more),
        }
    }
    let mut certs = HashMap::new();
    let mut error_pages = HashMap::new();
    let mut pool_cas = HashMap::new();
    for (i, site) in config.bundle.sites.iter().enumerate() {
        if let Some(html) = &site.error_page_html {
            error_pages.insert(site.id.clone(), bytes::Bytes::from(html.clone()));
        }
        if let Some(page) = &site.error_page {
            match std::fs::read(resolve(base, page)) {
                Ok(bytes) if bytes.len() <= 1024 * 1024 => {
                    error_pages.insert(site.id.clone(), bytes::Bytes::from(bytes));
                }
                Ok(_) => problems.push(format!("site[{i}].error_page"), "larger than 1 MiB"),
                Err(e) => problems.push(
                    format!("site[{i}].error_page"),
                    format!("cannot read {page}: {e}"),
                ),
            }
        }
        if let Some(tls) = &site.tls {
            let cert = Pem::of(base, tls.cert.as_deref(), tls.cert_pem.as_deref());
            let key = Pem::of(
                base,
                tls.key.as_deref(),
                tls.key_pem.as_ref().map(|k| k.expose()),
            );
            match load_certified_key(&cert, &key) {
                Ok(ck) => {
                    certs.insert(site.id.clone(), Arc::new(ck));
                }
                Err((key, msg)) => problems.push(format!("site[{i}].tls.{key}"), msg),
            }
        }
    }
    for (i, pool) in config.bundle.pools.iter().enumerate() {
        if let Some(ca) = &pool.tls_ca {
            match read_certs(&resolve(base, ca)) {
                Ok(list) => {
                    pool_cas.insert(pool.id.clone(), list);
                }
                Err(msg) => problems.push(format!("pool[{i}].tls_ca"), msg),
            }
        }
    }
    let resolved = match resolve_backends(&config) {
        Ok(r) => r,
        Err(more) => {
            problems.extend(more);
            HashMap::new()
        }
    };
    let geo = match config.proxy.geo_db.as_deref() {
        Some(file) => {
            let path = resolve(base, file);
            match GeoDb::open(&path) {
                Ok(db) => Some(Arc::new(db)),
                // A reload while the same file is broken: the database in use stays, as when
                // the file watcher finds a bad replacement.
                Err(e) => match plugins.geo.current().filter(|db| db.path() == path) {
                    Some(in_use) => {
                        tracing::error!(error = %e, "geo database not reloaded; the previous one stays in use");
                        Some(in_use)
                    }
                    None => {
                        problems.push("proxy.geo_db", e.to_string());
                        None
                    }
                },
            }
        }
        None => None,
    };
    problems.into_result().map_err(LoadError::Invalid)?;
    // All is well: the geo database (or none) is the engine's from now on.
    plugins.geo.set(geo);
    Ok(LoadedConfig {
        config,
        certs,
        error_pages,
        pool_cas,
        resolved,
        chains,
    })
}

/// Reads, validates, compiles and initialises the plugins of site `i`.
fn load_chain(
    i: usize,
    site: &Site,
    base: &Path,
    engine: &Arc<PluginEngine>,
) -> Result<Chain, Problems> {
    let mut problems = Problems::default();
    let mut chain = Chain::default();
    for (j, plugin) in site.plugins.iter().enumerate() {
        let at = |key: &str| format!("site[{i}].plugin[{j}].{key}");
        let bytes = match read_plugin_source(base, &plugin.source) {
            Ok(b) => b,
            Err(message) => {
                problems.push(at("source"), message);
                continue;
            }
        };
        let (version, component) = match engine.component(&bytes) {
            Ok(c) => c,
            Err(e) => {
                problems.push(at("source"), format!("{}: {e}", plugin.source));
                continue;
            }
        };
        match LoadedPlugin::load(engine, &component, &version, &site.tenant, &site.id, plugin) {
            Ok(p) => chain.plugins.push(p),
            Err(message) => problems.push(
                format!("site[{i}].plugin[{j}]"),
                format!("plugin `{}`: {message}", plugin.name),
            ),
        }
    }
    problems.into_result().map(|()| chain)
}

/// The component a plugin `source` names: a built-in (`builtin:waf`) or a file path,
/// relative to the config file's directory.
fn read_plugin_source(base: &Path, source: &str) -> Result<Cow<'static, [u8]>, String> {
    match builtin::lookup(source) {
        Some(found) => found.map(Cow::Borrowed),
        None => std::fs::read(resolve(base, source))
            .map(Cow::Owned)
            .map_err(|e| format!("cannot read {source}: {e}")),
    }
}

/// Resolves every backend address once (names through the system resolver; a reload
/// resolves again).
fn resolve_backends(config: &NodeConfig) -> Result<HashMap<String, SocketAddr>, Problems> {
    let mut problems = Problems::default();
    let mut resolved = HashMap::new();
    for (i, pool) in config.bundle.pools.iter().enumerate() {
        for (j, b) in pool.backends.iter().enumerate() {
            if resolved.contains_key(&b.addr) {
                continue;
            }
            match b.addr.to_socket_addrs().map(|mut it| it.next()) {
                Ok(Some(sa)) => {
                    resolved.insert(b.addr.clone(), sa);
                }
                Ok(None) => problems.push(
                    format!("pool[{i}].backend[{j}].addr"),
                    format!("`{}` resolves to no address", b.addr),
                ),
                Err(e) => problems.push(
                    format!("pool[{i}].backend[{j}].addr"),
                    format!("cannot resolve `{}`: {e}", b.addr),
                ),
            }
        }
    }
    problems.into_result().map(|()| resolved)
}

/// Where a PEM block comes from: a file (relative to the config) or the text itself.
pub enum Pem<'a> {
    /// A file on the node.
    File(PathBuf),
    /// The PEM text (sent by the portal).
    Text(&'a str),
}

impl<'a> Pem<'a> {
    /// The file when a path is given, else the text (validation ensures one of them).
    fn of(base: &Path, path: Option<&str>, text: Option<&'a str>) -> Pem<'a> {
        match (path, text) {
            (Some(p), _) => Pem::File(resolve(base, p)),
            (None, t) => Pem::Text(t.unwrap_or("")),
        }
    }

    fn name(&self) -> String {
        match self {
            Pem::File(p) => p.display().to_string(),
            Pem::Text(_) => "the PEM text".into(),
        }
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        match self {
            Pem::File(p) => {
                std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
            }
            Pem::Text(t) => Ok(t.as_bytes().to_vec()),
        }
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    parse_certs(&Pem::File(path.to_path_buf()))
}

fn parse_certs(source: &Pem) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = source.bytes()?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{} is not PEM: {e}", source.name()))?;
    if certs.is_empty() {
        return Err(format!("no certificate found in {}", source.name()));
    }
    Ok(certs)
}

/// Loads a site's certificate chain and key and checks that they belong together; an error
/// names the half at fault (`cert` or `key`).
pub fn load_certified_key(cert: &Pem, key: &Pem) -> Result<CertifiedKey, (&'static str, String)> {
    let chain = parse_certs(cert).map_err(|m| ("cert", m))?;
    let pem = key.bytes().map_err(|m| ("key", m))?;
    let key_der: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| ("key", format!("{} is not PEM: {e}", key.name())))?
        .ok_or(("key", format!("no private key found in {}", key.name())))?;
    let provider = rustls::crypto::ring::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| ("key", format!("unusable private key {}: {e}", key.name())))?;
    let ck = CertifiedKey::new(chain, signing);
    ck.keys_match()
        .map_err(|e| ("key", format!("does not match the certificate: {e}")))?;
    Ok(ck)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_layer_applies_and_reports_bad_values() {
        let mut cfg = NodeConfig::default();
        let env: HashMap<&str, &str> = HashMap::from([
            ("WEIR_LISTEN", "127.0.0.1:1, 127.0.0.1:2"),
            ("WEIR_ADMIN_TOKEN", "0123456789abcdef"),
            ("WEIR_THREADS", "many"),
        ]);
        let problems = apply_env(&mut cfg, |k| env.get(k).map(|v| v.to_string()));
        assert_eq!(cfg.proxy.listen, vec!["127.0.0.1:1", "127.0.0.1:2"]);
        assert_eq!(
            cfg.proxy.admin_token.as_ref().map(|s| s.expose()),
            Some("0123456789abcdef")
        );
        assert_eq!(problems.0.len(), 1);
        assert_eq!(problems.0[0].field, "WEIR_THREADS");
        apply_overrides(
            &mut cfg,
            &Overrides {
                listen: Some(vec!["127.0.0.1:3".into()]),
                admin_listen: None,
                upgrade: false,
            },
        );
        assert_eq!(cfg.proxy.listen, vec!["127.0.0.1:3"]);
    }

    #[test]
    fn certificates_and_error_pages_given_as_text_load() {
        let ca = weir_testkit::TestCa::new("inline");
        let a = ca.issue(&["a.test"]);
        let other = ca.issue(&["b.test"]);
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("weir.toml");
        let write = |key_pem: &str| {
            let text = format!(
                "[[site]]\nid = \"a\"\nhosts = [\"a.test\"]\npool = \"p\"\nerror_page_html = \"<h1>back soon</h1>\"\n[site.tls]\ncert_pem = {:?}\nkey_pem = {:?}\n[[pool]]\nid = \"p\"\n[[pool.backend]]\naddr = \"127.0.0.1:1\"\n",
                a.cert_pem, key_pem
            );
            std::fs::write(&path, text).expect("write");
        };
        let engine = PluginEngine::new(crate::metrics::Metrics::new()).expect("engine");
        write(&a.key_pem);
        let loaded = load(&path, &Overrides::default(), &engine).expect("loads");
        assert!(loaded.certs.contains_key("a"));
        assert_eq!(&loaded.error_pages["a"][..], b"<h1>back soon</h1>");
        write(&other.key_pem);
        let text = load(&path, &Overrides::default(), &engine)
            .expect_err("a key of another certificate")
            .to_string();
        assert!(
            text.contains("site[0].tls.key: does not match the certificate"),
            "{text}"
        );
    }

    #[test]
    fn a_managed_node_takes_settings_locally_and_sites_from_the_bundle_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        let settings = dir.path().join("local.toml");
        let engine = PluginEngine::new(crate::metrics::Metrics::new()).expect("engine");
        let bundle = weir_bundle::Bundle::from_json(
            r#"{"site":[{"id":"a","hosts":["a.test"],"pool":"p"}],"pool":[{"id":"p","backend":[{"addr":"127.0.0.1:1"}]}]}"#,
        )
        .expect("bundle");
        std::fs::write(&settings, "[proxy]\nthreads = 3\n").expect("write");
        let loaded = load_managed(
            Some(&settings),
            bundle.clone(),
            &data,
            &Overrides::default(),
            &engine,
        )
        .expect("loads");
        assert_eq!(loaded.config.proxy.threads, 3);
        assert_eq!(loaded.config.bundle, bundle);
        assert_eq!(
            loaded.config.proxy.plugin_cache_dir.as_deref(),
            Some(data.join("plugin-cache").display().to_string().as_str()),
            "plugins are precompiled into the data dir"
        );
        std::fs::write(
            &settings,
            "[[site]]\nid = \"x\"\nhosts = [\"x.test\"]\npool = \"p\"\n",
        )
        .expect("write");
        let err = load_managed(
            Some(&settings),
            bundle,
            &data,
            &Overrides::default(),
            &engine,
        )
        .expect_err("local sites are refused");
        assert!(
            err.to_string()
                .contains("a node managed by a portal serves the portal's sites"),
            "{err}"
        );
    }

    #[test]
    fn missing_files_are_problems_with_key_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("weir.toml");
        std::fs::write(
            &path,
            r#"
            [[site]]
            id = "a"
            hosts = ["a.test"]
            pool = "p"
            error_page = "nope.html"
            [site.tls]
            cert = "nope.pem"
            key = "nope.key"
            [[pool]]
            id = "p"
            tls_ca = "ca.pem"
            [[pool.backend]]
            addr = "127.0.0.1:1"
            "#,
        )
        .expect("write");
        let engine = PluginEngine::new(crate::metrics::Metrics::new()).expect("engine");
        let err = load(&path, &Overrides::default(), &engine).expect_err("must fail");
        let text = err.to_string();
        assert!(
            text.contains("site[0].error_page: cannot read nope.html"),
            "{text}"
        );
        assert!(text.contains("site[0].tls.cert: cannot read"), "{text}");
        assert!(text.contains("pool[0].tls_ca: cannot read"), "{text}");
    }

    #[test]
    fn the_geo_database_is_read_relative_to_the_config_and_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("weir.toml");
        let site = "[[site]]\nid = \"a\"\nhosts = [\"a.test\"]\npool = \"p\"\n\
                    [[pool]]\nid = \"p\"\n[[pool.backend]]\naddr = \"127.0.0.1:1\"\n";
        let engine = PluginEngine::new(crate::metrics::Metrics::new()).expect("engine");
        let with_geo = |file: &str| format!("[proxy]\ngeo_db = \"{file}\"\n{site}");

        std::fs::write(&path, with_geo("missing.mmdb")).expect("write");
        let err = load(&path, &Overrides::default(), &engine).expect_err("missing file");
        assert!(
            err.to_string().contains("proxy.geo_db: cannot read")
                && err.to_string().contains("missing.mmdb"),
            "{err}"
        );
        std::fs::write(dir.path().join("junk.mmdb"), b"junk").expect("write");
        std::fs::write(&path, with_geo("junk.mmdb")).expect("write");
        let err = load(&path, &Overrides::default(), &engine).expect_err("invalid file");
        assert!(err.to_string().contains("not a MaxMind DB"), "{err}");
        assert!(engine.geo.current().is_none(), "nothing applied");

        let db = weir_testkit::mmdb::write_country_db(
            weir_testkit::mmdb::RecordShape::GeoIp2,
            &[("203.0.113.0/24", "DE")],
        );
        std::fs::write(dir.path().join("country.mmdb"), db).expect("write");
        std::fs::write(&path, with_geo("country.mmdb")).expect("write");
        load(&path, &Overrides::default(), &engine).expect("loads");
        let ip = "203.0.113.1".parse().expect("ip");
        assert_eq!(engine.geo.country(ip).as_deref(), Some("DE"));
        // A reload while the file is broken keeps the database in use.
        std::fs::write(dir.path().join("country.mmdb"), b"half a download").expect("write");
        load(&path, &Overrides::default(), &engine).expect("reload keeps the database");
        assert_eq!(engine.geo.country(ip).as_deref(), Some("DE"));
        std::fs::write(&path, site).expect("write");
        load(&path, &Overrides::default(), &engine).expect("loads");
        assert_eq!(engine.geo.country(ip), None, "geo_db removed: no lookups");
    }
}
