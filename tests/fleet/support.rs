//! Test support for nodes and portals together: a real `weir portal` process (which the
//! test can kill and start again on the same port and database), a tenant with a write API
//! token made directly in its database, API helpers, and managed `weir proxy` nodes.

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_testkit::{free_addr, Node, NodeBuilder};

/// A `weir portal` process with one tenant and a write token.
pub struct PortalProc {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub db_url: String,
    pub dir: tempfile::TempDir,
    pub tenant: String,
    pub token: String,
    api: reqwest::Client,
}

impl PortalProc {
    /// A portal on SQLite in a temp dir.
    pub async fn start() -> PortalProc {
        let dir = tempfile::tempdir().expect("tempdir");
        let db_url = format!("sqlite:{}", dir.path().join("portal.db").display());
        Self::start_on(db_url, dir).await
    }

    /// A portal on the database at `db_url` (data files in `dir`).
    pub async fn start_on(db_url: String, dir: tempfile::TempDir) -> PortalProc {
        let mut p = PortalProc {
            child: None,
            addr: free_addr(),
            db_url,
            dir,
            tenant: String::new(),
            token: String::new(),
            api: reqwest::Client::new(),
        };
        p.spawn().await;
        let (tenant, token) = bootstrap(&p.db_url).await;
        p.tenant = tenant;
        p.token = token;
        p
    }

    /// Another portal process (a replica) on the same database, with the same tenant.
    pub async fn replica(&self) -> PortalProc {
        let mut p = PortalProc {
            child: None,
            addr: free_addr(),
            db_url: self.db_url.clone(),
            dir: tempfile::tempdir().expect("tempdir"),
            tenant: self.tenant.clone(),
            token: self.token.clone(),
            api: reqwest::Client::new(),
        };
        p.spawn().await;
        p
    }

    fn log_path(&self) -> PathBuf {
        self.dir
            .path()
            .join(format!("portal-{}.log", self.addr.port()))
    }

    /// The portal's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Starts the process (again) on the same address and database.
    pub async fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_weir"))
            .args(["portal", "--listen", &self.addr.to_string()])
            .args(["--database-url", &self.db_url])
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .args(["--public-url", &self.url("")])
            .env("WEIR_SMTP_URL", "smtp://127.0.0.1:1")
            .env("WEIR_NODES_HEARTBEAT_MS", "1000")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("spawn weir portal");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if reqwest::get(self.url("/healthz"))
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            assert!(exited.is_none(), "portal exited: {}", self.log());
            assert!(
                Instant::now() < deadline,
                "portal did not start: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the process (SIGKILL: nothing is said to the nodes).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// An API call with the tenant's token: (status, JSON body).
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let url = self.url(&format!("/api/t/{}{path}", self.tenant));
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.api.request(method, url).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("api call");
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    /// Creates or replaces a site or pool (`kind` = `sites` | `pools`).
    pub async fn put(&self, kind: &str, id: &str, mut body: Value) {
        body["id"] = json!(id);
        let (status, answer) = self
            .call("PUT", &format!("/{kind}/{id}"), Some(body.clone()))
            .await;
        if status == StatusCode::NOT_FOUND {
            let (status, answer) = self.call("POST", &format!("/{kind}"), Some(body)).await;
            assert_eq!(status, StatusCode::CREATED, "create {kind}/{id}: {answer}");
        } else {
            assert_eq!(status, StatusCode::OK, "update {kind}/{id}: {answer}");
        }
    }

    /// A pool `id` over `backends`.
    pub async fn pool(&self, id: &str, backends: &[SocketAddr]) {
        let backend: Vec<Value> = backends
            .iter()
            .map(|a| json!({"addr": a.to_string()}))
            .collect();
        self.put("pools", id, json!({ "backend": backend })).await;
    }

    /// The site `shop` (host `shop.test`) over a pool `web` of `backends`, with `plugins`.
    pub async fn shop(&self, backends: &[SocketAddr], plugins: Value) {
        self.pool("web", backends).await;
        self.put(
            "sites",
            "shop",
            json!({"hosts": ["shop.test"], "pool": "web", "plugin": plugins}),
        )
        .await;
    }

    /// Creates a node and starts it with its join token, talking to the portal at `via`
    /// (this portal, a replica, or something in between).
    pub async fn enrolled_node(&self, via: &str) -> Enrolled {
        let (id, join) = self.new_node("edge").await;
        let data = tempfile::tempdir().expect("data dir");
        let node = managed(data.path(), via, Some(&join)).start("").await;
        Enrolled {
            id,
            join,
            data,
            node,
        }
    }

    /// Uploads a component as the next version of plugin `name`; returns its version.
    pub async fn upload(&self, name: &str, bytes: Vec<u8>) -> i64 {
        let r = self
            .api
            .post(self.url(&format!("/api/t/{}/plugins/{name}", self.tenant)))
            .bearer_auth(&self.token)
            .body(bytes)
            .send()
            .await
            .expect("upload");
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::CREATED, "upload: {body}");
        body["version"].as_i64().expect("version")
    }

