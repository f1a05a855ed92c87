//! Two portal replicas on one PostgreSQL database: a node connected to one gets a change saved
//! on the other (LISTEN/NOTIFY), and a revocation on the other ends its stream.

use crate::support::{eventually, managed, served_by, PortalProc};
use serde_json::json;
use std::time::{Duration, Instant};
use weir_testkit::postgres::TestPostgres;
use weir_testkit::Backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_saved_on_one_replica_reaches_nodes_of_the_other() {
    let (a, b) = (Backend::start("a").await, Backend::start("b").await);
    let pg = TestPostgres::database();
    let one = PortalProc::start_on(pg.url().to_string(), tempfile::tempdir().expect("dir")).await;
    let two = one.replica().await;
    one.pool("web", &[a.addr()]).await;
    one.put(
        "sites",
        "shop",
        json!({"hosts": ["shop.test"], "pool": "web"}),
    )
    .await;
    let (node_id, join) = one.new_node("edge").await;
    let data = tempfile::tempdir().expect("dir");
    // The node talks to replica two only.
    let node = managed(data.path(), &two.url(""), Some(&join))
        .start("")
        .await;
    eventually(Duration::from_secs(10), "the first bundle", || async {
        (served_by(&node, "shop.test").await.as_deref() == Some("a")).then_some(())
    })
    .await;
    one.pool("web", &[b.addr()]).await;
    let t0 = Instant::now();
    eventually(
        Duration::from_secs(10),
        "the change from replica one",
        || async { (served_by(&node, "shop.test").await.as_deref() == Some("b")).then_some(()) },
    )
    .await;
    println!("replica fan-out: served after {:?}", t0.elapsed());
    let (status, _) = one.call("DELETE", &format!("/nodes/{node_id}"), None).await;
    assert_eq!(status, 204);
    node.log_with("refuses this node's credential").await;
    assert!(
        node.log().contains("refuses this node's credential"),
        "{}",
        node.log()
    );
}
