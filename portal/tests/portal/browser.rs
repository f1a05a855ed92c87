//! The UI in a real browser: headless Chromium (Debian's, driven by playwright-core from npm,
//! both installed by scripts/setup.sh) walks signup, the emailed confirmation link, sign-in, a
//! pool and a site through the forms (an invalid site's error next to its field) against a
//! real portal on SQLite with real SMTP, saving a screenshot of each page.

use crate::flows::{link, mail_to};
use crate::support::Portal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use weir_testkit::smtp::SmtpSink;

const PASSWORD: &str = "correct horse battery";
const CHROMIUM: &str = "/usr/bin/chromium";

/// The pages each walk saves, in order.
const SCREENS: &[&str] = &[
    "01-signup",
    "02-check-email",
    "03-confirm",
    "04-dashboard",
    "05-dashboard-phone",
    "06-pool-form",
    "07-site-form-error",
    "08-sites",
    "09-dashboard",
];

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Runs `node walk.mjs <args>` and returns its stdout; panics with node's output on failure.
async fn walk(args: &[&str]) -> String {
    let dir = browser_dir();
    let started = Instant::now();
    let run = tokio::process::Command::new("node")
        .arg(dir.join("walk.mjs"))
        .args(args)
        .current_dir(&dir)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .unwrap_or_else(|_| panic!("walk.mjs {} did not finish in 60 s", args[0]))
        .unwrap_or_else(|e| panic!("running node (installed by scripts/setup.sh): {e}"));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success() && stdout.lines().any(|l| l == format!("ok {}", args[0])),
        "walk.mjs {} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        args[0],
        out.status
    );
    println!("browser step {} took {:.1?}", args[0], started.elapsed());
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_walks_signup_and_site_creation_with_screenshots() {
    let modules = browser_dir().join("node_modules/playwright-core");
    assert!(
        modules.is_dir(),
        "{} is missing: run scripts/setup.sh (it runs npm ci in portal/tests/browser)",
        modules.display()
    );
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run scripts/setup.sh (it installs Debian's chromium)"
    );
    let screens = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screens");
    let _ = std::fs::remove_dir_all(&screens);
    std::fs::create_dir_all(&screens).expect("screens dir");
    let screens_arg = screens.to_str().expect("utf-8 path");

    let smtp = SmtpSink::start();
    let db_dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite:{}", db_dir.path().join("browser.db").display());
    let p = Portal::start(&db, &smtp.url()).await;
    let base = p.url("");
    let email = "grace@example.test";

    let out = walk(&["signup", &base, screens_arg, email, PASSWORD, "Hopper Labs"]).await;
    let mail = mail_to(&smtp, email, "Confirm your email").await;
    let confirm = link(&mail, "/verify?token=");
    let out = out + &walk(&["onboard", &base, screens_arg, email, PASSWORD, &confirm]).await;

    // What the browser did is in the portal: one pool, one site with the WAF in its chain.
    let store = &p.state.store;
    let user = store
        .user_by_email(email)
        .await
        .expect("user")
        .expect("signed up");
    assert!(user.email_verified_at.is_some(), "confirmed");
    let tenants = store.memberships_of(&user.id).await.expect("memberships");
    assert_eq!(tenants.len(), 1);
    assert_eq!(tenants[0].tenant_name, "Hopper Labs");
    let bundle = p
        .state
        .config_service
        .bundle(&tenants[0].tenant_id)
        .await
        .expect("bundle");
    assert_eq!(bundle.pools.len(), 1);
    assert_eq!(bundle.pools[0].backends[0].addr, "127.0.0.1:9001");
    assert_eq!(bundle.sites.len(), 1, "only the valid site was saved");
    let site = &bundle.sites[0];
    assert_eq!(
        (site.id.as_str(), site.hosts.as_slice(), site.pool.as_str()),
        ("shop", ["shop.example".to_string()].as_slice(), "web")
    );
    assert_eq!(site.plugins.len(), 1);
    assert_eq!(
        (
            site.plugins[0].name.as_str(),
            site.plugins[0].source.as_str()
        ),
        ("waf", "builtin:waf")
    );

    for name in SCREENS {
        let path = screens.join(format!("{name}.png"));
        assert!(
            out.lines()
                .any(|l| l == format!("screenshot {}", path.display())),
            "walk.mjs reported {}:\n{out}",
            path.display()
        );
        let size = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .len();
        let mut head = [0u8; 8];
        std::io::Read::read_exact(&mut std::fs::File::open(&path).expect("open"), &mut head)
            .expect("read");
        assert_eq!(&head, b"\x89PNG\r\n\x1a\n", "{} is a PNG", path.display());
        assert!(
            size > 5 * 1024,
            "{} is only {size} bytes: not a rendered page",
            path.display()
        );
        println!("screenshot {} ({} KiB)", path.display(), size / 1024);
    }
}
