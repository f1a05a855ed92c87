//! Structural validation of a node config and a bundle: every problem, with its key path.
//! File contents (certificates, error pages) are checked by the proxy's loader, which knows
//! where the files are.

use crate::{Bundle, Cidr, NodeConfig, Pool, Problems, ProxySettings, Site};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

impl NodeConfig {
    /// Checks the `[proxy]` table and the bundle; returns every problem found.
    pub fn validate(&self) -> Problems {
        let mut problems = self.proxy.validate();
        problems.extend(self.bundle.validate());
        if !self.proxy.tls_listen.is_empty() && !self.bundle.sites.iter().any(|s| s.tls.is_some()) {
            problems.push(
                "proxy.tls_listen",
                "TLS listeners need at least one site with [site.tls]",
            );
        }
        problems
    }
}

impl ProxySettings {
    /// Checks listeners, limits and timeouts.
    pub fn validate(&self) -> Problems {
        let mut p = Problems::default();
        if self.listen.is_empty() && self.tls_listen.is_empty() {
            p.push(
                "proxy.listen",
                "at least one of listen or tls_listen is needed",
            );
        }
        let mut seen = HashSet::new();
        for (key, list) in [("listen", &self.listen), ("tls_listen", &self.tls_listen)] {
            for (i, addr) in list.iter().enumerate() {
                let field = format!("proxy.{key}[{i}]");
                match addr.parse::<SocketAddr>() {
                    Ok(a) if !seen.insert(a) => p.push(field, format!("{addr} is listed twice")),
                    Ok(_) => {}
                    Err(_) => p.push(field, format!("`{addr}` is not an ip:port address")),
                }
            }
        }
        match self.admin_listen.parse::<SocketAddr>() {
            Ok(a) if seen.contains(&a) => p.push(
                "proxy.admin_listen",
                "must differ from the traffic listeners",
            ),
            Ok(a) if !a.ip().is_loopback() && self.admin_token.is_none() => p.push(
                "proxy.admin_listen",
                "a non-loopback admin address needs proxy.admin_token (or WEIR_ADMIN_TOKEN)",
            ),
            Ok(_) => {}
            Err(_) => p.push(
                "proxy.admin_listen",
                format!("`{}` is not an ip:port address", self.admin_listen),
            ),
        }
        if let Some(t) = &self.admin_token {
            if t.expose().len() < 16 {
                p.push("proxy.admin_token", "must be at least 16 characters");
            }
        }
        if self.threads > 1024 {
            p.push("proxy.threads", "must be at most 1024");
        }
        if !(1024..=1_048_575).contains(&self.max_header_bytes) {
            p.push(
                "proxy.max_header_bytes",
                "must be between 1024 and 1048575 bytes",
            );
        }
        for (key, value) in [
            ("client_timeout_ms", self.client_timeout_ms),
            ("connect_timeout_ms", self.connect_timeout_ms),
            ("upstream_timeout_ms", self.upstream_timeout_ms),
        ] {
            if value == 0 || value > 3_600_000 {
                p.push(format!("proxy.{key}"), "must be between 1 and 3600000 ms");
            }
        }
        if self.max_retries > 16 {
            p.push("proxy.max_retries", "must be at most 16");
        }
        if self.shutdown_timeout_s > 3600 {
            p.push("proxy.shutdown_timeout_s", "must be at most 3600 seconds");
        }
        if self.geo_db.as_ref().is_some_and(|g| g.trim().is_empty()) {
            p.push("proxy.geo_db", "path is empty");
        }
        for (i, net) in self.trusted_proxies.iter().enumerate() {
            if let Err(e) = net.parse::<Cidr>() {
                p.push(
                    format!("proxy.trusted_proxies[{i}]"),
                    format!("`{net}` is not a CIDR network: {e}"),
                );
            }
        }
        p
    }
}

impl Bundle {
    /// Checks ids, references between sites and pools, hosts, backends and health settings.
    pub fn validate(&self) -> Problems {
        let mut p = Problems::default();
        let pool_ids = check_ids(&mut p, "pool", self.pools.iter().map(|x| x.id.as_str()));
        check_ids(&mut p, "site", self.sites.iter().map(|x| x.id.as_str()));
        let mut host_owner: HashMap<String, &str> = HashMap::new();
        for (i, site) in self.sites.iter().enumerate() {
            validate_site(&mut p, i, site, &pool_ids, &mut host_owner);
        }
        for (i, pool) in self.pools.iter().enumerate() {
            validate_pool(&mut p, i, pool, &pool_ids);
        }
        check_backup_cycles(&mut p, &self.pools);
        p
    }
}

