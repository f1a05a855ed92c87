//! Node enrollment through the API on both databases: a join token works once and expires,
//! the node learns the portal's public key, a revoked node is refused at once, and another
//! tenant can neither see nor revoke the node.

use crate::flows::signed_up_with_token;
use crate::support::{backends, Portal};
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};
use weir_testkit::smtp::SmtpSink;

async fn call(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let r = req.send().await.expect("request");
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_enroll_once_pin_the_portal_key_and_are_revoked_at_once() {
    let smtp = SmtpSink::start();
    for (backend, url, _keep) in backends() {
        let p = Portal::start(&url, &smtp.url()).await;
        let a = signed_up_with_token(&p, &smtp, &format!("ops.{backend}@example.test")).await;
        let b = signed_up_with_token(&p, &smtp, &format!("eve.{backend}@example.test")).await;
        let api = reqwest::Client::new();
        let at = |path: &str| p.url(&format!("/api/t/{}{path}", a.tenant));

        let (status, body) = call(
            api.post(at("/nodes"))
                .bearer_auth(&a.token)
                .json(&json!({"name": ""})),
        )
        .await;
        assert_eq!(
            (status, body["problems"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("name"))
        );
        let (status, created) = call(
            api.post(at("/nodes"))
                .bearer_auth(&a.token)
                .json(&json!({"name": "edge-1"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let join = created["join_token"].as_str().unwrap().to_string();
        let node_id = created["node"]["id"].as_str().unwrap().to_string();
        assert!(created["command"].as_str().unwrap().contains(&join));
        assert!(created["node"]["enrolled_at"].is_null());

        // Enrollment: credential + the portal's key (32 bytes), once.
        let enroll = |token: &str| {
            api.post(p.url("/api/node/v1/enroll"))
                .json(&json!({"join_token": token, "version": "0.1.0"}))
        };
        let (status, body) = call(enroll("wjt_guessed")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        let (status, enrolled) = call(enroll(&join)).await;
        assert_eq!(status, StatusCode::OK, "{enrolled}");
        assert_eq!(
            (enrolled["node_id"].as_str(), enrolled["tenant_id"].as_str()),
            (Some(node_id.as_str()), Some(a.tenant.as_str()))
        );
        let key = base64::engine::general_purpose::STANDARD
            .decode(enrolled["portal_public_key"].as_str().unwrap())
            .unwrap();
        let key: [u8; 32] = key.try_into().expect("32 bytes");
        assert!(ed25519_dalek::VerifyingKey::from_bytes(&key).is_ok());
        assert_eq!(
            enrolled["portal_public_key"],
            p.state.nodes.public_key().as_str()
        );
        let (status, body) = call(enroll(&join)).await;
        assert_eq!(
            status,
            StatusCode::CONFLICT,
            "a join token works once: {body}"
        );
        assert!(body["error"].as_str().unwrap().contains("already used"));

        let credential = enrolled["credential"].as_str().unwrap().to_string();
        let whoami = || {
            api.get(p.url("/api/node/v1/whoami"))
                .header("authorization", format!("Node {credential}"))
        };
        let (status, me) = call(whoami()).await;
        assert_eq!(
            (status, me["id"].as_str(), me["version"].as_str()),
            (StatusCode::OK, Some(node_id.as_str()), Some("0.1.0"))
        );
        let (_, listed) = call(api.get(at("/nodes")).bearer_auth(&a.token)).await;
        assert!(
            listed["nodes"][0]["enrolled_at"].is_i64()
                && listed["nodes"][0]["last_seen_at"].is_i64(),
            "{listed}"
        );
        assert!(
            !listed.to_string().contains(&credential) && !listed.to_string().contains(&join),
            "secrets are never listed"
        );

        // The node gets its tenant's newest config, signed with the key it pinned.
        let bundle = |have: Option<i64>| {
            let mut r = api
                .get(p.url("/api/node/v1/bundle"))
                .header("authorization", format!("Node {credential}"));
            if let Some(v) = have {
                r = r.query(&[("have", v)]);
            }
            r
        };
        let pinned = enrolled["portal_public_key"].as_str().unwrap().to_string();
        let (status, empty) = call(bundle(None)).await;
        assert_eq!(status, StatusCode::OK);
        let empty: weir_bundle::SignedBundle = serde_json::from_value(empty).unwrap();
        assert_eq!(empty.version, 0);
        assert!(empty.verify(&pinned).unwrap().sites.is_empty());
        let pool = json!({"id": "web", "backend": [{"addr": "127.0.0.1:9001"}]});
        let (status, _) = call(api.post(at("/pools")).bearer_auth(&a.token).json(&pool)).await;
        assert_eq!(status, StatusCode::CREATED);
        let (_, signed) = call(bundle(Some(0))).await;
        let mut signed: weir_bundle::SignedBundle = serde_json::from_value(signed).unwrap();
        assert_eq!(signed.version, 1);
        assert_eq!(signed.verify(&pinned).unwrap().pools[0].id, "web");
        assert_eq!(
            call(bundle(Some(1))).await.0,
            StatusCode::NO_CONTENT,
            "the node is up to date"
        );
        signed.bundle = signed.bundle.replace("9001", "6666");
        assert_eq!(
            signed.verify(&pinned),
            Err(weir_bundle::VerifyError::Mismatch),
            "tampering is caught"
        );

        // Another tenant sees nothing and cannot revoke.
        let (status, _) = call(api.get(at("/nodes")).bearer_auth(&b.token)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = call(
            api.delete(at(&format!("/nodes/{node_id}")))
                .bearer_auth(&b.token),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = call(
            api.delete(p.url(&format!("/api/t/{}/nodes/{node_id}", b.tenant)))
                .bearer_auth(&b.token),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(call(whoami()).await.0, StatusCode::OK);

        // Revocation works at once; a revoked node's unused token is refused with the reason.
        let (status, _) = call(
            api.delete(at(&format!("/nodes/{node_id}")))
                .bearer_auth(&a.token),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, body) = call(whoami()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(
            call(bundle(None)).await.0,
            StatusCode::UNAUTHORIZED,
            "no config for a revoked node"
        );
        let (_, spare) = call(
            api.post(at("/nodes"))
                .bearer_auth(&a.token)
                .json(&json!({"name": "edge-2"})),
        )
        .await;
        let spare_id = spare["node"]["id"].as_str().unwrap();
        call(
            api.delete(at(&format!("/nodes/{spare_id}")))
                .bearer_auth(&a.token),
        )
        .await;
        let (status, body) = call(enroll(spare["join_token"].as_str().unwrap())).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body["error"].as_str().unwrap().contains("revoked"));

        // An expired join token says so.
        let expired = "wjt_expired_for_the_test";
        p.state
            .store
            .create_node(
                "node_expired",
                &a.tenant,
                "old",
                &weir_portal::tokens::hash_token(expired),
                1,
                "test",
                1,
            )
            .await
            .unwrap();
        let (status, body) = call(enroll(expired)).await;
        assert_eq!(status, StatusCode::GONE, "{body}");
        assert!(body["error"].as_str().unwrap().contains("expired"));
    }
}
