//! TLS: per-site certificates chosen by SNI, HTTP/2 by ALPN, and verified TLS to backends.

use crate::node;
use weir_testkit::{Backend, Node, TestCa};

fn two_tls_sites(backend: &str) -> String {
    format!(
        "[[site]]\nid = \"a\"\nhosts = [\"a.test\"]\npool = \"web\"\n[site.tls]\ncert = \"a.pem\"\nkey = \"a.key\"\n\n\
         [[site]]\nid = \"b\"\nhosts = [\"b.test\"]\npool = \"web\"\n[site.tls]\ncert = \"b.pem\"\nkey = \"b.key\"\n\n\
         [[pool]]\nid = \"web\"\n[[pool.backend]]\naddr = \"{backend}\"\n"
    )
}

fn https_client(n: &Node, ca: &TestCa, hosts: &[&str]) -> reqwest::Client {
    let https = n.https.expect("tls listener");
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).expect("ca"))
        .tls_info(true)
        .no_proxy();
    for h in hosts {
        b = b.resolve(h, https);
    }
    b.build().expect("client")
}

#[tokio::test]
async fn sni_picks_each_sites_certificate_and_alpn_gives_h2() {
    let backend = Backend::start("web").await;
    let ca = TestCa::new("Weir test CA");
    let a = ca.issue(&["a.test"]);
    let b = ca.issue(&["b.test"]);
    let n = node()
        .tls()
        .file("a.pem", &a.cert_pem)
        .file("a.key", &a.key_pem)
        .file("b.pem", &b.cert_pem)
        .file("b.key", &b.key_pem)
        .start(&two_tls_sites(&backend.addr().to_string()))
        .await;
    let client = https_client(&n, &ca, &["a.test", "b.test"]);
    let port = n.https.expect("tls").port();
    for (host, issued) in [("a.test", &a), ("b.test", &b)] {
        let resp = client
            .get(format!("https://{host}:{port}/"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{host}: {e:?}\n{}", n.log()));
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.version(),
            reqwest::Version::HTTP_2,
            "ALPN must choose h2"
        );
        let info = resp
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .expect("tls info");
        assert_eq!(
            info.peer_certificate(),
            Some(issued.der.as_slice()),
            "{host} got the wrong certificate"
        );
        assert_eq!(resp.headers()["x-seen-forwarded-proto"], "https");
    }
    // HTTP/1.1 over TLS still works.
    let h1 = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).expect("ca"))
        .http1_only()
        .resolve("a.test", n.https.expect("tls"))
        .build()
        .expect("client");
    let resp = h1
        .get(format!("https://a.test:{port}/"))
        .send()
        .await
        .expect("h1 over tls");
    assert_eq!(resp.version(), reqwest::Version::HTTP_11);
    assert_eq!(resp.status(), 200);
}

fn tls_backend_site(backend: &str) -> String {
    format!(
        "[[site]]\nid = \"shop\"\nhosts = [\"shop.test\"]\npool = \"secure\"\n\n\
         [[pool]]\nid = \"secure\"\ntls_ca = \"backend-ca.pem\"\n\
         [[pool.backend]]\naddr = \"{backend}\"\ntls = true\nsni = \"backend.test\"\n"
    )
}

/// Status of a request through a node whose pool trusts `ca` for the TLS `backend`.
async fn proxied_status(ca: &TestCa, backend: &Backend) -> u16 {
    let n = node()
        .file("backend-ca.pem", ca.pem())
        .start(&tls_backend_site(&backend.addr().to_string()))
        .await;
    let resp = n
        .client(&["shop.test"])
        .get(n.url("shop.test", "/"))
        .send()
        .await
        .expect("request");
    resp.status().as_u16()
}

#[tokio::test]
async fn tls_backends_are_verified_with_the_configured_ca() {
    let ca = TestCa::new("Backend CA");
    let cert = ca.issue(&["backend.test"]);
    let backend = Backend::start_tls("secure", &cert.cert_pem, &cert.key_pem).await;

    let status = proxied_status(&ca, &backend).await;
    assert_eq!(status, 200);

    let other = TestCa::new("Some other CA");
    let status = proxied_status(&other, &backend).await;
    assert!(
        status == 502 || status == 503,
        "an unverified backend must not be used: {status}"
    );
    assert_eq!(
        backend.hits(),
        1,
        "the untrusted connection never carried a request"
    );
}
