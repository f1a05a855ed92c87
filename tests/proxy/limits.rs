//! Limits and bad input: the per-IP rate limit, the JSON access log, malformed requests,
//! oversized headers and slow clients — none of which takes the process down.

use crate::{equal, node, one_site};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_testkit::{Backend, Node};

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let a = Backend::start("a").await;
    let body = one_site("round_robin", &equal(&[&a]), "").replacen(
        "pool = \"web\"\n",
        "pool = \"web\"\n[site.rate_limit]\nrate = 0.5\nburst = 3\n",
        1,
    );
    let n = node().start(&body).await;
    let client = n.client(&["shop.test"]);
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..5 {
        let r = client
            .get(n.url("shop.test", "/"))
            .send()
            .await
            .expect("request");
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            retry_after = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(String::from);
        }
    }
    assert_eq!(statuses, vec![200, 200, 200, 429, 429]);
    let secs: u64 = retry_after.expect("Retry-After").parse().expect("seconds");
    assert!((1..=2).contains(&secs), "{secs}");
    assert_eq!(a.hits(), 3);
}

#[tokio::test]
async fn every_request_writes_one_json_access_log_line() {
    let a = Backend::start("a").await;
    let n = node()
        .start(&one_site("round_robin", &equal(&[&a]), ""))
        .await;
    let r = n
        .client(&["shop.test"])
        .get(n.url("shop.test", "/logged"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let log = n.log();
    let line = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["target"] == "weir::access" && v["fields"]["path"] == "/logged")
        .unwrap_or_else(|| panic!("no access log line in:\n{log}"));
    let f = &line["fields"];
    assert_eq!(f["site"], "shop");
    assert_eq!(f["status"], 200);
    assert_eq!(f["backend"], a.addr().to_string());
    assert_eq!(f["pool"], "web");
    assert_eq!(f["client_ip"], "127.0.0.1");
    assert_eq!(f["retries"], 0);
    assert!(f["bytes_sent"].as_u64().unwrap_or(0) > 0, "{f}");
    assert!(f["latency_ms"].as_f64().is_some(), "{f}");
}

/// Writes raw bytes and returns what came back before the server closed or `wait` passed.
async fn raw(n: &Node, request: &[u8], wait: Duration) -> String {
    let mut s = TcpStream::connect(n.http).await.expect("connect");
    s.write_all(request).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(wait, s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).to_string()
}

async fn still_serves(n: &Node) {
    let r = n
        .client(&["shop.test"])
        .get(n.url("shop.test", "/"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200, "the node must keep serving");
}

#[tokio::test]
async fn malformed_requests_get_400() {
    let a = Backend::start("a").await;
    let n = node()
        .start(&one_site("round_robin", &equal(&[&a]), ""))
        .await;
    let out = raw(&n, b"THIS IS NOT HTTP\r\n\r\n", Duration::from_secs(3)).await;
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");
    let out = raw(
        &n,
        b"GET / HTTP/1.1\r\nHost: shop.test\r\nBad Header Line\r\n\r\n",
        Duration::from_secs(3),
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");
    still_serves(&n).await;
    assert_eq!(a.hits(), 1);
}

#[tokio::test]
async fn oversized_headers_get_431() {
    let a = Backend::start("a").await;
    let n = node()
        .proxy("max_header_bytes = 4096")
        .start(&one_site("round_robin", &equal(&[&a]), ""))
        .await;
    let big = "x".repeat(8000);
    let req = format!("GET / HTTP/1.1\r\nHost: shop.test\r\nX-Big: {big}\r\n\r\n");
    let out = raw(&n, req.as_bytes(), Duration::from_secs(3)).await;
    assert!(out.starts_with("HTTP/1.1 431"), "{out}");
    assert_eq!(a.hits(), 0);
    still_serves(&n).await;
}

#[tokio::test]
async fn slow_clients_get_408() {
    let a = Backend::start("a").await;
    let n = node()
        .proxy("client_timeout_ms = 300")
        .start(&one_site("round_robin", &equal(&[&a]), ""))
        .await;
    // The body is promised but never sent.
    let out = raw(
        &n,
        b"POST /upload HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 100\r\n\r\nonly-part",
        Duration::from_secs(5),
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 408"), "{out}");
    // Headers that never end.
    let out = raw(
        &n,
        b"GET / HTTP/1.1\r\nHost: shop.test\r\nX-Slow: ",
        Duration::from_secs(5),
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 408"), "{out}");
    still_serves(&n).await;
}
