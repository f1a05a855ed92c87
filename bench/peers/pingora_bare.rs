//! The benchmark's "bare Pingora" peer: the smallest Pingora reverse proxy (one upstream, no
//! Weir code: no site lookup, balancer, guard, limits, metrics or plugins), built with the same
//! Pingora version, features, allocator and release profile as Weir. bench/proxy.sh runs it
//! beside Weir, nginx and haproxy, so the cost of Pingora itself and the cost Weir adds on top
//! are separate, measured figures.
//!
//! Usage: `pingora-bare LISTEN UPSTREAM THREADS`, e.g. `pingora-bare 127.0.0.1:8081 127.0.0.1:9000 1`.

use async_trait::async_trait;
use pingora::prelude::{http_proxy_service, HttpPeer, ProxyHttp, Result, Session};
use pingora::server::configuration::ServerConf;
use pingora::server::Server;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Bare {
    upstream: String,
}

#[async_trait]
impl ProxyHttp for Bare {
    type CTX = ();

    fn new_ctx(&self) {}

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(
            self.upstream.as_str(),
            false,
            String::new(),
        )))
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(listen), Some(upstream), Some(threads)) = (args.get(1), args.get(2), args.get(3))
    else {
        eprintln!("usage: pingora-bare LISTEN UPSTREAM THREADS");
        std::process::exit(2);
    };
    let Ok(threads) = threads.parse::<usize>() else {
        eprintln!("pingora-bare: THREADS must be a number, got {threads:?}");
        std::process::exit(2);
    };
    let conf = ServerConf {
        threads,
        daemon: false,
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    let mut service = http_proxy_service(
        &server.configuration,
        Bare {
            upstream: upstream.clone(),
        },
    );
    service.add_tcp(listen);
    server.add_service(service);
    server.run_forever();
}
