//! Failover: retries on another backend after a connect failure, the backup pool, the
//! maintenance page with 503 + Retry-After, a dead canary that costs nothing, and churn.

use crate::{count_from, equal, node, one_site};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir_testkit::{free_addr, hammer, Backend};

#[tokio::test]
async fn connect_failures_are_retried_on_another_backend() {
    let live = Backend::start("live").await;
    let dead = free_addr().to_string();
    let n = node()
        .start(&one_site(
            "round_robin",
            &[(dead.clone(), 1), (live.addr().to_string(), 1)],
            "",
        ))
        .await;
    let client = n.client(&["shop.test"]);
    // Round robin starts at the dead backend: a POST whose body never left Weir is retried.
    let resp = client
        .post(n.url("shop.test", "/form"))
        .body("name=weir")
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.expect("body"), "live /form body=9\n");
    let out = hammer(&client, &n.url("shop.test", "/"), 40, 4).await;
    assert!(out.iter().all(|o| o.is_success()), "{out:?}");
    let st = n.backend_status("web", dead.parse().expect("addr")).await;
    assert_eq!(st["available"], false, "a refused backend is ejected: {st}");
}

fn two_pools(primary: &[String], backup: &[String]) -> String {
    let mut s = String::from(
        "[[site]]\nid = \"shop\"\nhosts = [\"shop.test\"]\npool = \"web\"\nerror_page = \"maintenance.html\"\nretry_after_s = 120\n\n[[pool]]\nid = \"web\"\nbackup = \"dr\"\n",
    );
    for a in primary {
        s.push_str(&format!("[[pool.backend]]\naddr = \"{a}\"\n"));
    }
    s.push_str("\n[[pool]]\nid = \"dr\"\n");
    for a in backup {
        s.push_str(&format!("[[pool.backend]]\naddr = \"{a}\"\n"));
    }
    s
}

#[tokio::test]
async fn a_dead_pool_fails_over_to_its_backup_then_to_the_maintenance_page() {
    let dr = Backend::start("dr").await;
    let n = node()
        .file("maintenance.html", "<h1>Back soon</h1>")
        .start(&two_pools(
            &[free_addr().to_string(), free_addr().to_string()],
            &[dr.addr().to_string()],
        ))
        .await;
    let client = n.client(&["shop.test"]);
    let out = hammer(&client, &n.url("shop.test", "/"), 30, 3).await;
    assert!(out.iter().all(|o| o.is_success()), "{out:?}");
    assert_eq!(count_from(&out, "dr"), 30);

    dr.kill();
    let resp = client
        .get(n.url("shop.test", "/"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "120");
    assert_eq!(resp.text().await.expect("body"), "<h1>Back soon</h1>");
}

#[tokio::test]
async fn an_empty_primary_pool_uses_its_backup() {
    let dr = Backend::start("dr").await;
    let n = node()
        .file("maintenance.html", "down")
        .start(&two_pools(&[], &[dr.addr().to_string()]))
        .await;
    let out = hammer(&n.client(&["shop.test"]), &n.url("shop.test", "/"), 10, 2).await;
    assert!(out.iter().all(|o| o.is_success()));
    assert_eq!(count_from(&out, "dr"), 10);
}

#[tokio::test]
async fn a_dead_5_percent_canary_costs_no_request() {
    let main = Backend::start("main").await;
    let canary = free_addr().to_string();
    let n = node()
        .start(&one_site(
            "weighted",
            &[(main.addr().to_string(), 95), (canary, 5)],
            "",
        ))
        .await;
    let out = hammer(
        &n.client(&["shop.test"]),
        &n.url("shop.test", "/"),
        1000,
        16,
    )
    .await;
    let failed: Vec<_> = out.iter().filter(|o| !o.is_success()).collect();
    assert!(
        failed.is_empty(),
        "{} failed: {:?}",
        failed.len(),
        failed.first()
    );
}

#[tokio::test]
async fn churn_of_one_backend_in_three_loses_no_request() {
    let bs = Arc::new(crate::three_backends().await);
    let n = node()
        .start(&one_site(
            "round_robin",
            &equal(&[&bs[0], &bs[1], &bs[2]]),
            "[pool.health]\npath = \"/healthz\"\ninterval_ms = 200\ntimeout_ms = 100\neject_ms = 1000\n",
        ))
        .await;
    let stop = Arc::new(AtomicBool::new(false));
    let churner = {
        let bs = Arc::clone(&bs);
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let victim = &bs[i % 3];
                victim.kill();
                tokio::time::sleep(Duration::from_millis(1000)).await;
                victim.restart().await;
                tokio::time::sleep(Duration::from_millis(1000)).await;
                i += 1;
            }
        })
    };
    let client = n.client(&["shop.test"]);
    let url = n.url("shop.test", "/");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut total = 0;
    let mut failures = Vec::new();
    while tokio::time::Instant::now() < deadline {
        for o in hammer(&client, &url, 200, 8).await {
            total += 1;
            if !o.is_success() {
                failures.push(o);
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    churner.await.expect("churner");
    assert!(total > 1000, "only {total} requests in 20 s");
    assert!(
        failures.is_empty(),
        "{} of {total} failed, first: {:?}",
        failures.len(),
        failures.first()
    );
}
