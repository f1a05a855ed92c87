//! Unit tests of the whole router: config in, actions out.

use crate::compile::compile;
use crate::matcher::tests::request;
use crate::router::Router;
use serde_json::json;
use weir_plugin_sdk::{Reply, Request, RequestAction as A, Response, ResponseAction};

/// Asserts that two values print the same (the SDK's types have no `PartialEq`).
macro_rules! same {
    ($got:expr, $want:expr $(,)?) => {
        assert_eq!(format!("{:?}", $got), format!("{:?}", $want))
    };
    ($got:expr, $want:expr, $($msg:tt)+) => {
        assert_eq!(format!("{:?}", $got), format!("{:?}", $want), $($msg)+)
    };
}

/// No actions.
const NOTHING: [u8; 0] = [];

fn router(config: serde_json::Value) -> Router {
    compile(&config.to_string()).unwrap_or_else(|e| panic!("config rejected: {e}"))
}

fn error(config: serde_json::Value) -> String {
    compile(&config.to_string()).expect_err("config must be rejected")
}

fn get(path: &str) -> Request {
    request("GET", "shop.test", path, "", &[])
}

fn route(pool: &str) -> A {
    A::RouteTo(pool.into())
}

#[test]
fn first_match_wins_and_the_default_catches_the_rest() {
    let r = router(json!({
        "rules": [
            {"name": "api", "match": {"path": {"prefix": "/api/"}}, "pool": "api"},
            {"name": "api-too", "match": {"path": {"prefix": "/api"}}, "pool": "other"},
            {"name": "home", "match": {"path": {"exact": "/"}}, "pool": "home"}
        ],
        "default": {"pool": "web"}
    }));
    same!(r.on_request(&get("/api/users")), [route("api")]);
    same!(r.on_request(&get("/apix")), [route("other")]);
    same!(r.on_request(&get("/")), [route("home")]);
    same!(r.on_request(&get("/index.html")), [route("web")]);
    let no_default =
        router(json!({"rules": [{"match": {"path": {"exact": "/"}}, "pool": "home"}]}));
    same!(no_default.on_request(&get("/else")), NOTHING);
    same!(router(json!({})).on_request(&get("/")), NOTHING);
}

#[test]
fn host_scheme_method_header_cookie_and_query_conditions() {
    let r = router(json!({"rules": [
        {"match": {"host": "API.example.com"}, "pool": "exact-host"},
        {"match": {"host": "*.example.com"}, "pool": "sub-host"},
        {"match": {"scheme": "https", "path": {"prefix": "/secure"}}, "pool": "tls"},
        {"match": {"methods": ["post", "PUT"], "path": {"prefix": "/write"}}, "pool": "writes"},
        {"match": {"headers": {"X-Beta": "1"}}, "pool": "beta"},
        {"match": {"headers": {"x-version": {"regex": "^v[23]$"}}}, "pool": "v23"},
        {"match": {"headers": {"x-debug": {"present": true}}, "path": {"prefix": "/dbg"}}, "pool": "debug"},
        {"match": {"cookies": {"plan": "gold"}}, "pool": "gold"},
        {"match": {"query": {"lang": "fr", "q": {"regex": "^caf"}}}, "pool": "fr"},
        {"match": {"query": {"preview": {"present": true}}, "headers": {"x-no": {"present": false}}}, "pool": "preview"}
    ]}));
    let at = |host: &str| request("GET", host, "/", "", &[]);
    same!(r.on_request(&at("api.example.com")), [route("exact-host")]);
    same!(r.on_request(&at("eu.example.com")), [route("sub-host")]);
    same!(
        r.on_request(&at("example.com")),
        NOTHING,
        "*.x does not match the apex"
    );
    let mut tls = get("/secure/x");
    same!(r.on_request(&tls), NOTHING);
    tls.scheme = "https".into();
    same!(r.on_request(&tls), [route("tls")]);
    let post = request("POST", "shop.test", "/write", "", &[]);
    same!(r.on_request(&post), [route("writes")]);
    same!(r.on_request(&get("/write")), NOTHING);
    let h = |headers: &[(&str, &str)], path: &str| request("GET", "shop.test", path, "", headers);
    same!(r.on_request(&h(&[("x-beta", "1")], "/")), [route("beta")]);
    same!(r.on_request(&h(&[("x-beta", "2")], "/")), NOTHING);
    same!(
        r.on_request(&h(&[("x-version", "v3")], "/")),
        [route("v23")]
    );
    same!(r.on_request(&h(&[("x-version", "v4")], "/")), NOTHING);
    same!(
        r.on_request(&h(&[("x-debug", "")], "/dbg")),
        [route("debug")]
    );
    same!(r.on_request(&h(&[("x-debug", "")], "/")), NOTHING);
    same!(
        r.on_request(&h(&[("cookie", "a=1; plan=gold")], "/")),
        [route("gold")]
    );
    same!(r.on_request(&h(&[("cookie", "plan=silver")], "/")), NOTHING);
    let q =
        |query: &str, headers: &[(&str, &str)]| request("GET", "shop.test", "/", query, headers);
    same!(r.on_request(&q("lang=fr&q=caf%C3%A9", &[])), [route("fr")]);
    same!(r.on_request(&q("lang=fr&q=tea", &[])), NOTHING);
    same!(r.on_request(&q("preview", &[])), [route("preview")]);
    same!(r.on_request(&q("preview", &[("x-no", "1")])), NOTHING);
}

