//! Balancing: round robin, smooth weighted 95/5 within ±1%, and least connections that does
//! not feed a fast-failing "zombie" backend thanks to passive ejection.

use crate::{count_from, equal, node, one_site};
use std::time::Duration;
use weir_testkit::{hammer, Backend};

#[tokio::test]
async fn round_robin_spreads_evenly() {
    let bs = crate::three_backends().await;
    let n = node()
        .start(&one_site(
            "round_robin",
            &equal(&[&bs[0], &bs[1], &bs[2]]),
            "",
        ))
        .await;
    let out = hammer(&n.client(&["shop.test"]), &n.url("shop.test", "/"), 300, 6).await;
    assert!(out.iter().all(|o| o.is_success()));
    for b in &bs {
        assert_eq!(
            count_from(&out, b.name()),
            100,
            "{} got an unfair share",
            b.name()
        );
    }
}

#[tokio::test]
async fn weighted_95_5_split_holds_within_one_percent_over_10k_requests() {
    let big = Backend::start("big").await;
    let small = Backend::start("small").await;
    let backends = vec![(big.addr().to_string(), 95), (small.addr().to_string(), 5)];
    let n = node().start(&one_site("weighted", &backends, "")).await;
    let out = hammer(
        &n.client(&["shop.test"]),
        &n.url("shop.test", "/"),
        10_000,
        32,
    )
    .await;
    assert!(out.iter().all(|o| o.is_success()));
    let share = count_from(&out, "small") as f64 / out.len() as f64;
    assert!((0.04..=0.06).contains(&share), "canary share {share}");
    let share_big = count_from(&out, "big") as f64 / out.len() as f64;
    assert!((0.94..=0.96).contains(&share_big), "main share {share_big}");
}

#[tokio::test]
async fn least_conn_does_not_feed_a_fast_failing_zombie() {
    let slow1 = Backend::start("slow1").await;
    let slow2 = Backend::start("slow2").await;
    let zombie = Backend::start("zombie").await;
    slow1.set_delay(Duration::from_millis(50));
    slow2.set_delay(Duration::from_millis(50));
    zombie.set_status(500);
    let n = node()
        .start(&one_site(
            "least_conn",
            &equal(&[&slow1, &slow2, &zombie]),
            "[pool.health]\npassive_statuses = [500, 502, 503, 504]\neject_ms = 5000\n",
        ))
        .await;
    let out = hammer(
        &n.client(&["shop.test"]),
        &n.url("shop.test", "/"),
        3000,
        30,
    )
    .await;
    let ok = out.iter().filter(|o| o.is_success()).count();
    let rate = ok as f64 / out.len() as f64;
    assert!(
        rate >= 0.99,
        "success rate {rate} ({} zombie hits)",
        zombie.hits()
    );
}
