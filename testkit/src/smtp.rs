//! A real SMTP server process for mail tests: `testkit/smtp_sink.py` (Python's `aiosmtpd`,
//! installed by `scripts/setup.sh` into `~/.cache/weir/venv`) on 127.0.0.1, writing every
//! message it accepts into a temp dir, plus a small MIME reader that turns those files into
//! [`Mail`]s (quoted-printable and base64 parts, `multipart/alternative`, RFC 2047 subjects).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// One message the sink accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// Envelope recipients (`RCPT TO`), in order.
    pub to: Vec<String>,
    /// Envelope sender (`MAIL FROM`).
    pub from: String,
    /// The decoded `Subject` header ("" when absent).
    pub subject: String,
    /// The decoded `text/plain` body with `\n` line ends ("" when the message has none).
    pub text: String,
    /// The decoded `text/html` body with `\n` line ends, if the message has one.
    pub html: Option<String>,
    /// The top-level headers in order, names as sent, folded lines unfolded, values raw.
    pub headers: Vec<(String, String)>,
    /// The message exactly as received.
    pub raw: String,
}

impl Mail {
    /// The first top-level header named `name` (case-insensitive), value raw.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Parses a raw RFC 5322 message; `from` and `to` are the envelope.
    pub fn parse(raw: &str, from: &str, to: &[String]) -> Mail {
        let (headers, body) = split_message(raw);
        let subject = header_value(&headers, "subject")
            .map(decode_words)
            .unwrap_or_default();
        let mut text = None;
        let mut html = None;
        collect_bodies(&headers, &body, &mut text, &mut html, 0);
        Mail {
            to: to.to_vec(),
            from: from.to_string(),
            subject,
            text: text.unwrap_or_default(),
            html,
            headers,
            raw: raw.to_string(),
        }
    }
}

/// A running SMTP sink; the process is killed when this is dropped.
pub struct SmtpSink {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

const PYTHON: &str = ".cache/weir/venv/bin/python";

impl SmtpSink {
    /// Starts a sink on a free port.
    pub fn start() -> SmtpSink {
        Self::spawn(0)
    }

    /// Starts a sink on `port`, e.g. the port of a sink a test stopped earlier (the process
    /// retries for a few seconds while the port is still taken).
    pub fn start_on(port: u16) -> SmtpSink {
        assert_ne!(port, 0, "SmtpSink::start_on needs a real port; use start()");
        Self::spawn(port)
    }

    fn spawn(port: u16) -> SmtpSink {
        let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
        let python = PathBuf::from(home).join(PYTHON);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("smtp_sink.py");
        assert!(
            python.exists(),
            "SMTP sink: {} does not exist; run scripts/setup.sh (it creates the venv and \
             installs aiosmtpd)",
            python.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("weir-smtp-sink")
            .tempdir()
            .expect("SMTP sink: temp dir");
        let mail_dir = dir.path().join("mail");
        let log_path = dir.path().join("sink.log");
        let log = std::fs::File::create(&log_path).expect("SMTP sink: log file");
        let mut cmd = Command::new(&python);
        cmd.arg(&script).arg(&mail_dir);
        if port != 0 {
            cmd.arg(port.to_string());
        }
        // stdin stays a pipe held by `child`: the sink exits when it closes, so it never
        // outlives this process even if the test dies without running Drop.
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("SMTP sink: cannot run {}: {e}", python.display()));
        let stdout = child.stdout.take().expect("SMTP sink: stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(read.map(|_| line));
        });
        let first = rx.recv_timeout(Duration::from_secs(20));
        let bound = match first {
            Ok(Ok(line)) => line.trim().parse::<u16>().ok(),
            _ => None,
        };
        let Some(bound) = bound else {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!(
                "SMTP sink ({} {}) did not report a port{}:\n{log}",
                python.display(),
                script.display(),
                if port == 0 {
                    String::new()
                } else {
                    format!(" (asked for {port})")
                }
            );
        };
        SmtpSink {
            child,
            dir,
            port: bound,
        }
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The port the sink listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (connections are cut; the port is free again). Same as dropping it.
    pub fn stop(self) {}