fn check_ids<'a>(
    p: &mut Problems,
    kind: &str,
    ids: impl Iterator<Item = &'a str>,
) -> HashSet<&'a str> {
    let mut seen = HashSet::new();
    for (i, id) in ids.enumerate() {
        let field = format!("{kind}[{i}].id");
        if !is_valid_id(id) {
            p.push(
                field,
                format!("`{id}` must be 1-63 characters of a-z, 0-9, '-' or '_'"),
            );
        } else if !seen.insert(id) {
            p.push(field, format!("{kind} id `{id}` is used twice"));
        }
    }
    seen
}

fn is_valid_id(id: &str) -> bool {
    (1..=63).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// True for a DNS hostname, optionally with one leading `*.` wildcard label.
pub(crate) fn is_valid_host(host: &str) -> bool {
    let name = host.strip_prefix("*.").unwrap_or(host);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

fn validate_site<'a>(
    p: &mut Problems,
    i: usize,
    site: &'a Site,
    pool_ids: &HashSet<&str>,
    host_owner: &mut HashMap<String, &'a str>,
) {
    let at = |key: &str| format!("site[{i}].{key}");
    if site.hosts.is_empty() {
        p.push(at("hosts"), "a site needs at least one host");
    }
    for (j, host) in site.hosts.iter().enumerate() {
        let field = format!("site[{i}].hosts[{j}]");
        if !is_valid_host(host) {
            p.push(
                field,
                format!("`{host}` is not a lowercase hostname (a leading `*.` is allowed)"),
            );
        } else if let Some(other) = host_owner.insert(host.clone(), &site.id) {
            p.push(
                field,
                format!("`{host}` is already served by site `{other}`"),
            );
        }
    }
    if !pool_ids.contains(site.pool.as_str()) {
        p.push(at("pool"), format!("no pool with id `{}`", site.pool));
    }
    if site.retry_after_s > 86_400 {
        p.push(at("retry_after_s"), "must be at most 86400 seconds");
    }
    if let Some(tls) = &site.tls {
        let key_pem = tls.key_pem.as_ref().map(|k| k.expose());
        let tls_at = at("tls.");
        check_pem_pair(
            p,
            &tls_at,
            "cert",
            tls.cert.as_deref(),
            tls.cert_pem.as_deref(),
            "CERTIFICATE-----",
        );
        check_pem_pair(
            p,
            &tls_at,
            "key",
            tls.key.as_deref(),
            key_pem,
            "PRIVATE KEY-----",
        );
    }
    match (&site.error_page, &site.error_page_html) {
        (Some(_), Some(_)) => p.push(
            at("error_page_html"),
            "give either error_page (a file) or error_page_html, not both",
        ),
        (Some(path), None) if path.trim().is_empty() => p.push(at("error_page"), "path is empty"),
        (None, Some(html)) if html.len() > 1 << 20 => {
            p.push(at("error_page_html"), "larger than 1 MiB")
        }
        _ => {}
    }
    if !is_valid_id(&site.tenant) {
        p.push(
            at("tenant"),
            format!(
                "`{}` must be 1-63 characters of a-z, 0-9, '-' or '_'",
                site.tenant
            ),
        );
    }
    let mut names = HashSet::new();
    for (j, plugin) in site.plugins.iter().enumerate() {
        let pat = |key: &str| format!("site[{i}].plugin[{j}].{key}");
        if !is_valid_id(&plugin.name) {
            p.push(
                pat("name"),
                format!(
                    "`{}` must be 1-63 characters of a-z, 0-9, '-' or '_'",
                    plugin.name
                ),
            );
        } else if !names.insert(plugin.name.as_str()) {
            p.push(
                pat("name"),
                format!("`{}` is twice in this chain", plugin.name),
            );
        }
        if plugin.source.trim().is_empty() {
            p.push(pat("source"), "path is empty");
        }
        if !plugin.config.is_object() {
            p.push(pat("config"), "must be a table (JSON object)");
        }
        if !(1..=1000).contains(&plugin.deadline_ms) {
            p.push(pat("deadline_ms"), "must be between 1 and 1000 ms");
        }
        if !(1..=1024).contains(&plugin.memory_mb) {
            p.push(pat("memory_mb"), "must be between 1 and 1024 MiB");
        }
        if plugin.max_body_bytes > 64 << 20 {
            p.push(pat("max_body_bytes"), "must be at most 67108864 (64 MiB)");
        }
    }
    if let Some(rl) = &site.rate_limit {
        if !(rl.rate.is_finite() && rl.rate > 0.0 && rl.rate <= 1_000_000.0) {
            p.push(
                at("rate_limit.rate"),
                "must be above 0 and at most 1000000 per second",
            );
        }
        if rl.burst > 1_000_000 {
            p.push(at("rate_limit.burst"), "must be at most 1000000");
        }
    }
}

fn validate_pool(p: &mut Problems, i: usize, pool: &Pool, pool_ids: &HashSet<&str>) {
    let at = |key: &str| format!("pool[{i}].{key}");
    if let Some(backup) = &pool.backup {
        if backup == &pool.id {
            p.push(at("backup"), "a pool cannot be its own backup");
        } else if !pool_ids.contains(backup.as_str()) {
            p.push(at("backup"), format!("no pool with id `{backup}`"));
        }
    }
    let h = &pool.health;
    if let Some(path) = &h.path {
        if !path.starts_with('/') || path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            p.push(
                at("health.path"),
                "must start with '/' and contain no spaces or control characters",
            );
        }
    }
    if !(10..=3_600_000).contains(&h.interval_ms) {
        p.push(
            at("health.interval_ms"),
            "must be between 10 and 3600000 ms",
        );
    }
    if h.timeout_ms == 0 || h.timeout_ms > h.interval_ms {
        p.push(
            at("health.timeout_ms"),
            "must be above 0 and at most health.interval_ms",
        );
    }
    if !(1..=100).contains(&h.fail_after) {
        p.push(at("health.fail_after"), "must be between 1 and 100");
    }
    if !(1..=100).contains(&h.pass_after) {
        p.push(at("health.pass_after"), "must be between 1 and 100");
    }
    for (j, status) in h.passive_statuses.iter().enumerate() {
        if !(100..=599).contains(status) {
            p.push(
                format!("pool[{i}].health.passive_statuses[{j}]"),
                format!("{status} is not an HTTP status (100-599)"),
            );
        }
    }
    if h.eject_ms > 3_600_000 {
        p.push(at("health.eject_ms"), "must be at most 3600000 ms");
    }
    if pool.backends.is_empty() && pool.backup.is_none() {
        p.push(
            at("backend"),
            "a pool needs at least one backend (or a backup pool)",
        );
    }
    let mut seen = HashSet::new();
    for (j, b) in pool.backends.iter().enumerate() {
        let bat = |key: &str| format!("pool[{i}].backend[{j}].{key}");
        match split_host_port(&b.addr) {
            Some(_) if !seen.insert(b.addr.as_str()) => p.push(
                bat("addr"),
                format!("`{}` is listed twice in this pool", b.addr),
            ),
            Some(_) => {}
            None => p.push(
                bat("addr"),
                format!("`{}` is not host:port with a port 1-65535", b.addr),
            ),
        }
        if b.weight > 10_000 {
            p.push(bat("weight"), "must be between 0 and 10000");
        }
        if let Some(sni) = &b.sni {
            if !is_valid_host(sni) || sni.starts_with("*.") {
                p.push(bat("sni"), format!("`{sni}` is not a hostname"));
            }
        }
    }
}

