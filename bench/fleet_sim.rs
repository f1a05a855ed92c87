//! Fleet simulator for `bench/fleet.sh`: one Tokio process plays N managed nodes against one
//! running `weir portal`, speaking the node API the way `weir proxy --portal` does.
//!
//! Each simulated node holds its own event stream (`GET /api/node/v1/events`, one TCP
//! connection) and sends a heartbeat (`POST /api/node/v1/heartbeat`) every 5 s, the first at
//! a random point of the first 5 s, and at once after each new bundle (the node's ack).
//! Heartbeats go over a shared set of `--beat-conns` keep-alive connections (a real node
//! keeps one of its own, but 10,000 more connections per process do not fit the 20,000
//! open-file limit of the machine this was written on); a heartbeat's latency is measured
//! from when it has a connection, and heartbeats that waited for one are counted. Bundles are parsed and hashed but their
//! signature is not checked (that is node CPU, not portal work, and the simulator shares the
//! machine with the portal).
//!
//! Phases, each reported in the summary:
//! 1. setup: a confirmed account, its tenant and a write API token made in the portal's
//!    database (as tests/fleet/support.rs does); a pool and `--sites` sites through the API;
//!    N nodes created (`POST /api/t/{tenant}/nodes`) and enrolled (`POST
//!    /api/node/v1/enroll`) through the API, the real path.
//! 2. connect: every node opens its stream; done when all have their first bundle.
//! 3. steady: `--steady-s` seconds of heartbeats only (latency, failures, ingest rate).
//! 4. changes: `--changes` config changes (`PUT /api/t/{tenant}/pools/web`), `--change-every-s`
//!    apart; for each, the time from the PUT's answer (and from its send) to each node's
//!    receipt of the new version.
//! 5. saturation: periodic heartbeats paused; `--sat-conc` workers send heartbeats of
//!    `--sat-minutes` minutes per site as fast as the portal answers, for `--sat-s` seconds,
//!    each (node, site, minute) a new row.
//!
//! A metric is one number stored in a site-minute: the 5 request classes, bytes in, bytes out,
//! plugin failures, each non-zero latency bucket, each WAF category count, each country count
//! and each slow path's count, total and maximum. The generated minutes have 41 each (10
//! latency buckets, 3 WAF categories, 5 countries, 5 slow paths). Only minutes the portal
//! answered as stored (`stored_minutes`) are counted.
//!
//! Usage: `fleet-sim --portal http://127.0.0.1:PORT --database-url URL [--portal-pid PID]
//! [--nodes 10000] ...` (see `--help`).

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpSocket;
use tokio::sync::{Notify, Semaphore};
use weir_bundle::telemetry::{Heartbeat, SiteMinute, SlowPath, LATENCY_BUCKETS};

#[derive(Parser, Debug)]
#[command(about = "Simulates a fleet of managed nodes against one weir portal")]
struct Args {
    /// The portal's base URL (plain http, an IP address and port).
    #[arg(long)]
    portal: String,
    /// The portal's database (the tenant, its account and a write token are made there).
    #[arg(long)]
    database_url: String,
    /// The portal's process id, for RSS and CPU figures per phase.
    #[arg(long)]
    portal_pid: Option<u32>,
    /// Simulated nodes.
    #[arg(long, default_value_t = 10_000)]
    nodes: usize,
    /// Sites of the tenant; every node reports a minute for each.
    #[arg(long, default_value_t = 3)]
    sites: usize,
    /// Heartbeat interval (the portal's `hello` says 5000 ms).
    #[arg(long, default_value_t = 5_000)]
    heartbeat_ms: u64,
    /// Parallel calls while creating and enrolling nodes.
    #[arg(long, default_value_t = 64)]
    setup_conc: usize,
    /// Streams opening at once (connect to response headers).
    #[arg(long, default_value_t = 512)]
    connect_conc: usize,
    /// Keep-alive connections the nodes' heartbeats share (a real node keeps one of its own;
    /// 10,000 more connections on each side do not fit a 20,000 open-file limit).
    #[arg(long, default_value_t = 1_000)]
    beat_conns: usize,
    /// Seconds of heartbeats measured before the config changes.
    #[arg(long, default_value_t = 30)]
    steady_s: u64,
    /// Config changes.
    #[arg(long, default_value_t = 5)]
    changes: usize,
    /// Seconds from one change to the next.
    #[arg(long, default_value_t = 5.0)]
    change_every_s: f64,
    /// A node that has not received a change after this many seconds counts as missed.
    #[arg(long, default_value_t = 30.0)]
    change_timeout_s: f64,
    /// Seconds of the ingest-saturation phase (0: skip it).
    #[arg(long, default_value_t = 30)]
    sat_s: u64,
    /// Heartbeats in flight during saturation.
    #[arg(long, default_value_t = 32)]
    sat_conc: usize,
    /// Minutes per site in each saturation heartbeat (sites × this ≤ 500).
    #[arg(long, default_value_t = 60)]
    sat_minutes: usize,
    /// No heartbeat at once after a new bundle (the real node sends one).
    #[arg(long)]
    no_ack: bool,
}