#[test]
fn rewrites_use_captures_and_keep_the_query() {
    let r = router(json!({"rules": [
        {"match": {"path": {"regex": "^/users/(\\d+)/(?P<tab>[a-z]+)$"}},
         "rewrite": "/v2/users/$1?tab=${tab}", "pool": "api"},
        {"match": {"path": {"prefix": "/old/"}}, "rewrite": "/new/$1",
         "set_headers": {"x-from": "$0", "x-host": "${host}"}, "remove_headers": ["X-Debug"]},
    ]}));
    same!(
        r.on_request(&get("/users/42/posts")),
        [
            A::RewritePath("/v2/users/42?tab=posts".into()),
            route("api")
        ]
    );
    same!(r.on_request(&get("/users/x/posts")), NOTHING);
    let req = request("GET", "shop.test", "/old/a/b", "x=1", &[]);
    same!(
        r.on_request(&req),
        [
            A::RemoveHeader("x-debug".into()),
            A::SetHeader(("x-from".into(), "/old/a/b".into())),
            A::SetHeader(("x-host".into(), "shop.test".into())),
            A::RewritePath("/new/a/b?x=1".into()),
        ]
    );
}

#[test]
fn redirects_and_fixed_answers_end_the_list() {
    let r = router(json!({"rules": [
        {"match": {"scheme": "http"}, "redirect": {"to": "https://${host}${path}", "status": 308}},
        {"match": {"path": {"regex": "^/go/(.*)$"}}, "redirect": {"to": "https://docs.example.com/$1"}},
        {"match": {"path": {"exact": "/health"}},
         "respond": {"status": 200, "body": "ok\n", "headers": {"cache-control": "no-store"}}}
    ]}));
    let plain = request("GET", "shop.test", "/a", "b=1", &[]);
    same!(
        r.on_request(&plain),
        [A::Redirect((308, "https://shop.test/a?b=1".into()))]
    );
    let mut tls = get("/go/intro");
    tls.scheme = "https".into();
    same!(
        r.on_request(&tls),
        [A::Redirect((302, "https://docs.example.com/intro".into()))]
    );
    tls.path = "/health".into();
    same!(
        r.on_request(&tls),
        [A::Respond(Reply {
            status: 200,
            headers: vec![
                ("content-type".into(), "text/plain; charset=utf-8".into()),
                ("cache-control".into(), "no-store".into())
            ],
            body: b"ok\n".to_vec(),
        })]
    );
}

#[test]
fn canary_rules_route_mark_and_set_the_sticky_cookie() {
    let r = router(json!({"rules": [
        {"name": "shop", "match": {"path": {"prefix": "/"}}, "pool": "web",
         "canary": {"pool": "canary", "percent": 100, "cohort": {"headers": {"x-beta": "1"}}}}
    ]}));
    assert!(r.needs_response_hook());
    let fresh = get("/");
    let actions = r.on_request(&fresh);
    same!(
        actions,
        [
            A::SetHeader(("x-weir-canary".into(), "weir_canary=canary".into())),
            route("canary")
        ]
    );
    // The response hook sees the request as the chain left it: with the marker.
    let mut marked = fresh.clone();
    marked
        .headers
        .push(("x-weir-canary".into(), "weir_canary=canary".into()));
    let ok = Response {
        status: 200,
        headers: vec![],
    };
    same!(
        r.on_response(&marked, &ok),
        [ResponseAction::SetHeader((
            "set-cookie".into(),
            "weir_canary=canary; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax".into()
        ))]
    );
    // A backend that sets cookies itself keeps them.
    let own = Response {
        status: 200,
        headers: vec![("set-cookie".into(), "session=1".into())],
    };
    same!(r.on_response(&marked, &own), NOTHING);
    // A stable cookie keeps the client on the rule's pool, without a new cookie.
    let stable = request(
        "GET",
        "shop.test",
        "/",
        "",
        &[("cookie", "weir_canary=stable")],
    );
    same!(r.on_request(&stable), [route("web")]);
    same!(r.on_response(&stable, &ok), NOTHING);
    // A marker the client forged is removed and sets nothing.
    let forged = request(
        "GET",
        "shop.test",
        "/",
        "",
        &[
            ("cookie", "weir_canary=stable"),
            ("x-weir-canary", "weir_canary=canary"),
        ],
    );
    same!(
        r.on_request(&forged),
        [A::RemoveHeader("x-weir-canary".into()), route("web")]
    );
    let non_sticky = router(json!({"rules": [
        {"match": {}, "canary": {"pool": "c", "percent": 100, "sticky": false}}
    ]}));
    assert!(!non_sticky.needs_response_hook());
    same!(non_sticky.on_request(&get("/")), [route("c")]);
}