/// Checks one half of a site's TLS pair: a file path (`{at}{name}`) or the PEM text
/// (`{at}{name}_pem`, holding `marker`), exactly one of them.
fn check_pem_pair(
    p: &mut Problems,
    at: &str,
    name: &str,
    path: Option<&str>,
    pem: Option<&str>,
    marker: &str,
) {
    let pem_field = format!("{at}{name}_pem");
    match (path, pem) {
        (Some(_), Some(_)) => p.push(
            pem_field,
            format!("give either {name} (a file) or {name}_pem, not both"),
        ),
        (None, None) => p.push(pem_field, format!("needs {name} (a file) or {name}_pem")),
        (Some(path), None) if path.trim().is_empty() => {
            p.push(format!("{at}{name}"), "path is empty")
        }
        (None, Some(pem)) if pem.len() > 64 << 10 => p.push(pem_field, "larger than 64 KiB"),
        (None, Some(pem)) if !pem.contains(marker) => p.push(
            pem_field,
            format!("is not PEM (no `-----BEGIN …{marker}` block)"),
        ),
        _ => {}
    }
}

/// Splits `host:port` (or `[v6]:port`); `None` when it is not one.
pub fn split_host_port(addr: &str) -> Option<(&str, u16)> {
    if let Ok(sa) = addr.parse::<SocketAddr>() {
        return (sa.port() != 0).then(|| (addr.rsplit_once(':').map_or(addr, |x| x.0), sa.port()));
    }
    let (host, port) = addr.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    (port != 0 && is_valid_host(host) && !host.starts_with("*.")).then_some((host, port))
}

