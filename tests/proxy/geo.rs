//! Geo-fencing through the real proxy: the node's `.mmdb` country database (written by the
//! test), the client IP from `X-Forwarded-For` of trusted proxies only, and the `geofence`
//! plugin's allow and deny lists, unknown-country policy, per-path rules and 403 override;
//! the database replaced on disk while the node runs; config checks of the new keys.
//!
//! Every request comes from 127.0.0.1, so the nodes trust 127.0.0.1/32 and the tests present
//! clients through `X-Forwarded-For`: 203.0.113.0/24 is DE, 198.51.100.0/24 is US, 192.0.2.0/24
//! is in no country.

use crate::node;
use std::process::Command;
use std::time::{Duration, Instant};
use weir_testkit::mmdb::{write_country_db, RecordShape};
use weir_testkit::{Backend, Node, NodeBuilder};

const DE: &str = "203.0.113.5";
const US: &str = "198.51.100.5";
const UNKNOWN: &str = "192.0.2.5";

/// The test database: DE and US networks, with `shape` records.
fn world(shape: RecordShape) -> Vec<u8> {
    write_country_db(
        shape,
        &[("203.0.113.0/24", "DE"), ("198.51.100.0/24", "US")],
    )
}

/// The deadline is generous: these tests are about countries, and a loaded CI machine can
/// stall a 5 ms hook call (a fail-closed 503 would hide what they check).
fn geofence_site(backend: &Backend, config: &str) -> String {
    format!(
        "[[site]]\nid = \"shop\"\nhosts = [\"shop.test\"]\npool = \"web\"\n\
         [[site.plugin]]\nname = \"geo\"\nsource = \"builtin:geofence\"\ndeadline_ms = 200\nconfig = {config}\n\
         [[pool]]\nid = \"web\"\n[[pool.backend]]\naddr = \"{}\"\n",
        backend.addr()
    )
}

/// A node with `db` as its geo database, trusting 127.0.0.1 as a proxy.
fn geo_node(db: Vec<u8>) -> NodeBuilder {
    node()
        .file("country.mmdb", db)
        .proxy("geo_db = \"country.mmdb\"")
        .proxy("trusted_proxies = [\"127.0.0.1/32\"]")
}

/// GET `path` as the client `client_ip` (through the trusted proxy 127.0.0.1).
async fn get_as(n: &Node, client_ip: &str, path: &str) -> reqwest::Response {
    n.client(&["shop.test"])
        .get(n.url("shop.test", path))
        .header("x-forwarded-for", client_ip)
        .send()
        .await
        .expect("request")
}

async fn status_as(n: &Node, client_ip: &str, path: &str) -> u16 {
    get_as(n, client_ip, path).await.status().as_u16()
}

#[tokio::test]
async fn geo_allow_list_passes_listed_countries_and_answers_451_to_the_rest() {
    let b = Backend::start("b").await;
    let n = geo_node(world(RecordShape::GeoIp2))
        .start(&geofence_site(
            &b,
            r#"{ mode = "allow", countries = ["de"] }"#,
        ))
        .await;
    let ok = get_as(&n, DE, "/page").await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.expect("body"), "b /page body=0\n");
    assert_eq!(b.hits(), 1);

    let blocked = get_as(&n, US, "/page").await;
    assert_eq!(blocked.status(), 451);
    assert_eq!(
        blocked.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let page = blocked.text().await.expect("body");
    assert!(page.contains("451 Unavailable For Legal Reasons"), "{page}");
    assert_eq!(b.hits(), 1, "a blocked request never reaches the backend");

    assert_eq!(
        status_as(&n, UNKNOWN, "/").await,
        200,
        "unknown countries pass by default"
    );
    let m = n.metrics().await;
    assert!(
        m.lines()
            .any(|l| l.contains("name=\"geofence_block_us\"") && l.ends_with(" 1")),
        "{m}"
    );
}

#[tokio::test]
async fn geo_deny_list_blocks_listed_countries_with_the_configured_403() {
    let b = Backend::start("b").await;
    let n = geo_node(world(RecordShape::GeoIp2))
        .start(&geofence_site(
            &b,
            r#"{ mode = "deny", countries = ["US"], status = 403 }"#,
        ))
        .await;
    let blocked = get_as(&n, US, "/").await;
    assert_eq!(blocked.status(), 403);
    assert!(blocked
        .text()
        .await
        .expect("body")
        .contains("<h1>403 Forbidden</h1>"));
    assert_eq!(status_as(&n, DE, "/").await, 200);
    assert_eq!(status_as(&n, UNKNOWN, "/").await, 200);
    assert_eq!(b.hits(), 2);
}

