//! TLS: the SNI certificate resolver for downstream listeners (rustls; one certificate per
//! site, swapped atomically on reload) and the client config for TLS health checks.

use arc_swap::ArcSwap;
use rustls::client::ClientConfig;
use rustls::pki_types::CertificateDer;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Default)]
struct CertTable {
    exact: HashMap<String, Arc<CertifiedKey>>,
    wildcard: HashMap<String, Arc<CertifiedKey>>,
    fallback: Option<Arc<CertifiedKey>>,
}

/// Picks a site's certificate by the client's SNI; clients without SNI get the first one.
#[derive(Debug, Default)]
pub struct SniResolver {
    table: ArcSwap<CertTable>,
}

impl SniResolver {
    /// Replaces the certificates (hostname pattern → key) at once.
    pub fn set(&self, certs: &[(String, Arc<CertifiedKey>)]) {
        let mut table = CertTable::default();
        for (host, ck) in certs {
            match host.strip_prefix("*.") {
                Some(suffix) => table.wildcard.insert(suffix.to_string(), Arc::clone(ck)),
                None => table.exact.insert(host.clone(), Arc::clone(ck)),
            };
        }
        table.fallback = certs.first().map(|(_, ck)| Arc::clone(ck));
        self.table.store(Arc::new(table));
    }

    fn lookup(&self, sni: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let table = self.table.load();
        let Some(name) = sni else {
            return table.fallback.clone();
        };
        let name = name.to_ascii_lowercase();
        table
            .exact
            .get(&name)
            .or_else(|| {
                name.split_once('.')
                    .and_then(|(_, parent)| table.wildcard.get(parent))
            })
            .cloned()
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.lookup(hello.server_name())
    }
}

/// A client config for TLS health checks: the pool's CA when given, else the system roots.
/// `None` only if the crypto provider refuses its own default protocol versions.
pub fn client_config(ca: Option<&Vec<CertificateDer<'static>>>) -> Option<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    match ca {
        Some(certs) => {
            roots.add_parsable_certificates(certs.iter().cloned());
        }
        None => {
            if let Ok(native) = rustls_native_certs::load_native_certs() {
                roots.add_parsable_certificates(native);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()
        .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
}
