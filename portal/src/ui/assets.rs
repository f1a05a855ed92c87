//! Static files (`/static/…`), embedded in the binary. Pages link them with a content hash in
//! the query (`/static/app.css?v=1a2b3c4d5e6f`), so they are cached for a year and a new build
//! is fetched at once.

use crate::app::AppState;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::collections::HashMap;
use std::sync::OnceLock;

/// (name, content type, content).
const FILES: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../static/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/app.js"),
    ),
    (
        "dashboard.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/dashboard.js"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_str!("../../static/icon.svg"),
    ),
];

pub fn routes() -> Router<AppState> {
    Router::new().route("/static/{name}", get(serve))
}

/// Each file's short content hash.
fn hashes() -> &'static HashMap<&'static str, String> {
    static HASHES: OnceLock<HashMap<&'static str, String>> = OnceLock::new();
    HASHES.get_or_init(|| {
        FILES
            .iter()
            .map(|(name, _, body)| {
                let mut hex = weir_sdk_wit::sha256_hex(body.as_bytes());
                hex.truncate(12);
                (*name, hex)
            })
            .collect()
    })
}

/// The URL of a static file, with its content hash.
pub fn url(name: &str) -> String {
    match hashes().get(name) {
        Some(h) => format!("/static/{name}?v={h}"),
        None => format!("/static/{name}"),
    }
}

async fn serve(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