#[test]
fn invalid_rules_are_rejected_with_their_index_and_reason() {
    let cases = [
        (
            json!({"rules": [{"pool": "a"}, {"name": "bad", "match": {"path": {"regex": "(unclosed"}}, "pool": "a"}]}),
            "rule 1 (bad): match.path.regex: ",
        ),
        (
            json!({"rules": [{"match": {"path": {"prefix": "api"}}, "pool": "a"}]}),
            "rule 0: match.path: `api` must start with '/'",
        ),
        (
            json!({"rules": [{"match": {"path": {"prefix": "/a"}}, "rewrite": "/b/$2"}]}),
            "rule 0: rewrite: `$2` refers to a capture group",
        ),
        (
            json!({"rules": [{"match": {}, "redirect": {"to": "/x", "status": 200}}]}),
            "rule 0: redirect.status: 200 is not 301",
        ),
        (
            json!({"rules": [{"match": {}, "redirect": {"to": "/x"}, "pool": "a"}]}),
            "rule 0: redirect answers the request itself",
        ),
        (
            json!({"rules": [{"name": "n", "match": {}}]}),
            "rule 0 (n): no action",
        ),
        (
            json!({"rules": [{"pool": "a"}, {"pool": "a"}, {"name": "typo", "pols": "a"}]}),
            "rule 2 (typo): pols: unknown field `pols`",
        ),
        (
            json!({"rules": [{"match": {"hots": "x"}, "pool": "a"}]}),
            "rule 0: match.hots: unknown field `hots`",
        ),
        (
            json!({"rules": [{"match": {"headers": {"x-a": {"regex": "["}}}, "pool": "a"}]}),
            "rule 0: match.headers.x-a.regex: ",
        ),
        (
            json!({"rules": [{"match": {"headers": {"x-a": 5}}, "pool": "a"}]}),
            "rule 0: match.headers.x-a: expected a string",
        ),
        (
            json!({"rules": [{"canary": {"pool": "c", "percent": 101}}]}),
            "rule 0: canary.percent: 101 is not between 0 and 100",
        ),
        (
            json!({"rules": [{"canary": {"pool": "c", "cohort": {"path": {"regex": "("}}}}]}),
            "rule 0: canary.cohort.path.regex: ",
        ),
        (
            json!({"rules": [{"rewrite": "no-slash"}]}),
            "rule 0: rewrite: `no-slash` must start with '/'",
        ),
        (
            json!({"rules": [{"set_headers": {"bad header": "1"}}]}),
            "rule 0: set_headers.bad header: not a header name",
        ),
        (
            json!({"default": {"rewrite": "/$1"}}),
            "default: rewrite: `$1`",
        ),
        (json!({"rules": [5]}), "rule 0: a rule must be an object"),
        (
            json!({"rules": [{"canary": {"percent": 5}}]}),
            "rule 0: canary: missing field `pool`",
        ),
        (
            json!({"rules": [{"match": {"path": {"prefix": "/a", "exact": "/b"}}, "pool": "a"}]}),
            "rule 0: match.path: ",
        ),
        (
            json!({"rulez": []}),
            "invalid router config: unknown field `rulez`",
        ),
    ];
    for (config, want) in cases {
        let e = error(config.clone());
        assert!(
            e.starts_with(want),
            "{config}\n  gave: {e}\n  want: {want}…"
        );
    }
}

#[test]
fn the_benchmark_config_loads_and_routes_its_sample_requests() {
    let r = compile(include_str!("../bench/rules.json")).expect("bench/rules.json");
    assert_eq!(r.rules.len(), 20);
    let sample = |text: &str| -> Request {
        let v: serde_json::Value = serde_json::from_str(text).expect("request json");
        let headers: Vec<(String, String)> =
            serde_json::from_value(v["headers"].clone()).expect("headers");
        let h: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        request(
            v["method"].as_str().unwrap_or("GET"),
            v["host"].as_str().unwrap_or(""),
            v["path"].as_str().unwrap_or("/"),
            v["query"].as_str().unwrap_or(""),
            &h,
        )
    };
    let last = sample(include_str!("../bench/request-last-rule.json"));
    let actions = format!("{:?}", r.on_request(&last));
    assert!(
        actions.contains("RouteTo(\"web\")") || actions.contains("RouteTo(\"canary\")"),
        "{actions}"
    );
    let first = sample(include_str!("../bench/request-first-rule.json"));
    same!(
        r.on_request(&first),
        [
            A::SetHeader(("x-section".into(), "admin".into())),
            route("api")
        ]
    );
}
