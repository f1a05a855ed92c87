//! Traffic through a managed node reaches the site's dashboard in the portal: requests by
//! class, latency percentiles, WAF blocks by category and slow paths, from the node's
//! heartbeats.

use crate::support::{eventually, wait_served, Enrolled, PortalProc};
use serde_json::json;
use std::time::Duration;
use weir_testkit::Backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_through_a_node_shows_on_the_site_dashboard() {
    let a = Backend::start("a").await;
    let portal = PortalProc::start().await;
    let waf =
        json!({"name": "waf", "source": "builtin:waf", "config": {"mode": "block", "paranoia": 1}});
    portal.shop(&[a.addr()], json!([waf])).await;
    let Enrolled {
        node, data: _data, ..
    } = portal.enrolled_node(&portal.url("")).await;
    wait_served(&node, "a", "the first bundle").await;
    let client = node.client(&["shop.test"]);
    for _ in 0..20 {
        let r = client
            .get(node.url("shop.test", "/catalog"))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 200);
    }
    for _ in 0..5 {
        let r = client
            .get(node.url("shop.test", "/?id=1%27%20or%20%271%27=%271"))
            .send()
            .await
            .expect("attack");
        assert_eq!(r.status(), 403);
    }
    // Heartbeats come every second here (WEIR_NODES_HEARTBEAT_MS); the dashboard sums the
    // node's minutes.
    let board = eventually(
        Duration::from_secs(20),
        "the traffic on the dashboard",
        || async {
            let (status, b) = portal
                .call("GET", "/sites/shop/dashboard?range=1h", None)
                .await;
            assert_eq!(status, 200, "{b}");
            let ok = b["totals"]["requests"][1].as_u64() >= Some(21)
                && b["totals"]["requests"][3].as_u64() >= Some(5);
            ok.then_some(b)
        },
    )
    .await;
    let totals = &board["totals"];
    assert!(totals["waf_blocks"]["sqli"].as_u64() >= Some(5), "{totals}");
    assert!(
        totals["p50_us"].as_u64().is_some_and(|us| us > 0),
        "{totals}"
    );
    let paths: Vec<&str> = totals["slow_paths"]
        .as_array()
        .expect("slow paths")
        .iter()
        .filter_map(|p| p["path"].as_str())
        .collect();
    assert!(paths.contains(&"/catalog"), "{totals}");
    let minutes: u64 = board["series"]
        .as_array()
        .expect("series")
        .iter()
        .map(|b| b["requests"][1].as_u64().unwrap_or(0))
        .sum();
    assert!(minutes >= 21, "the series adds up: {board}");
    assert_eq!(board["nodes"][0]["online"], true, "{board}");
}
