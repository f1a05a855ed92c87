//! The run-time snapshot of a config: sites by host, pools with live backend state, pages,
//! limiters and certificates. A request holds the snapshot it started with, so a reload never
//! changes a request half-way; backend state (health, in-flight, ejection) carries over to the
//! next snapshot for backends that stay.

use crate::backend::BackendState;
use crate::balancer::PoolState;
use crate::client_ip::TrustedProxies;
use crate::loader::LoadedConfig;
use crate::rate_limit::LeakyBucket;
use bytes::Bytes;
use rustls::sign::CertifiedKey;
use std::collections::HashMap;
use std::sync::Arc;
use weir_bundle::{split_host_port, ProxySettings};

/// One site at run time.
#[derive(Debug)]
pub struct SiteRuntime {
    /// Site id.
    pub id: String,
    /// Owning tenant.
    pub tenant: String,
    /// The tenant's plugin chain for this site.
    pub chain: Arc<crate::plugin_host::Chain>,
    /// The pool traffic goes to first.
    pub pool: String,
    /// Maintenance page HTML, if configured.
    pub error_page: Option<Bytes>,
    /// `Retry-After` for 503 and 429.
    pub retry_after_s: u32,
    /// Per-client-IP limiter, if configured.
    pub limiter: Option<Arc<LeakyBucket>>,
}

/// A config snapshot in force.
#[derive(Debug)]
pub struct Runtime {
    /// Increases with each applied reload.
    pub generation: u64,
    /// Node settings the snapshot was built from.
    pub settings: ProxySettings,
    sites: Vec<Arc<SiteRuntime>>,
    exact_hosts: HashMap<String, usize>,
    wildcard_hosts: HashMap<String, usize>,
    /// Pools by id.
    pub pools: HashMap<String, Arc<PoolState>>,
    /// Certificates by hostname pattern (exact or `*.suffix`), for SNI.
    pub certs: Vec<(String, Arc<CertifiedKey>)>,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
}

impl Runtime {
    /// Builds a snapshot; backends and limiters that exist in `previous` keep their state.
    pub fn build(loaded: &LoadedConfig, previous: Option<&Runtime>, generation: u64) -> Runtime {
        let bundle = &loaded.config.bundle;
        let pools = bundle
            .pools
            .iter()
            .map(|p| {
                let old = previous.and_then(|r| r.pools.get(&p.id));
                let backends =
                    p.backends
                        .iter()
                        .map(|b| {
                            let sni = b.sni.clone().unwrap_or_else(|| {
                                split_host_port(&b.addr).map_or(String::new(), |(h, _)| {
                                    h.trim_start_matches('[').trim_end_matches(']').to_string()
                                })
                            });
                            let socket =
                                loaded.resolved.get(&b.addr).copied().unwrap_or_else(|| {
                                    std::net::SocketAddr::from(([0, 0, 0, 0], 0))
                                });
                            let kept = old.and_then(|o| {
                                o.backends.iter().find(|x| {
                                    x.addr == b.addr
                                        && x.socket == socket
                                        && x.tls == b.tls
                                        && x.sni == sni
                                })
                            });
                            match kept {
                                Some(state) => {
                                    state.set_weight(b.weight);
                                    Arc::clone(state)
                                }
                                None => Arc::new(BackendState::new(
                                    b.addr.clone(),
                                    socket,
                                    b.weight,
                                    b.tls,
                                    sni,
                                )),
                            }
                        })
                        .collect();
                let state = PoolState::new(
                    p.id.clone(),
                    p.algorithm,
                    p.backup.clone(),
                    p.health.clone(),
                    backends,
                    loaded.pingora_ca(&p.id),
                    p.backends
                        .iter()
                        .any(|b| b.tls)
                        .then(|| crate::tls::client_config(loaded.pool_cas.get(&p.id)))
                        .flatten(),
                );
                (p.id.clone(), Arc::new(state))
            })
            .collect();
        let mut exact_hosts = HashMap::new();
        let mut wildcard_hosts = HashMap::new();
        let mut certs = Vec::new();
        let sites = bundle
            .sites
            .iter()
            .enumerate()
            .map(|(i, s)| {
                for h in &s.hosts {
                    match h.strip_prefix("*.") {
                        Some(suffix) => wildcard_hosts.insert(suffix.to_string(), i),
                        None => exact_hosts.insert(h.clone(), i),
                    };
                    if let Some(ck) = loaded.certs.get(&s.id) {
                        certs.push((h.clone(), Arc::clone(ck)));
                    }
                }
                let limiter = s.rate_limit.as_ref().map(|rl| {
                    previous
                        .and_then(|r| r.site(&s.id))
                        .and_then(|old| old.limiter.clone())
                        .filter(|l| l.config() == rl)
                        .unwrap_or_else(|| Arc::new(LeakyBucket::new(rl.clone())))
                });
                Arc::new(SiteRuntime {
                    id: s.id.clone(),
                    tenant: s.tenant.clone(),
                    chain: loaded.chains.get(&s.id).cloned().unwrap_or_default(),
                    pool: s.pool.clone(),
                    error_page: loaded.error_pages.get(&s.id).cloned(),
                    retry_after_s: s.retry_after_s,
                    limiter,
                })
            })
            .collect();
        Runtime {
            generation,
            settings: loaded.config.proxy.clone(),
            sites,
            exact_hosts,
            wildcard_hosts,
            pools,
            certs,
            trusted_proxies: TrustedProxies::new(&loaded.config.proxy.trusted_proxies),
        }
    }