#[tokio::test]
async fn geo_unknown_country_policy_blocks_unmapped_clients() {
    let b = Backend::start("b").await;
    let n = geo_node(world(RecordShape::GeoIp2))
        .start(&geofence_site(
            &b,
            r#"{ mode = "deny", countries = ["US"], unknown = "block" }"#,
        ))
        .await;
    assert_eq!(status_as(&n, UNKNOWN, "/").await, 451);
    assert_eq!(status_as(&n, DE, "/").await, 200);
    assert!(n
        .metrics()
        .await
        .contains("name=\"geofence_block_unknown\""));
}

#[tokio::test]
async fn geo_per_path_rules_use_the_longest_prefix() {
    let b = Backend::start("b").await;
    let config = r#"{ mode = "deny", countries = [], paths = [
        { prefix = "/eu/", mode = "allow", countries = ["DE", "FR"] },
        { prefix = "/eu/public/", mode = "deny", countries = [] } ] }"#
        .replace('\n', " ");
    let n = geo_node(world(RecordShape::GeoIp2))
        .start(&geofence_site(&b, &config))
        .await;
    assert_eq!(status_as(&n, US, "/shop").await, 200, "site-wide rule");
    assert_eq!(status_as(&n, US, "/eu/shop").await, 451);
    assert_eq!(status_as(&n, DE, "/eu/shop").await, 200);
    assert_eq!(status_as(&n, US, "/eu/public/about").await, 200);
    assert_eq!(
        status_as(&n, US, "/x/../eu/shop").await,
        451,
        "dot segments do not dodge the rule"
    );
}

#[tokio::test]
async fn geo_reads_the_ip_location_db_record_shape() {
    let b = Backend::start("b").await;
    let n = geo_node(world(RecordShape::CountryCode))
        .start(&geofence_site(
            &b,
            r#"{ mode = "allow", countries = ["US"] }"#,
        ))
        .await;
    assert_eq!(status_as(&n, US, "/").await, 200);
    assert_eq!(status_as(&n, DE, "/").await, 451);
}