/// Source addresses: streams, heartbeats and saturation each get their own loopback address
/// so 20,000+ connections to one port do not run out of ephemeral ports.
const SSE_SRC: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const BEAT_SRC: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
const SAT_SRC: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 4);

type Conn = SendRequest<Full<Bytes>>;

/// What the heartbeats of a phase did.
#[derive(Default)]
struct BeatStats {
    latency_us: Vec<u32>,
    ok: u64,
    failed: u64,
    stored_minutes: u64,
    metrics: u64,
    errors: BTreeMap<String, u64>,
}

impl BeatStats {
    fn fail(&mut self, why: String) {
        self.failed += 1;
        *self.errors.entry(why).or_default() += 1;
    }
}

struct Shared {
    addr: SocketAddr,
    host: String,
    sites: Vec<String>,
    heartbeat: Duration,
    ack: bool,
    beats_on: AtomicBool,
    beats: Mutex<BeatStats>,
    /// Per bundle version, when each node received it.
    receipts: Mutex<HashMap<i64, Vec<Instant>>>,
    /// Nodes whose stream said hello at least once.
    hellos: AtomicUsize,
    /// Streams that ended or failed (each reconnects).
    stream_breaks: AtomicU64,
    stream_errors: Mutex<BTreeMap<String, u64>>,
    connect_gate: Semaphore,
    /// Heartbeat connections: at most this many, shared by the nodes (see `--beat-conns`).
    beat_conns: Semaphore,
    beat_idle: Mutex<Vec<Conn>>,
    /// Heartbeats that waited more than 10 ms for a free connection.
    beats_waited: AtomicU64,
}

struct SimNode {
    idx: usize,
    auth: String,
    /// (version, SHA-256 hex of the bundle text) the node "serves".
    applied: Mutex<(i64, String)>,
    kick: Notify,
    said_hello: AtomicBool,
}

fn unix_now() -> (i64, f64) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let s = d.as_secs() as i64;
    (s, d.subsec_nanos() as f64 / 1e9)
}

/// A cheap deterministic mix (splitmix64) for the rollups' numbers and for jitter.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    (h.finish() % 1_000_000) as f64 / 1_000_000.0
}

const WAF: [&str; 3] = ["sqli", "xss", "lfi"];
const COUNTRIES: [&str; 5] = ["DE", "FR", "GB", "JP", "US"];
const PATHS: [&str; 5] = [
    "/api/cart",
    "/api/search",
    "/checkout",
    "/images/hero.jpg",
    "/product/espresso-machine",
];

/// One site's traffic on node `node` in `minute`, `fill` (0..=1) of the way through it: the
/// shape a busy node's rollup has (every class, ~10 latency buckets, 3 WAF categories, 5
/// countries, 5 slow paths).
fn site_minute(node: usize, site: &str, site_idx: usize, minute: i64, fill: f64) -> SiteMinute {
    let seed = mix(((node as u64) << 20) ^ ((site_idx as u64) << 48) ^ (minute as u64));
    let scale = |base: u64, salt: u64| -> u64 {
        let r = mix(seed ^ salt) % (base / 2 + 1);
        (((base + r) as f64) * fill).ceil() as u64
    };
    let requests = [
        scale(2, 1),
        scale(6_000, 2),
        scale(400, 3),
        scale(300, 4),
        scale(20, 5),
    ];
    let mut latency = vec![0u64; 16];
    for (i, b) in latency.iter_mut().enumerate().skip(6) {
        *b = scale(600 / (i as u64 - 4), 10 + i as u64);
    }
    debug_assert!(latency.len() <= LATENCY_BUCKETS);
    SiteMinute {
        site: site.to_string(),
        minute,
        requests,
        bytes_in: scale(2_000_000, 6),
        bytes_out: scale(90_000_000, 7),
        latency,
        plugin_failures: scale(3, 8),
        waf_blocks: WAF
            .iter()
            .enumerate()
            .map(|(i, c)| (c.to_string(), scale(12, 30 + i as u64)))
            .collect(),
        countries: COUNTRIES
            .iter()
            .enumerate()
            .map(|(i, c)| (c.to_string(), scale(1_500, 40 + i as u64)))
            .collect(),
        slow_paths: PATHS
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let count = scale(200, 50 + i as u64);
                SlowPath {
                    path: p.to_string(),
                    count,
                    total_us: count * (3_000 + mix(seed ^ (60 + i as u64)) % 40_000),
                    max_us: 90_000 + mix(seed ^ (70 + i as u64)) % 900_000,
                }
            })
            .collect(),
    }
}

