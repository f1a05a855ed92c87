//! The admin API: status, drain/undrain (in-flight requests finish), weights at run time,
//! reload, Prometheus metrics, and the bearer token.

use crate::{count_from, equal, node, one_site};
use std::time::Duration;
use weir_testkit::{hammer, Backend};

#[tokio::test]
async fn drain_lets_in_flight_requests_finish_and_sends_no_new_ones() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let n = node()
        .start(&one_site("round_robin", &equal(&[&a, &b]), ""))
        .await;
    let client = n.client(&["shop.test"]);
    // Round robin starts at `a`: this slow request is in flight on it.
    let slow = tokio::spawn({
        let client = client.clone();
        let url = n.url("shop.test", "/slow?sleep_ms=800");
        async move {
            client
                .get(url)
                .send()
                .await
                .expect("slow")
                .text()
                .await
                .expect("body")
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(n.backend_status("web", a.addr()).await["in_flight"], 1);

    let admin = reqwest::Client::new();
    let resp = admin
        .post(n.admin_url(&format!("/pools/web/backends/{}/drain", a.addr())))
        .send()
        .await
        .expect("drain");
    assert_eq!(resp.status(), 200);
    let st: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(st["draining"], true);
    assert_eq!(st["in_flight"], 1);

    let out = hammer(&client, &n.url("shop.test", "/"), 20, 4).await;
    assert_eq!(
        count_from(&out, "b"),
        20,
        "a drained backend gets no new request"
    );
    assert_eq!(slow.await.expect("join"), "a /slow?sleep_ms=800 body=0\n");

    let resp = admin
        .post(n.admin_url(&format!("/pools/web/backends/{}/undrain", a.addr())))
        .send()
        .await
        .expect("undrain");
    assert_eq!(resp.status(), 200);
    let out = hammer(&client, &n.url("shop.test", "/"), 20, 1).await;
    assert_eq!(count_from(&out, "a"), 10);

    let resp = admin
        .post(n.admin_url("/pools/web/backends/127.0.0.1:1/drain"))
        .send()
        .await
        .expect("drain unknown");
    assert_eq!(resp.status(), 404);
    assert!(resp
        .text()
        .await
        .expect("body")
        .contains("no backend `127.0.0.1:1` in pool `web`"));
}

#[tokio::test]
async fn weights_change_at_run_time_and_bad_weights_are_refused() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let n = node()
        .start(&one_site("weighted", &equal(&[&a, &b]), ""))
        .await;
    let admin = reqwest::Client::new();
    let url = n.admin_url(&format!("/pools/web/backends/{}/weight", a.addr()));
    let resp = admin
        .put(&url)
        .json(&serde_json::json!({"weight": 3}))
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), 200);
    let out = hammer(&n.client(&["shop.test"]), &n.url("shop.test", "/"), 400, 4).await;
    assert_eq!(count_from(&out, "a"), 300);
    assert_eq!(count_from(&out, "b"), 100);

    for bad in [
        serde_json::json!({"weight": 20000}),
        serde_json::json!({"weight": -1}),
        serde_json::json!({"w": 1}),
    ] {
        let resp = admin.put(&url).json(&bad).send().await.expect("put");
        assert_eq!(resp.status(), 400, "{bad}");
        let body: serde_json::Value = resp.json().await.expect("json error");
        assert!(
            body["error"].as_str().is_some_and(|e| e.contains("weight")),
            "{body}"
        );
    }
    assert_eq!(n.backend_status("web", a.addr()).await["weight"], 3);
}

#[tokio::test]
async fn metrics_count_requests_by_site_and_status_class() {
    let a = Backend::start("a").await;
    let n = node()
        .start(&one_site("round_robin", &equal(&[&a]), ""))
        .await;
    hammer(&n.client(&["shop.test"]), &n.url("shop.test", "/"), 7, 1).await;
    hammer(
        &n.client(&["nobody.test"]),
        &n.url("nobody.test", "/"),
        2,
        1,
    )
    .await;
    let text = n.metrics().await;
    assert!(
        text.contains("weir_requests_total{class=\"2xx\",site=\"shop\"} 7"),
        "{text}"
    );
    assert!(
        text.contains("weir_requests_total{class=\"4xx\",site=\"-\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("weir_request_duration_seconds_count{site=\"shop\"} 7"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "weir_backend_healthy{{backend=\"{}\",pool=\"web\"}} 1",
            a.addr()
        )),
        "{text}"
    );
    assert!(text.contains("weir_in_flight_requests 0"), "{text}");
}

#[tokio::test]
async fn a_token_protects_the_admin_api() {
    let a = Backend::start("a").await;
    let n = node()
        .env("WEIR_ADMIN_TOKEN", "s3cret-s3cret-s3cret")
        .start(&one_site("round_robin", &equal(&[&a]), ""))
        .await;
    let status_with = |token: Option<&'static str>| {
        let mut req = reqwest::Client::new().get(n.admin_url("/status"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move { req.send().await.expect("status").status() }
    };
    assert_eq!(status_with(None).await, 401);
    assert_eq!(status_with(Some("wrong-wrong-wrong-wrong")).await, 401);
    assert_eq!(status_with(Some("s3cret-s3cret-s3cret")).await, 200);
    assert!(
        !n.log().contains("s3cret"),
        "the token must never be logged"
    );
}

#[tokio::test]
async fn a_non_loopback_admin_address_needs_a_token() {
    let err = node()
        .env("WEIR_ADMIN_LISTEN", "0.0.0.0:0")
        .try_start(&one_site("round_robin", &[("127.0.0.1:1".into(), 1)], ""))
        .await
        .err()
        .expect("must refuse");
    assert!(
        err.contains("proxy.admin_listen: a non-loopback admin address needs proxy.admin_token"),
        "{err}"
    );
}
