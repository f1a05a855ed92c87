//! Serving basics: HTTP/1.1, h2c, Weir's 404 for unknown sites, forwarding headers, and the
//! config checks (`weir check-config`, refusing to start on an invalid file).

use crate::{equal, node, one_site};
use std::process::Command;
use weir_testkit::Backend;

#[tokio::test]
async fn proxies_http1_and_adds_forwarding_headers() {
    let b = Backend::start("b1").await;
    let n = node()
        .start(&one_site("round_robin", &equal(&[&b]), ""))
        .await;
    let resp = n
        .client(&["shop.test"])
        .get(n.url("shop.test", "/hello?x=1"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), reqwest::Version::HTTP_11);
    assert_eq!(
        resp.headers()["x-seen-forwarded-for"],
        "203.0.113.9, 127.0.0.1"
    );
    assert_eq!(resp.headers()["x-seen-forwarded-proto"], "http");
    assert_eq!(resp.text().await.expect("body"), "b1 /hello?x=1 body=0\n");
}

#[tokio::test]
async fn serves_h2c_when_enabled() {
    let b = Backend::start("b1").await;
    let n = node()
        .proxy("h2c = true")
        .start(&one_site("round_robin", &equal(&[&b]), ""))
        .await;
    let client = n
        .client_builder(&["shop.test"])
        .http2_prior_knowledge()
        .build()
        .expect("client");
    let resp = client
        .get(n.url("shop.test", "/"))
        .send()
        .await
        .expect("h2c request");
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.expect("body").starts_with("b1 "));
}

#[tokio::test]
async fn unknown_sites_get_weirs_404_page() {
    let b = Backend::start("b1").await;
    let n = node()
        .start(&one_site("round_robin", &equal(&[&b]), ""))
        .await;
    let client = n.client(&["other.test"]);
    let resp = client
        .get(n.url("other.test", "/"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    assert!(resp
        .text()
        .await
        .expect("body")
        .contains("404 Site Not Found"));
    assert_eq!(b.hits(), 0, "an unknown site must never reach a backend");
}

#[test]
fn check_config_lists_every_problem_with_its_key_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        r#"
[proxy]
listen = ["127.0.0.1:99999"]
[[site]]
id = "shop"
hosts = ["shop.test"]
pool = "nope"
[[pool]]
id = "web"
algorithm = "least_conn"
[[pool.backend]]
addr = "127.0.0.1:9001"
weight = -1
"#,
    )
    .expect("write");
    // A type error is reported with its line by the parser.
    let out = Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["check-config"])
        .arg(&path)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("weight"), "{err}");

    std::fs::write(
        &path,
        r#"
[proxy]
listen = ["127.0.0.1:99999"]
[[site]]
id = "shop"
hosts = ["shop.test"]
pool = "nope"
[[pool]]
id = "web"
[[pool.backend]]
addr = "127.0.0.1:9001"
"#,
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["check-config"])
        .arg(&path)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2 problem(s)"), "{err}");
    assert!(
        err.contains("proxy.listen[0]: `127.0.0.1:99999` is not an ip:port address"),
        "{err}"
    );
    assert!(
        err.contains("site[0].pool: no pool with id `nope`"),
        "{err}"
    );

    let good = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/weir.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["check-config"])
        .arg(&good)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok (1 sites, 1 pools)"));
}

#[tokio::test]
async fn the_proxy_refuses_to_start_on_an_invalid_config() {
    let err = node()
        .try_start("[[site]]\nid = \"a\"\nhosts = [\"a.test\"]\npool = \"missing\"\n")
        .await
        .err()
        .expect("must not start");
    assert!(
        err.contains("site[0].pool: no pool with id `missing`"),
        "{err}"
    );
}
