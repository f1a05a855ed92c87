//! Offline survival: with the portal killed, a node keeps serving; restarted while the portal
//! is still down (handing its sockets to the new process, under traffic; or cold), it serves
//! its last good bundle from its data directory; when the portal is back, a change reaches it.
//! No request fails.

use crate::support::{eventually, managed, served_by, wait_served, Enrolled, PortalProc};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_testkit::{get, Backend, Node, Outcome};

/// GETs in a loop until stopped; every outcome.
fn load(node: &Node) -> (Arc<AtomicBool>, tokio::task::JoinHandle<Vec<Outcome>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let client = node.client(&["shop.test"]);
    let url = node.url("shop.test", "/");
    let flag = Arc::clone(&stop);
    let task = tokio::spawn(async move {
        let mut out = Vec::new();
        while !flag.load(Ordering::Relaxed) {
            out.push(get(&client, &url).await);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        out
    });
    (stop, task)
}

async fn finish(run: (Arc<AtomicBool>, tokio::task::JoinHandle<Vec<Outcome>>)) -> Vec<Outcome> {
    run.0.store(true, Ordering::Relaxed);
    run.1.await.expect("load")
}

fn failures(out: &[Outcome]) -> Vec<&Outcome> {
    out.iter().filter(|o| !o.is_success()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_serves_through_a_portal_outage_and_restarts_from_disk() {
    let (a, b) = (Backend::start("a").await, Backend::start("b").await);
    let mut portal = PortalProc::start().await;
    portal.shop(&[a.addr()], json!([])).await;
    let Enrolled { data, node, .. } = portal.enrolled_node(&portal.url("")).await;
    wait_served(&node, "a", "the first bundle").await;

    // The portal dies; traffic goes on.
    let run = load(&node);
    portal.kill();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let out = finish(run).await;
    assert!(out.len() > 20, "{} requests", out.len());
    assert!(failures(&out).is_empty(), "{:?}", failures(&out));

    // The node restarts while the portal is still down, under traffic: the new process
    // takes the listening sockets over (`--upgrade`, then SIGQUIT to the old one) and serves
    // the last good bundle from the data dir. Not one request fails.
    let run = load(&node);
    let (http, admin) = (node.http, node.admin);
    let mut old = node;
    let mut node = managed(data.path(), &portal.url(""), None)
        .at(http, admin)
        .arg("--upgrade")
        .spawn("");
    eventually(
        Duration::from_secs(20),
        "the new node waiting for sockets",
        || async { data.path().join("upgrade.sock").exists().then_some(()) },
    )
    .await;
    old.signal("QUIT");
    assert!(
        old.wait_exit(Duration::from_secs(30)).await.is_some(),
        "the old node exits after handing over: {}",
        old.log()
    );
    node.wait_ready().await.expect("the new node is ready");
    let out = finish(run).await;
    assert!(
        failures(&out).is_empty(),
        "{:?}\n{}",
        failures(&out),
        node.log()
    );
    assert!(node.log().contains("weir proxy starting"));

    // A cold restart (killed, started again) without the portal serves from disk at once.
    drop(old);
    drop(node);
    let t0 = Instant::now();
    let node = managed(data.path(), &portal.url(""), None)
        .at(http, admin)
        .start("")
        .await;
    let first = served_by(&node, "shop.test").await;
    println!(
        "cold restart without the portal: serving after {:?}",
        t0.elapsed()
    );
    assert_eq!(first.as_deref(), Some("a"), "{}", node.log());

    // The portal comes back; a change arrives; nothing failed meanwhile.
    let run = load(&node);
    portal.spawn().await;
    portal.pool("web", &[b.addr()]).await;
    wait_served(&node, "b", "the change after the outage").await;
    // Let the load loop see the new config too before it stops.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let out = finish(run).await;
    assert!(failures(&out).is_empty(), "{:?}", failures(&out));
    assert!(out.iter().any(|o| o.backend() == Some("a")));
    assert!(out.iter().any(|o| o.backend() == Some("b")));
}