/// The numbers of a site-minute that count as metrics (see the file's doc).
fn metrics_in(m: &SiteMinute) -> u64 {
    (5 + 3
        + m.latency.iter().filter(|&&v| v > 0).count()
        + m.waf_blocks.len()
        + m.countries.len()
        + 3 * m.slow_paths.len()) as u64
}

async fn connect(addr: SocketAddr, src: Ipv4Addr) -> Result<Conn, String> {
    let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    socket
        .bind(SocketAddr::new(IpAddr::V4(src), 0))
        .map_err(|e| format!("bind: {e}"))?;
    let tcp = socket
        .connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(send)
}

fn request(sh: &Shared, method: &str, path: &str, auth: &str, body: Bytes) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", &sh.host)
        .header("authorization", auth)
        .header("content-type", "application/json")
        .body(Full::new(body))
        .expect("a well-formed request")
}

// ------------------------------------------------------------------ event streams

#[derive(serde::Deserialize)]
struct Signed {
    version: i64,
    bundle: String,
}

async fn stream_forever(sh: Arc<Shared>, node: Arc<SimNode>) {
    let mut backoff = Duration::from_millis(250);
    loop {
        let why = stream_once(&sh, &node, &mut backoff).await;
        sh.stream_breaks.fetch_add(1, Ordering::Relaxed);
        *sh.stream_errors
            .lock()
            .expect("lock")
            .entry(why)
            .or_default() += 1;
        tokio::time::sleep(backoff.mul_f64(0.5 + random_unit())).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

async fn stream_once(sh: &Shared, node: &SimNode, backoff: &mut Duration) -> String {
    let response = {
        let _gate = sh.connect_gate.acquire().await.expect("gate");
        let mut conn = match connect(sh.addr, SSE_SRC).await {
            Ok(c) => c,
            Err(e) => return e,
        };
        let have = node.applied.lock().expect("lock").1.clone();
        let mut req = request(sh, "GET", "/api/node/v1/events", &node.auth, Bytes::new());
        match have.parse() {
            Ok(v) => {
                req.headers_mut().insert("x-weir-bundle-hash", v);
            }
            Err(e) => return format!("hash header: {e}"),
        }
        match conn.send_request(req).await {
            Ok(r) => r,
            Err(e) => return format!("events request: {e}"),
        }
    };
    if response.status() != StatusCode::OK {
        return format!("events answered {}", response.status());
    }
    let mut body = response.into_body();
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    loop {
        let frame = match body.frame().await {
            None => return "stream ended".into(),
            Some(Err(e)) => return format!("stream broke: {e}"),
            Some(Ok(f)) => f,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        buf.extend_from_slice(&data);
        while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = buf.drain(..end + 2).collect();
            if let Err(e) = on_event(sh, node, &event) {
                return e;
            }
            *backoff = Duration::from_millis(250);
        }
    }
}

fn on_event(sh: &Shared, node: &SimNode, raw: &[u8]) -> Result<(), String> {
    let at = Instant::now();
    let text = std::str::from_utf8(raw).map_err(|_| "event is not UTF-8".to_string())?;
    let mut name = "message";
    let mut data = String::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            name = v.trim_start();
        } else if let Some(v) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    match name {
        "hello" => {
            let first = !node.said_hello.swap(true, Ordering::Relaxed);
            sh.hellos.fetch_add(usize::from(first), Ordering::Relaxed);
        }
        "bundle" => {
            let signed: Signed =
                serde_json::from_str(&data).map_err(|e| format!("bad bundle event: {e}"))?;
            sh.receipts
                .lock()
                .expect("lock")
                .entry(signed.version)
                .or_default()
                .push(at);
            let hash = weir_sdk_wit::sha256_hex(signed.bundle.as_bytes());
            {
                let mut applied = node.applied.lock().expect("lock");
                if signed.version > applied.0 {
                    *applied = (signed.version, hash);
                }
            }
            if sh.ack {
                node.kick.notify_one();
            }
        }
        _ => {}
    }
    Ok(())
}

// ------------------------------------------------------------------ heartbeats

/// Sends one heartbeat on `conn` (connecting first when there is none); returns the stored
/// minutes.
async fn send_beat(
    sh: &Shared,
    conn: &mut Option<Conn>,
    src: Ipv4Addr,
    auth: &str,
    beat: &Heartbeat,
) -> Result<u64, String> {
    let body = Bytes::from(serde_json::to_vec(beat).map_err(|e| e.to_string())?);
    if conn.as_ref().is_none_or(|c| c.is_closed()) {
        *conn = Some(connect(sh.addr, src).await?);
    }
    let c = conn.as_mut().ok_or("no connection")?;
    if c.ready().await.is_err() {
        *conn = None;
        return Err("connection closed".into());
    }
    let req = request(sh, "POST", "/api/node/v1/heartbeat", auth, body);
    let result = async {
        let r = c
            .send_request(req)
            .await
            .map_err(|e| format!("heartbeat: {e}"))?;
        let status = r.status();
        let body = r
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("heartbeat body: {e}"))?
            .to_bytes();
        if status != StatusCode::OK {
            let text = String::from_utf8_lossy(&body);
            return Err(format!(
                "heartbeat answered {status}: {}",
                text.chars().take(120).collect::<String>()
            ));
        }
        let v: Value =
            serde_json::from_slice(&body).map_err(|e| format!("heartbeat answer: {e}"))?;
        v["stored_minutes"]
            .as_u64()
            .ok_or_else(|| "no stored_minutes".to_string())
    }
    .await;
    if result.is_err() {
        *conn = None;
    }
    result
}

