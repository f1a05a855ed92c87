//! `weir up`: portal, demo backend and an enrolled node in one process; the demo site answers
//! through the node with the WAF and the router on; a second run reuses the data directory.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use weir_testkit::free_addr;

struct Up {
    child: Child,
    node: String,
    portal: String,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Ports = (SocketAddr, SocketAddr, SocketAddr, SocketAddr);

fn up(data: &std::path::Path, log: &std::path::Path, ports: Ports) -> Up {
    let (portal, node, admin, backend) = ports;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log");
    let child = Command::new(env!("CARGO_BIN_EXE_weir"))
        .arg("up")
        .arg("--data-dir")
        .arg(data)
        .args(["--portal-listen", &portal.to_string()])
        .args(["--listen", &node.to_string()])
        .args(["--admin-listen", &admin.to_string()])
        .args(["--demo-backend-listen", &backend.to_string()])
        .env("WEIR_SMTP_URL", "smtp://127.0.0.1:1")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("fd"))
        .stderr(log)
        .spawn()
        .expect("spawn weir up");
    Up {
        child,
        node: format!("http://{node}"),
        portal: format!("http://{portal}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weir_up_serves_the_demo_site_through_an_enrolled_node_and_reuses_its_data() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("weir-data");
    let log = dir.path().join("up.log");
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let ports = (free_addr(), free_addr(), free_addr(), free_addr());
    for run in 0..2 {
        let w = up(&data, &log, ports);
        let mut page = String::new();
        for _ in 0..600 {
            if let Ok(r) = reqwest::get(format!("{}/", w.node)).await {
                if r.status() == 200 {
                    page = r.text().await.unwrap_or_default();
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            page.contains("Hello from Weir's demo backend"),
            "run {run}: {page}\n{}",
            read_log()
        );
        let attack = reqwest::get(format!("{}/?id=1%27%20or%20%271%27=%271", w.node))
            .await
            .expect("attack");
        assert_eq!(attack.status(), 403, "the WAF blocks");
        let robots = reqwest::get(format!("{}/robots.txt", w.node))
            .await
            .expect("robots");
        assert_eq!(robots.status(), 200);
        assert!(robots.text().await.expect("body").starts_with("User-agent"));
        let login: serde_json::Value =
            serde_json::from_slice(&std::fs::read(data.join("demo-login.json")).expect("login"))
                .expect("json");
        let printed = read_log();
        assert!(
            printed.contains(login["password"].as_str().expect("password")),
            "run {run}: the demo login is printed"
        );
        assert!(printed.contains(&w.portal));
        let page = reqwest::get(format!("{}/login", w.portal))
            .await
            .expect("login page");
        assert_eq!(page.status(), 200, "run {run}");
        drop(w);
    }
    let text = read_log();
    assert_eq!(
        text.matches("node enrolled with the portal").count(),
        1,
        "the second run reuses the node: {text}"
    );
}
