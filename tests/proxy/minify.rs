//! The `minify` plugin through the real proxy, over a real backend serving the pages of
//! tests/data/minify/: HTML, CSS, JS and JSON get smaller (chunked framing, weak ETag);
//! encoded, `no-transform`, oversize (with or without Content-Length) and broken bodies pass
//! byte for byte; HEAD and 304 stay consistent; a bad config is refused at start.

use crate::node;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use weir_testkit::Node;

/// One canned answer of [`PageServer`].
#[derive(Clone)]
struct Page {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    /// Sent with `Transfer-Encoding: chunked` instead of `Content-Length`.
    chunked: bool,
}

/// A real HTTP/1.1 server (one request per connection) answering each path with a fixed
/// [`Page`]: the testkit backend only serves its own plain-text body.
struct PageServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PageServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PageServer {
    async fn start(pages: HashMap<&'static str, Page>) -> PageServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let pages = Arc::new(pages);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, Arc::clone(&pages)));
            }
        });
        PageServer { addr, task }
    }
}

async fn answer(mut stream: tokio::net::TcpStream, pages: Arc<HashMap<&'static str, Page>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let mut words = head.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or("/"));
    let page = pages.get(path).cloned().unwrap_or(Page {
        status: 404,
        headers: vec![("content-type", "text/plain".into())],
        body: b"no such page\n".to_vec(),
        chunked: false,
    });
    let mut out = format!("HTTP/1.1 {} X\r\nconnection: close\r\n", page.status);
    for (k, v) in &page.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    let body_allowed = method != "HEAD" && page.status != 304;
    if page.chunked {
        out.push_str("transfer-encoding: chunked\r\n\r\n");
    } else if page.status != 304 {
        out.push_str(&format!("content-length: {}\r\n\r\n", page.body.len()));
    } else {
        out.push_str("\r\n");
    }
    let mut bytes = out.into_bytes();
    if body_allowed && page.chunked {
        for chunk in page.body.chunks(16 * 1024) {
            bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            bytes.extend_from_slice(chunk);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"0\r\n\r\n");
    } else if body_allowed {
        bytes.extend_from_slice(&page.body);
    }
    let _ = stream.write_all(&bytes).await;
    let _ = stream.shutdown().await;
}

fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/minify/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn page(content_type: &str, etag: &str, body: Vec<u8>) -> Page {
    Page {
        status: 200,
        headers: vec![
            ("content-type", content_type.to_string()),
            ("etag", format!("\"{etag}\"")),
        ],
        body,
        chunked: false,
    }
}

/// Largest body the plugin minifies in these tests.
const MAX_BYTES: usize = 64 * 1024;

/// A page well over [`MAX_BYTES`]: the blog article many times.
fn oversize_html() -> Vec<u8> {
    let blog = String::from_utf8(data("blog.html")).expect("utf-8");
    blog.repeat(MAX_BYTES / blog.len() + 4).into_bytes()
}

fn pages() -> HashMap<&'static str, Page> {
    let html = "text/html; charset=utf-8";
    let mut pages = HashMap::new();
    for name in ["blog", "shop", "docs", "form", "recipe", "newsletter"] {
        let path: &'static str = Box::leak(format!("/{name}.html").into_boxed_str());
        pages.insert(path, page(html, name, data(&format!("{name}.html"))));
    }
    pages.insert("/site.css", page("text/css", "css", data("site.css")));
    pages.insert(
        "/app.js",
        page("application/javascript", "js", data("app.js")),
    );
    pages.insert(
        "/products.json",
        page("application/json", "json", data("products.json")),
    );
    pages.insert(
        "/chunked.html",
        Page {
            chunked: true,
            ..page(html, "chunked", data("docs.html"))
        },
    );
    let mut gzip = page(html, "gz", data("blog.html"));
    gzip.headers.push(("content-encoding", "gzip".into()));
    pages.insert("/gzip.html", gzip);
    let mut keep = page(html, "keep", data("blog.html"));
    keep.headers
        .push(("cache-control", "public, no-transform".into()));
    pages.insert("/no-transform.html", keep);
    pages.insert("/big.html", page(html, "big", oversize_html()));
    pages.insert(
        "/big-chunked.html",
        Page {
            chunked: true,
            ..page(html, "bigc", oversize_html())
        },
    );
    pages.insert(
        "/broken.js",
        page(
            "text/javascript",
            "broken",
            b"function broken( {\n  return   1;\n".to_vec(),
        ),
    );
    pages.insert(
        "/logo.png",
        page(
            "image/png",
            "png",
            b"\x89PNG\r\n\x1a\n    not text   ".to_vec(),
        ),
    );
    pages.insert(
        "/cached.html",
        Page {
            status: 304,
            headers: vec![("etag", "\"blog\"".into())],
            body: Vec::new(),
            chunked: false,
        },
    );
    pages
}