fn record(sh: &Shared, started: Instant, beat: &Heartbeat, result: Result<u64, String>) {
    let us = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
    let mut s = sh.beats.lock().expect("lock");
    match result {
        Ok(stored) => {
            s.ok += 1;
            s.latency_us.push(us);
            s.stored_minutes += stored;
            let sent = beat.minutes.len() as u64;
            let metrics: u64 = beat.minutes.iter().map(metrics_in).sum();
            s.metrics += if stored == sent {
                metrics
            } else {
                metrics * stored / sent.max(1)
            };
        }
        Err(e) => s.fail(e),
    }
}

fn heartbeat(node: &SimNode, started: Instant, minutes: Vec<SiteMinute>) -> Heartbeat {
    let (version, hash) = node.applied.lock().expect("lock").clone();
    Heartbeat {
        bundle_version: version,
        bundle_hash: hash,
        weir_version: "0.1.0-fleet-sim".into(),
        uptime_s: started.elapsed().as_secs(),
        in_flight: mix(node.idx as u64 ^ started.elapsed().as_secs()) % 40,
        apply_error: None,
        minutes,
    }
}

async fn beat_forever(sh: Arc<Shared>, node: Arc<SimNode>) {
    let started = Instant::now();
    tokio::time::sleep(sh.heartbeat.mul_f64(random_unit())).await;
    // The minute of the last delivered heartbeat: a closed minute is sent until delivered.
    let mut delivered: Option<i64> = None;
    loop {
        if sh.beats_on.load(Ordering::Relaxed) {
            let (secs, frac) = unix_now();
            let now_min = secs.div_euclid(60);
            let fill = ((secs.rem_euclid(60)) as f64 + frac) / 60.0;
            let mut minutes = Vec::with_capacity(sh.sites.len() * 2);
            if let Some(prev) = delivered.filter(|&m| m < now_min) {
                for (i, s) in sh.sites.iter().enumerate() {
                    minutes.push(site_minute(node.idx, s, i, prev, 1.0));
                }
            }
            for (i, s) in sh.sites.iter().enumerate() {
                minutes.push(site_minute(node.idx, s, i, now_min, fill.max(0.01)));
            }
            let beat = heartbeat(&node, started, minutes);
            let due = Instant::now();
            let _permit = sh.beat_conns.acquire().await.expect("pool");
            let t = Instant::now();
            if t - due > Duration::from_millis(10) {
                sh.beats_waited.fetch_add(1, Ordering::Relaxed);
            }
            let mut conn = sh.beat_idle.lock().expect("lock").pop();
            let result = send_beat(&sh, &mut conn, BEAT_SRC, &node.auth, &beat).await;
            if let Some(c) = conn {
                sh.beat_idle.lock().expect("lock").push(c);
            }
            if result.is_ok() {
                delivered = Some(now_min);
            }
            record(&sh, t, &beat, result);
        }
        tokio::select! {
            _ = tokio::time::sleep(sh.heartbeat) => {}
            _ = node.kick.notified() => {}
        }
    }
}

