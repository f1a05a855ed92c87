//! Two portal replicas on one PostgreSQL database: a node connected to one gets a change saved
//! on the other (LISTEN/NOTIFY), and a revocation on the other ends its stream.

use crate::support::{wait_served, Enrolled, PortalProc};
use serde_json::json;
use std::time::Instant;
use weir_testkit::postgres::TestPostgres;
use weir_testkit::Backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_saved_on_one_replica_reaches_nodes_of_the_other() {
    let (a, b) = (Backend::start("a").await, Backend::start("b").await);
    let pg = TestPostgres::database();
    let one = PortalProc::start_on(pg.url().to_string(), tempfile::tempdir().expect("dir")).await;
    let two = one.replica().await;
    one.shop(&[a.addr()], json!([])).await;
    // The node talks to replica two only.
    let Enrolled {
        id: node_id,
        node,
        data: _data,
        ..
    } = one.enrolled_node(&two.url("")).await;
    wait_served(&node, "a", "the first bundle").await;
    one.pool("web", &[b.addr()]).await;
    let t0 = Instant::now();
    wait_served(&node, "b", "the change from replica one").await;
    println!("replica fan-out: served after {:?}", t0.elapsed());
    one.revoke(&node_id, &node).await;
}
