//! Health: active checks take a backend out after `fail_after` failures and back after
//! `pass_after` passes; passive checks eject on a configured status (blue-green with 501).

use crate::{count_from, equal, node, one_site};
use std::time::{Duration, Instant};
use weir_testkit::{hammer, Backend};

const ACTIVE: &str = "[pool.health]\npath = \"/healthz\"\ninterval_ms = 100\ntimeout_ms = 100\nfail_after = 1\npass_after = 2\n";

async fn wait_for_health(n: &weir_testkit::Node, b: &Backend, healthy: bool) -> Duration {
    let start = Instant::now();
    loop {
        if n.backend_status("web", b.addr()).await["healthy"] == healthy {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "health never became {healthy}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn active_checks_remove_and_restore_a_backend() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let n = node()
        .start(&one_site("round_robin", &equal(&[&a, &b]), ACTIVE))
        .await;
    let client = n.client(&["shop.test"]);
    let url = n.url("shop.test", "/");

    a.set_health_status(503);
    let took = wait_for_health(&n, &a, false).await;
    // fail_after = 1 at a 100 ms interval: down within about one interval.
    assert!(took < Duration::from_millis(1000), "removal took {took:?}");
    let out = hammer(&client, &url, 50, 4).await;
    assert!(out.iter().all(|o| o.is_success()));
    assert_eq!(
        count_from(&out, "a"),
        0,
        "a down backend must get no traffic"
    );

    a.set_health_status(200);
    wait_for_health(&n, &a, true).await;
    let out = hammer(&client, &url, 50, 4).await;
    assert!(
        count_from(&out, "a") >= 20,
        "a restored backend gets its share again"
    );
    assert!(a.health_hits() >= 3);
}

#[tokio::test]
async fn a_501_during_a_deploy_moves_traffic_away_at_once() {
    let blue = Backend::start("blue").await;
    let green = Backend::start("green").await;
    let n = node()
        .start(&one_site(
            "round_robin",
            &equal(&[&blue, &green]),
            "[pool.health]\neject_ms = 10000\n",
        ))
        .await;
    let client = n.client(&["shop.test"]);
    let url = n.url("shop.test", "/");
    blue.set_status(501);
    let out = hammer(&client, &url, 100, 1).await;
    let failed = out.iter().filter(|o| !o.is_success()).count();
    assert!(
        failed <= 1,
        "{failed} requests saw the 501 (at most the first may)"
    );
    assert_eq!(count_from(&out, "green"), out.len() - failed);
    let st = n.backend_status("web", blue.addr()).await;
    assert_eq!(st["available"], false, "{st}");
    assert!(st["ejected_for_ms"].as_u64().unwrap_or(0) > 0, "{st}");
}