/// Saturation: heartbeats of `minutes` minutes per site, back to back on one connection,
/// cycling over the nodes; each (node, site, minute) is new (windows step back from now).
async fn saturate(
    sh: Arc<Shared>,
    nodes: Arc<Vec<Arc<SimNode>>>,
    seq: Arc<AtomicU64>,
    minutes: usize,
    until: Instant,
) {
    let started = Instant::now();
    let mut conn = None;
    let (secs, _) = unix_now();
    let now_min = secs.div_euclid(60);
    let windows = (24 * 60 / minutes as u64).max(1);
    while Instant::now() < until {
        let i = seq.fetch_add(1, Ordering::Relaxed);
        let node = &nodes[(i % nodes.len() as u64) as usize];
        let window = (i / nodes.len() as u64) % windows;
        let first = now_min - 2 - (window as i64) * minutes as i64;
        let mut ms = Vec::with_capacity(minutes * sh.sites.len());
        for m in 0..minutes {
            for (si, s) in sh.sites.iter().enumerate() {
                ms.push(site_minute(node.idx, s, si, first - m as i64, 1.0));
            }
        }
        let beat = heartbeat(node, started, ms);
        let t = Instant::now();
        let result = send_beat(&sh, &mut conn, SAT_SRC, &node.auth, &beat).await;
        record(&sh, t, &beat, result);
    }
}

// ------------------------------------------------------------------ setup

struct Api {
    http: reqwest::Client,
    base: String,
    tenant: String,
    token: String,
}

