//! The web UI through a real portal on SQLite and PostgreSQL, driven like a browser (a client
//! that keeps cookies and does not follow redirects): signup and sign-in through the forms with
//! the emailed link, pools and sites through the forms (errors next to their fields, input
//! kept), CSRF refusals, history and rollback, tokens, invitations and the member role, other
//! tenants' pages answering 404, every navigation page rendering in the layout, static files.

use crate::support::{backends, Portal};
use reqwest::StatusCode;
use std::time::Duration;
use weir_testkit::smtp::{Mail, SmtpSink};

const PASSWORD: &str = "correct horse battery";

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A page: status, `Location`, body.
struct Page {
    status: StatusCode,
    location: String,
    html: String,
}

async fn page(r: reqwest::Response) -> Page {
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    Page {
        status,
        location,
        html: r.text().await.expect("body"),
    }
}

async fn get(c: &reqwest::Client, url: String) -> Page {
    page(c.get(url).send().await.expect("GET")).await
}

async fn post(c: &reqwest::Client, url: String, fields: &[(&str, &str)]) -> Page {
    page(c.post(url).form(fields).send().await.expect("POST")).await
}

/// The value of the first hidden `csrf_token` field.
fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("no csrf_token field in {html}"))
        + marker.len();
    html[at..].split('"').next().unwrap_or("").to_string()
}

/// The text inside the `<p>` with this id (a field's error element), if present.
fn error_text<'a>(html: &'a str, id: &str) -> Option<&'a str> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let open_end = start + html[start..].find('>')? + 1;
    let close = open_end + html[open_end..].find("</p>")?;
    Some(&html[open_end..close])
}

/// The content of the textarea named `name`.
fn textarea<'a>(html: &'a str, name: &str) -> &'a str {
    let start = html
        .find(&format!("<textarea name=\"{name}\""))
        .unwrap_or_else(|| panic!("no textarea {name}"));
    let open_end = start + html[start..].find('>').expect("tag end") + 1;
    let close = open_end + html[open_end..].find("</textarea>").expect("textarea end");
    &html[open_end..close]
}

/// The first `http://…` link in a mail's text that contains `path`.
fn link(mail: &Mail, path: &str) -> String {
    mail.text
        .split_whitespace()
        .find(|w| w.starts_with("http://") && w.contains(path))
        .unwrap_or_else(|| panic!("no {path} link in {:?}", mail.text))
        .to_string()
}

async fn mail_to(smtp: &SmtpSink, to: &str, subject_part: &str) -> Mail {
    let (to, part) = (to.to_string(), subject_part.to_string());
    smtp.wait_for_async(
        move |m| m.to.iter().any(|t| t == &to) && m.subject.contains(&part),
        Duration::from_secs(20),
    )
    .await
}

