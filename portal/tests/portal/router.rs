//! Router tests without a socket (tower `oneshot`): the OpenAPI document is served and matches
//! the committed `docs/openapi.json`, and handlers answer malformed or unauthenticated requests
//! with specific errors and the security headers.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;
use weir_portal::{AppState, PortalConfig};

async fn app() -> (axum::Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = PortalConfig {
        data_dir: dir.path().to_path_buf(),
        ..PortalConfig::default()
    };
    let state = AppState::open(config).await.expect("open");
    (weir_portal::router(state), dir)
}

async fn call(
    app: &axum::Router,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
    let response = app.clone().oneshot(req).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .expect("body");
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

/// The served document equals docs/openapi.json; `WEIR_UPDATE_OPENAPI=1` rewrites the file.
#[tokio::test]
async fn the_openapi_document_is_served_and_committed() {
    let (app, _dir) = app().await;
    let (status, headers, served) = call(
        &app,
        Request::get("/api/openapi.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        served,
        serde_json::to_value(weir_portal::openapi()).unwrap()
    );
    let paths = served["paths"].as_object().expect("paths");
    for path in [
        "/api/auth/signup",
        "/api/t/{tenant}/sites/{id}",
        "/api/t/{tenant}/plugins/{name}",
        "/api/t/{tenant}/versions/{version}/rollback",
    ] {
        assert!(paths.contains_key(path), "{path} documented");
    }
    assert!(
        served["components"]["schemas"]["Site"].is_object(),
        "the bundle model is documented"
    );
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    let pretty = serde_json::to_string_pretty(&served).unwrap() + "\n";
    if std::env::var_os("WEIR_UPDATE_OPENAPI").is_some() {
        std::fs::write(file, &pretty).expect("write docs/openapi.json");
    }
    let committed = std::fs::read_to_string(file).unwrap_or_default();
    assert!(
        committed == pretty,
        "docs/openapi.json is stale: run `WEIR_UPDATE_OPENAPI=1 cargo nextest run -p weir-portal openapi` and commit it"
    );
}

#[tokio::test]
async fn handlers_answer_bad_requests_specifically() {
    let (app, _dir) = app().await;
    let (status, headers, _) =
        call(&app, Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-frame-options"], "DENY");
    let (status, _, body) = call(
        &app,
        Request::get("/api/t/tnt_x/sites")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("sign in first"))
    );
    let (status, _, body) = call(
        &app,
        Request::get("/api/t/tnt_x/sites")
            .header("authorization", "Bearer nope")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"].as_str().unwrap().contains("API token"),
        "{body}"
    );
    let (status, _, body) = call(
        &app,
        Request::post("/api/auth/login")
            .header("content-type", "application/json")
            .body(Body::from("{\"email\": 1"))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!body["error"].as_str().unwrap().is_empty());
    let (status, _, body) = call(
        &app,
        Request::post("/api/auth/login")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no content type: {body}");
    let (status, _, body) = call(
        &app,
        Request::post("/api/auth/login")
            .header("content-type", "application/json")
            .body(Body::from(
                r#"{"email":"x@y.test","password":"p","admin":true}"#,
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("unknown field `admin`"),
        "{body}"
    );
}