impl Api {
    async fn call(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let url = format!("{}/api/t/{}{path}", self.base, self.tenant);
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let r = self
            .http
            .request(method, url)
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("portal API call");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// Creates a node and enrolls it; returns its credential.
    async fn enroll(&self, name: &str) -> Result<String, String> {
        let (status, body) = self.call("POST", "/nodes", json!({ "name": name })).await;
        if status != 201 {
            return Err(format!("create node: {status} {body}"));
        }
        let join = body["join_token"].as_str().ok_or("no join token")?;
        let r = self
            .http
            .post(format!("{}/api/node/v1/enroll", self.base))
            .json(&json!({ "join_token": join, "version": "0.1.0-fleet-sim" }))
            .send()
            .await
            .map_err(|e| format!("enroll: {e}"))?;
        let status = r.status();
        let body: Value = r.json().await.map_err(|e| format!("enroll answer: {e}"))?;
        if status != 200 {
            return Err(format!("enroll: {status} {body}"));
        }
        body["credential"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| "no credential".into())
    }
}

/// A confirmed account, its tenant and a write token, made in the portal's database.
async fn bootstrap(db_url: &str) -> (String, String) {
    let pool = weir_portal::db::Pool::connect(db_url)
        .await
        .expect("open the portal's database");
    let store = weir_portal::store::Store::new(pool);
    let mut config = weir_portal::PortalConfig::default();
    config.auth.argon2_memory_kib = 1024;
    let accounts =
        weir_portal::auth::Accounts::new(store.clone(), Arc::new(config)).expect("accounts");
    let email = format!("fleet-{}@example.test", std::process::id());
    let (user, tenant) = accounts
        .create_confirmed(&email, "a long fleet password", "Fleet")
        .await
        .expect("create the bench account");
    let minted = weir_portal::api_tokens::mint(&store, &tenant, "fleet-sim", "write", None, &user)
        .await
        .expect("mint a write token");
    (tenant, minted.secret)
}

// ------------------------------------------------------------------ figures

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// (VmRSS, VmHWM) in MiB.
fn rss(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// CPU seconds (user + system) a process used so far.
fn cpu_s(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

struct Phase {
    name: &'static str,
    secs: f64,
    portal_cpu: Option<f64>,
    sim_cpu: Option<f64>,
    rss: Option<(f64, f64)>,
}

struct Clock {
    pid: Option<u32>,
    at: Instant,
    portal_cpu: Option<f64>,
    sim_cpu: Option<f64>,
    phases: Vec<Phase>,
}

impl Clock {
    fn new(pid: Option<u32>) -> Clock {
        Clock {
            pid,
            at: Instant::now(),
            portal_cpu: pid.and_then(|p| cpu_s(&p.to_string())),
            sim_cpu: cpu_s("self"),
            phases: Vec::new(),
        }
    }

    /// Ends the phase `name` (started at the previous mark).
    fn mark(&mut self, name: &'static str) -> f64 {
        let secs = self.at.elapsed().as_secs_f64();
        let portal_cpu = self.pid.and_then(|p| cpu_s(&p.to_string()));
        let sim_cpu = cpu_s("self");
        let diff = |a: Option<f64>, b: Option<f64>| Some(a? - b?);
        self.phases.push(Phase {
            name,
            secs,
            portal_cpu: diff(portal_cpu, self.portal_cpu),
            sim_cpu: diff(sim_cpu, self.sim_cpu),
            rss: self.pid.and_then(rss),
        });
        self.at = Instant::now();
        self.portal_cpu = portal_cpu;
        self.sim_cpu = sim_cpu;
        eprintln!("[fleet-sim] {name}: {secs:.1} s");
        secs
    }
}

struct BeatSummary {
    beats: u64,
    failed: u64,
    per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    minutes_per_s: f64,
    metrics_per_s: f64,
    errors: BTreeMap<String, u64>,
}

fn take_beats(sh: &Shared, secs: f64) -> BeatSummary {
    let s = std::mem::take(&mut *sh.beats.lock().expect("lock"));
    let mut lat: Vec<f64> = s.latency_us.iter().map(|&u| u as f64 / 1000.0).collect();
    lat.sort_by(f64::total_cmp);
    BeatSummary {
        beats: s.ok,
        failed: s.failed,
        per_s: s.ok as f64 / secs,
        p50_ms: percentile(&lat, 0.50),
        p99_ms: percentile(&lat, 0.99),
        max_ms: lat.last().copied().unwrap_or(f64::NAN),
        minutes_per_s: s.stored_minutes as f64 / secs,
        metrics_per_s: s.metrics as f64 / secs,
        errors: s.errors,
    }
}

struct ChangeResult {
    version: i64,
    put_ms: f64,
    received: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    within_2s: f64,
    p99_from_send_ms: f64,
}

/// Waits until `n` nodes received `version` (or `timeout`); the delays from `answered`
/// (receipts before the answer count as 0) and from `sent`.
async fn receipts(
    sh: &Shared,
    version: i64,
    n: usize,
    sent: Instant,
    answered: Instant,
    timeout: Duration,
) -> (Vec<f64>, Vec<f64>) {
    let deadline = answered + timeout;
    loop {
        let got = sh
            .receipts
            .lock()
            .expect("lock")
            .get(&version)
            .map_or(0, Vec::len);
        if got >= n || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let all = sh
        .receipts
        .lock()
        .expect("lock")
        .get(&version)
        .cloned()
        .unwrap_or_default();
    let ms = |from: Instant| -> Vec<f64> {
        let mut v: Vec<f64> = all
            .iter()
            .map(|t| t.saturating_duration_since(from).as_secs_f64() * 1000.0)
            .collect();
        v.sort_by(f64::total_cmp);
        v
    };
    (ms(answered), ms(sent))
}

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(args));
}

async fn run(args: Args) {
    let addr: SocketAddr = args
        .portal
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("--portal must be http://IP:PORT");
    assert!(
        args.sites * args.sat_minutes <= weir_bundle::telemetry::MAX_MINUTES,
        "--sites × --sat-minutes must be at most {}",
        weir_bundle::telemetry::MAX_MINUTES
    );
    let mut clock = Clock::new(args.portal_pid);

    // 1. Setup.
    let (tenant, token) = bootstrap(&args.database_url).await;
    let api = Arc::new(Api {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(args.setup_conc)
            .build()
            .expect("http client"),
        base: format!("http://{addr}"),
        tenant,
        token,
    });
    let (status, body) = api
        .call(
            "POST",
            "/pools",
            json!({"id": "web", "backend": [{"addr": "10.0.0.1:8000"}]}),
        )
        .await;
    assert_eq!(status, 201, "create pool: {body}");
    let sites: Vec<String> = (1..=args.sites).map(|i| format!("site-{i}")).collect();
    for s in &sites {
        let (status, body) = api
            .call(
                "POST",
                "/sites",
                json!({"id": s, "hosts": [format!("{s}.test")], "pool": "web"}),
            )
            .await;
        assert_eq!(status, 201, "create site {s}: {body}");
    }
    let gate = Arc::new(Semaphore::new(args.setup_conc));
    let mut enrolls = Vec::with_capacity(args.nodes);
    for i in 0..args.nodes {
        let (api, gate) = (Arc::clone(&api), Arc::clone(&gate));
        enrolls.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.expect("gate");
            api.enroll(&format!("sim-{i:05}")).await
        }));
    }
    let mut credentials = Vec::with_capacity(args.nodes);
    for e in enrolls {
        credentials.push(e.await.expect("task").expect("create and enroll a node"));
    }
    let setup_s = clock.mark("setup: create + enroll nodes");

    // 2. Connect.
    let sh = Arc::new(Shared {
        addr,
        host: addr.to_string(),
        sites,
        heartbeat: Duration::from_millis(args.heartbeat_ms),
        ack: !args.no_ack,
        beats_on: AtomicBool::new(true),
        beats: Mutex::default(),
        receipts: Mutex::default(),
        hellos: AtomicUsize::new(0),
        stream_breaks: AtomicU64::new(0),
        stream_errors: Mutex::default(),
        connect_gate: Semaphore::new(args.connect_conc),
        beat_conns: Semaphore::new(args.beat_conns),
        beat_idle: Mutex::new(Vec::with_capacity(args.beat_conns)),
        beats_waited: AtomicU64::new(0),
    });
    let nodes: Arc<Vec<Arc<SimNode>>> = Arc::new(
        credentials
            .into_iter()
            .enumerate()
            .map(|(idx, c)| {
                Arc::new(SimNode {
                    idx,
                    auth: format!("Node {c}"),
                    applied: Mutex::new((0, String::new())),
                    kick: Notify::new(),
                    said_hello: AtomicBool::new(false),
                })
            })
            .collect(),
    );
    for node in nodes.iter() {
        tokio::spawn(stream_forever(Arc::clone(&sh), Arc::clone(node)));
        tokio::spawn(beat_forever(Arc::clone(&sh), Arc::clone(node)));
    }
    let first_version = {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let have_all = nodes
                .iter()
                .filter(|n| n.applied.lock().expect("lock").0 > 0)
                .count();
            if have_all == nodes.len() || Instant::now() > deadline {
                break nodes
                    .iter()
                    .map(|n| n.applied.lock().expect("lock").0)
                    .min()
                    .unwrap_or(0);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let connect_s = clock.mark("connect: every stream has its first bundle");
    let hellos_after_connect = sh.hellos.load(Ordering::Relaxed);
    let breaks_after_connect = sh.stream_breaks.load(Ordering::Relaxed);
    let connect_beats = take_beats(&sh, connect_s);

    // 3. Steady heartbeats.
    tokio::time::sleep(Duration::from_secs(args.steady_s)).await;
    let steady_s = clock.mark("steady: heartbeats");
    let steady = take_beats(&sh, steady_s);

    // 4. Config changes.
    let mut changes = Vec::new();
    for k in 1..=args.changes {
        let sent = Instant::now();
        let (status, body) = api
            .call(
                "PUT",
                "/pools/web",
                json!({"id": "web", "backend": [{"addr": format!("10.0.0.1:{}", 8000 + k)}]}),
            )
            .await;
        let answered = Instant::now();
        assert_eq!(status, 200, "change {k}: {body}");
        let version = body["version"].as_i64().expect("version in the answer");
        let (from_answer, from_send) = receipts(
            &sh,
            version,
            nodes.len(),
            sent,
            answered,
            Duration::from_secs_f64(args.change_timeout_s),
        )
        .await;
        let within = from_answer.iter().filter(|&&ms| ms <= 2000.0).count();
        changes.push(ChangeResult {
            version,
            put_ms: (answered - sent).as_secs_f64() * 1000.0,
            received: from_answer.len(),
            p50_ms: percentile(&from_answer, 0.5),
            p99_ms: percentile(&from_answer, 0.99),
            max_ms: from_answer.last().copied().unwrap_or(f64::NAN),
            within_2s: within as f64 / nodes.len() as f64,
            p99_from_send_ms: percentile(&from_send, 0.99),
        });
        let next = sent + Duration::from_secs_f64(args.change_every_s);
        tokio::time::sleep_until(next.into()).await;
    }
    let changes_s = clock.mark("changes: config pushes (heartbeats go on)");
    let during_changes = take_beats(&sh, changes_s);

    // 5. Saturation.
    let saturation = if args.sat_s > 0 {
        sh.beats_on.store(false, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let _ = take_beats(&sh, 1.0);
        clock.mark("pause");
        let until = Instant::now() + Duration::from_secs(args.sat_s);
        let seq = Arc::new(AtomicU64::new(0));
        let workers: Vec<_> = (0..args.sat_conc)
            .map(|_| {
                tokio::spawn(saturate(
                    Arc::clone(&sh),
                    Arc::clone(&nodes),
                    Arc::clone(&seq),
                    args.sat_minutes,
                    until,
                ))
            })
            .collect();
        for w in workers {
            let _ = w.await;
        }
        let secs = clock.mark("saturation: heartbeats back to back");
        sh.beats_on.store(true, Ordering::Relaxed);
        Some((secs, take_beats(&sh, secs)))
    } else {
        None
    };

    // Summary.
    let per_minute = metrics_in(&site_minute(0, "site-1", 0, 0, 1.0));
    println!();
    println!("## fleet-sim summary");
    println!();
    println!(
        "nodes {}, sites {}, heartbeat every {} ms (+ ack after each bundle: {}), {} metrics per site-minute",
        args.nodes,
        args.sites,
        args.heartbeat_ms,
        !args.no_ack,
        per_minute
    );
    println!(
        "setup (create + enroll through the API, {} in parallel): {:.1} s ({:.0} nodes/s)",
        args.setup_conc,
        setup_s,
        args.nodes as f64 / setup_s
    );
    println!(
        "connect: {hellos_after_connect} streams said hello, all had version {first_version} after {connect_s:.1} s; {breaks_after_connect} stream breaks so far"
    );
    println!();
    println!("| phase | s | heartbeats ok | heartbeats/s | failed | p50 ms | p99 ms | max ms | site-minutes/s | metrics/s |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let row = |name: &str, secs: f64, b: &BeatSummary| {
        println!(
            "| {name} | {secs:.0} | {} | {:.0} | {} | {:.1} | {:.1} | {:.1} | {:.0} | {:.0} |",
            b.beats,
            b.per_s,
            b.failed,
            b.p50_ms,
            b.p99_ms,
            b.max_ms,
            b.minutes_per_s,
            b.metrics_per_s
        );
    };
    row("connect", connect_s, &connect_beats);
    row("steady", steady_s, &steady);
    row("config changes", changes_s, &during_changes);
    if let Some((secs, s)) = &saturation {
        row(
            &format!(
                "saturation ({} in flight, {} min × {} sites per beat)",
                args.sat_conc, args.sat_minutes, args.sites
            ),
            *secs,
            s,
        );
    }
    println!();
    println!("| change | version | PUT ms | received | p50 ms | p99 ms | max ms | within 2 s | p99 from PUT sent ms |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (i, c) in changes.iter().enumerate() {
        println!(
            "| {} | {} | {:.0} | {}/{} | {:.0} | {:.0} | {:.0} | {:.2} % | {:.0} |",
            i + 1,
            c.version,
            c.put_ms,
            c.received,
            args.nodes,
            c.p50_ms,
            c.p99_ms,
            c.max_ms,
            c.within_2s * 100.0,
            c.p99_from_send_ms
        );
    }
    println!();
    println!("| phase | s | portal CPU s | portal cores | sim CPU s | sim cores | portal VmRSS MiB | portal VmHWM MiB |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for p in &clock.phases {
        let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
        let cores = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.2}", v / p.secs));
        println!(
            "| {} | {:.1} | {} | {} | {} | {} | {} | {} |",
            p.name,
            p.secs,
            f(p.portal_cpu),
            cores(p.portal_cpu),
            f(p.sim_cpu),
            cores(p.sim_cpu),
            f(p.rss.map(|r| r.0)),
            f(p.rss.map(|r| r.1)),
        );
    }
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for b in [&connect_beats, &steady, &during_changes]
        .into_iter()
        .chain(saturation.as_ref().map(|(_, s)| s))
    {
        for (e, n) in &b.errors {
            *errors.entry(e.clone()).or_default() += n;
        }
    }
    println!();
    println!(
        "heartbeats that waited > 10 ms for one of the {} shared connections: {}",
        args.beat_conns,
        sh.beats_waited.load(Ordering::Relaxed)
    );
    println!(
        "stream breaks: {} (reconnected with backoff)",
        sh.stream_breaks.load(Ordering::Relaxed)
    );
    for (e, n) in sh.stream_errors.lock().expect("lock").iter() {
        println!("  stream: {n} × {e}");
    }
    for (e, n) in &errors {
        println!("  heartbeat: {n} × {e}");
    }
}