fn check_backup_cycles(p: &mut Problems, pools: &[Pool]) {
    let backup_of: HashMap<&str, &str> = pools
        .iter()
        .filter_map(|x| x.backup.as_deref().map(|b| (x.id.as_str(), b)))
        .collect();
    for (i, pool) in pools.iter().enumerate() {
        let mut seen = HashSet::from([pool.id.as_str()]);
        let mut cur = pool.id.as_str();
        while let Some(next) = backup_of.get(cur) {
            if !seen.insert(next) {
                if *next == pool.id {
                    p.push(
                        format!("pool[{i}].backup"),
                        format!("backup chain of `{}` loops back to itself", pool.id),
                    );
                }
                break;
            }
            cur = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::NodeConfig;

    #[test]
    fn tls_halves_are_a_file_or_pem_text_and_pages_a_file_or_html() {
        let site = |tls: &str, page: &str| {
            format!("[[site]]\nid = \"s\"\nhosts = [\"s.test\"]\npool = \"web\"\n{page}\n[site.tls]\n{tls}\n[[pool]]\nid = \"web\"\n[[pool.backend]]\naddr = \"127.0.0.1:1\"\n")
        };
        assert!(problems_of(&site("cert = \"a.pem\"\nkey = \"a.key\"", "")).is_empty());
        let pem = "cert_pem = \"-----BEGIN CERTIFICATE-----\\nx\"\nkey_pem = \"-----BEGIN PRIVATE KEY-----\\nx\"";
        assert!(problems_of(&site(pem, "error_page_html = \"<h1>down</h1>\"")).is_empty());
        assert_eq!(
            problems_of(&site("cert = \"a.pem\"\ncert_pem = \"-----BEGIN CERTIFICATE-----\"", "error_page = \"x.html\"\nerror_page_html = \"x\"")),
            [
                "site[0].tls.cert_pem: give either cert (a file) or cert_pem, not both",
                "site[0].tls.key_pem: needs key (a file) or key_pem",
                "site[0].error_page_html: give either error_page (a file) or error_page_html, not both",
            ]
        );
        assert_eq!(
            problems_of(&site("cert_pem = \"hello\"\nkey = \" \"", "")),
            [
                "site[0].tls.cert_pem: is not PEM (no `-----BEGIN …CERTIFICATE-----` block)",
                "site[0].tls.key: path is empty",
            ]
        );
    }

    fn problems_of(text: &str) -> Vec<String> {
        let cfg = NodeConfig::from_toml(text).expect("parses");
        cfg.validate()
            .0
            .into_iter()
            .map(|p| p.to_string())
            .collect()
    }

    const GOOD: &str = r#"
        [proxy]
        listen = ["127.0.0.1:8080"]
        [[site]]
        id = "shop"
        hosts = ["shop.test", "*.shop.test"]
        pool = "web"
        [[pool]]
        id = "web"
        algorithm = "weighted"
        backup = "dr"
        [pool.health]
        path = "/healthz"
        [[pool.backend]]
        addr = "127.0.0.1:9001"
        weight = 95
        [[pool.backend]]
        addr = "localhost:9002"
        weight = 5
        [[pool]]
        id = "dr"
        [[pool.backend]]
        addr = "[::1]:9003"
    "#;

    #[test]
    fn a_good_config_has_no_problems() {
        assert_eq!(problems_of(GOOD), Vec::<String>::new());
    }

    #[test]
    fn every_problem_is_reported_with_its_key_path() {
        let text = r#"
            [proxy]
            listen = ["nonsense"]
            admin_listen = "0.0.0.0:9901"
            [[site]]
            id = "Shop!"
            hosts = ["Bad Host"]
            pool = "missing"
            [[pool]]
            id = "a"
            backup = "a"
            [pool.health]
            timeout_ms = 5000
            passive_statuses = [700]
            [[pool.backend]]
            addr = "127.0.0.1"
            weight = 20000
        "#;
        let text = text.replace(
            "admin_listen = \"0.0.0.0:9901\"",
            "admin_listen = \"0.0.0.0:9901\"\ngeo_db = \"\"\ntrusted_proxies = [\"10.0.0.0/8\", \"10.0.0.0/40\", \"proxy.local\"]",
        );
        let text = text.as_str();
        let got = problems_of(text);
        for expected in [
            "proxy.listen[0]: `nonsense` is not an ip:port address",
            "proxy.admin_listen: a non-loopback admin address needs proxy.admin_token",
            "proxy.geo_db: path is empty",
            "proxy.trusted_proxies[1]: `10.0.0.0/40` is not a CIDR network: `/40` is not a prefix length",
            "proxy.trusted_proxies[2]: `proxy.local` is not a CIDR network: `proxy.local` is not an IP address",
            "site[0].id: `Shop!` must be",
            "site[0].hosts[0]: `Bad Host` is not a lowercase hostname",
            "site[0].pool: no pool with id `missing`",
            "pool[0].backup: a pool cannot be its own backup",
            "pool[0].health.timeout_ms: must be above 0 and at most health.interval_ms",
            "pool[0].health.passive_statuses[0]: 700 is not an HTTP status",
            "pool[0].backend[0].addr: `127.0.0.1` is not host:port",
            "pool[0].backend[0].weight: must be between 0 and 10000",
        ] {
            assert!(
                got.iter().any(|g| g.starts_with(expected)),
                "missing `{expected}` in {got:#?}"
            );
        }
    }

    #[test]
    fn duplicate_hosts_and_backup_loops_are_caught() {
        let text = r#"
            [[site]]
            id = "a"
            hosts = ["x.test"]
            pool = "p"
            [[site]]
            id = "b"
            hosts = ["x.test"]
            pool = "q"
            [[pool]]
            id = "p"
            backup = "q"
            [[pool.backend]]
            addr = "127.0.0.1:1"
            [[pool]]
            id = "q"
            backup = "p"
            [[pool.backend]]
            addr = "127.0.0.1:2"
        "#;
        let got = problems_of(text).join("\n");
        assert!(got.contains("site[1].hosts[0]: `x.test` is already served by site `a`"));
        assert!(got.contains("pool[0].backup: backup chain of `p` loops back to itself"));
        assert!(got.contains("pool[1].backup: backup chain of `q` loops back to itself"));
    }

    #[test]
    fn unknown_keys_and_bad_types_are_parse_errors() {
        let err = NodeConfig::from_toml("[proxy]\nlisten = [\"127.0.0.1:1\"]\nlistn = 1\n")
            .expect_err("typo must fail");
        assert!(err.to_string().contains("listn"), "{err}");
        let err = NodeConfig::from_toml("[[pool]]\nid = \"a\"\nalgorithm = \"random\"\n")
            .expect_err("bad enum must fail");
        assert!(err.to_string().contains("random"), "{err}");
        let err = NodeConfig::from_toml("[sites]\n").expect_err("unknown table must fail");
        assert!(err.to_string().contains("sites"), "{err}");
        assert!(NodeConfig::from_toml("[[site]\n").is_err());
    }

    #[test]
    fn json_bundle_round_trips() {
        let cfg = NodeConfig::from_toml(GOOD).expect("parses");
        let json = cfg.bundle.to_json();
        let back = crate::Bundle::from_json(&json).expect("json parses");
        assert_eq!(back, cfg.bundle);
    }
}
