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

/// Runs `weir check-config` on `text` (or on `path` when `text` is `None`): (success, stdout, stderr).
fn check_config(text: Option<&str>, path: &std::path::Path) -> (bool, String, String) {
    if let Some(text) = text {
        std::fs::write(path, text).expect("write config");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_weir"))
        .arg("check-config")
        .arg(path)
        .output()
        .expect("run weir check-config");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

const BAD_REFERENCES: &str = r#"
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
"#;

#[test]
fn check_config_lists_every_problem_with_its_key_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");

    // A type error is reported by the parser with its line and key.
    let bad_type = BAD_REFERENCES.replace(
        "addr = \"127.0.0.1:9001\"",
        "addr = \"127.0.0.1:9001\"\nweight = -1",
    );
    let (ok, _, err) = check_config(Some(&bad_type), &path);
    assert!(!ok);
    assert!(
        err.contains("line 12") && err.contains("weight = -1"),
        "{err}"
    );

    let (ok, _, err) = check_config(Some(BAD_REFERENCES), &path);
    assert!(!ok);
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
    let (ok, out, err) = check_config(None, &good);
    assert!(ok, "{err}");
    assert!(out.contains("ok (1 sites, 1 pools)"), "{out}");
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
