//! Reload and shutdown: SIGHUP and the admin reload apply a new config while in-flight
//! requests finish on the old one; a bad config is refused and the running one stays;
//! SIGTERM stops accepting, lets in-flight requests finish and exits promptly.

use crate::{count_from, equal, node, one_site};
use std::time::{Duration, Instant};
use weir_testkit::{hammer, Backend, Node};

async fn wait_generation(n: &Node, generation: u64) {
    let start = Instant::now();
    while n.status().await["generation"] != generation {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "reload never applied:\n{}",
            n.log()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn rewrite_sites(n: &Node, body: &str) {
    let text = std::fs::read_to_string(n.config_path()).expect("read config");
    let proxy_part = text.split("\n\n").next().expect("proxy table");
    std::fs::write(n.config_path(), format!("{proxy_part}\n\n{body}")).expect("write config");
}

#[tokio::test]
async fn sighup_reloads_while_in_flight_requests_finish_on_the_old_config() {
    let old = Backend::start("old").await;
    let new = Backend::start("new").await;
    let n = node()
        .start(&one_site("round_robin", &equal(&[&old]), ""))
        .await;
    let client = n.client(&["shop.test"]);
    let slow = tokio::spawn({
        let client = client.clone();
        let url = n.url("shop.test", "/slow?sleep_ms=1000");
        async move {
            let r = client.get(url).send().await.expect("slow");
            (r.status().as_u16(), r.text().await.expect("body"))
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;

    rewrite_sites(&n, &one_site("round_robin", &equal(&[&new]), ""));
    n.signal("HUP");
    wait_generation(&n, 2).await;

    let out = hammer(&client, &n.url("shop.test", "/"), 20, 4).await;
    assert_eq!(
        count_from(&out, "new"),
        20,
        "new requests use the new config"
    );
    assert_eq!(
        slow.await.expect("join"),
        (200, "old /slow?sleep_ms=1000 body=0\n".to_string())
    );
}

#[tokio::test]
async fn a_bad_reload_is_refused_and_the_running_config_stays() {
    let a = Backend::start("a").await;
    let n = node()
        .start(&one_site("round_robin", &equal(&[&a]), ""))
        .await;
    rewrite_sites(
        &n,
        "[[site]]\nid = \"shop\"\nhosts = [\"shop.test\"]\npool = \"gone\"\n",
    );
    let resp = reqwest::Client::new()
        .post(n.admin_url("/reload"))
        .send()
        .await
        .expect("reload");
    assert_eq!(resp.status(), 422);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("site[0].pool: no pool with id `gone`")),
        "{body}"
    );
    assert_eq!(n.status().await["generation"], 1);
    let out = hammer(&n.client(&["shop.test"]), &n.url("shop.test", "/"), 5, 1).await;
    assert_eq!(count_from(&out, "a"), 5);

    rewrite_sites(&n, &one_site("least_conn", &equal(&[&a]), ""));
    let resp = reqwest::Client::new()
        .post(n.admin_url("/reload"))
        .send()
        .await
        .expect("reload");
    assert_eq!(resp.status(), 200);
    assert_eq!(n.status().await["pools"][0]["algorithm"], "least_conn");
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_then_exits() {
    let a = Backend::start("a").await;
    let mut n = node()
        .proxy("shutdown_timeout_s = 10")
        .start(&one_site("round_robin", &equal(&[&a]), ""))
        .await;
    let client = n.client(&["shop.test"]);
    let slow = tokio::spawn({
        let client = client.clone();
        let url = n.url("shop.test", "/slow?sleep_ms=1500");
        async move {
            let r = client.get(url).send().await.expect("slow");
            (r.status().as_u16(), r.text().await.expect("body"))
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = Instant::now();
    n.signal("TERM");
    let (status, body) = slow.await.expect("join");
    assert_eq!(status, 200);
    assert_eq!(body, "a /slow?sleep_ms=1500 body=0\n");
    let exit = n
        .wait_exit(Duration::from_secs(8))
        .await
        .expect("exits within the bound");
    assert!(exit.success(), "{exit:?}");
    let took = sent.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "exit took {took:?}; it should follow the last request"
    );
}