#[tokio::test]
async fn geo_forwarded_for_counts_only_from_trusted_proxies() {
    let b = Backend::start("b").await;
    // 127.0.0.0/8 is "US" here, so an ignored X-Forwarded-For shows as US, not DE.
    let db = write_country_db(
        RecordShape::GeoIp2,
        &[("203.0.113.0/24", "DE"), ("127.0.0.0/8", "US")],
    );
    let site = geofence_site(&b, r#"{ mode = "deny", countries = ["DE"] }"#);
    let untrusted = node()
        .file("country.mmdb", db.clone())
        .proxy("geo_db = \"country.mmdb\"")
        .proxy("trusted_proxies = [\"10.0.0.0/8\"]")
        .start(&site)
        .await;
    let resp = get_as(&untrusted, DE, "/").await;
    assert_eq!(
        resp.status(),
        200,
        "X-Forwarded-For from an untrusted peer is ignored"
    );
    assert_eq!(
        resp.headers()["x-seen-forwarded-for"],
        format!("{DE}, 127.0.0.1"),
        "the peer is appended, the client's header kept"
    );

    let trusted = node()
        .file("country.mmdb", db)
        .proxy("geo_db = \"country.mmdb\"")
        .proxy("trusted_proxies = [\"127.0.0.1/32\"]")
        .start(&site)
        .await;
    assert_eq!(status_as(&trusted, DE, "/").await, 451);
    // Spoofed left-hand entries are not believed: the right-most untrusted address counts.
    assert_eq!(status_as(&trusted, &format!("{DE}, {US}"), "/").await, 200);
    // Several header lines are one list, in order; the backend gets it whole, plus the peer.
    let two_lines = trusted
        .client(&["shop.test"])
        .get(trusted.url("shop.test", "/"))
        .header("x-forwarded-for", US)
        .header("x-forwarded-for", DE)
        .send()
        .await
        .expect("request");
    assert_eq!(
        two_lines.status(),
        451,
        "the last line's address is the client"
    );
    let two_lines = trusted
        .client(&["shop.test"])
        .get(trusted.url("shop.test", "/"))
        .header("x-forwarded-for", DE)
        .header("x-forwarded-for", US)
        .send()
        .await
        .expect("request");
    assert_eq!(two_lines.status(), 200);
    assert_eq!(
        two_lines.headers()["x-seen-forwarded-for"],
        format!("{DE}, {US}, 127.0.0.1")
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let log = trusted.log();
    let logged = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .any(|v| v["target"] == "weir::access" && v["fields"]["client_ip"] == DE);
    assert!(logged, "the access log names the forwarded client:\n{log}");
}

#[tokio::test]
async fn geo_rate_limit_counts_the_forwarded_client() {
    let b = Backend::start("b").await;
    let site = geofence_site(&b, "{}").replacen(
        "pool = \"web\"\n",
        "pool = \"web\"\n[site.rate_limit]\nrate = 0.1\nburst = 1\n",
        1,
    );
    let n = geo_node(world(RecordShape::GeoIp2)).start(&site).await;
    assert_eq!(status_as(&n, DE, "/").await, 200);
    assert_eq!(status_as(&n, DE, "/").await, 429, "same client again");
    assert_eq!(
        status_as(&n, US, "/").await,
        200,
        "another client behind the proxy"
    );
}

/// Replaces `path` the way geoipupdate does: a new file renamed over the old one.
fn replace_file(path: &std::path::Path, contents: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).expect("write new database");
    std::fs::rename(&tmp, path).expect("rename over the old one");
}

/// Polls until a request as `client_ip` gets `want` (the database is checked every second).
async fn wait_for_status(n: &Node, client_ip: &str, want: u16) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = status_as(n, client_ip, "/").await;
        if got == want || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn geo_database_replaced_on_disk_applies_without_restart() {
    let b = Backend::start("b").await;
    let n = geo_node(world(RecordShape::GeoIp2))
        .start(&geofence_site(
            &b,
            r#"{ mode = "deny", countries = ["DE"] }"#,
        ))
        .await;
    let pid = n.pid();
    assert_eq!(status_as(&n, DE, "/").await, 451);
    let path = n.dir().join("country.mmdb");

    // 203.0.113.0/24 moves to AT.
    replace_file(
        &path,
        &write_country_db(RecordShape::GeoIp2, &[("203.0.113.0/24", "AT")]),
    );
    assert_eq!(
        wait_for_status(&n, DE, 200).await,
        200,
        "new database in use"
    );

    // A broken replacement is refused; the database in use stays.
    replace_file(&path, b"not a database");
    let log = n.log_with("geo database not reloaded").await;
    assert!(log.contains("geo database not reloaded"), "{log}");
    assert_eq!(status_as(&n, DE, "/").await, 200, "still AT");
    // A config reload meanwhile is not refused for it and keeps the database in use.
    n.signal("HUP");
    let log = n.log_with("SIGHUP: config reloaded").await;
    assert!(log.contains("SIGHUP: config reloaded"), "{log}");
    assert_eq!(
        status_as(&n, DE, "/").await,
        200,
        "still AT after the reload"
    );

    // And the next good file is picked up again.
    replace_file(&path, &world(RecordShape::GeoIp2));
    assert_eq!(wait_for_status(&n, DE, 451).await, 451);
    assert_eq!(n.pid(), pid, "no restart");
}

/// Runs `weir check-config` on `text` written into `dir`: (success, stderr).
fn check_config(dir: &std::path::Path, text: &str) -> (bool, String) {
    let path = dir.join("weir.toml");
    std::fs::write(&path, text).expect("write config");
    let out = Command::new(env!("CARGO_BIN_EXE_weir"))
        .arg("check-config")
        .arg(&path)
        .output()
        .expect("run weir check-config");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

const SITE: &str = "[[site]]\nid = \"shop\"\nhosts = [\"shop.test\"]\npool = \"web\"\n\
                    [[pool]]\nid = \"web\"\n[[pool.backend]]\naddr = \"127.0.0.1:1\"\n";

#[tokio::test]
async fn geo_config_checks_name_the_bad_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, err) = check_config(
        dir.path(),
        &format!("[proxy]\ntrusted_proxies = [\"10.0.0.0/8\", \"10.0.0.0/33\"]\n{SITE}"),
    );
    assert!(!ok);
    assert!(
        err.contains("proxy.trusted_proxies[1]: `10.0.0.0/33` is not a CIDR network"),
        "{err}"
    );

    let (ok, err) = check_config(
        dir.path(),
        &format!("[proxy]\ngeo_db = \"missing.mmdb\"\n{SITE}"),
    );
    assert!(!ok);
    assert!(err.contains("proxy.geo_db: cannot read"), "{err}");

    std::fs::write(dir.path().join("junk.mmdb"), b"junk").expect("write");
    let (ok, err) = check_config(
        dir.path(),
        &format!("[proxy]\ngeo_db = \"junk.mmdb\"\n{SITE}"),
    );
    assert!(!ok);
    assert!(
        err.contains("proxy.geo_db:") && err.contains("not a MaxMind DB"),
        "{err}"
    );

    let b = Backend::start("b").await;
    let (ok, err) = check_config(
        dir.path(),
        &geofence_site(&b, r#"{ mode = "allow", countries = ["DE", "D3"] }"#),
    );
    assert!(!ok);
    assert!(
        err.contains("site[0].plugin[0]")
            && err.contains("countries[1]: `D3` is not a two-letter ISO 3166-1 country code"),
        "{err}"
    );
    let (ok, err) = check_config(dir.path(), &geofence_site(&b, "{ status = 404 }"));
    assert!(!ok);
    assert!(err.contains("status: must be 451 or 403, got 404"), "{err}");

    // The node refuses to start without its database, naming the key.
    let log = node()
        .proxy("geo_db = \"missing.mmdb\"")
        .try_start(SITE)
        .await
        .err()
        .expect("must not start");
    assert!(log.contains("proxy.geo_db: cannot read"), "{log}");
}
