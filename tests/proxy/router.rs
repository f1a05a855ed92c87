//! The built-in `router` plugin (`builtin:router`) through the real proxy, with real backends
//! in three pools (one named by no site): path and regex routing with rewrites the backend
//! sees, redirects, fixed answers, header / cookie / query / method conditions, the default
//! route, a sticky canary split, and configs rejected at startup with the rule's index.

use crate::node;
use weir_testkit::{Backend, Node};

/// TOML of site `shop` (pool `web`, backend `web`) with the router plugin configured by the
/// `[site.plugin.config]` TOML in `config`, and pools `api` and `canary` that no site names.
/// The deadline is generous: these tests are about routing, on a loaded machine and a debug
/// build (the deadline is wall time).
fn site(web: &Backend, api: &Backend, canary: &Backend, config: &str) -> String {
    format!(
        "[[site]]\nid = \"shop\"\nhosts = [\"shop.test\", \"api.shop.test\"]\npool = \"web\"\n\
         [[site.plugin]]\nname = \"router\"\nsource = \"builtin:router\"\ndeadline_ms = 200\n{config}\n\
         [[pool]]\nid = \"web\"\n[[pool.backend]]\naddr = \"{}\"\n\
         [[pool]]\nid = \"api\"\n[[pool.backend]]\naddr = \"{}\"\n\
         [[pool]]\nid = \"canary\"\n[[pool.backend]]\naddr = \"{}\"\n",
        web.addr(),
        api.addr(),
        canary.addr()
    )
}

/// Backends `web`, `api` and `canary`.
async fn backends() -> (Backend, Backend, Backend) {
    (
        Backend::start("web").await,
        Backend::start("api").await,
        Backend::start("canary").await,
    )
}

