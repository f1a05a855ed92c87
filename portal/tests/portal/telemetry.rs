//! Heartbeats and dashboards through the API on both databases: minutes are replaced, not
//! added, when sent again; nodes of other tenants cannot write into a tenant's sites and its
//! members cannot read them; bad heartbeats are refused naming the field; a revoked node is
//! refused; the sweeper marks silent nodes offline (events recorded); retention follows the
//! tenant's plan; the dashboard's numbers and the page.

use crate::flows::{signed_in_with_token, signed_up_with_token, Account};
use crate::support::{backends, Portal};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use weir_bundle::telemetry::{latency_bucket, LATENCY_BUCKETS, MAX_MINUTES};
use weir_testkit::smtp::SmtpSink;

async fn call(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let r = req.send().await.expect("request");
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

fn now_minute() -> i64 {
    weir_portal::db::now() / 60
}

/// A pool and the site `site` for the account's tenant.
async fn with_site(p: &Portal, a: &Account, site: &str) {
    let api = reqwest::Client::new();
    let at = |path: &str| p.url(&format!("/api/t/{}{path}", a.tenant));
    let pool = json!({"id": "web", "backend": [{"addr": "127.0.0.1:9001"}]});
    let (status, body) = call(api.post(at("/pools")).bearer_auth(&a.token).json(&pool)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let s = json!({"id": site, "hosts": [format!("{site}.example")], "pool": "web"});
    let (status, body) = call(api.post(at("/sites")).bearer_auth(&a.token).json(&s)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// Creates and enrolls a node of the account's tenant; returns (node id, credential).
async fn enrolled(p: &Portal, a: &Account, name: &str) -> (String, String) {
    let api = reqwest::Client::new();
    let (status, created) = call(
        api.post(p.url(&format!("/api/t/{}/nodes", a.tenant)))
            .bearer_auth(&a.token)
            .json(&json!({"name": name})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, enrolled) = call(
        api.post(p.url("/api/node/v1/enroll"))
            .json(&json!({"join_token": created["join_token"], "version": "0.1.0"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{enrolled}");
    (
        enrolled["node_id"].as_str().expect("id").to_string(),
        enrolled["credential"]
            .as_str()
            .expect("credential")
            .to_string(),
    )
}

async fn beat(p: &Portal, credential: &str, body: &Value) -> (StatusCode, Value) {
    call(
        reqwest::Client::new()
            .post(p.url("/api/node/v1/heartbeat"))
            .header("authorization", format!("Node {credential}"))
            .json(body),
    )
    .await
}

/// A heartbeat carrying `minutes`.
fn heartbeat(minutes: Value) -> Value {
    json!({"bundle_version": 2, "bundle_hash": "ab12", "weir_version": "0.1.0", "uptime_s": 60,
           "in_flight": 3, "minutes": minutes})
}

/// A latency histogram with `n` requests at each of `(latency_us, n)`.
fn histogram(at: &[(u64, u64)]) -> Vec<u64> {
    let mut h = vec![0; LATENCY_BUCKETS];
    for &(us, n) in at {
        h[latency_bucket(us)] += n;
    }
    h
}

/// `GET path` of the API with the account's token.
async fn get(p: &Portal, a: &Account, path: &str) -> (StatusCode, Value) {
    call(
        reqwest::Client::new()
            .get(p.url(path))
            .bearer_auth(&a.token),
    )
    .await
}

/// The site's dashboard over `range`, as the account sees it.
async fn dashboard(
    p: &Portal,
    a: &Account,
    tenant: &str,
    site: &str,
    range: &str,
) -> (StatusCode, Value) {
    get(
        p,
        a,
        &format!("/api/t/{tenant}/sites/{site}/dashboard?range={range}"),
    )
    .await
}

/// A page as the browser gets it: (status, HTML).
async fn page(browser: &reqwest::Client, url: String) -> (StatusCode, String) {
    let r = browser.get(url).send().await.expect("page");
    (r.status(), r.text().await.expect("html"))
}

/// The bucket of the 1 h series that starts at `minute`.
fn bucket(d: &Value, minute: i64) -> &Value {
    d["series"]
        .as_array()
        .expect("series")
        .iter()
        .find(|b| b["t"] == minute * 60)
        .unwrap_or_else(|| panic!("no bucket for minute {minute}: {d}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_replace_their_minutes_feed_the_dashboard_and_stay_in_their_tenant() {
    let smtp = SmtpSink::start();
    for (backend, url, _keep) in backends() {
        let p = Portal::start(&url, &smtp.url()).await;
        let (browser, a) =
            signed_in_with_token(&p, &smtp, &format!("tele.{backend}@example.test")).await;
        let b = signed_up_with_token(&p, &smtp, &format!("other.{backend}@example.test")).await;
        with_site(&p, &a, "shop").await;
        with_site(&p, &b, "blog").await;
        let (_, node1) = enrolled(&p, &a, "edge-1").await;
        let (node2_id, node2) = enrolled(&p, &a, "edge-2").await;
        let (_, node_b) = enrolled(&p, &b, "b-edge").await;
        let m = now_minute();

        // Minute m-1: 90 fast requests and 10 slow 5xx; the current minute m is still growing.
        let closed = json!({"site": "shop", "minute": m - 1, "requests": [0, 90, 0, 0, 10],
            "bytes_in": 1000, "bytes_out": 50000, "latency": histogram(&[(1_000, 90), (100_000, 10)]),
            "plugin_failures": 1, "waf_blocks": {"sqli": 2}, "countries": {"DE": 60, "US": 40},
            "slow_paths": [{"path": "/a", "count": 10, "total_us": 5_000_000, "max_us": 900_000}]});
        let current = |ok: u64, not_found: u64| {
            json!({"site": "shop", "minute": m, "requests": [0, ok, 0, not_found, 0],
                "latency": histogram(&[(2_000, ok + not_found)])})
        };
        let (status, body) = beat(&p, &node1, &heartbeat(json!([closed, current(5, 0)]))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            (
                body["stored_minutes"].as_u64(),
                body["ignored_minutes"].as_u64(),
                body["bundle_version"].as_i64()
            ),
            (Some(2), Some(0), Some(2)),
            "{body}"
        );
        // The current minute again, grown: replaced, not added.
        let (status, body) = beat(&p, &node1, &heartbeat(json!([current(8, 1)]))).await;
        assert_eq!(
            (status, body["stored_minutes"].as_u64()),
            (StatusCode::OK, Some(1))
        );
        // A second node's share of minute m-1 adds up with the first one's.
        let other = json!({"site": "shop", "minute": m - 1, "requests": [0, 10, 0, 0, 0],
            "latency": histogram(&[(1_000, 10)]), "countries": {"DE": 5},
            "slow_paths": [{"path": "/a", "count": 2, "total_us": 1_000_000, "max_us": 950_000}]});
        let (status, _) = beat(&p, &node2, &heartbeat(json!([other]))).await;
        assert_eq!(status, StatusCode::OK);

        // Tenant B's node names A's site: left out, and named.
        let intruding = json!({"site": "shop", "minute": m, "requests": [0, 1000, 0, 0, 0]});
        let own = json!({"site": "blog", "minute": m, "requests": [0, 7, 0, 0, 0]});
        let (status, body) = beat(&p, &node_b, &heartbeat(json!([intruding, own]))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            (
                body["stored_minutes"].as_u64(),
                body["ignored_minutes"].as_u64(),
                body["unknown_sites"].clone()
            ),
            (Some(1), Some(1), json!(["shop"]))
        );

        let (status, d) = dashboard(&p, &a, &a.tenant, "shop", "1h").await;
        assert_eq!(status, StatusCode::OK, "{d}");
        let t = &d["totals"];
        assert_eq!(t["requests"], json!([0, 108, 0, 1, 10]), "{t}");
        assert_eq!(t["errors"], 10);
        assert_eq!(t["waf_blocks"], json!({"sqli": 2}));
        assert_eq!(t["plugin_failures"], 1);
        assert_eq!(
            (t["bytes_in"].as_u64(), t["bytes_out"].as_u64()),
            (Some(1000), Some(50000))
        );
        assert_eq!(
            t["countries"],
            json!([{"country": "DE", "requests": 65}, {"country": "US", "requests": 40}])
        );
        assert_eq!(
            t["slow_paths"][0],
            json!({"path": "/a", "count": 12, "total_us": 6_000_000, "max_us": 950_000, "avg_us": 500_000})
        );
        let closed_bucket = bucket(&d, m - 1);
        assert_eq!(closed_bucket["requests"], json!([0, 100, 0, 0, 10]));
        assert_eq!(closed_bucket["errors"], 10);
        assert_eq!(closed_bucket["waf_blocks"], 2);
        // 100 of 110 requests took ~1 ms, 10 took ~100 ms.
        let p50 = closed_bucket["p50_us"].as_u64().expect("p50");
        let p95 = closed_bucket["p95_us"].as_u64().expect("p95");
        let p99 = closed_bucket["p99_us"].as_u64().expect("p99");
        assert!((800..=1_131).contains(&p50), "{closed_bucket}");
        assert!((72_408..=102_400).contains(&p95), "{closed_bucket}");
        assert!((72_408..=102_400).contains(&p99), "{closed_bucket}");
        assert_eq!(bucket(&d, m)["requests"], json!([0, 8, 0, 1, 0]));
        assert!(
            bucket(&d, m - 2)["p50_us"].is_null(),
            "an empty bucket has no percentiles"
        );
        assert_eq!(d["series"].as_array().map(Vec::len), Some(60));
        let nodes = d["nodes"].as_array().expect("nodes");
        assert_eq!(nodes.len(), 2, "only A's nodes: {d}");
        assert!(nodes
            .iter()
            .all(|n| n["online"] == true && n["bundle_version"] == 2));

        // B's dashboard has its own site only; A's is not B's to read.
        let (status, blog) = dashboard(&p, &b, &b.tenant, "blog", "1h").await;
        assert_eq!(
            (status, blog["totals"]["requests"][1].as_u64()),
            (StatusCode::OK, Some(7))
        );
        assert_eq!(
            dashboard(&p, &b, &a.tenant, "shop", "1h").await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            dashboard(&p, &b, &b.tenant, "shop", "1h").await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            dashboard(&p, &a, &a.tenant, "nope", "1h").await.0,
            StatusCode::NOT_FOUND
        );
        let (status, body) = dashboard(&p, &a, &a.tenant, "shop", "2h").await;
        assert_eq!(
            (status, body["problems"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("range"))
        );
        let (status, week) = dashboard(&p, &a, &a.tenant, "shop", "7d").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            (
                week["bucket_s"].as_i64(),
                week["series"].as_array().map(Vec::len)
            ),
            (Some(7200), Some(84))
        );
        assert_eq!(week["totals"]["requests"], t["requests"]);

        // The nodes list shows each node's status.
        let (_, listed) = get(&p, &a, &format!("/api/t/{}/nodes", a.tenant)).await;
        let listed = listed["nodes"].as_array().expect("nodes").clone();
        assert_eq!(listed.len(), 2);
        for n in &listed {
            let s = &n["status"];
            assert_eq!(
                (
                    s["online"].as_bool(),
                    s["weir_version"].as_str(),
                    s["bundle_version"].as_i64(),
                    s["in_flight"].as_i64()
                ),
                (Some(true), Some("0.1.0"), Some(2), Some(3)),
                "{n}"
            );
            assert!(s["last_heartbeat_at"].is_i64() && n["name"].is_string());
        }

        // Refused heartbeats name the field; nothing of them is stored.
        let too_long = json!({"site": "shop", "minute": m, "requests": [0, 1, 0, 0, 0], "latency": vec![1; LATENCY_BUCKETS + 1]});
        let future =
            json!({"site": "shop", "minute": m + 9 * 24 * 60, "requests": [0, 1, 0, 0, 0]});
        let long_path = json!({"site": "shop", "minute": m, "requests": [0, 1, 0, 0, 0],
            "slow_paths": [{"path": "/".repeat(600), "count": 1, "total_us": 1, "max_us": 1}]});
        for (minutes, field) in [
            (json!([too_long]), "minutes[0].latency"),
            (json!([current(1, 0), future]), "minutes[1].minute"),
            (json!([long_path]), "minutes[0].slow_paths[0].path"),
            (json!(vec![current(1, 0); MAX_MINUTES + 1]), "minutes"),
        ] {
            let (status, body) = beat(&p, &node1, &heartbeat(minutes)).await;
            assert_eq!(
                (status, body["problems"][0]["field"].as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
                "{body}"
            );
        }
        let (status, _) = beat(&p, &node1, &json!({"bundle_version": 1, "colour": 1})).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "unknown fields are refused"
        );
        let (status, _) = beat(&p, "wnc_guessed", &heartbeat(json!([]))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (_, d) = dashboard(&p, &a, &a.tenant, "shop", "1h").await;
        assert_eq!(
            d["totals"]["requests"],
            json!([0, 108, 0, 1, 10]),
            "refused ones stored nothing"
        );

        // A revoked node is refused at once.
        let (status, _) = call(
            reqwest::Client::new()
                .delete(p.url(&format!("/api/t/{}/nodes/{node2_id}", a.tenant)))
                .bearer_auth(&a.token),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = beat(&p, &node2, &heartbeat(json!([]))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // The page: numbers without JavaScript, the script, linked from the sites list.
        let t_url = |path: &str| p.url(&format!("/t/{}{path}", a.tenant));
        let (status, html) = page(&browser, t_url("/sites/shop/dashboard")).await;
        assert_eq!(status, StatusCode::OK);
        for expected in [
            "Traffic of shop",
            "data-k=\"requests\">119<",
            "sqli",
            "/static/dashboard.js",
            "edge-1",
            "<td>DE</td><td>65</td>",
        ] {
            assert!(html.contains(expected), "{expected} missing: {html}");
        }
        let (_, sites) = page(&browser, t_url("/sites")).await;
        assert!(sites.contains(&format!("/t/{}/sites/shop/dashboard", a.tenant)));
        let (_, nodes_page) = page(&browser, t_url("/nodes")).await;
        assert!(nodes_page.contains("pill-current\">online"), "{nodes_page}");
        let foreign = p.url(&format!("/t/{}/sites/blog/dashboard", b.tenant));
        assert_eq!(page(&browser, foreign).await.0, StatusCode::NOT_FOUND);
        let (status, script) = page(&browser, p.url("/static/dashboard.js")).await;
        assert!(status == StatusCode::OK && script.contains("site-dashboard"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_nodes_go_offline_and_old_minutes_go_by_plan() {
    let smtp = SmtpSink::start();
    for (backend, url, _keep) in backends() {
        let p = Portal::start_with(&url, &smtp.url(), |c| {
            c.nodes.offline_after_s = 1;
            c.retention = [("free".to_string(), 1), ("pro".to_string(), 30)].into();
        })
        .await;
        let a = signed_up_with_token(&p, &smtp, &format!("sweep.{backend}@example.test")).await;
        let b = signed_up_with_token(&p, &smtp, &format!("pro.{backend}@example.test")).await;
        with_site(&p, &a, "shop").await;
        with_site(&p, &b, "shop").await;
        assert!(p
            .state
            .store
            .set_tenant_plan(&b.tenant, "pro")
            .await
            .expect("plan"));
        let (node_a, cred_a) = enrolled(&p, &a, "edge-a").await;
        let (_, cred_b) = enrolled(&p, &b, "edge-b").await;
        let m = now_minute();
        let old_and_new = json!([
            {"site": "shop", "minute": m - 2 * 24 * 60, "requests": [0, 1, 0, 0, 0]},
            {"site": "shop", "minute": m, "requests": [0, 2, 0, 0, 0]},
        ]);
        for cred in [&cred_a, &cred_b] {
            let (status, body) = beat(&p, cred, &heartbeat(old_and_new.clone())).await;
            assert_eq!(
                (status, body["stored_minutes"].as_u64()),
                (StatusCode::OK, Some(2)),
                "{body}"
            );
        }
        let hour = weir_portal::db::now() / 3600;
        assert_eq!(
            p.state
                .store
                .active_nodes_in_hour(&a.tenant, hour)
                .await
                .expect("hours"),
            1
        );

        // Retention: the free tenant keeps 1 day, the pro tenant 30.
        p.state
            .telemetry
            .apply_retention(weir_portal::db::now())
            .await
            .expect("retention");
        let kept = |tenant: String| {
            let store = p.state.store.clone();
            async move {
                store
                    .site_minutes(&tenant, "shop", 0, i64::MAX)
                    .await
                    .expect("minutes")
                    .iter()
                    .map(|r| r.minute)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(kept(a.tenant.clone()).await, [m]);
        assert_eq!(kept(b.tenant.clone()).await, [m - 2 * 24 * 60, m]);

        // No heartbeat for over a second: the sweeper marks the node offline.
        let nodes = format!("/api/t/{}/nodes", a.tenant);
        let status_of = || async { get(&p, &a, &nodes).await.1["nodes"][0]["status"].clone() };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = status_of().await;
            if s["online"] == false {
                assert!(s["offline_since"].is_i64(), "{s}");
                break;
            }
            assert!(Instant::now() < deadline, "still online: {s}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // Its tenant's owner hears of it by email (through the outbox); the other tenant not.
        let mail = smtp
            .wait_for_async(
                |m| {
                    m.to.contains(&format!("sweep.{backend}@example.test"))
                        && m.subject.contains("offline")
                },
                Duration::from_secs(10),
            )
            .await;
        assert!(mail.subject.contains("Node edge-a"), "{}", mail.subject);
        assert!(
            mail.text.contains(&format!("/t/{}/nodes", a.tenant)),
            "{}",
            mail.text
        );
        // A heartbeat brings it back.
        let (status, _) = beat(&p, &cred_a, &heartbeat(json!([]))).await;
        assert_eq!(status, StatusCode::OK);
        let s = status_of().await;
        assert_eq!(
            (s["online"].as_bool(), s["offline_since"].is_null()),
            (Some(true), true),
            "{s}"
        );
        let events = p.state.store.node_events(&a.tenant).await.expect("events");
        let kinds: Vec<_> = events
            .iter()
            .map(|e| (e.node_id.as_str(), e.kind.as_str()))
            .collect();
        // (The sweeper may have found it silent again since: only the first three are sure.)
        assert_eq!(
            kinds.get(..3),
            Some(
                &[
                    (node_a.as_str(), "online"),
                    (node_a.as_str(), "offline"),
                    (node_a.as_str(), "online")
                ][..]
            ),
            "{kinds:?}"
        );
    }
}