/// Signs `email` up through the forms, confirms the emailed link and signs in through the
/// login form; returns the browser, its tenant id and the session's CSRF token.
async fn onboard(
    p: &Portal,
    smtp: &SmtpSink,
    email: &str,
    org: &str,
) -> (reqwest::Client, String, String) {
    let c = browser();
    let signup = get(&c, p.url("/signup")).await;
    assert_eq!(signup.status, StatusCode::OK);
    let anon = csrf_of(&signup.html);
    let done = post(
        &c,
        p.url("/signup"),
        &[
            ("csrf_token", &anon),
            ("email", email),
            ("password", PASSWORD),
            ("organisation", org),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.html);
    assert!(done.html.contains("Check your email"), "{}", done.html);
    let mail = mail_to(smtp, email, "Confirm your email").await;
    let verify = link(&mail, "/verify?token=");
    let confirm = get(&c, verify.clone()).await;
    assert_eq!(confirm.status, StatusCode::OK);
    let token = verify.split("token=").nth(1).expect("token").to_string();
    let confirmed = post(&c, p.url("/verify"), &[("token", &token)]).await;
    assert!(
        confirmed.html.contains("Email confirmed"),
        "{}",
        confirmed.html
    );

    let login = get(&c, p.url("/login")).await;
    let anon = csrf_of(&login.html);
    let signed_in = post(
        &c,
        p.url("/login"),
        &[
            ("csrf_token", &anon),
            ("email", email),
            ("password", PASSWORD),
            ("next", "/"),
        ],
    )
    .await;
    assert_eq!(
        (signed_in.status, signed_in.location.as_str()),
        (StatusCode::SEE_OTHER, "/"),
        "{}",
        signed_in.html
    );
    let home = get(&c, p.url("/")).await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    let tenant = home
        .location
        .strip_prefix("/t/")
        .expect("to the tenant's dashboard")
        .to_string();
    let dashboard = get(&c, p.url(&home.location)).await;
    assert_eq!(dashboard.status, StatusCode::OK);
    let csrf = csrf_of(&dashboard.html);
    (c, tenant, csrf)
}

const POOL_WEB: &[(&str, &str)] = &[
    ("id", "web"),
    ("algorithm", "round_robin"),
    ("backup", ""),
    ("health_path", "/healthz"),
    ("health.interval_ms", "1000"),
    ("health.timeout_ms", "500"),
    ("health.fail_after", "1"),
    ("health.pass_after", "2"),
    ("backend[0].addr", "127.0.0.1:9001"),
    ("backend[0].weight", "1"),
    ("backend[0].sni", ""),
    ("backend[3].addr", "127.0.0.1:9002"),
    ("backend[3].weight", "2"),
    ("backend[3].tls", "on"),
    ("backend[4].addr", ""),
    ("backend[4].weight", "1"),
];

/// Asserts the form in `html` has an input for every field name the test posts (row numbers
/// as `[0]`), so the tests post what a browser would.
fn assert_form_has(html: &str, fields: &[(&str, &str)]) {
    for (name, _) in fields {
        let name = match name.split_once('[') {
            Some((prefix, rest)) => {
                format!("{prefix}[0]{}", &rest[rest.find(']').unwrap_or(0) + 1..])
            }
            None => name.to_string(),
        };
        assert!(
            html.contains(&format!("name=\"{name}\"")),
            "the form has no input {name}"
        );
    }
}

/// `fields` plus the CSRF token.
fn with_csrf<'a>(csrf: &'a str, fields: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![("csrf_token", csrf)];
    v.extend_from_slice(fields);
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_signup_pools_sites_validation_csrf_and_history() {
    let smtp = SmtpSink::start();
    for (backend, url, _keep) in backends() {
        let p = Portal::start(&url, &smtp.url()).await;

        // Anonymous forms need the double-submit token.
        let c = browser();
        let signup = get(&c, p.url("/signup")).await;
        let anon = csrf_of(&signup.html);
        let fields = [
            ("email", "x@example.test"),
            ("password", PASSWORD),
            ("organisation", "X"),
        ];
        let r = post(&c, p.url("/signup"), &fields).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "no token");
        assert!(r.html.contains("CSRF"), "the page says why: {}", r.html);
        let r = post(&c, p.url("/signup"), &with_csrf("not-the-token", &fields)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "wrong token");
        let r = post(&browser(), p.url("/signup"), &with_csrf(&anon, &fields)).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "the right value without its cookie"
        );
        let r = post(
            &c,
            p.url("/signup"),
            &[
                ("csrf_token", &anon),
                ("email", "not-an-email"),
                ("password", PASSWORD),
                ("organisation", "Kept Org"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            error_text(&r.html, "email-error")
                .is_some_and(|t| t.contains("is not an email address")),
            "{}",
            r.html
        );
        assert!(
            r.html.contains("value=\"Kept Org\""),
            "the organisation is kept"
        );

        let email = format!("ada.{backend}@example.test");
        let (c, tenant, csrf) = onboard(&p, &smtp, &email, "Analytical").await;
        let t = |path: &str| p.url(&format!("/t/{tenant}{path}"));

        // A pool through the form: empty rows are skipped, row gaps are fine.
        assert_form_has(&get(&c, t("/pools/new")).await.html, POOL_WEB);
        let r = post(&c, t("/pools/new"), &with_csrf(&csrf, POOL_WEB)).await;
        assert_eq!(
            (r.status, r.location.as_str()),
            (StatusCode::SEE_OTHER, format!("/t/{tenant}/pools").as_str()),
            "{}",
            r.html
        );
        let list = get(&c, t("/pools")).await;
        assert!(
            list.html.contains("Pool web created"),
            "flash shown: {}",
            list.html
        );
        assert!(list.html.contains("127.0.0.1:9002"));
        let again = get(&c, t("/pools")).await;
        assert!(
            !again.html.contains("Pool web created"),
            "a flash shows once"
        );
        let bundle = p.state.config_service.bundle(&tenant).await.unwrap();
        assert_eq!(bundle.pools[0].backends.len(), 2);
        assert!(bundle.pools[0].backends[1].tls && bundle.pools[0].backends[1].weight == 2);

        // An invalid pool: the problem is on the backend row's address.
        let mut bad_pool = POOL_WEB.to_vec();
        bad_pool[0] = ("id", "api");
        bad_pool[8] = ("backend[0].addr", "nowhere");
        let r = post(&c, t("/pools/new"), &with_csrf(&csrf, &bad_pool)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.html);
        assert!(
            error_text(&r.html, "backend-0-addr-error")
                .is_some_and(|t| t.contains("is not host:port")),
            "{}",
            r.html
        );
        assert!(r.html.contains("value=\"nowhere\""), "typed address kept");

        // An invalid site: each problem next to its field, the typed input kept.
        let bad_site = [
            ("id", "shop"),
            ("hosts", "Bad Host\nok.example"),
            ("pool", "web"),
            ("retry_after_s", "30"),
            ("rate_limit.rate", ""),
            ("rate_limit.burst", ""),
            ("plugin[0].name", "waf"),
            ("plugin[0].source", "builtin:waf"),
            ("plugin[0].config", "{\"paranoia\": 7}"),
            ("plugin[0].on_error", "fail_closed"),
        ];
        assert_form_has(&get(&c, t("/sites/new")).await.html, &bad_site);
        let r = post(&c, t("/sites/new"), &with_csrf(&csrf, &bad_site)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.html);
        let hosts_error = error_text(&r.html, "hosts-error")
            .unwrap_or_else(|| panic!("no hosts error: {}", r.html));
        assert!(
            hosts_error.contains("Bad Host") && hosts_error.contains("is not a lowercase hostname"),
            "{hosts_error}"
        );
        assert!(
            r.html.contains("aria-describedby=\"hosts-error\""),
            "the field points at its error"
        );
        assert_eq!(
            textarea(&r.html, "hosts"),
            "Bad Host\nok.example",
            "typed hosts kept"
        );
        assert!(
            error_text(&r.html, "plugin-0-config-error").is_some_and(|t| t.contains("paranoia")),
            "{}",
            r.html
        );
        assert!(
            error_text(&r.html, "pool-error").is_none(),
            "the pool is fine"
        );
        let mut typo = bad_site.to_vec();
        typo[1] = ("hosts", "shop.example");
        typo[8] = ("plugin[0].config", "{paranoia");
        typo[4] = ("rate_limit.rate", "fast");
        typo[5] = ("rate_limit.burst", "10");
        let r = post(&c, t("/sites/new"), &with_csrf(&csrf, &typo)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            error_text(&r.html, "plugin-0-config-error")
                .is_some_and(|t| t.contains("not valid JSON")),
            "{}",
            r.html
        );
        assert!(
            error_text(&r.html, "rate-error").is_some_and(|t| t.contains("fast")),
            "{}",
            r.html
        );
        assert!(
            p.state
                .config_service
                .bundle(&tenant)
                .await
                .unwrap()
                .sites
                .is_empty(),
            "nothing saved"
        );

        // A valid site, then an edit that keeps the plugin's config.
        let mut good = bad_site.to_vec();
        good[1] = ("hosts", "shop.example");
        good[8] = ("plugin[0].config", "{\"paranoia\": 2}");
        let r = post(&c, t("/sites/new"), &with_csrf(&csrf, &good)).await;
        assert_eq!(
            (r.status, r.location.as_str()),
            (StatusCode::SEE_OTHER, format!("/t/{tenant}/sites").as_str()),
            "{}",
            r.html
        );
        let r = post(&c, t("/sites/new"), &with_csrf(&csrf, &good)).await;
        assert!(
            error_text(&r.html, "id-error").is_some_and(|t| t.contains("already exists")),
            "{}",
            r.html
        );
        let edit = get(&c, t("/sites/shop")).await;
        assert_eq!(edit.status, StatusCode::OK);
        assert_eq!(textarea(&edit.html, "hosts"), "shop.example");
        assert!(textarea(&edit.html, "plugin[0].config").contains("paranoia"));
        let mut changed = good.clone();
        changed.remove(0);
        changed[0] = ("hosts", "shop.example\nwww.shop.example");
        let r = post(&c, t("/sites/shop"), &with_csrf(&csrf, &changed)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html);
        let site = p
            .state
            .config_service
            .bundle(&tenant)
            .await
            .unwrap()
            .sites
            .remove(0);
        assert_eq!(site.hosts, ["shop.example", "www.shop.example"]);
        assert_eq!(site.plugins[0].config["paranoia"], 2);
        let list = get(&c, t("/sites")).await;
        assert!(
            list.html.contains("www.shop.example") && list.html.contains("Site shop saved"),
            "{}",
            list.html
        );

        // Signed-in forms need the session's token: missing or wrong is 403 and changes nothing.
        for token in [None, Some("wrong"), Some("")] {
            let mut fields = changed.clone();
            if let Some(tok) = token {
                fields.insert(0, ("csrf_token", tok));
            }
            let r = post(&c, t("/sites/shop/delete"), &fields).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{token:?}");
            assert!(r.html.contains("CSRF"), "{}", r.html);
        }
        assert_eq!(
            p.state
                .config_service
                .bundle(&tenant)
                .await
                .unwrap()
                .sites
                .len(),
            1
        );
        let r = post(&c, t("/pools/web/delete"), &[("csrf_token", &csrf)]).await;
        assert_eq!(
            (r.status, r.location.as_str()),
            (
                StatusCode::SEE_OTHER,
                format!("/t/{tenant}/pools/web").as_str()
            )
        );
        let refused = get(&c, t("/pools/web")).await;
        assert!(
            refused.html.contains("was not deleted") && refused.html.contains("no pool with id"),
            "{}",
            refused.html
        );

        // History: the diff of the edit, and a rollback.
        let history = get(&c, t("/history")).await;
        assert!(
            history.html.contains("update site shop") && history.html.contains("create pool web"),
            "{}",
            history.html
        );
        let diff = get(&c, t("/history/3")).await;
        assert_eq!(diff.status, StatusCode::OK);
        assert!(
            diff.html.contains("class=\"add\"") && diff.html.contains("www.shop.example"),
            "{}",
            diff.html
        );
        assert_eq!(
            get(&c, t("/history/99")).await.status,
            StatusCode::NOT_FOUND
        );
        let r = post(&c, t("/history/2/rollback"), &[("csrf_token", &csrf)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let site = p
            .state
            .config_service
            .bundle(&tenant)
            .await
            .unwrap()
            .sites
            .remove(0);
        assert_eq!(site.hosts, ["shop.example"], "rolled back");

        // Deleting works when nothing refers to the item.
        let r = post(&c, t("/sites/shop/delete"), &[("csrf_token", &csrf)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(p
            .state
            .config_service
            .bundle(&tenant)
            .await
            .unwrap()
            .sites
            .is_empty());
        assert_eq!(
            get(&c, t("/sites/shop")).await.status,
            StatusCode::NOT_FOUND
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_layout_tenants_members_tokens_and_sign_out() {
    let smtp = SmtpSink::start();
    for (backend, url, _keep) in backends() {
        let p = Portal::start(&url, &smtp.url()).await;
        let email = format!("grace.{backend}@example.test");
        let (c, tenant, csrf) = onboard(&p, &smtp, &email, "Hopper & Co").await;
        let t = |path: &str| p.url(&format!("/t/{tenant}{path}"));

        // Every page of the navigation renders in the layout.
        for path in [
            "",
            "/sites",
            "/sites/new",
            "/pools",
            "/pools/new",
            "/plugins",
            "/members",
            "/tokens",
            "/history",
            "/settings",
        ] {
            let r = get(&c, t(path)).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.html);
            assert!(
                r.html.contains("<nav class=\"sidenav\"")
                    && r.html.contains("aria-current=\"page\""),
                "{path}"
            );
            assert!(
                r.html.contains(&email) && r.html.contains("Hopper &amp; Co"),
                "{path}: escaped tenant name"
            );
            assert!(
                r.html.contains("action=\"/logout\""),
                "{path}: sign-out form"
            );
        }

        // Static files: right types, cached for long.
        for (file, kind) in [
            ("app.css", "text/css"),
            ("app.js", "text/javascript"),
            ("icon.svg", "image/svg+xml"),
        ] {
            let r = c
                .get(p.url(&format!("/static/{file}")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            assert!(r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind));
            assert!(r.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("max-age=31536000"));
        }
        assert_eq!(
            c.get(p.url("/static/nope.js"))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::NOT_FOUND
        );

        // Tokens: the secret once, with a copy button; then only its name; revocable.
        let r = post(
            &c,
            t("/tokens"),
            &[
                ("csrf_token", &csrf),
                ("name", ""),
                ("scope", "admin"),
                ("expires_in_days", "0"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        for id in ["token-name-error", "token-scope-error", "token-days-error"] {
            assert!(error_text(&r.html, id).is_some(), "{id}: {}", r.html);
        }
        let r = post(
            &c,
            t("/tokens"),
            &[
                ("csrf_token", &csrf),
                ("name", "deploy"),
                ("scope", "write"),
                ("expires_in_days", "30"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.html);
        let marker = "id=\"token-secret\" class=\"mono\" value=\"";
        let at = r.html.find(marker).expect("secret shown") + marker.len();
        let secret = r.html[at..].split('"').next().unwrap().to_string();
        assert!(secret.starts_with("weir_") && r.html.contains("data-copy=\"#token-secret\""));
        let api = reqwest::Client::new();
        let used = api
            .get(p.url(&format!("/api/t/{tenant}/sites")))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap();
        assert_eq!(used.status(), StatusCode::OK, "the token works");
        let list = get(&c, t("/tokens")).await;
        assert!(
            list.html.contains("deploy") && !list.html.contains(&secret),
            "shown once"
        );
        let id = p.state.store.api_tokens(&tenant).await.unwrap()[0]
            .id
            .clone();
        let r = post(
            &c,
            t(&format!("/tokens/{id}/revoke")),
            &[("csrf_token", &csrf)],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let used = api
            .get(p.url(&format!("/api/t/{tenant}/sites")))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap();
        assert_eq!(used.status(), StatusCode::UNAUTHORIZED, "revoked");

        // Members: a bad invitation keeps the input; a good one is accepted through /invite.
        let r = post(
            &c,
            t("/members"),
            &[
                ("csrf_token", &csrf),
                ("email", "nobody"),
                ("role", "member"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            error_text(&r.html, "invite-email-error").is_some(),
            "{}",
            r.html
        );
        let bob_email = format!("bob.{backend}@example.test");
        let r = post(
            &c,
            t("/members"),
            &[
                ("csrf_token", &csrf),
                ("email", &bob_email),
                ("role", "member"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let invite = link(
            &mail_to(&smtp, &bob_email, "invited").await,
            "/invite?token=",
        );
        let bob = browser();
        let page_ = get(&bob, invite.clone()).await;
        assert_eq!(page_.status, StatusCode::OK);
        assert!(
            page_.html.contains("Hopper &amp; Co") && page_.html.contains("name=\"password\""),
            "{}",
            page_.html
        );
        let anon = csrf_of(&page_.html);
        let token = invite.split("token=").nth(1).unwrap().to_string();
        let r = post(
            &bob,
            p.url("/invite"),
            &[
                ("csrf_token", &anon),
                ("token", &token),
                ("password", "short"),
            ],
        )
        .await;
        assert!(
            error_text(&r.html, "password-error").is_some_and(|t| t.contains("10 characters")),
            "{}",
            r.html
        );
        let r = post(
            &bob,
            p.url("/invite"),
            &[
                ("csrf_token", &anon),
                ("token", &token),
                ("password", PASSWORD),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.html);
        assert_eq!(
            get(&bob, invite).await.status,
            StatusCode::BAD_REQUEST,
            "a used link"
        );

        // Bob signs in, lands where he wanted to go, and can read but not change.
        let r = get(&bob, t("/pools")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(
            r.location.starts_with("/login?next=") && r.location.contains(&tenant),
            "{}",
            r.location
        );
        let login = get(&bob, p.url(&r.location)).await;
        let anon = csrf_of(&login.html);
        let next = format!("/t/{tenant}/pools");
        let r = post(
            &bob,
            p.url("/login"),
            &[
                ("csrf_token", &anon),
                ("email", &bob_email),
                ("password", "wrong password!"),
                ("next", &next),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(
            r.html.contains("Wrong email or password") && r.html.contains(&bob_email),
            "{}",
            r.html
        );
        let r = post(
            &bob,
            p.url("/login"),
            &[
                ("csrf_token", &anon),
                ("email", &bob_email),
                ("password", PASSWORD),
                ("next", &next),
            ],
        )
        .await;
        assert_eq!(
            (r.status, r.location.as_str()),
            (StatusCode::SEE_OTHER, next.as_str())
        );
        let form = get(&bob, t("/pools/new")).await;
        assert!(
            form.html.contains("id=\"readonly-note\"") && form.html.contains(" disabled"),
            "{}",
            form.html
        );
        let bob_csrf = csrf_of(&form.html);
        let r = post(&bob, t("/pools/new"), &with_csrf(&bob_csrf, POOL_WEB)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.html);
        let members = get(&c, t("/members")).await;
        assert!(members.html.contains(&bob_email));

        // Another tenant's pages are not found, also with a valid token of one's own.
        let (mallory, m_tenant, m_csrf) = onboard(
            &p,
            &smtp,
            &format!("mallory.{backend}@example.test"),
            "Evil",
        )
        .await;
        for path in [
            "",
            "/sites",
            "/sites/new",
            "/pools",
            "/plugins",
            "/members",
            "/tokens",
            "/history",
            "/history/1",
            "/settings",
        ] {
            assert_eq!(
                get(&mallory, t(path)).await.status,
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
        let r = post(&mallory, t("/pools/new"), &with_csrf(&m_csrf, POOL_WEB)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert!(r.html.contains("Page not found"));
        assert!(p
            .state
            .config_service
            .bundle(&tenant)
            .await
            .unwrap()
            .pools
            .is_empty());
        assert_eq!(
            get(&mallory, p.url(&format!("/t/{m_tenant}/pools/nope")))
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        let r = post(
            &mallory,
            t("/members"),
            &[
                ("csrf_token", &m_csrf),
                ("email", "x@evil.test"),
                ("role", "admin"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);

        // Several tenants: the switcher lists them (Bob joins Mallory's too).
        let bob_id = p
            .state
            .store
            .user_by_email(&bob_email)
            .await
            .unwrap()
            .unwrap()
            .id;
        p.state
            .store
            .add_member(&m_tenant, &bob_id, "member", 0)
            .await
            .unwrap();
        let r = get(&bob, t("")).await;
        assert!(
            r.html.contains("id=\"tenant-switcher\"")
                && r.html.contains(&format!("href=\"/t/{m_tenant}\"")),
            "{}",
            r.html
        );

        // Only local targets after signing in.
        let x = browser();
        let anon = csrf_of(&get(&x, p.url("/login?next=//evil.test")).await.html);
        let r = post(
            &x,
            p.url("/login"),
            &[
                ("csrf_token", &anon),
                ("email", &email),
                ("password", PASSWORD),
                ("next", "https://evil.test/"),
            ],
        )
        .await;
        assert_eq!(
            (r.status, r.location.as_str()),
            (StatusCode::SEE_OTHER, "/")
        );

        // Sign out: a POST with the token; the session is gone.
        let r = post(&c, p.url("/logout"), &[("csrf_token", "wrong")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = post(&c, p.url("/logout"), &[("csrf_token", &csrf)]).await;
        assert_eq!(
            (r.status, r.location.as_str()),
            (StatusCode::SEE_OTHER, "/login")
        );
        let r = get(&c, p.url("/login")).await;
        assert!(r.html.contains("You are signed out"), "{}", r.html);
        assert_eq!(get(&c, t("")).await.status, StatusCode::SEE_OTHER);
        assert_eq!(get(&c, p.url("/")).await.location, "/login");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_password_reset_through_the_pages() {
    let smtp = SmtpSink::start();
    let (_, url, _keep) = backends().remove(0);
    let p = Portal::start(&url, &smtp.url()).await;
    let email = "lin.reset@example.test";
    let _ = onboard(&p, &smtp, email, "Lin").await;
    let c = browser();
    let anon = csrf_of(&get(&c, p.url("/reset-request")).await.html);
    let r = post(
        &c,
        p.url("/reset-request"),
        &[("csrf_token", &anon), ("email", email)],
    )
    .await;
    assert!(r.html.contains("Check your email"), "{}", r.html);
    let reset = link(&mail_to(&smtp, email, "Reset").await, "/reset?token=");
    let form = get(&c, reset.clone()).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    let token = reset.split("token=").nth(1).unwrap().to_string();
    let r = post(
        &c,
        p.url("/reset"),
        &[
            ("csrf_token", &anon),
            ("token", &token),
            ("password", "a brand new passphrase"),
        ],
    )
    .await;
    assert!(r.html.contains("Password changed"), "{}", r.html);
    assert_eq!(
        get(&c, reset).await.status,
        StatusCode::BAD_REQUEST,
        "used up"
    );
    let anon = csrf_of(&get(&c, p.url("/login")).await.html);
    let r = post(
        &c,
        p.url("/login"),
        &[
            ("csrf_token", &anon),
            ("email", email),
            ("password", "a brand new passphrase"),
            ("next", "/"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html);
}

/// A `multipart/form-data` body: (content type, bytes).
fn multipart(fields: &[(&str, &str)], file: Option<&[u8]>) -> (String, Vec<u8>) {
    let boundary = "weir-ui-test-7c1f9a";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    if let Some(bytes) = file {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"plugin.wasm\"\r\nContent-Type: application/wasm\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(
    c: &reqwest::Client,
    url: String,
    fields: &[(&str, &str)],
    file: Option<&[u8]>,
) -> Page {
    let (content_type, body) = multipart(fields, file);
    page(
        c.post(url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("upload"),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_plugin_upload_form() {
    let smtp = SmtpSink::start();
    let noop = std::fs::read(format!(
        "{}/../plugins/dist/noop.wasm",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("noop.wasm");
    for (backend, url, _keep) in backends() {
        let p = Portal::start(&url, &smtp.url()).await;
        let (c, tenant, csrf) =
            onboard(&p, &smtp, &format!("uma.{backend}@example.test"), "Uploads").await;
        let t = |path: &str| p.url(&format!("/t/{tenant}{path}"));
        let form = get(&c, t("/plugins")).await;
        assert!(
            form.html.contains("enctype=\"multipart/form-data\"")
                && form.html.contains("name=\"file\"")
        );
        assert!(form.html.contains("builtin:waf"), "built-ins listed");

        let r = upload(
            &c,
            t("/plugins"),
            &[("name", "my-filter"), ("notes", "")],
            Some(&noop),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token");
        let r = upload(
            &c,
            t("/plugins"),
            &[
                ("csrf_token", &csrf),
                ("name", "my-filter"),
                ("notes", "kept notes"),
            ],
            Some(b"hello"),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            error_text(&r.html, "file-error").is_some_and(|e| e.contains("bad magic bytes")),
            "{}",
            r.html
        );
        assert!(
            r.html.contains("value=\"my-filter\"") && textarea(&r.html, "notes") == "kept notes"
        );
        let r = upload(
            &c,
            t("/plugins"),
            &[("csrf_token", &csrf), ("name", "Bad_Name"), ("notes", "")],
            Some(&noop),
        )
        .await;
        assert!(error_text(&r.html, "name-error").is_some(), "{}", r.html);
        let r = upload(
            &c,
            t("/plugins"),
            &[("csrf_token", &csrf), ("name", "my-filter"), ("notes", "")],
            None,
        )
        .await;
        assert!(
            error_text(&r.html, "file-error").is_some_and(|e| e.contains("choose")),
            "{}",
            r.html
        );

        let r = upload(
            &c,
            t("/plugins"),
            &[
                ("csrf_token", &csrf),
                ("name", "my-filter"),
                ("notes", "first"),
            ],
            Some(&noop),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html);
        let list = get(&c, t("/plugins")).await;
        assert!(
            list.html.contains("Uploaded my-filter version 1")
                && list.html.contains("registry:my-filter@1"),
            "{}",
            list.html
        );
        let site_form = get(&c, t("/sites/new")).await;
        assert!(
            site_form.html.contains("value=\"registry:my-filter@1\""),
            "uploads are offered in the chain"
        );
    }
}

/// A site's certificate, key and maintenance page through the form: the key is write-only
/// (never shown again, kept when the field is left empty), a key of another certificate is
/// refused next to the key field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_site_certificate_key_and_maintenance_page() {
    let smtp = SmtpSink::start();
    let (_, url, _keep) = backends().remove(0);
    let p = Portal::start(&url, &smtp.url()).await;
    let (c, tenant, csrf) = onboard(&p, &smtp, "cert@example.test", "Certs").await;
    let t = |path: &str| p.url(&format!("/t/{tenant}{path}"));
    let r = post(&c, t("/pools/new"), &with_csrf(&csrf, POOL_WEB)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html);
    let ca = weir_testkit::TestCa::new("ui");
    let shop = ca.issue(&["shop.example"]);
    let other = ca.issue(&["other.example"]);
    let site = |key: &str| -> Vec<(&str, String)> {
        vec![
            ("id", "shop".into()),
            ("hosts", "shop.example".into()),
            ("pool", "web".into()),
            ("retry_after_s", "30".into()),
            ("tls.cert_pem", shop.cert_pem.clone()),
            ("tls.key_pem", key.to_string()),
            ("error_page_html", "<h1>Back soon</h1>".into()),
        ]
    };
    let fields = |v: &[(&'static str, String)]| -> Vec<(&'static str, String)> {
        let mut all = vec![("csrf_token", csrf.clone())];
        all.extend(v.iter().cloned());
        all
    };
    let form = get(&c, t("/sites/new")).await;
    for name in ["tls.cert_pem", "tls.key_pem", "error_page_html"] {
        assert!(
            form.html.contains(&format!("name=\"{name}\"")),
            "the form has {name}"
        );
    }
    let refused = page(
        c.post(t("/sites/new"))
            .form(&fields(&site(&other.key_pem)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let err = error_text(&refused.html, "tls-key_pem-error")
        .unwrap_or_else(|| panic!("no key error: {}", refused.html));
    assert!(err.contains("does not match"), "{err}");
    let saved = page(
        c.post(t("/sites/new"))
            .form(&fields(&site(&shop.key_pem)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let edit = get(&c, t("/sites/shop")).await;
    let key_line = shop.key_pem.lines().nth(1).expect("key body");
    assert!(!edit.html.contains(key_line), "the key is never shown");
    assert!(edit.html.contains("A key is stored"));
    assert!(textarea(&edit.html, "error_page_html").contains("Back soon"));
    // Saving again with the key field empty keeps the stored key.
    let mut again = site("");
    again[1].1 = "shop.example\nwww.shop.example".into();
    let r = page(
        c.post(t("/sites/shop"))
            .form(&fields(&again))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html);
    let stored = p.state.config_service.bundle(&tenant).await.unwrap();
    let tls = stored.sites[0].tls.as_ref().expect("tls kept");
    assert_eq!(
        tls.key_pem.as_ref().map(|k| k.expose()),
        Some(shop.key_pem.trim()),
        "the stored key (as typed, trimmed) is kept"
    );
    assert_eq!(stored.sites[0].hosts.len(), 2);
}

/// The nodes page: create a node (its join token and command shown once), the node enrolls,
/// the page shows it enrolled, and revoking it from the page stops its credential.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_nodes_created_enrolled_and_revoked() {
    let smtp = SmtpSink::start();
    let (_, url, _keep) = backends().remove(0);
    let p = Portal::start(&url, &smtp.url()).await;
    let (c, tenant, csrf) = onboard(&p, &smtp, "nodes@example.test", "Edge Co").await;
    let t = |path: &str| p.url(&format!("/t/{tenant}{path}"));
    let empty = get(&c, t("/nodes")).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.html.contains("No nodes yet"));
    let refused = post(&c, t("/nodes"), &[("csrf_token", &csrf), ("name", " ")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        error_text(&refused.html, "node-name-error").is_some(),
        "{}",
        refused.html
    );
    let created = post(
        &c,
        t("/nodes"),
        &[("csrf_token", &csrf), ("name", "edge-fra-1")],
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.html);
    let at = created.html.find("--join-token ").expect("the command") + "--join-token ".len();
    let join: String = created.html[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert!(join.starts_with("wjt_"), "{join}");
    let api = reqwest::Client::new();
    let enrolled: serde_json::Value = api
        .post(p.url("/api/node/v1/enroll"))
        .json(&serde_json::json!({"join_token": join, "version": "0.1.0"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let credential = enrolled["credential"]
        .as_str()
        .expect("credential")
        .to_string();
    let list = get(&c, t("/nodes")).await;
    assert!(
        list.html.contains("edge-fra-1") && list.html.contains("enrolled"),
        "{}",
        list.html
    );
    assert!(!list.html.contains(&join), "the join token is shown once");
    let node_id = enrolled["node_id"].as_str().unwrap();
    let r = post(
        &c,
        t(&format!("/nodes/{node_id}/revoke")),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let whoami = api
        .get(p.url("/api/node/v1/whoami"))
        .header("authorization", format!("Node {credential}"))
        .send()
        .await
        .unwrap();
    assert_eq!(whoami.status(), StatusCode::UNAUTHORIZED);
    assert!(get(&c, t("/nodes")).await.html.contains("revoked"));
}
