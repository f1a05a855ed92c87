//! A real `weir proxy` process on free loopback ports, with its config in a temp dir and its
//! log (stdout and stderr) in a file the test can read.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Builds a node config and starts the process.
pub struct NodeBuilder {
    bin: PathBuf,
    proxy_extra: Vec<String>,
    files: Vec<(String, Vec<u8>)>,
    tls: bool,
    envs: Vec<(String, String)>,
    args: Vec<String>,
    addrs: Option<(SocketAddr, SocketAddr)>,
}

/// A running `weir proxy`.
pub struct Node {
    child: Child,
    dir: tempfile::TempDir,
    /// Plain HTTP listener.
    pub http: SocketAddr,
    /// TLS listener, when built with [`NodeBuilder::tls`].
    pub https: Option<SocketAddr>,
    /// Admin API.
    pub admin: SocketAddr,
}

/// A free loopback port (bound then released).
pub fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
}

impl NodeBuilder {
    /// A node run from the `weir` binary at `bin` (tests pass `env!("CARGO_BIN_EXE_weir")`).
    pub fn new(bin: impl Into<PathBuf>) -> Self {
        NodeBuilder {
            bin: bin.into(),
            proxy_extra: Vec::new(),
            files: Vec::new(),
            tls: false,
            envs: Vec::new(),
            args: Vec::new(),
            addrs: None,
        }
    }

    /// Extra command-line arguments after `proxy --config FILE`.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Serves on these addresses (HTTP, admin) instead of free ones: a node restarted in
    /// place.
    pub fn at(mut self, http: SocketAddr, admin: SocketAddr) -> Self {
        self.addrs = Some((http, admin));
        self
    }

    /// An extra line in `[proxy]`, e.g. `h2c = true`.
    pub fn proxy(mut self, line: &str) -> Self {
        self.proxy_extra.push(line.to_string());
        self
    }

    /// A file written next to the config (error pages, certificates).
    pub fn file(mut self, name: &str, contents: impl AsRef<[u8]>) -> Self {
        self.files
            .push((name.to_string(), contents.as_ref().to_vec()));
        self
    }

    /// Adds a TLS listener.
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// An environment variable for the process.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.envs.push((key.to_string(), value.to_string()));
        self
    }

    /// Writes the config (`[proxy]` with free ports, then `body`) and starts the node; waits
    /// until its admin API says it is ready.
    pub async fn start(self, body: &str) -> Node {
        self.try_start(body)
            .await
            .unwrap_or_else(|log| panic!("weir proxy did not start:\n{log}"))
    }

    /// Like [`Self::start`], but returns the log when the process exits instead.
    pub async fn try_start(self, body: &str) -> Result<Node, String> {
        let mut node = self.spawn(body);
        node.wait_ready().await?;
        Ok(node)
    }

    /// Writes the config and starts the process without waiting for it (a node taking over
    /// from another with `--upgrade`); see [`Node::wait_ready`].
    pub fn spawn(self, body: &str) -> Node {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, contents) in &self.files {
            std::fs::write(dir.path().join(name), contents).expect("write file");
        }
        let (http, admin) = self.addrs.unwrap_or_else(|| (free_addr(), free_addr()));
        let https = self.tls.then(free_addr);
        let mut config =
            format!("[proxy]\nlisten = [\"{http}\"]\nadmin_listen = \"{admin}\"\nthreads = 2\n");
        if let Some(a) = https {
            config.push_str(&format!("tls_listen = [\"{a}\"]\n"));
        }
        for line in &self.proxy_extra {
            config.push_str(line);
            config.push('\n');
        }
        config.push('\n');
        config.push_str(body);
        std::fs::write(dir.path().join("weir.toml"), config).expect("write config");
        let log = std::fs::File::create(dir.path().join("weir.log")).expect("log file");
        let mut cmd = Command::new(&self.bin);
        cmd.arg("proxy")
            .arg("--config")
            .arg(dir.path().join("weir.toml"))
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log);
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn weir");
        Node {
            child,
            dir,
            http,
            https,
            admin,
        }
    }
}

impl Node {
    /// Waits until the admin API says ready and the traffic listeners accept; the log when
    /// the process exits or 20 s pass.
    pub async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Err(self.log());
            }
            let ready = reqwest::get(self.admin_url("/ready"))
                .await
                .is_ok_and(|r| r.status() == 200);
            // Ready (signal handlers in place) and the traffic listener accepting.
            let tls_up = self
                .https
                .is_none_or(|a| std::net::TcpStream::connect(a).is_ok());
            if ready && tls_up && std::net::TcpStream::connect(self.http).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("timed out; log:\n{}", self.log()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Whether the process has exited.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory of the process, in KiB (Linux `/proc`).
    pub fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0)
    }

    /// The config directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The config file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("weir.toml")
    }

    /// Everything the process printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("weir.log")).unwrap_or_default()
    }

    /// The log once it holds `needle` (the node writes its log asynchronously), or as it is
    /// after ten seconds.
    pub async fn log_with(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            if log.contains(needle) || Instant::now() >= deadline {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The admin `/metrics` text (Prometheus exposition format).
    pub async fn metrics(&self) -> String {
        reqwest::get(self.admin_url("/metrics"))
            .await
            .expect("admin metrics")
            .text()
            .await
            .expect("metrics body")
    }

    /// `http://HOST:PORT/PATH` on the plain listener.
    pub fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.http.port())
    }

    /// An admin API URL.
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin)
    }

    /// A client that resolves `hosts` to this node (both listeners) and never pools beyond
    /// what a browser would.
    pub fn client(&self, hosts: &[&str]) -> reqwest::Client {
        self.client_builder(hosts).build().expect("client")
    }

    /// The builder behind [`Self::client`], for extra settings.
    pub fn client_builder(&self, hosts: &[&str]) -> reqwest::ClientBuilder {
        let mut b = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .no_proxy();
        for h in hosts {
            b = b.resolve(h, self.http);
        }
        b
    }

    /// Sends a signal (`HUP`, `TERM`, …) to the process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {name} failed");
    }

    /// Waits up to `limit` for the process to exit; its exit status, or `None` on timeout.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }

    /// The admin `/status` document.
    pub async fn status(&self) -> serde_json::Value {
        reqwest::get(self.admin_url("/status"))
            .await
            .expect("admin status")
            .json()
            .await
            .expect("status JSON")
    }

    /// The status entry of backend `addr` in pool `pool`.
    pub async fn backend_status(&self, pool: &str, addr: SocketAddr) -> serde_json::Value {
        let status = self.status().await;
        status["pools"]
            .as_array()
            .and_then(|pools| pools.iter().find(|p| p["id"] == pool))
            .and_then(|p| p["backends"].as_array())
            .and_then(|bs| bs.iter().find(|b| b["addr"] == addr.to_string()))
            .cloned()
            .unwrap_or_else(|| panic!("no backend {addr} in pool {pool}: {status}"))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
