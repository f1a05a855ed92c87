//! Enrollment and pushes: a node enrolls with a one-time token, pins the portal's key, serves
//! the tenant's config as soon as it connects and every change after; used and unknown tokens
//! are refused with the reason; a revoked node is refused at once and keeps serving.

use crate::support::{
    eventually, managed, node_bundle_version, served_by, wait_served, Enrolled, PortalProc,
};
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};
use weir_testkit::Backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_enrolls_serves_the_tenants_config_and_follows_each_change() {
    let (a, b) = (Backend::start("a").await, Backend::start("b").await);
    let portal = PortalProc::start().await;
    portal.shop(&[a.addr()], json!([])).await;
    let Enrolled {
        id: node_id,
        join,
        data,
        node,
    } = portal.enrolled_node(&portal.url("")).await;
    wait_served(&node, "a", "the first bundle").await;
    // Identity and last good bundle are on disk; the identity is private.
    let meta = std::fs::metadata(data.path().join("node.json")).expect("node.json");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let identity: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.path().join("node.json")).expect("read"))
            .expect("json");
    assert_eq!(identity["node_id"], node_id.as_str());
    assert!(data.path().join("bundle.json").exists());
    assert!(
        !node
            .log()
            .contains(identity["credential"].as_str().expect("credential")),
        "the credential is never logged"
    );
    let before = node_bundle_version(&node).await;

    // A change reaches the connected node.
    portal.pool("web", &[b.addr()]).await;
    let t0 = Instant::now();
    wait_served(&node, "b", "the change").await;
    println!("push: change served by the node after {:?}", t0.elapsed());
    assert_eq!(node_bundle_version(&node).await, before + 1);
    // The node acknowledges with a heartbeat: the portal lists it online with that version.
    let listed = eventually(Duration::from_secs(10), "the ack in the portal", || async {
        let n = portal.node(&node_id).await;
        (n["status"]["bundle_version"].as_i64() == Some(before + 1)).then_some(n)
    })
    .await;
    assert_eq!(listed["status"]["online"], true, "{listed}");
    assert!(listed["status"]["apply_error"].is_null(), "{listed}");

    // The join token worked once; an unknown one never.
    for (token, reason) in [
        (join.as_str(), "already used"),
        ("wjt_guessed", "unknown join token"),
    ] {
        let other = tempfile::tempdir().expect("dir");
        let log = managed(other.path(), &portal.url(""), Some(token))
            .try_start("")
            .await
            .err()
            .expect("must not start");
        assert!(log.contains(reason), "{token}: {log}");
        assert!(!other.path().join("node.json").exists());
    }

    // Revoked: refused at once, the node keeps serving its last good config.
    portal.revoke(&node_id, &node).await;
    assert_eq!(served_by(&node, "shop.test").await.as_deref(), Some("b"));
}
