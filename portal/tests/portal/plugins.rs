//! The plugin registry through the API: uploads validated with exact reasons, versions per
//! name, assignment to sites (built-in or uploaded, config checked by the plugin's own init),
//! and no tenant can use another's uploads.

use crate::support::{backends, Portal};
use reqwest::StatusCode;
use serde_json::{json, Value};
use weir_testkit::smtp::SmtpSink;

fn dist(name: &str) -> Vec<u8> {
    let path = format!("{}/../plugins/dist/{name}.wasm", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn upload(
    api: &reqwest::Client,
    url: String,
    token: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let r = api
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/wasm")
        .body(bytes)
        .send()
        .await
        .expect("upload");
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_validated_versioned_and_private_to_their_tenant() {
    let smtp = SmtpSink::start();
    for (backend, url, _keep) in backends() {
        let p = Portal::start(&url, &smtp.url()).await;
        let a =
            crate::flows::signed_up_with_token(&p, &smtp, &format!("pat.{backend}@example.test"))
                .await;
        let b =
            crate::flows::signed_up_with_token(&p, &smtp, &format!("quinn.{backend}@example.test"))
                .await;
        let api = reqwest::Client::new();
        let at = |path: &str| p.url(&format!("/api/t/{}{path}", a.tenant));
        let bt = |path: &str| p.url(&format!("/api/t/{}{path}", b.tenant));

        let (status, body) = upload(
            &api,
            at("/plugins/my-filter?notes=first"),
            &a.token,
            dist("noop"),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["source"], "registry:my-filter@1");
        let sha = body["sha256"].as_str().unwrap().to_string();
        let (status, body) = upload(&api, at("/plugins/my-filter"), &a.token, dist("noop")).await;
        assert_eq!(
            (status, body["source"].as_str()),
            (StatusCode::CREATED, Some("registry:my-filter@2"))
        );
        assert_eq!(body["sha256"], sha.as_str(), "same content, same address");

        // Bad uploads: the exact reason, and nothing stored.
        for (bytes, reason) in [
            (b"hello".to_vec(), "bad magic bytes"),
            (
                b"\0asm\x01\0\0\0".to_vec(),
                "core WebAssembly module, not a component",
            ),
        ] {
            let (status, body) = upload(&api, at("/plugins/my-filter"), &a.token, bytes).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert_eq!(body["problems"][0]["field"], "file");
            assert!(
                body["problems"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains(reason),
                "{body}"
            );
        }
        let (status, body) = upload(&api, at("/plugins/Bad_Name"), &a.token, dist("noop")).await;
        assert_eq!(
            (status, body["problems"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("name"))
        );
        let (status, body) = upload(
            &api,
            at("/plugins/big"),
            &a.token,
            vec![0u8; (16 << 20) + 10],
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        let listed: Value = api
            .get(at("/plugins"))
            .bearer_auth(&a.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(listed["uploaded"].as_array().unwrap().len(), 2, "{listed}");
        assert!(listed["builtin"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["source"] == "builtin:waf"));

        // Assigning: uploads and built-ins, configs checked by the plugin itself.
        let pool = json!({"id": "web", "backend": [{"addr": "127.0.0.1:9001"}]});
        for t in [&a, &b] {
            let r = api
                .post(p.url(&format!("/api/t/{}/pools", t.tenant)))
                .bearer_auth(&t.token)
                .json(&pool)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
        }
        let site = |source: &str, config: Value| json!({"id": "shop", "hosts": ["shop.example"], "pool": "web", "plugin": [{"name": "p", "source": source, "config": config}]});
        let r = api
            .post(at("/sites"))
            .bearer_auth(&a.token)
            .json(&site("builtin:waf", json!({"paranoia": 7})))
            .send()
            .await
            .unwrap();
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["problems"][0]["field"], "plugin[0].config", "{body}");
        assert!(
            body["problems"][0]["message"]
                .as_str()
                .unwrap()
                .contains("paranoia"),
            "{body}"
        );
        let r = api
            .post(at("/sites"))
            .bearer_auth(&a.token)
            .json(&site("registry:my-filter@9", json!({})))
            .send()
            .await
            .unwrap();
        let body: Value = r.json().await.unwrap();
        assert!(
            body["problems"][0]["message"]
                .as_str()
                .unwrap()
                .contains("no plugin my-filter version 9"),
            "{body}"
        );
        let r = api
            .post(at("/sites"))
            .bearer_auth(&a.token)
            .json(&site("registry:my-filter@1", json!({})))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        // Tenant B can neither use nor list A's upload.
        let r = api
            .post(bt("/sites"))
            .bearer_auth(&b.token)
            .json(&site("registry:my-filter@1", json!({})))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let listed: Value = api
            .get(bt("/plugins"))
            .bearer_auth(&b.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(listed["uploaded"], json!([]));
        let (status, _) = upload(&api, at("/plugins/evil"), &b.token, dist("noop")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
