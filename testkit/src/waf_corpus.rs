//! Sends the WAF corpus (`tests/data/waf-corpus/*.jsonl`: CRS regression cases and
//! libinjection payloads) through a running Weir node, every record as raw bytes over TCP
//! (so odd request-targets and framing reach the proxy as written), and tallies what the WAF
//! blocked (status 403) per category, and the false positives.

use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// One corpus record (see the corpus README for the fields).
#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub expect_block: bool,
    pub category: String,
    pub paranoia_level: Option<u64>,
    pub response_phase: bool,
    pub benign_strict: bool,
    pub from_libinjection: bool,
}

impl Record {
    fn parse(line: &str, from_libinjection: bool) -> Result<Record, String> {
        let v: Value = serde_json::from_str(line).map_err(|e| format!("{e}: {line}"))?;
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let headers = v
            .get("headers")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Record {
            id: text("id"),
            method: text("method"),
            uri: text("uri"),
            headers,
            body: text("body"),
            expect_block: v
                .get("expect_block")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            category: text("category"),
            paranoia_level: v.get("paranoia_level").and_then(Value::as_u64),
            response_phase: v.get("phase").and_then(Value::as_str) == Some("response"),
            benign_strict: v
                .get("benign_strict")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            from_libinjection,
        })
    }

    /// The tally row of an attack record (`crs pl1-2 sqli`, `libinjection xss`, …), or of a
    /// benign one (`benign crs benign_strict`, `benign libinjection sqli-fp`); `None` for
    /// CRS negative cases that only promise one rule stays quiet.
    pub fn row(&self) -> Option<String> {
        if self.expect_block {
            if self.from_libinjection {
                return Some(format!("libinjection {}", self.category));
            }
            let band = if self.response_phase {
                "response"
            } else if self.paranoia_level.unwrap_or(1) <= 2 {
                "pl1-2"
            } else {
                "pl3-4"
            };
            return Some(format!("crs {band} {}", self.category));
        }
        if self.benign_strict {
            return Some("benign crs benign_strict".into());
        }
        (self.from_libinjection && self.category == "sqli-fp")
            .then(|| "benign libinjection sqli-fp".into())
    }

    /// The request as bytes: the record's method, target and headers, a Content-Length for
    /// the body, and `Connection: close`.
    pub fn wire(&self) -> Vec<u8> {
        let mut out = format!("{} {} HTTP/1.1\r\n", self.method, self.uri);
        let mut has_host = false;
        for (k, v) in &self.headers {
            let lower = k.to_ascii_lowercase();
            if matches!(
                lower.as_str(),
                "content-length"
                    | "connection"
                    | "transfer-encoding"
                    | "keep-alive"
                    | "proxy-connection"
            ) {
                continue;
            }
            has_host |= lower == "host";
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        if !has_host {
            out.push_str("Host: localhost\r\n");
        }
        if !self.body.is_empty() || matches!(self.method.as_str(), "POST" | "PUT" | "PATCH") {
            out.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        out.push_str("Connection: close\r\n\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(self.body.as_bytes());
        bytes
    }
}

/// Reads `crs.jsonl` and `libinjection.jsonl` from `dir`.
pub fn load(dir: &Path) -> Result<Vec<Record>, String> {
    let mut out = Vec::new();
    for (file, libinjection) in [("crs.jsonl", false), ("libinjection.jsonl", true)] {
        let path = dir.join(file);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            out.push(Record::parse(line, libinjection)?);
        }
    }
    Ok(out)
}

/// Sends one request and returns the response status (0 when there was no valid answer).
pub async fn send(addr: SocketAddr, request: &[u8]) -> u16 {
    let attempt = async {
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(request).await?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        // The status line is all we need; stop early once it is in.
        while !buf.windows(2).any(|w| w == b"\r\n") {
            let n = s.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        Ok::<_, std::io::Error>(buf)
    };
    let Ok(Ok(buf)) = tokio::time::timeout(Duration::from_secs(10), attempt).await else {
        return 0;
    };
    let line = String::from_utf8_lossy(&buf);
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Counts of one row.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub total: usize,
    pub blocked: usize,
}

impl Tally {
    /// Blocked share in percent.
    pub fn rate(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        100.0 * self.blocked as f64 / self.total as f64
    }
}

/// The outcome of a corpus run.
#[derive(Debug, Default)]
pub struct Report {
    pub rows: BTreeMap<String, Tally>,
    /// Ids of benign records that were blocked.
    pub false_positives: Vec<String>,
    /// Requests that got no HTTP answer.
    pub no_answer: usize,
}

impl Report {
    /// Block rate of a row in percent (`crs pl1-2 sqli`).
    pub fn rate(&self, row: &str) -> Option<f64> {
        self.rows.get(row).map(Tally::rate)
    }

    /// False-positive rate over all benign rows, in percent.
    pub fn false_positive_rate(&self) -> f64 {
        let (b, t) = self
            .rows
            .iter()
            .filter(|(k, _)| k.starts_with("benign "))
            .fold((0, 0), |(b, t), (_, v)| (b + v.blocked, t + v.total));
        if t == 0 {
            0.0
        } else {
            100.0 * b as f64 / t as f64
        }
    }

    /// A Markdown table of every row.
    pub fn table(&self) -> String {
        let mut s = String::from("| set | records | blocked | rate |\n|---|---:|---:|---:|\n");
        for (k, t) in &self.rows {
            s.push_str(&format!(
                "| {k} | {} | {} | {:.1}% |\n",
                t.total,
                t.blocked,
                t.rate()
            ));
        }
        s.push_str(&format!(
            "\nFalse-positive rate (benign rows together): {:.2}%\n",
            self.false_positive_rate()
        ));
        if self.no_answer > 0 {
            s.push_str(&format!(
                "Requests without an HTTP answer: {}\n",
                self.no_answer
            ));
        }
        s
    }
}

/// Sends every record to the node listening on `addr` (`concurrency` at a time).
pub async fn run(addr: SocketAddr, records: &[Record], concurrency: usize) -> Report {
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for (i, r) in records.iter().enumerate() {
        let Some(row) = r.row() else { continue };
        let wire = r.wire();
        let Ok(permit) = gate.clone().acquire_owned().await else {
            break;
        };
        tasks.spawn(async move {
            let status = send(addr, &wire).await;
            drop(permit);
            (i, row, status)
        });
    }
    let mut report = Report::default();
    while let Some(done) = tasks.join_next().await {
        let Ok((i, row, status)) = done else { continue };
        let t = report.rows.entry(row.clone()).or_default();
        t.total += 1;
        if status == 0 {
            report.no_answer += 1;
        }
        if status == 403 {
            t.blocked += 1;
            if row.starts_with("benign ") {
                report.false_positives.push(records[i].id.clone());
            }
        }
    }
    report.false_positives.sort();
    report
}

/// `[[site]]` TOML serving host `localhost` (the corpus' Host) over `backend` with the WAF
/// plugin at `plugin` and the given inline config table.
pub fn site_toml(backend: SocketAddr, plugin: &Path, config: &str) -> String {
    format!(
        "[[site]]\nid = \"corpus\"\ntenant = \"waf\"\nhosts = [\"localhost\"]\npool = \"web\"\n\
         [[site.plugin]]\nname = \"waf\"\nsource = \"{}\"\ndeadline_ms = 100\nconfig = {config}\n\n\
         [[pool]]\nid = \"web\"\n[[pool.backend]]\naddr = \"{backend}\"\n",
        plugin.display()
    )
}
