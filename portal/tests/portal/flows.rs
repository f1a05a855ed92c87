//! Whole flows through a real portal on 127.0.0.1:0, on SQLite and PostgreSQL, with mail
//! delivered to a real SMTP server process: signup → confirm the emailed link → sign in →
//! pools and sites (validation, CSRF) → history, diff, rollback → invitations and roles →
//! another tenant finds nothing (404 everywhere) → sign-in throttling → sign out. And: mail
//! queued while SMTP is down is delivered when it comes back.

use crate::support::{backends, Portal};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use weir_testkit::smtp::{Mail, SmtpSink};

const PASSWORD: &str = "correct horse battery";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The first `http://…` link in a mail's text that contains `path`.
pub(crate) fn link(mail: &Mail, path: &str) -> String {
    mail.text
        .split_whitespace()
        .find(|w| w.starts_with("http://") && w.contains(path))
        .unwrap_or_else(|| panic!("no {path} link in {:?}", mail.text))
        .to_string()
}

fn token_of(link: &str) -> String {
    link.split("token=")
        .nth(1)
        .expect("token in link")
        .to_string()
}

pub(crate) async fn mail_to(smtp: &SmtpSink, to: &str, subject_part: &str) -> Mail {
    let (to, part) = (to.to_string(), subject_part.to_string());
    smtp.wait_for_async(
        move |m| m.to.iter().any(|t| t == &to) && m.subject.contains(&part),
        Duration::from_secs(20),
    )
    .await
}