    /// Creates a node; returns (node id, join token).
    pub async fn new_node(&self, name: &str) -> (String, String) {
        let (status, body) = self
            .call("POST", "/nodes", Some(json!({ "name": name })))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["node"]["id"].as_str().expect("id").to_string(),
            body["join_token"].as_str().expect("token").to_string(),
        )
    }

    /// Revokes node `id` here and waits until `node` says the portal refuses it (its stream
    /// ended at once, and reconnecting was refused).
    pub async fn revoke(&self, id: &str, node: &Node) {
        let (status, _) = self.call("DELETE", &format!("/nodes/{id}"), None).await;
        assert_eq!(status, 204);
        node.log_with("refuses this node's credential").await;
        assert!(
            node.log().contains("refuses this node's credential"),
            "{}",
            node.log()
        );
    }

    /// The tenant's node `id` as the portal lists it.
    pub async fn node(&self, id: &str) -> Value {
        let (status, body) = self.call("GET", "/nodes", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["nodes"]
            .as_array()
            .and_then(|n| n.iter().find(|n| n["id"] == id).cloned())
            .unwrap_or(Value::Null)
    }
}

impl Drop for PortalProc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A confirmed account, its tenant and a write token, made in the portal's database.
async fn bootstrap(db_url: &str) -> (String, String) {
    let pool = weir_portal::db::Pool::connect(db_url).await.expect("db");
    let store = weir_portal::store::Store::new(pool);
    let mut config = weir_portal::PortalConfig::default();
    config.auth.argon2_memory_kib = 1024;
    let accounts =
        weir_portal::auth::Accounts::new(store.clone(), Arc::new(config)).expect("accounts");
    let (user, tenant) = accounts
        .create_confirmed("fleet@example.test", "a long fleet password", "Fleet")
        .await
        .expect("account");
    let minted = weir_portal::api_tokens::mint(&store, &tenant, "fleet", "write", None, &user)
        .await
        .expect("token");
    (tenant, minted.secret)
}

/// A node enrolled by [`PortalProc::enrolled_node`]. Keep `data` alive as long as the node
/// runs (a dropped `TempDir` deletes the node's data directory).
pub struct Enrolled {
    pub id: String,
    /// The join token it used.
    pub join: String,
    pub data: tempfile::TempDir,
    pub node: Node,
}

/// Waits until `node` serves `shop.test` from the backend named `backend`.
pub async fn wait_served(node: &Node, backend: &str, what: &str) {
    eventually(Duration::from_secs(30), what, || async {
        (served_by(node, "shop.test").await.as_deref() == Some(backend)).then_some(())
    })
    .await;
}

/// A managed node: `weir proxy --data-dir DIR --portal URL [--join-token T]`, local settings
/// only in its config file.
pub fn managed(data_dir: &Path, portal: &str, join_token: Option<&str>) -> NodeBuilder {
    let mut b = crate::node()
        .arg("--data-dir")
        .arg(data_dir.display().to_string())
        .arg("--portal")
        .arg(portal);
    if let Some(t) = join_token {
        b = b.arg("--join-token").arg(t);
    }
    b
}

/// Polls `f` every 20 ms until it gives `Some`, or fails after `limit` with `what`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The backend that answered `GET http://host/` through `node`, if any answered.
pub async fn served_by(node: &Node, host: &str) -> Option<String> {
    let r = node
        .client(&[host])
        .get(node.url(host, "/"))
        .send()
        .await
        .ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.headers()
        .get("x-backend")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The bundle version the node's admin API says it serves.
pub async fn node_bundle_version(node: &Node) -> i64 {
    node.status().await["bundle"]["version"]
        .as_i64()
        .unwrap_or(-1)
}
