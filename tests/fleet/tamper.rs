//! A man in the middle between node and portal: a bundle whose text was changed in transit
//! fails the signature check, a plugin component whose bytes were changed fails the hash
//! check; either way the node keeps serving its previous config, and takes the real one once
//! the path is clean again.

use crate::support::{eventually, managed, node_bundle_version, served_by, PortalProc};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir_testkit::Backend;

const PASS: u8 = 0;
const TAMPER_BUNDLES: u8 = 1;
const TAMPER_BLOBS: u8 = 2;

#[derive(Clone)]
struct Mitm {
    upstream: String,
    mode: Arc<AtomicU8>,
    /// In tampered bundles, this text is replaced by `to`.
    from: String,
    to: String,
}

/// Forwards every request to the portal, changing bundles or blobs on the way back.
async fn forward(State(m): State<Mitm>, req: Request) -> Response {
    let url = format!("{}{}", m.upstream, req.uri());
    let mut out = reqwest::Client::new().request(req.method().clone(), url);
    for (k, v) in req.headers() {
        if k != "host" {
            out = out.header(k, v);
        }
    }
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let Ok(up) = out.body(body).send().await else {
        return Response::builder()
            .status(502)
            .body(Body::empty())
            .expect("response");
    };
    let mut resp = Response::builder().status(up.status().as_u16());
    for (k, v) in up.headers() {
        if k != "content-length" && k != "transfer-encoding" {
            resp = resp.header(k, v);
        }
    }
    let mode = m.mode.load(Ordering::Relaxed);
    let path = up.url().path().to_string();
    if path.starts_with("/api/node/v1/blobs/") && mode == TAMPER_BLOBS {
        let mut bytes = up.bytes().await.unwrap_or_default().to_vec();
        if let Some(last) = bytes.last_mut() {
            *last ^= 0xff;
        }
        return resp.body(Body::from(bytes)).expect("response");
    }
    // The mode is read for every chunk: a stream opened before tampering starts is tampered too.
    let stream = futures_util::stream::unfold((up, m), |(mut up, m)| async move {
        let chunk = up.chunk().await.ok()??;
        let tamper = m.mode.load(Ordering::Relaxed) == TAMPER_BUNDLES;
        let chunk = if tamper && chunk.windows(13).any(|w| w == b"event: bundle") {
            bytes::Bytes::from(String::from_utf8_lossy(&chunk).replace(&m.from, &m.to))
        } else {
            chunk
        };
        Some((Ok::<_, std::io::Error>(chunk), (up, m)))
    });
    resp.body(Body::from_stream(stream)).expect("response")
}

async fn start_mitm(m: Mitm) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().fallback(forward).with_state(m);
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn dist(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/plugins/dist/{name}.wasm",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("plugin")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_bundles_and_components_are_refused_and_the_previous_config_stays() {
    let (a, evil) = (Backend::start("a").await, Backend::start("evil").await);
    let portal = PortalProc::start().await;
    let setter = portal.upload("setter", dist("header-setter")).await;
    portal.pool("web", &[a.addr()]).await;
    let site = |plugins: serde_json::Value| json!({"hosts": ["shop.test"], "pool": "web", "plugin": plugins});
    let tag = json!({"name": "tag", "source": format!("registry:setter@{setter}"), "config": {"name": "v1"}});
    portal
        .put("sites", "shop", site(json!([tag.clone()])))
        .await;
    let mode = Arc::new(AtomicU8::new(PASS));
    let mitm = start_mitm(Mitm {
        upstream: portal.url(""),
        mode: Arc::clone(&mode),
        from: format!("\\\"addr\\\":\\\"{}\\\"", a.addr()),
        to: format!("\\\"addr\\\":\\\"{}\\\"", evil.addr()),
    })
    .await;
    let (node_id, join) = portal.new_node("edge").await;
    let data = tempfile::tempdir().expect("dir");
    let node = managed(data.path(), &format!("http://{mitm}"), Some(&join))
        .start("")
        .await;
    let client = node.client(&["shop.test"]);
    let at_work = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(r) = client.get(node.url("shop.test", "/")).send().await {
                if r.headers().get("x-seen-plugin-v1").is_some() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        at_work.is_ok(),
        "the uploaded plugin at work: {}",
        node.log()
    );
    let good = node_bundle_version(&node).await;

    // A bundle changed in transit: refused, the node stays on `a`.
    mode.store(TAMPER_BUNDLES, Ordering::Relaxed);
    portal
        .put(
            "pools",
            "web",
            json!({"backend": [{"addr": a.addr().to_string(), "weight": 2}]}),
        )
        .await;
    node.log_with("does not match").await;
    assert!(
        node.log()
            .contains("the signature does not match the bundle"),
        "{}",
        node.log()
    );
    // The refusal reaches the portal with the next heartbeat.
    let listed = eventually(
        Duration::from_secs(10),
        "the refusal in the portal",
        || async {
            let n = portal.node(&node_id).await;
            let error = n["status"]["apply_error"].as_str()?.to_string();
            error.contains("does not match").then_some(error)
        },
    )
    .await;
    assert!(listed.contains("bundle version"), "{listed}");
    assert_eq!(node_bundle_version(&node).await, good);
    assert_eq!(served_by(&node, "shop.test").await.as_deref(), Some("a"));
    // Clean again: the real bundle arrives.
    mode.store(PASS, Ordering::Relaxed);
    eventually(Duration::from_secs(40), "the real bundle", || async {
        (node_bundle_version(&node).await > good).then_some(())
    })
    .await;
    assert_eq!(served_by(&node, "shop.test").await.as_deref(), Some("a"));
    let good = node_bundle_version(&node).await;

    // A component changed in transit: refused by its hash, nothing stored, old config stays.
    mode.store(TAMPER_BLOBS, Ordering::Relaxed);
    let counter = portal.upload("counter", dist("kv-counter")).await;
    let count = json!({"name": "count", "source": format!("registry:counter@{counter}"), "config": {"key": "hits"}});
    portal.put("sites", "shop", site(json!([tag, count]))).await;
    node.log_with("SHA-256").await;
    assert!(node.log().contains("refused"), "{}", node.log());
    assert_eq!(node_bundle_version(&node).await, good);
    let blobs = std::fs::read_dir(data.path().join("blobs"))
        .expect("blobs")
        .count();
    assert_eq!(blobs, 1, "only the setter's component is kept");
    let r = client
        .get(node.url("shop.test", "/"))
        .send()
        .await
        .expect("get");
    assert!(r.headers().get("x-seen-kv-count").is_none());
    mode.store(PASS, Ordering::Relaxed);
    eventually(Duration::from_secs(40), "the real component", || async {
        let r = client.get(node.url("shop.test", "/")).send().await.ok()?;
        r.headers().get("x-seen-kv-count").is_some().then_some(())
    })
    .await;
}
