//! The OpenAPI fuzz: schemathesis (from PyPI, installed by scripts/setup.sh) generates requests
//! for every operation in `/api/openapi.json` against a real portal — signed in with a write
//! token of a real tenant that has a pool and a site — and fails on any 5xx answer.

use crate::support::Portal;
use serde_json::json;
use std::time::Duration;
use weir_testkit::smtp::SmtpSink;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_generated_request_gets_a_server_error() {
    let smtp = SmtpSink::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite:{}", dir.path().join("fuzz.db").display());
    let p = Portal::start(&db, &smtp.url()).await;
    let account = crate::flows::signed_up_with_token(&p, &smtp, "fuzz@example.test").await;
    let api = reqwest::Client::new();
    let base = p.url(&format!("/api/t/{}", account.tenant));
    for (path, body) in [
        (
            "/pools",
            json!({"id": "web", "backend": [{"addr": "127.0.0.1:9001"}]}),
        ),
        (
            "/sites",
            json!({"id": "shop", "hosts": ["shop.example"], "pool": "web"}),
        ),
    ] {
        let r = api
            .post(format!("{base}{path}"))
            .bearer_auth(&account.token)
            .json(&body)
            .send()
            .await
            .expect("seed");
        assert!(r.status().is_success(), "seeding {path}: {}", r.status());
    }
    let config = dir.path().join("schemathesis.toml");
    std::fs::write(
        &config,
        format!("[parameters]\n\"path.tenant\" = \"{}\"\n", account.tenant),
    )
    .expect("config");
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let bin = format!("{home}/.cache/weir/venv/bin/schemathesis");
    let run = tokio::process::Command::new(&bin)
        .arg("--config-file")
        .arg(&config)
        .args(["run", &p.url("/api/openapi.json")])
        .args([
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "30",
            "--seed",
            "20261201",
        ])
        .args(["--request-timeout", "20"])
        .arg("-H")
        .arg(format!("Authorization: Bearer {}", account.token))
        .current_dir(dir.path())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("schemathesis finished within 10 minutes")
        .unwrap_or_else(|e| panic!("running {bin} (installed by scripts/setup.sh): {e}"));
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{report}"
    );
    let tested: usize = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("Tested: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    let documented: usize = weir_portal::openapi()
        .paths
        .paths
        .values()
        .map(|item| {
            [&item.get, &item.put, &item.post, &item.delete]
                .iter()
                .filter(|op| op.is_some())
                .count()
        })
        .sum();
    assert_eq!(
        tested, documented,
        "every documented operation was exercised:\n{report}"
    );
}