    /// Every message accepted so far, in the order received.
    pub fn messages(&self) -> Vec<Mail> {
        let mail_dir = self.dir.path().join("mail");
        let Ok(entries) = std::fs::read_dir(&mail_dir) else {
            return Vec::new();
        };
        let mut numbers: Vec<u64> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_suffix(".eml")?.parse().ok()
            })
            .collect();
        numbers.sort_unstable();
        numbers
            .into_iter()
            .filter_map(|n| read_mail(&mail_dir, n))
            .collect()
    }

    /// Waits (polling every 50 ms) for a message matching `pred` and returns the first one;
    /// panics after `timeout`, listing the subjects that did arrive. Blocks the thread: from
    /// a single-threaded async test whose own task must send the mail, use
    /// [`SmtpSink::wait_for_async`].
    pub fn wait_for(&self, pred: impl Fn(&Mail) -> bool, timeout: Duration) -> Mail {
        let deadline = Instant::now() + timeout;
        loop {
            let all = self.messages();
            if let Some(m) = all.iter().find(|m| pred(m)) {
                return m.clone();
            }
            if Instant::now() >= deadline {
                self.timed_out(&all, timeout);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// [`SmtpSink::wait_for`] that sleeps on the tokio timer instead of blocking the thread.
    pub async fn wait_for_async(&self, pred: impl Fn(&Mail) -> bool, timeout: Duration) -> Mail {
        let deadline = Instant::now() + timeout;
        loop {
            let all = self.messages();
            if let Some(m) = all.iter().find(|m| pred(m)) {
                return m.clone();
            }
            if Instant::now() >= deadline {
                self.timed_out(&all, timeout);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn timed_out(&self, all: &[Mail], timeout: Duration) -> ! {
        let subjects: Vec<String> = all
            .iter()
            .map(|m| format!("{:?} to {:?}", m.subject, m.to))
            .collect();
        let log = std::fs::read_to_string(self.dir.path().join("sink.log")).unwrap_or_default();
        panic!(
            "no matching mail at {} within {timeout:?}; {} received: [{}]{}",
            self.url(),
            all.len(),
            subjects.join(", "),
            if log.trim().is_empty() {
                String::new()
            } else {
                format!("\nsink log:\n{log}")
            }
        );
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_mail(dir: &Path, n: u64) -> Option<Mail> {
    let bytes = std::fs::read(dir.join(format!("{n}.eml"))).ok()?;
    let raw = String::from_utf8_lossy(&bytes);
    let meta = std::fs::read(dir.join(format!("{n}.json"))).ok();
    let meta: serde_json::Value = meta
        .and_then(|m| serde_json::from_slice(&m).ok())
        .unwrap_or_default();
    let from = meta["mail_from"].as_str().unwrap_or_default();
    let to: Vec<String> = meta["rcpt_tos"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Some(Mail::parse(&raw, from, &to))
}

// ---- MIME ----

/// Headers (unfolded) and body (line ends as `\n`).
fn split_message(raw: &str) -> (Vec<(String, String)>, String) {
    let text = raw.replace("\r\n", "\n");
    let (head, body) = if let Some(rest) = text.strip_prefix('\n') {
        ("", rest)
    } else {
        match text.find("\n\n") {
            Some(i) => (&text[..i], &text[i + 2..]),
            None => (text.as_str(), ""),
        }
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = headers.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    (headers, body.to_string())
}

fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `type/subtype` lowercased and its parameters (names lowercased, quotes removed).
fn content_type(value: &str) -> (String, Vec<(String, String)>) {
    let mut parts = split_params(value).into_iter();
    let kind = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            Some((k.trim().to_ascii_lowercase(), v.replace("\\\"", "\"")))
        })
        .collect();
    (kind, params)
}

/// Splits on `;` outside double quotes.
fn split_params(value: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == ';' && !quoted {
            out.push(String::new());
            continue;
        }
        if let Some(last) = out.last_mut() {
            last.push(c);
        }
    }
    out
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn collect_bodies(
    headers: &[(String, String)],
    body: &str,
    text: &mut Option<String>,
    html: &mut Option<String>,
    depth: usize,
) {
    let (kind, params) =
        content_type(header_value(headers, "content-type").unwrap_or("text/plain"));
    let attachment = header_value(headers, "content-disposition")
        .is_some_and(|d| d.trim().to_ascii_lowercase().starts_with("attachment"));
    if kind.starts_with("multipart/") {
        let Some(boundary) = param(&params, "boundary") else {
            return;
        };
        if depth > 16 {
            return;
        }
        for part in split_multipart(body, boundary) {
            let (h, b) = split_message(&part);
            collect_bodies(&h, &b, text, html, depth + 1);
        }
        return;
    }
    if attachment || !(kind == "text/plain" || kind == "text/html" || kind.is_empty()) {
        return;
    }
    let slot = if kind == "text/html" { html } else { text };
    if slot.is_some() {
        return;
    }
    let encoding = header_value(headers, "content-transfer-encoding")
        .unwrap_or("7bit")
        .trim()
        .to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "quoted-printable" => decode_quoted_printable(body),
        "base64" => decode_base64(body),
        _ => body.as_bytes().to_vec(),
    };
    let charset = param(&params, "charset").unwrap_or("utf-8");
    *slot = Some(decode_charset(&bytes, charset).replace("\r\n", "\n"));
}

/// The parts between `--boundary` lines (up to `--boundary--`); each part's last line end
/// belongs to the delimiter after it.
fn split_multipart(body: &str, boundary: &str) -> Vec<String> {
    let open = format!("--{boundary}");
    let close = format!("--{boundary}--");
    let mut parts = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in body.split('\n') {
        let trimmed = line.trim_end();
        if trimmed == close {
            if let Some(lines) = current.take() {
                parts.push(lines.join("\n"));
            }
            break;
        }
        if trimmed == open {
            if let Some(lines) = current.take() {
                parts.push(lines.join("\n"));
            }
            current = Some(Vec::new());
            continue;
        }
        if let Some(lines) = current.as_mut() {
            lines.push(line);
        }
    }
    if let Some(lines) = current {
        parts.push(lines.join("\n"));
    }
    parts
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Quoted-printable (RFC 2045 §6.7): `=XX` escapes, `=` at a line end joins lines, trailing
/// blanks on a line are dropped; malformed escapes stay as they are.
pub fn decode_quoted_printable(body: &str) -> Vec<u8> {
    let body = body.replace("\r\n", "\n");
    let mut out = Vec::with_capacity(body.len());
    let mut lines = body.split('\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.trim_end_matches([' ', '\t']);
        let (line, soft) = match line.strip_suffix('=') {
            Some(l) => (l, true),
            None => (line, false),
        };
        let b = line.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'=' {
                let h = b.get(i + 1).and_then(|&c| hex(c));
                let l = b.get(i + 2).and_then(|&c| hex(c));
                if let (Some(h), Some(l)) = (h, l) {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
            }
            out.push(b[i]);
            i += 1;
        }
        if !soft && lines.peek().is_some() {
            out.push(b'\n');
        }
    }
    out
}

/// Standard base64 (RFC 4648), ignoring line breaks and anything outside the alphabet.
pub fn decode_base64(body: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in body.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn decode_charset(bytes: &[u8], charset: &str) -> String {
    let charset = charset.trim().to_ascii_lowercase();
    if matches!(
        charset.as_str(),
        "iso-8859-1" | "latin1" | "latin-1" | "iso8859-1"
    ) {
        bytes.iter().map(|&b| char::from(b)).collect()
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

/// Decodes RFC 2047 encoded words (`=?utf-8?Q?...?=`, `=?utf-8?B?...?=`) in a header value;
/// blanks between two encoded words are dropped, and adjacent words in one charset are
/// decoded together (so a character split across two words survives).
pub fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut blank = String::new();
    // bytes of the encoded words read so far in a run, and their charset
    let mut run: Option<(String, Vec<u8>)> = None;
    while !rest.is_empty() {
        if let Some((charset, bytes, len)) = encoded_word(rest) {
            // blanks between two encoded words go; after text they stay
            if run.is_none() {
                out.push_str(&blank);
            }
            blank.clear();
            match run.as_mut() {
                Some((cs, acc)) if cs.eq_ignore_ascii_case(&charset) => acc.extend(bytes),
                _ => {
                    if let Some((cs, acc)) = run.take() {
                        out.push_str(&decode_charset(&acc, &cs));
                    }
                    run = Some((charset, bytes));
                }
            }
            rest = &rest[len..];
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        rest = &rest[c.len_utf8()..];
        if c == ' ' || c == '\t' {
            blank.push(c);
        } else {
            if let Some((cs, acc)) = run.take() {
                out.push_str(&decode_charset(&acc, &cs));
            }
            out.push_str(&blank);
            blank.clear();
            out.push(c);
        }
    }
    if let Some((cs, acc)) = run.take() {
        out.push_str(&decode_charset(&acc, &cs));
    }
    out.push_str(&blank);
    out
}

/// One encoded word at the start of `s`: its charset, its bytes and its length in `s`.
fn encoded_word(s: &str) -> Option<(String, Vec<u8>, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let payload = &inner[..end];
    if payload.contains([' ', '\t']) || charset.is_empty() {
        return None;
    }
    let len = 2 + charset.len() + 1 + encoding.len() + 1 + end + 2;
    // RFC 2231 language suffix: `utf-8*en`
    let charset = charset.split('*').next().unwrap_or(charset);
    let bytes = match encoding {
        "Q" | "q" => decode_q(payload),
        "B" | "b" => decode_base64(payload),
        _ => return None,
    };
    Some((charset.to_string(), bytes, len))
}

/// RFC 2047 "Q": `_` is a space, `=XX` a byte.
fn decode_q(payload: &str) -> Vec<u8> {
    let b = payload.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'_' => out.push(b' '),
            b'=' => {
                let h = b.get(i + 1).and_then(|&c| hex(c));
                let l = b.get(i + 2).and_then(|&c| hex(c));
                if let (Some(h), Some(l)) = (h, l) {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                out.push(b'=');
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    const ALTERNATIVE_QP: &str = "From: Weir <noreply@weir.test>\r\n\
        To: ada@example.test\r\n\
        Subject: =?utf-8?q?Welcome_to_Weir_=E2=80=94?= =?utf-8?q?_confirm?=\r\n\
        MIME-Version: 1.0\r\n\
        Content-Type: multipart/alternative;\r\n boundary=\"XyZ123\"\r\n\
        \r\n\
        --XyZ123\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\
        Content-Transfer-Encoding: quoted-printable\r\n\
        \r\n\
        Open https://portal.weir.test/verify?token=3Dabc&next=3D%2F to confirm this long=\r\n \
        line, caf=C3=A9.\r\n\
        Second line.\r\n\
        --XyZ123\r\n\
        Content-Type: text/html; charset=utf-8\r\n\
        Content-Transfer-Encoding: quoted-printable\r\n\
        \r\n\
        <a href=3D\"https://portal.weir.test/verify?token=3Dabc\">Confirm</a>\r\n\
        --XyZ123--\r\n";

    #[test]
    fn multipart_alternative_quoted_printable() {
        let m = Mail::parse(
            ALTERNATIVE_QP,
            "noreply@weir.test",
            &["ada@example.test".into()],
        );
        assert_eq!(m.subject, "Welcome to Weir — confirm");
        assert_eq!(
            m.text,
            "Open https://portal.weir.test/verify?token=abc&next=%2F to confirm this long line, \
             café.\nSecond line."
        );
        assert_eq!(
            m.html.as_deref(),
            Some("<a href=\"https://portal.weir.test/verify?token=abc\">Confirm</a>")
        );
        assert_eq!(m.to, vec!["ada@example.test".to_string()]);
        assert_eq!(m.from, "noreply@weir.test");
        assert_eq!(m.header("mime-version"), Some("1.0"));
        assert!(m
            .header("Content-Type")
            .is_some_and(|v| v.contains("XyZ123")));
    }

    #[test]
    fn multipart_alternative_base64() {
        let text = "Your code is 123456.\nIt expires in 10 minutes.";
        let html = "<p>Your code is <b>123456</b>.</p>";
        let raw = format!(
            "Subject: =?UTF-8?B?{}?=\r\n\
             Content-Type: multipart/alternative; boundary=b1\r\n\
             \r\n\
             preamble\r\n\
             --b1\r\n\
             Content-Type: text/plain; charset=\"utf-8\"\r\n\
             Content-Transfer-Encoding: base64\r\n\
             \r\n\
             {}\r\n\
             --b1\r\n\
             Content-Type: text/html; charset=utf-8\r\n\
             Content-Transfer-Encoding: BASE64\r\n\
             \r\n\
             {}\r\n\
             --b1--\r\n\
             epilogue\r\n",
            b64("Código de acceso"),
            // split over lines as mailers do
            b64(text)
                .as_bytes()
                .chunks(8)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
                .join("\r\n"),
            b64(html),
        );
        let m = Mail::parse(&raw, "a@b", &[]);
        assert_eq!(m.subject, "Código de acceso");
        assert_eq!(m.text, text);
        assert_eq!(m.html.as_deref(), Some(html));
    }

    #[test]
    fn single_part_and_nested_mixed() {
        let m = Mail::parse(
            "Subject: plain\nContent-Type: text/plain\n\nline one\nline two\n",
            "a@b",
            &[],
        );
        assert_eq!(m.subject, "plain");
        assert_eq!(m.text, "line one\nline two\n");
        assert_eq!(m.html, None);

        let m = Mail::parse(
            "Subject: Invoice\r\n\
             Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
             \r\n\
             --outer\r\n\
             Content-Type: multipart/alternative; boundary=\"inner\"\r\n\
             \r\n\
             --inner\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: 7bit\r\n\
             \r\n\
             See attached.\r\n\
             --inner\r\n\
             Content-Type: text/html; charset=utf-8\r\n\
             \r\n\
             <p>See attached.</p>\r\n\
             --inner--\r\n\
             --outer\r\n\
             Content-Type: text/plain; name=\"a.txt\"\r\n\
             Content-Disposition: attachment; filename=\"a.txt\"\r\n\
             \r\n\
             not the body\r\n\
             --outer--\r\n",
            "a@b",
            &[],
        );
        assert_eq!(m.text, "See attached.");
        assert_eq!(m.html.as_deref(), Some("<p>See attached.</p>"));
    }

    #[test]
    fn quoted_printable_edges() {
        assert_eq!(decode_quoted_printable("a=3Db"), b"a=b");
        assert_eq!(decode_quoted_printable("soft=\r\nbreak"), b"softbreak");
        assert_eq!(decode_quoted_printable("soft=\nbreak"), b"softbreak");
        assert_eq!(
            decode_quoted_printable("trailing   \r\nnext"),
            b"trailing\nnext"
        );
        assert_eq!(decode_quoted_printable("bad =ZZ and =4"), b"bad =ZZ and =4");
        assert_eq!(decode_quoted_printable("=E2=82=AC"), "€".as_bytes());
        assert_eq!(
            decode_quoted_printable("lower =c3=a9"),
            "lower é".as_bytes()
        );
        // lettre's own quoted-printable test vector
        assert_eq!(
            decode_quoted_printable(
                "=D0=A2=D0=B5=D0=BA=D1=81=D1=82 =D0=BF=D0=B8=D1=81=D1=8C=D0=BC=D0=B0 =D0=B2 =\r\n\
                 =D1=83=D0=BD=D0=B8=D0=BA=D0=BE=D0=B4=D0=B5"
            ),
            "Текст письма в уникоде".as_bytes()
        );
    }

    #[test]
    fn base64_and_words() {
        assert_eq!(decode_base64("aGVsbG8="), b"hello");
        assert_eq!(decode_base64("aGVs\r\nbG8gd29y\r\nbGQ="), b"hello world");
        assert_eq!(decode_base64("YQ=="), b"a");
        assert_eq!(decode_words("plain subject"), "plain subject");
        assert_eq!(decode_words("=?utf-8?b?w6k=?= =?utf-8?q?t=C3=A9?="), "été");
        assert_eq!(
            decode_words("Re: =?ISO-8859-1?Q?caf=E9?= ok"),
            "Re: café ok"
        );
    }

    fn b64(s: &str) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in s.as_bytes().chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    /// A minimal SMTP client: reads one (possibly multi-line) reply and checks its code.
    fn reply(conn: &mut BufReader<TcpStream>, code: &str) {
        loop {
            let mut line = String::new();
            conn.read_line(&mut line).expect("read SMTP reply");
            assert!(line.starts_with(code), "expected {code}, got {line:?}");
            if line.as_bytes().get(3) != Some(&b'-') {
                return;
            }
        }
    }

    fn send(port: u16, from: &str, to: &[&str], data: &str) {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the sink");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut w = stream.try_clone().expect("clone stream");
        let mut r = BufReader::new(stream);
        reply(&mut r, "220");
        let mut cmd = |line: String, code: &str, r: &mut BufReader<TcpStream>| {
            w.write_all(line.as_bytes()).expect("write SMTP command");
            reply(r, code);
        };
        cmd("EHLO client.test\r\n".into(), "250", &mut r);
        cmd(format!("MAIL FROM:<{from}>\r\n"), "250", &mut r);
        for t in to {
            cmd(format!("RCPT TO:<{t}>\r\n"), "250", &mut r);
        }
        cmd("DATA\r\n".into(), "354", &mut r);
        // dot-stuffing: a line starting with '.' is sent as '..'
        let stuffed: Vec<String> = data
            .split("\r\n")
            .map(|l| {
                if l.starts_with('.') {
                    format!(".{l}")
                } else {
                    l.to_string()
                }
            })
            .collect();
        cmd(format!("{}\r\n.\r\n", stuffed.join("\r\n")), "250", &mut r);
        cmd("QUIT\r\n".into(), "221", &mut r);
        let mut rest = Vec::new();
        let _ = r.read_to_end(&mut rest);
    }

    #[test]
    fn real_sink_receives_and_restarts_on_the_same_port() {
        let sink = SmtpSink::start();
        assert!(sink.url().starts_with("smtp://127.0.0.1:"));
        assert!(sink.messages().is_empty());
        let data = "From: a@weir.test\r\n\
                    To: b@example.test\r\n\
                    Subject: =?utf-8?q?Hello_=E2=9C=93?=\r\n\
                    Content-Type: text/plain; charset=utf-8\r\n\
                    Content-Transfer-Encoding: quoted-printable\r\n\
                    \r\n\
                    .starts with a dot, 1+1=3D2\r\n\
                    bye";
        send(
            sink.port(),
            "a@weir.test",
            &["b@example.test", "c@example.test"],
            data,
        );
        let m = sink.wait_for(|m| m.subject.starts_with("Hello"), Duration::from_secs(10));
        assert_eq!(m.subject, "Hello ✓");
        assert_eq!(m.from, "a@weir.test");
        assert_eq!(m.to, vec!["b@example.test", "c@example.test"]);
        assert_eq!(m.text, ".starts with a dot, 1+1=2\nbye\n");
        assert!(m.raw.contains("Subject: =?utf-8?q?Hello_=E2=9C=93?=\r\n"));

        let port = sink.port();
        sink.stop();
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "sink stopped"
        );
        let again = SmtpSink::start_on(port);
        assert_eq!(again.port(), port);
        assert!(again.messages().is_empty(), "a new sink starts empty");
        send(
            port,
            "x@weir.test",
            &["y@example.test"],
            "Subject: second\r\n\r\nhi",
        );
        let m = again.wait_for(|m| m.subject == "second", Duration::from_secs(10));
        assert_eq!(m.text, "hi\n");
    }

    #[test]
    #[should_panic(expected = "no matching mail")]
    fn wait_for_names_what_arrived() {
        let sink = SmtpSink::start();
        send(
            sink.port(),
            "a@b.test",
            &["c@d.test"],
            "Subject: only this\r\n\r\nx",
        );
        sink.wait_for(|m| m.subject == "never", Duration::from_millis(300));
    }
}