/// A client that does not follow redirects.
fn client(n: &Node) -> reqwest::Client {
    n.client_builder(&["shop.test", "api.shop.test"])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Status and body of a request built by `req`.
async fn fetch(req: reqwest::RequestBuilder) -> (u16, String) {
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

const ROUTES: &str = r#"
[[site.plugin.config.rules]]
name = "api"
match = { path = { prefix = "/api/" } }
pool = "api"
rewrite = "/v1/$1"
set_headers = { x-routed-by = "api rule" }

[[site.plugin.config.rules]]
name = "user posts"
match = { path = { regex = '^/users/(\d+)/posts/(?P<post>\d+)$' } }
pool = "api"
rewrite = "/v2/posts/${post}?user=$1"

[[site.plugin.config.rules]]
name = "api host"
match = { host = "api.shop.test" }
pool = "api"

[site.plugin.config.default]
pool = "canary"
set_headers = { x-default = "yes" }
"#;

#[tokio::test]
async fn router_sends_paths_to_pools_and_rewrites_with_captures() {
    let (web, api, canary) = backends().await;
    let n = node().start(&site(&web, &api, &canary, ROUTES)).await;
    let c = client(&n);
    let resp = c
        .get(n.url("shop.test", "/api/items?page=2"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-seen-routed-by"], "api rule");
    assert_eq!(
        resp.text().await.expect("body"),
        "api /v1/items?page=2 body=0\n",
        "the prefix's rest is $1 and the query is kept"
    );
    assert_eq!(
        fetch(c.get(n.url("shop.test", "/users/42/posts/7?x=1"))).await,
        (200, "api /v2/posts/7?user=42 body=0\n".into()),
        "numbered and named captures; a rewrite with its own query replaces the old one"
    );
    assert_eq!(
        fetch(c.get(n.url("shop.test", "/users/me/posts/7"))).await,
        (200, "canary /users/me/posts/7 body=0\n".into()),
        "a regex that does not match falls through to the default"
    );
    assert_eq!(
        fetch(c.get(n.url("api.shop.test", "/anything"))).await,
        (200, "api /anything body=0\n".into())
    );
    let resp = c
        .get(n.url("shop.test", "/about"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        resp.headers()["x-seen-default"],
        "yes",
        "the default route ran"
    );
    assert_eq!(resp.text().await.expect("body"), "canary /about body=0\n");
    assert_eq!(web.hits(), 0, "the default route replaced the site's pool");
}

#[tokio::test]
async fn router_redirects_and_answers_without_a_backend() {
    let (web, api, canary) = backends().await;
    let config = r#"
[[site.plugin.config.rules]]
name = "old docs"
match = { path = { regex = '^/docs/(.*)$' } }
redirect = { to = "https://docs.shop.test/$1", status = 301 }

[[site.plugin.config.rules]]
name = "moved"
match = { path = { exact = "/cart" } }
redirect = { to = "/basket", status = 307 }

[[site.plugin.config.rules]]
name = "robots"
match = { path = { exact = "/robots.txt" }, methods = ["GET", "HEAD"] }
respond = { status = 200, body = "User-agent: *\nDisallow: /admin\n", headers = { cache-control = "max-age=60" } }

[[site.plugin.config.rules]]
name = "maintenance"
match = { path = { prefix = "/admin" } }
respond = { status = 503, body = "<h1>back soon</h1>", content_type = "text/html" }
"#;
    let n = node().start(&site(&web, &api, &canary, config)).await;
    let c = client(&n);
    let resp = c
        .get(n.url("shop.test", "/docs/guide/intro?lang=en"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 301);
    assert_eq!(
        resp.headers()["location"],
        "https://docs.shop.test/guide/intro?lang=en"
    );
    let resp = c
        .post(n.url("shop.test", "/cart"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 307);
    assert_eq!(resp.headers()["location"], "/basket");
    let resp = c
        .get(n.url("shop.test", "/robots.txt"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "max-age=60");
    assert_eq!(
        resp.text().await.expect("body"),
        "User-agent: *\nDisallow: /admin\n"
    );
    let resp = c
        .get(n.url("shop.test", "/admin/users"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["content-type"], "text/html");
    assert_eq!(resp.text().await.expect("body"), "<h1>back soon</h1>");
    assert_eq!(web.hits() + api.hits() + canary.hits(), 0);
    // A POST is not one of the robots rule's methods: it goes on to the site's pool.
    assert_eq!(
        fetch(c.post(n.url("shop.test", "/robots.txt"))).await,
        (200, "web /robots.txt body=0\n".into())
    );
}

#[tokio::test]
async fn router_matches_headers_cookies_query_and_methods() {
    let (web, api, canary) = backends().await;
    let config = r#"
[[site.plugin.config.rules]]
name = "beta header"
match = { headers = { x-beta = "1" } }
pool = "canary"

[[site.plugin.config.rules]]
name = "api clients"
match = { headers = { accept = { regex = "^application/(vnd\\.shop\\+)?json" } } }
pool = "api"

[[site.plugin.config.rules]]
name = "gold plan"
match = { cookies = { plan = "gold" } }
pool = "canary"

[[site.plugin.config.rules]]
name = "preview"
match = { query = { preview = { present = true }, lang = "fr" } }
pool = "canary"

[[site.plugin.config.rules]]
name = "writes"
match = { methods = ["POST", "DELETE"], headers = { x-no-api = { present = false } } }
pool = "api"
remove_headers = ["x-secret"]
"#;
    let n = node().start(&site(&web, &api, &canary, config)).await;
    let c = client(&n);
    let url = |p: &str| n.url("shop.test", p);
    let from = |body: String| body.split(' ').next().unwrap_or_default().to_string();
    let cases: Vec<(reqwest::RequestBuilder, &str)> = vec![
        (c.get(url("/")).header("x-beta", "1"), "canary"),
        (c.get(url("/")).header("x-beta", "2"), "web"),
        (c.get(url("/")).header("accept", "application/json"), "api"),
        (
            c.get(url("/"))
                .header("accept", "application/vnd.shop+json"),
            "api",
        ),
        (c.get(url("/")).header("accept", "text/html"), "web"),
        (
            c.get(url("/")).header("cookie", "theme=dark; plan=gold"),
            "canary",
        ),
        (c.get(url("/")).header("cookie", "plan=silver"), "web"),
        (c.get(url("/?lang=fr&preview")), "canary"),
        (c.get(url("/?lang=de&preview")), "web"),
        (c.get(url("/?lang=fr")), "web"),
        (c.delete(url("/item/1")), "api"),
        (c.delete(url("/item/1")).header("x-no-api", "1"), "web"),
        (c.get(url("/item/1")), "web"),
    ];
    for (i, (req, want)) in cases.into_iter().enumerate() {
        let (status, body) = fetch(req).await;
        assert_eq!(status, 200, "case {i}");
        assert_eq!(from(body.clone()), want, "case {i}: {body}");
    }
    let resp = c
        .post(url("/form"))
        .header("x-secret", "s3cr3t")
        .send()
        .await
        .expect("request");
    assert!(
        resp.headers().get("x-seen-secret").is_none(),
        "remove_headers took the header away before the backend"
    );
    assert_eq!(resp.text().await.expect("body"), "api /form body=0\n");
}

const CANARY: &str = r#"
[[site.plugin.config.rules]]
name = "shop"
match = { path = { prefix = "/" } }
pool = "web"
canary = { pool = "canary", percent = 30, cohort = { headers = { x-beta = "1" } }, max_age_s = 3600 }
"#;

#[tokio::test]
async fn router_canary_splits_by_percent_and_sticks_by_cookie() {
    let (web, api, canary) = backends().await;
    let n = node().start(&site(&web, &api, &canary, CANARY)).await;
    let c = client(&n);
    let url = n.url("shop.test", "/page");
    let clients = 1000;
    let mut on_canary = 0;
    let mut cookies = Vec::new();
    for i in 0..clients {
        let resp = c
            .get(&url)
            .header("user-agent", format!("browser/{i}"))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200, "client {i}");
        let backend = resp.headers()["x-backend"]
            .to_str()
            .expect("ascii")
            .to_string();
        let cookie = resp
            .headers()
            .get("set-cookie")
            .unwrap_or_else(|| panic!("client {i} got no sticky cookie"))
            .to_str()
            .expect("ascii")
            .to_string();
        let side = if backend == "canary" {
            "canary"
        } else {
            "stable"
        };
        assert_eq!(
            cookie,
            format!("weir_canary={side}; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax"),
            "client {i} was served by {backend}"
        );
        on_canary += usize::from(backend == "canary");
        cookies.push((format!("weir_canary={side}"), backend));
    }
    let share = on_canary as f64 / clients as f64;
    assert!(
        (0.25..=0.35).contains(&share),
        "{on_canary} of {clients} clients went to the canary (want 30%)"
    );
    assert_eq!(api.hits(), 0);

    // With the cookie a client stays on its side, whatever its address or agent, and is not
    // given a new cookie.
    for (i, (cookie, backend)) in cookies.iter().enumerate().take(60) {
        for agent in ["other/1", "other/2"] {
            let resp = c
                .get(&url)
                .header("user-agent", agent)
                .header("cookie", format!("a=b; {cookie}"))
                .send()
                .await
                .expect("request");
            assert_eq!(resp.headers()["x-backend"], backend.as_str(), "client {i}");
            assert!(resp.headers().get("set-cookie").is_none(), "client {i}");
        }
    }

    // The cohort always goes to the canary, even with a stable cookie.
    for i in 0..50 {
        let resp = c
            .get(&url)
            .header("user-agent", format!("browser/{i}"))
            .header("x-beta", "1")
            .header("cookie", "weir_canary=stable")
            .send()
            .await
            .expect("request");
        assert_eq!(resp.headers()["x-backend"], "canary", "cohort client {i}");
    }
}

#[tokio::test]
async fn router_config_errors_stop_the_node_and_name_the_rule() {
    let (web, api, canary) = backends().await;
    let bad_regex = r#"
[[site.plugin.config.rules]]
name = "fine"
match = { path = { prefix = "/a" } }
pool = "api"

[[site.plugin.config.rules]]
name = "broken"
match = { path = { regex = "^/(unclosed" } }
pool = "api"
"#;
    let err = node()
        .try_start(&site(&web, &api, &canary, bad_regex))
        .await
        .err()
        .expect("must not start");
    assert!(
        err.contains(
            "site[0].plugin[0]: plugin `router`: init failed: rule 1 (broken): match.path.regex: "
        ),
        "{err}"
    );
    let bad_capture = r#"
[[site.plugin.config.rules]]
match = { path = { exact = "/x" } }
rewrite = "/y/$1"
"#;
    let err = node()
        .try_start(&site(&web, &api, &canary, bad_capture))
        .await
        .err()
        .expect("must not start");
    assert!(
        err.contains("init failed: rule 0: rewrite: `$1` refers to a capture group"),
        "{err}"
    );
}

#[tokio::test]
async fn router_route_to_an_unknown_pool_fails_the_request_by_policy() {
    let (web, api, canary) = backends().await;
    let config = r#"
on_error = "fail_open"
[[site.plugin.config.rules]]
match = { path = { prefix = "/gone" } }
pool = "no-such-pool"
set_headers = { x-routed = "1" }
"#;
    let n = node().start(&site(&web, &api, &canary, config)).await;
    let c = client(&n);
    // fail_open: the plugin's actions are dropped and the site's pool answers.
    let resp = c
        .get(n.url("shop.test", "/gone"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("x-seen-routed").is_none());
    assert_eq!(resp.text().await.expect("body"), "web /gone body=0\n");

    let closed = node()
        .start(&site(
            &web,
            &api,
            &canary,
            &config.replace("fail_open", "fail_closed"),
        ))
        .await;
    let (status, _) = fetch(client(&closed).get(closed.url("shop.test", "/gone"))).await;
    assert_eq!(status, 503);
}