async fn post(
    c: &reqwest::Client,
    url: String,
    csrf: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut req = c.post(url).json(&body);
    if let Some(t) = csrf {
        req = req.header("x-csrf-token", t);
    }
    let r = req.send().await.expect("request");
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

async fn send(
    c: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    csrf: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = c.request(method, url).header("x-csrf-token", csrf);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("request");
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

async fn get(c: &reqwest::Client, url: String) -> (StatusCode, Value) {
    let r = c.get(url).send().await.expect("request");
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// Signs up, confirms through the emailed link and signs in; returns (csrf, tenant id).
async fn onboard(
    p: &Portal,
    smtp: &SmtpSink,
    c: &reqwest::Client,
    email: &str,
    org: &str,
) -> (String, String) {
    let (status, body) = post(
        c,
        p.url("/api/auth/signup"),
        None,
        json!({"email": email, "password": PASSWORD, "organisation": org}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let mail = mail_to(smtp, &email.to_ascii_lowercase(), "Confirm your email").await;
    assert!(
        mail.html
            .as_deref()
            .unwrap_or("")
            .contains("/verify?token="),
        "HTML part has the link"
    );
    let url = link(&mail, "/verify?token=");
    let page = c.get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("name=\"token\"") && html.contains(&token_of(&url)),
        "{html}"
    );
    let confirm = c
        .post(p.url("/verify"))
        .form(&[("token", token_of(&url))])
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), StatusCode::OK);
    assert!(confirm.text().await.unwrap().contains("Email confirmed"));
    let (status, body) = post(
        c,
        p.url("/api/auth/login"),
        None,
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let csrf = body["csrf_token"].as_str().expect("csrf").to_string();
    let tenant = body["tenants"][0]["tenant_id"]
        .as_str()
        .expect("tenant")
        .to_string();
    (csrf, tenant)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_sites_history_and_tenant_isolation() {
    let smtp = SmtpSink::start();
    for (backend, url, _keep) in backends() {
        let p = Portal::start(&url, &smtp.url()).await;
        let alice = client();
        let alice_email = format!("Alice.{backend}@Example.test");

        // Bad signups get field problems and create nothing.
        let (status, body) = post(
            &alice,
            p.url("/api/auth/signup"),
            None,
            json!({"email": "nope", "password": PASSWORD, "organisation": "A"}),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["problems"][0]["field"], "email");
        let (status, body) = post(
            &alice,
            p.url("/api/auth/signup"),
            None,
            json!({"email": "a@b.test", "password": "short", "organisation": "A"}),
        )
        .await;
        assert_eq!(
            (status, body["problems"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("password"))
        );
        let (status, body) = post(
            &alice,
            p.url("/api/auth/signup"),
            None,
            json!({"email": "a@b.test"}),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body["error"].as_str().unwrap().contains("missing field"),
            "{body}"
        );

        // Signing in before confirming the email is refused with the reason.
        let (status, _) = post(
            &alice,
            p.url("/api/auth/signup"),
            None,
            json!({"email": alice_email, "password": PASSWORD, "organisation": "Acme"}),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let (status, body) = post(
            &alice,
            p.url("/api/auth/login"),
            None,
            json!({"email": alice_email, "password": PASSWORD}),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body["error"]
            .as_str()
            .unwrap()
            .contains("confirm your email"));
        let mail = mail_to(
            &smtp,
            &alice_email.to_ascii_lowercase(),
            "Confirm your email",
        )
        .await;
        let verify = link(&mail, "/verify?token=");
        let (status, _) = post(
            &alice,
            p.url("/api/auth/verify"),
            None,
            json!({"token": token_of(&verify)}),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = post(
            &alice,
            p.url("/api/auth/verify"),
            None,
            json!({"token": token_of(&verify)}),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a link works once");
        let (status, _) = post(
            &alice,
            p.url("/api/auth/login"),
            None,
            json!({"email": alice_email, "password": "wrong password!"}),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, body) = post(
            &alice,
            p.url("/api/auth/login"),
            None,
            json!({"email": alice_email, "password": PASSWORD}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let csrf = body["csrf_token"].as_str().unwrap().to_string();
        let tenant = body["tenants"][0]["tenant_id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(body["tenants"][0]["role"], "owner");
        let t = |path: &str| p.url(&format!("/api/t/{tenant}{path}"));

        // A second signup with the same address tells nothing new to the caller.
        let (status, _) = post(
            &client(),
            p.url("/api/auth/signup"),
            None,
            json!({"email": alice_email, "password": PASSWORD, "organisation": "Dup"}),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        mail_to(&smtp, &alice_email.to_ascii_lowercase(), "already have").await;

        // Changes need the CSRF token.
        let pool = json!({"id": "web", "backend": [{"addr": "127.0.0.1:9001", "weight": 3}]});
        let (status, body) = post(&alice, t("/pools"), None, pool.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, body) = post(&alice, t("/pools"), Some(&csrf), pool.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(
            (
                body["version"].as_i64(),
                body["pool"]["backend"][0]["weight"].as_i64()
            ),
            (Some(1), Some(3))
        );
        let (status, _) = post(&alice, t("/pools"), Some(&csrf), pool).await;
        assert_eq!(status, StatusCode::CONFLICT, "same id twice");

        // Invalid sites: every problem, named by field, relative to the site.
        let bad = json!({"id": "shop", "hosts": ["Bad Host"], "pool": "nope", "plugin": [{"name": "w", "source": "/etc/evil.wasm"}]});
        let (status, body) = post(&alice, t("/sites"), Some(&csrf), bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let fields: Vec<&str> = body["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["hosts[0]", "pool", "plugin[0].source"], "{body}");
        let (status, body) = post(
            &alice,
            t("/sites"),
            Some(&csrf),
            json!({"id": "shop", "hosts": ["shop.example"], "pool": "web", "colour": 1}),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("unknown field `colour`"),
            "{body}"
        );

        let site = json!({"id": "shop", "hosts": ["shop.example"], "pool": "web", "plugin": [{"name": "waf", "source": "builtin:waf", "config": {"paranoia": 2}}]});
        let (status, body) = post(&alice, t("/sites"), Some(&csrf), site).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(
            body["site"]["tenant"],
            tenant.as_str(),
            "the tenant is set by the portal"
        );
        let changed = json!({"hosts": ["shop.example", "www.shop.example"], "pool": "web"});
        let (status, body) = send(
            &alice,
            reqwest::Method::PUT,
            t("/sites/shop"),
            &csrf,
            Some(changed),
        )
        .await;
        assert_eq!(
            (status, body["version"].as_i64()),
            (StatusCode::OK, Some(3)),
            "{body}"
        );
        let (status, body) = send(
            &alice,
            reqwest::Method::DELETE,
            t("/pools/web"),
            &csrf,
            None,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "a pool in use stays: {body}"
        );
        assert_eq!(body["problems"][0]["field"], "site[0].pool");

        // History, diff and rollback.
        let (_, body) = get(&alice, t("/versions")).await;
        let summaries: Vec<&str> = body["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["summary"].as_str().unwrap())
            .collect();
        assert_eq!(
            summaries,
            ["update site shop", "create site shop", "create pool web"]
        );
        let (_, body) = get(&alice, t("/versions/3/diff")).await;
        let added: Vec<&str> = body["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["op"] == "+")
            .map(|l| l["text"].as_str().unwrap())
            .collect();
        assert!(
            added.iter().any(|l| l.contains("www.shop.example")),
            "{body}"
        );
        let (status, body) = send(
            &alice,
            reqwest::Method::POST,
            t("/versions/2/rollback"),
            &csrf,
            None,
        )
        .await;
        assert_eq!(
            (status, body["version"].as_i64()),
            (StatusCode::OK, Some(4)),
            "{body}"
        );
        let (_, body) = get(&alice, t("/sites/shop")).await;
        assert_eq!(body["hosts"], json!(["shop.example"]));
        assert_eq!(
            body["plugin"][0]["source"], "builtin:waf",
            "the rollback restored the chain"
        );

        // Invitations: Bob joins as a member and can read but not change.
        let bob_email = format!("bob.{backend}@example.test");
        let (status, body) = post(
            &alice,
            t("/members"),
            Some(&csrf),
            json!({"email": bob_email, "role": "member"}),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let invite = mail_to(&smtp, &bob_email, "invited").await;
        let (status, body) = post(
            &client(),
            p.url("/api/auth/accept-invite"),
            None,
            json!({"token": token_of(&link(&invite, "/invite?token="))}),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "a new account needs a password: {body}"
        );
        let invite_token = token_of(&link(&invite, "/invite?token="));
        let (status, body) = post(
            &client(),
            p.url("/api/auth/accept-invite"),
            None,
            json!({"token": invite_token, "password": PASSWORD}),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "the link still works after the failed try: {body}"
        );
        let (status, _) = post(
            &client(),
            p.url("/api/auth/accept-invite"),
            None,
            json!({"token": invite_token, "password": PASSWORD}),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "but only once");
        let bob = client();
        let (status, body) = post(
            &bob,
            p.url("/api/auth/login"),
            None,
            json!({"email": bob_email, "password": PASSWORD}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let bob_csrf = body["csrf_token"].as_str().unwrap().to_string();
        assert_eq!(body["tenants"][0]["role"], "member");
        let (status, _) = get(&bob, t("/sites/shop")).await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = send(
            &bob,
            reqwest::Method::DELETE,
            t("/sites/shop"),
            &bob_csrf,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

        // Mallory has her own tenant; every way into Alice's finds nothing.
        let mallory = client();
        let (m_csrf, m_tenant) = onboard(
            &p,
            &smtp,
            &mallory,
            &format!("mallory.{backend}@example.test"),
            "Evil",
        )
        .await;
        assert_ne!(m_tenant, tenant);
        for path in [
            "/sites",
            "/sites/shop",
            "/pools",
            "/pools/web",
            "/versions",
            "/versions/1",
            "/versions/2/diff",
            "/members",
        ] {
            let (status, body) = get(&mallory, t(path)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "GET {path}: {body}");
        }
        for (method, path) in [
            (reqwest::Method::PUT, "/sites/shop"),
            (reqwest::Method::DELETE, "/sites/shop"),
            (reqwest::Method::DELETE, "/pools/web"),
            (reqwest::Method::POST, "/versions/1/rollback"),
        ] {
            let (status, _) = send(
                &mallory,
                method.clone(),
                t(path),
                &m_csrf,
                Some(json!({"hosts": ["evil.example"], "pool": "web"})),
            )
            .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        }
        let (status, _) = post(
            &mallory,
            t("/members"),
            Some(&m_csrf),
            json!({"email": "x@evil.test"}),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // Alice's ids inside Mallory's own tenant, and guessed tenant ids, are not found either.
        let (status, _) = get(&mallory, p.url(&format!("/api/t/{m_tenant}/sites/shop"))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = get(&mallory, p.url("/api/t/tnt_aaaaaaaaaaaaaaaa/sites")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, body) = get(&alice, t("/sites/shop")).await;
        assert_eq!(
            body["hosts"],
            json!(["shop.example"]),
            "Alice's site is untouched"
        );

        // Sign-in throttling: after 5 failures even the right password waits.
        let m_email = format!("mallory.{backend}@example.test");
        for _ in 0..5 {
            let (status, _) = post(
                &client(),
                p.url("/api/auth/login"),
                None,
                json!({"email": m_email, "password": "not her password"}),
            )
            .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        let r = client()
            .post(p.url("/api/auth/login"))
            .json(&json!({"email": m_email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(r.headers().get("retry-after").is_some());

        // Secure headers, sign-out.
        let r = alice.get(t("/sites")).send().await.unwrap();
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert!(r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
        let (status, _) = send(
            &alice,
            reqwest::Method::POST,
            p.url("/api/auth/logout"),
            &csrf,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = get(&alice, p.url("/api/session")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_queued_while_smtp_is_down_is_sent_when_it_returns() {
    for (backend, url, _keep) in backends() {
        let smtp = SmtpSink::start();
        let port = smtp.port();
        let p = Portal::start(&url, &smtp.url()).await;
        let c = client();
        let email = format!("carol.{backend}@example.test");
        let (_csrf, _tenant) = onboard(&p, &smtp, &c, &email, "Carol Co").await;
        smtp.stop();
        let (status, _) = post(
            &c,
            p.url("/api/auth/reset-request"),
            None,
            json!({"email": email}),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        // The sender tries, fails and keeps the message.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            p.state.store.unsent_mail_count().await.unwrap(),
            1,
            "{backend}"
        );
        let smtp = SmtpSink::start_on(port);
        let mail = mail_to(&smtp, &email, "Reset").await;
        let token = token_of(&link(&mail, "/reset?token="));
        let (status, body) = post(
            &c,
            p.url("/api/auth/reset"),
            None,
            json!({"token": token, "password": "short"}),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["problems"][0]["field"], "password");
        let (status, body) = post(
            &c,
            p.url("/api/auth/reset"),
            None,
            json!({"token": token, "password": "a brand new passphrase"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, _) = get(&c, p.url("/api/session")).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "a reset ends old sessions"
        );
        let (status, _) = post(
            &c,
            p.url("/api/auth/login"),
            None,
            json!({"email": email, "password": "a brand new passphrase"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            p.state.store.unsent_mail_count().await.unwrap(),
            0,
            "{backend}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_are_scoped_shown_once_and_revocable() {
    let smtp = SmtpSink::start();
    for (backend, url, _keep) in backends() {
        let p = Portal::start(&url, &smtp.url()).await;
        let c = client();
        let (csrf, tenant) = onboard(
            &p,
            &smtp,
            &c,
            &format!("dana.{backend}@example.test"),
            "Dana",
        )
        .await;
        let t = |path: &str| p.url(&format!("/api/t/{tenant}{path}"));
        let (status, body) = post(
            &c,
            t("/tokens"),
            Some(&csrf),
            json!({"name": "", "scope": "admin"}),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<&str> = body["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["name", "scope"]);
        let (status, body) = post(
            &c,
            t("/tokens"),
            Some(&csrf),
            json!({"name": "deploy", "scope": "write", "expires_in_days": 30}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let write = body["token"].as_str().unwrap().to_string();
        let write_id = body["id"].as_str().unwrap().to_string();
        assert!(write.starts_with("weir_"));
        let (_, body) = post(
            &c,
            t("/tokens"),
            Some(&csrf),
            json!({"name": "grafana", "scope": "read"}),
        )
        .await;
        let read = body["token"].as_str().unwrap().to_string();
        let (status, body) = get(&c, t("/tokens")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["tokens"].as_array().unwrap().len(), 2);
        assert!(
            !body.to_string().contains(&write) && !body.to_string().contains(&read),
            "secrets are shown once"
        );

        let api = reqwest::Client::new();
        let pool = json!({"id": "api", "backend": [{"addr": "127.0.0.1:9100"}]});
        let r = api
            .post(t("/pools"))
            .bearer_auth(&write)
            .json(&pool)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "a write token needs no CSRF token"
        );
        let (_, body) = get(&c, t("/versions")).await;
        assert_eq!(body["versions"][0]["author"], "token:deploy");
        let r = api
            .get(t("/pools"))
            .bearer_auth(&read)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let r = api
            .delete(t("/pools/api"))
            .bearer_auth(&read)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "read scope");
        let r = api
            .get(t("/tokens"))
            .bearer_auth(&write)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "tokens cannot manage tokens"
        );

        // Another tenant's token finds nothing here.
        let other = client();
        let (o_csrf, o_tenant) = onboard(
            &p,
            &smtp,
            &other,
            &format!("eve.{backend}@example.test"),
            "Eve",
        )
        .await;
        let (_, body) = post(
            &other,
            p.url(&format!("/api/t/{o_tenant}/tokens")),
            Some(&o_csrf),
            json!({"name": "x", "scope": "write"}),
        )
        .await;
        let eve_token = body["token"].as_str().unwrap().to_string();
        let r = api
            .get(t("/pools"))
            .bearer_auth(&eve_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = api
            .delete(t("/pools/api"))
            .bearer_auth(&eve_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = other
            .delete(t(&format!("/tokens/{write_id}")))
            .header("x-csrf-token", &o_csrf)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::NOT_FOUND,
            "Eve cannot revoke Dana's token"
        );

        let r = c
            .delete(t(&format!("/tokens/{write_id}")))
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let r = api
            .get(t("/pools"))
            .bearer_auth(&write)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "revoked at once");
        let r = c
            .delete(t(&format!("/tokens/{write_id}")))
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = api
            .get(t("/pools"))
            .bearer_auth("weir_guessed")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
}

/// A confirmed, signed-in account with a write token for its tenant.
pub struct Account {
    pub tenant: String,
    pub token: String,
}

/// Signs up `email` through the real flow and mints a write API token.
pub async fn signed_up_with_token(p: &Portal, smtp: &SmtpSink, email: &str) -> Account {
    signed_in_with_token(p, smtp, email).await.1
}

/// [`signed_up_with_token`], keeping the signed-in client (its session cookie).
pub async fn signed_in_with_token(
    p: &Portal,
    smtp: &SmtpSink,
    email: &str,
) -> (reqwest::Client, Account) {
    let c = client();
    let (csrf, tenant) = onboard(p, smtp, &c, email, "Org").await;
    let (status, body) = post(
        &c,
        p.url(&format!("/api/t/{tenant}/tokens")),
        Some(&csrf),
        json!({"name": "ci", "scope": "write"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let account = Account {
        tenant,
        token: body["token"].as_str().expect("token").to_string(),
    };
    (c, account)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_and_maintenance_pages_are_kept_as_content_and_keys_are_write_only() {
    let smtp = SmtpSink::start();
    for (backend, url, _keep) in backends() {
        let p = Portal::start(&url, &smtp.url()).await;
        let a = signed_up_with_token(&p, &smtp, &format!("tls.{backend}@example.test")).await;
        let api = reqwest::Client::new();
        let t = |path: &str| p.url(&format!("/api/t/{}{path}", a.tenant));
        let send = |method: reqwest::Method, path: &str, body: Value| {
            api.request(method, t(path))
                .bearer_auth(&a.token)
                .json(&body)
                .send()
        };
        let r = send(
            reqwest::Method::POST,
            "/pools",
            json!({"id": "web", "backend": [{"addr": "127.0.0.1:9001"}]}),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let ca = weir_testkit::TestCa::new("portal");
        let shop = ca.issue(&["shop.example"]);
        let other = ca.issue(&["other.example"]);
        let site = |tls: Value| json!({"id": "shop", "hosts": ["shop.example"], "pool": "web", "tls": tls, "error_page_html": "<h1>Back soon</h1>"});

        // Node file paths mean nothing to the portal; a key must match its certificate.
        let r = send(reqwest::Method::POST, "/sites", json!({"id": "shop", "hosts": ["shop.example"], "pool": "web", "error_page": "/srv/down.html", "tls": {"cert": "a.pem", "key": "a.key"}})).await.unwrap();
        let body: Value = r.json().await.unwrap();
        let fields: Vec<&str> = body["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["error_page", "tls.cert", "tls.key"], "{body}");
        let r = send(
            reqwest::Method::POST,
            "/sites",
            site(json!({"cert_pem": shop.cert_pem, "key_pem": other.key_pem})),
        )
        .await
        .unwrap();
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["problems"][0]["field"], "tls.key_pem", "{body}");
        assert!(
            body["problems"][0]["message"]
                .as_str()
                .unwrap()
                .contains("does not match"),
            "{body}"
        );

        let r = send(
            reqwest::Method::POST,
            "/sites",
            site(json!({"cert_pem": shop.cert_pem, "key_pem": shop.key_pem})),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        // The key is write-only: every answer shows a fingerprint instead.
        let shown: Value = api
            .get(t("/sites/shop"))
            .bearer_auth(&a.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let hidden = shown["tls"]["key_pem"].as_str().unwrap().to_string();
        assert!(hidden.starts_with("(hidden; sha256 "), "{shown}");
        for path in ["/sites", "/versions/2", "/versions/2/diff"] {
            let text = api
                .get(t(path))
                .bearer_auth(&a.token)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(!text.contains("PRIVATE KEY"), "{path} shows the key");
        }
        assert_eq!(shown["error_page_html"], "<h1>Back soon</h1>");
        // Sending back what was shown (or no key) keeps the stored key.
        let mut again = shown.clone();
        again["hosts"] = json!(["shop.example", "www.shop.example"]);
        let r = send(reqwest::Method::PUT, "/sites/shop", again)
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
        let stored = p.state.config_service.bundle(&a.tenant).await.unwrap();
        let key = stored.sites[0]
            .tls
            .as_ref()
            .and_then(|t| t.key_pem.as_ref())
            .map(|k| k.expose().to_string());
        assert_eq!(
            key.as_deref(),
            Some(shop.key_pem.as_str()),
            "the stored key is unchanged"
        );
        // A rollback restores the real key, not the fingerprint.
        let r = send(reqwest::Method::POST, "/versions/2/rollback", json!({}))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let stored = p.state.config_service.bundle(&a.tenant).await.unwrap();
        let key = stored.sites[0]
            .tls
            .as_ref()
            .and_then(|t| t.key_pem.as_ref())
            .map(|k| k.expose().to_string());
        assert_eq!(key.as_deref(), Some(shop.key_pem.as_str()));
    }
}