/// Where the tests' nodes keep the precompiled plugin: compiling the ~10 MB component takes
/// longer than a node may take to start in a debug build, so it is compiled once, up front.
fn cache_dir() -> String {
    format!("{}/minify-plugin-cache", env!("CARGO_TARGET_TMPDIR"))
}

/// Site `shop` (tenant `acme`) over `addr` with the minify plugin and its `config`.
fn site(addr: SocketAddr, config: &str) -> String {
    format!(
        "[[site]]\nid = \"shop\"\ntenant = \"acme\"\nhosts = [\"shop.test\"]\npool = \"web\"\n\
         [[site.plugin]]\nname = \"minify\"\nsource = \"{}/plugins/dist/minify.wasm\"\n\
         on_error = \"fail_open\"\ndeadline_ms = 500\nmemory_mb = 64\nconfig = {config}\n\
         [[pool]]\nid = \"web\"\n[[pool.backend]]\naddr = \"{addr}\"\n",
        env!("CARGO_MANIFEST_DIR"),
    )
}

/// Fills [`cache_dir`] once per test run with `weir check-config`, which compiles the plugin.
async fn precompile() {
    static DONE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    DONE.get_or_init(|| async {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("weir.toml");
        let text = format!(
            "[proxy]\nplugin_cache_dir = \"{}\"\n\n{}",
            cache_dir(),
            site("127.0.0.1:9".parse().expect("addr"), "{}")
        );
        std::fs::write(&config, text).expect("write config");
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_weir"))
            .arg("check-config")
            .arg(&config)
            .output()
            .await
            .expect("run weir check-config");
        assert!(
            out.status.success(),
            "check-config: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    })
    .await;
}

/// A node with the minify plugin on site `shop` over `server`.
async fn start(server: &PageServer, config: &str) -> Node {
    precompile().await;
    node()
        .proxy(&format!("plugin_cache_dir = \"{}\"", cache_dir()))
        .start(&site(server.addr, config))
        .await
}

async fn request(
    n: &Node,
    method: reqwest::Method,
    path: &str,
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let resp = n
        .client(&["shop.test"])
        .request(method, n.url("shop.test", path))
        .send()
        .await
        .expect("request");
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = resp.bytes().await.expect("body").to_vec();
    (status, headers, body)
}

async fn get(n: &Node, path: &str) -> (reqwest::StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    request(n, reqwest::Method::GET, path).await
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Value of `weir_plugin_metric_total{..., name="<name>"}` (0 when absent).
async fn plugin_metric(n: &Node, name: &str) -> u64 {
    let text = n.metrics().await;
    let needle = format!("name=\"{name}\"");
    text.lines()
        .filter(|l| l.starts_with("weir_plugin_metric_total") && l.contains(&needle))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

const CONFIG: &str = "{ max_bytes = 65536 }";

#[tokio::test]
async fn minify_shrinks_html_css_js_and_json_with_chunked_framing_and_a_weak_etag() {
    let server = PageServer::start(pages()).await;
    let n = start(&server, CONFIG).await;
    let cases = [
        (
            "/blog.html",
            "blog.html",
            "Why we moved our edge to WebAssembly",
            "blog",
        ),
        ("/shop.html", "shop.html", "Trail Runner 3", "shop"),
        (
            "/docs.html",
            "docs.html",
            "Two spaces before this comment are kept.",
            "docs",
        ),
        (
            "/form.html",
            "form.html",
            "  I would like to return order #A-10442 (two items):\n    - Trail",
            "form",
        ),
        (
            "/recipe.html",
            "recipe.html",
            "\"name\": \"Maria   Ferreira\"",
            "recipe",
        ),
        (
            "/newsletter.html",
            "newsletter.html",
            "Bytes saved by minification",
            "newsletter",
        ),
        ("/site.css", "site.css", "prefers-color-scheme:dark", "css"),
        ("/app.js", "app.js", "acme.cart.v2", "js"),
        (
            "/products.json",
            "products.json",
            "\"sku\":\"SKU-0007\"",
            "json",
        ),
        (
            "/chunked.html",
            "docs.html",
            "Configuring plugins",
            "chunked",
        ),
    ];
    let mut saved = 0;
    for (path, file, must_contain, etag) in cases {
        let original = data(file);
        let (status, headers, body) = get(&n, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            body.len() < original.len(),
            "{path}: {} !< {}",
            body.len(),
            original.len()
        );
        let text = String::from_utf8(body.clone()).expect("utf-8");
        assert!(
            text.contains(must_contain),
            "{path} keeps {must_contain:?}:\n{text}"
        );
        assert_eq!(
            header(&headers, "etag"),
            Some(format!("W/\"{etag}\"").as_str()),
            "{path}: ETag weakened"
        );
        assert_eq!(
            header(&headers, "content-length"),
            None,
            "{path}: the original length is gone"
        );
        assert_eq!(
            header(&headers, "transfer-encoding"),
            Some("chunked"),
            "{path}: framed chunked"
        );
        saved += original.len() - body.len();
    }
    assert_eq!(plugin_metric(&n, "minified").await, cases.len() as u64);
    assert_eq!(plugin_metric(&n, "bytes_saved").await, saved as u64);
}

#[tokio::test]
async fn encoded_no_transform_and_non_text_responses_pass_byte_for_byte() {
    let server = PageServer::start(pages()).await;
    let n = start(&server, CONFIG).await;
    for (path, original, etag) in [
        ("/gzip.html", data("blog.html"), "gz"),
        ("/no-transform.html", data("blog.html"), "keep"),
        (
            "/logo.png",
            b"\x89PNG\r\n\x1a\n    not text   ".to_vec(),
            "png",
        ),
    ] {
        let (status, headers, body) = get(&n, path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(body, original, "{path} untouched");
        assert_eq!(
            header(&headers, "etag"),
            Some(format!("\"{etag}\"").as_str()),
            "{path}: ETag kept strong"
        );
    }
    assert_eq!(plugin_metric(&n, "minified").await, 0);
    assert_eq!(plugin_metric(&n, "skipped_encoded").await, 1);
    assert_eq!(plugin_metric(&n, "skipped_no_transform").await, 1);
}

#[tokio::test]
async fn oversize_bodies_pass_whole_with_or_without_content_length() {
    let server = PageServer::start(pages()).await;
    let n = start(&server, CONFIG).await;
    let original = oversize_html();
    assert!(original.len() > MAX_BYTES);
    let (status, headers, body) = get(&n, "/big.html").await;
    assert_eq!(status, 200);
    assert_eq!(
        body.len(),
        original.len(),
        "announced oversize body not cut"
    );
    assert_eq!(body, original, "announced oversize body untouched");
    assert_eq!(
        header(&headers, "etag"),
        Some("\"big\""),
        "not minified: ETag stays strong"
    );
    let (status, _, body) = get(&n, "/big-chunked.html").await;
    assert_eq!(status, 200);
    assert_eq!(body.len(), original.len(), "chunked oversize body not cut");
    assert_eq!(body, original, "chunked oversize body untouched");
    assert_eq!(plugin_metric(&n, "minified").await, 0);
}

#[tokio::test]
async fn head_and_304_carry_the_same_weak_etag_as_the_minified_get() {
    let server = PageServer::start(pages()).await;
    let n = start(&server, CONFIG).await;
    let (_, get_headers, _) = get(&n, "/blog.html").await;
    let (status, headers, body) = request(&n, reqwest::Method::HEAD, "/blog.html").await;
    assert_eq!(status, 200);
    assert!(body.is_empty());
    assert_eq!(header(&headers, "etag"), header(&get_headers, "etag"));
    assert_eq!(header(&headers, "etag"), Some("W/\"blog\""));
    let original_len = data("blog.html").len().to_string();
    assert_ne!(
        header(&headers, "content-length"),
        Some(original_len.as_str()),
        "HEAD does not announce the unminified length"
    );
    let (status, headers, body) = get(&n, "/cached.html").await;
    assert_eq!(status, 304);
    assert!(body.is_empty());
    assert_eq!(
        header(&headers, "etag"),
        Some("W/\"blog\""),
        "304 matches the minified 200"
    );
}

#[tokio::test]
async fn a_body_the_minifier_rejects_is_served_as_is_and_counted() {
    let server = PageServer::start(pages()).await;
    let n = start(&server, CONFIG).await;
    let (status, _, body) = get(&n, "/broken.js").await;
    assert_eq!(status, 200);
    assert_eq!(body, b"function broken( {\n  return   1;\n");
    assert_eq!(plugin_metric(&n, "failed").await, 1);
}

#[tokio::test]
async fn types_limit_what_is_minified() {
    let server = PageServer::start(pages()).await;
    let n = start(&server, "{ types = [\"css\"] }").await;
    let (_, headers, body) = get(&n, "/blog.html").await;
    assert_eq!(body, data("blog.html"), "html not listed: untouched");
    assert_eq!(header(&headers, "etag"), Some("\"blog\""));
    let (_, _, body) = get(&n, "/site.css").await;
    assert!(body.len() < data("site.css").len(), "css listed: minified");
}

#[tokio::test]
async fn a_bad_config_is_refused_naming_the_field() {
    let server = PageServer::start(pages()).await;
    precompile().await;
    let builder = || node().proxy(&format!("plugin_cache_dir = \"{}\"", cache_dir()));
    let err = builder()
        .try_start(&site(server.addr, "{ types = [\"html\", \"xml\"] }"))
        .await
        .err()
        .expect("must not start");
    assert!(err.contains("types[1]: unknown type \"xml\""), "{err}");
    let err = builder()
        .try_start(&site(server.addr, "{ max_bytes = 0 }"))
        .await
        .err()
        .expect("must not start");
    assert!(err.contains("max_bytes: 0 is out of range"), "{err}");
}
