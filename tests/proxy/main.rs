//! Integration tests of `weir proxy`: the real binary, real sockets on 127.0.0.1, real
//! HTTP backends (weir-testkit). Each module covers one part of the proxy core.

mod admin;
mod balancing;
mod failover;
mod geo;
mod health;
mod lifecycle;
mod limits;
mod minify;
mod plugins;
mod router;
mod serving;
mod tls;
mod waf;

use weir_testkit::{Backend, NodeBuilder};

/// A node run from this package's `weir` binary.
pub fn node() -> NodeBuilder {
    NodeBuilder::new(env!("CARGO_BIN_EXE_weir"))
}

/// TOML for one site `shop` (host `shop.test`) over one pool `web` with `algorithm`, the
/// given `(backend address, weight)` list and extra pool lines (e.g. a `[pool.health]` table).
pub fn one_site(algorithm: &str, backends: &[(String, u32)], pool_extra: &str) -> String {
    let mut s = format!(
        "[[site]]\nid = \"shop\"\nhosts = [\"shop.test\"]\npool = \"web\"\n\n[[pool]]\nid = \"web\"\nalgorithm = \"{algorithm}\"\n{pool_extra}\n"
    );
    for (addr, weight) in backends {
        s.push_str(&format!(
            "[[pool.backend]]\naddr = \"{addr}\"\nweight = {weight}\n"
        ));
    }
    s
}

/// Three running backends named a, b and c.
pub async fn three_backends() -> [Backend; 3] {
    [
        Backend::start("a").await,
        Backend::start("b").await,
        Backend::start("c").await,
    ]
}

/// `(address, weight 1)` for each backend.
pub fn equal(backends: &[&Backend]) -> Vec<(String, u32)> {
    backends.iter().map(|b| (b.addr().to_string(), 1)).collect()
}

/// How many outcomes came from the backend named `name`.
pub fn count_from(outcomes: &[weir_testkit::Outcome], name: &str) -> usize {
    outcomes
        .iter()
        .filter(|o| o.backend() == Some(name))
        .count()
}