    /// The site serving `host` (any case, with or without `:port`): an exact host first, then
    /// a `*.` wildcard one label up.
    pub fn site_for_host(&self, host: &str) -> Option<&Arc<SiteRuntime>> {
        let host = strip_port(host).trim_end_matches('.').to_ascii_lowercase();
        let index = self.exact_hosts.get(&host).or_else(|| {
            host.split_once('.')
                .and_then(|(_, parent)| self.wildcard_hosts.get(parent))
        })?;
        self.sites.get(*index)
    }

    /// The site with id `id`.
    pub fn site(&self, id: &str) -> Option<&Arc<SiteRuntime>> {
        self.sites.iter().find(|s| s.id == id)
    }

    /// Picks a backend for a request to `site`: its pool (or `route_to`, when a plugin chose
    /// one), then the backup chain. Backends in `tried` are skipped.
    pub fn pick(
        &self,
        site: &SiteRuntime,
        route_to: Option<&str>,
        tried: &[Arc<BackendState>],
    ) -> Option<(Arc<PoolState>, Arc<BackendState>)> {
        let mut pool_id = Some(route_to.unwrap_or(site.pool.as_str()));
        // Validation forbids backup loops; the bound is a second guard.
        for _ in 0..=self.pools.len() {
            let pool = self.pools.get(pool_id?)?;
            if let Some(b) = pool.select(tried) {
                return Some((Arc::clone(pool), b));
            }
            pool_id = pool.backup.as_deref();
        }
        None
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_once(']').map_or(host, |(h, _)| &h[1..]);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_bundle::NodeConfig;

    fn runtime(text: &str) -> Runtime {
        let config = NodeConfig::from_toml(text).expect("parses");
        let loaded = LoadedConfig::without_files(config).expect("resolves");
        Runtime::build(&loaded, None, 1)
    }

    const TWO_POOLS: &str = r#"
        [[site]]
        id = "shop"
        hosts = ["shop.test", "*.shop.test"]
        pool = "web"
        [[pool]]
        id = "web"
        backup = "dr"
        [[pool.backend]]
        addr = "127.0.0.1:1"
        [[pool]]
        id = "dr"
        [[pool.backend]]
        addr = "127.0.0.1:2"
    "#;

    #[test]
    fn hosts_match_exactly_then_by_wildcard() {
        let rt = runtime(TWO_POOLS);
        assert_eq!(
            rt.site_for_host("SHOP.test:8080").map(|s| s.id.as_str()),
            Some("shop")
        );
        assert_eq!(
            rt.site_for_host("eu.shop.test").map(|s| s.id.as_str()),
            Some("shop")
        );
        assert!(rt.site_for_host("a.eu.shop.test").is_none());
        assert!(rt.site_for_host("other.test").is_none());
        assert!(rt.site_for_host("").is_none());
    }

    #[test]
    fn a_dead_pool_falls_back_to_its_backup() {
        let rt = runtime(TWO_POOLS);
        let site = Arc::clone(rt.site("shop").expect("site"));
        rt.pools["web"].backends[0].eject(60_000);
        let (pool, backend) = rt.pick(&site, None, &[]).expect("backup serves");
        assert_eq!(pool.id, "dr");
        assert_eq!(backend.addr, "127.0.0.1:2");
        rt.pools["dr"].backends[0].set_draining(true);
        assert!(rt.pick(&site, None, &[]).is_none());
    }

    #[test]
    fn reload_keeps_the_state_of_backends_that_stay() {
        let old = runtime(TWO_POOLS);
        old.pools["web"].backends[0].eject(60_000);
        let loaded = LoadedConfig::without_files(NodeConfig::from_toml(TWO_POOLS).expect("parses"))
            .expect("resolves");
        let new = Runtime::build(&loaded, Some(&old), 2);
        assert!(Arc::ptr_eq(
            &old.pools["web"].backends[0],
            &new.pools["web"].backends[0]
        ));
        assert!(!new.pools["web"].backends[0].is_available());
    }
}
