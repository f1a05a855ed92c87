//! Other injections: remote file inclusion, server-side request forgery to metadata and
//! loopback addresses, Node.js / template injection, prototype pollution, and session
//! fixation through parameters.

use crate::normalize::Views;
use crate::patterns::{any_in, group};
use crate::rules::Rules;

fn after_scheme(l: &str) -> Option<&str> {
    if !l.contains("://") {
        return None;
    }
    [
        "http://",
        "https://",
        "ftp://",
        "ftps://",
        "file://",
        "gopher://",
        "dict://",
        "ldap://",
        "tftp://",
        "sftp://",
    ]
    .iter()
    .find_map(|s| l.find(s).map(|at| &l[at + s.len()..]))
}

/// Whether `host` is an IP literal (dotted, IPv6, or a single number).
fn ip_host(host: &str) -> bool {
    let h = host.trim_start_matches('[');
    (!h.is_empty()
        && h.split('.').count() == 4
        && h.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_hexdigit() || b == b'x')))
        || h.contains("::")
        || h.split(':').count() > 2
        || (!h.is_empty() && h.bytes().all(|b| b.is_ascii_digit()) && h.len() > 6)
        || h.starts_with("0x")
}

/// Metadata services and loopback / internal names (934110).
static SSRF_TARGETS: &[&str] = &[
    "169.254.169.254",
    "metadata.google.internal",
    "metadata.packet.net",
    "100.100.100.200",
    "fd00:ec2::254",
    "169.254.170.2",
    "metadata.azure",
    "instance-data",
    "localhost",
    "127.0.0.1",
    "0.0.0.0",
    "[::1]",
    "[::]",
    "0x7f000001",
    "0xa9fea9fe",
    "2130706433",
    "2852039166",
    "ip6-loopback",
    "ip6-localhost",
    "localhost4",
    "localhost6",
    "kubernetes.default",
    "docker.internal",
    ".internal/",
    "0251.0376.0251.0376",
    "0177.0.0.1",
    "169.16689662",
    "127.1",
    "0:0:0:0:0:ffff:",
];

/// Node.js injection fragments (934100).
pub(crate) static NODE_INJECTION: &[&str] = &[
    "_$$nd_func$$_",
    "child_process",
    "require(",
    "require.main",
    "process.mainmodule",
    "process.binding",
    "module.exports",
    "this.constructor.constructor",
    "process.spawn(",
    "process.exec(",
    "global.process",
    ".constructor(\"return",
    "new function(",
    "eval(string.fromcharcode",
    "fs.readfile",
    "__dirname",
    "process.env",
    "settimeout(\"",
    "function(){return",
    "\\u0072equire",
];

/// Fragments that the URL, prototype-pollution, loop and cookie rules below all need one of.
pub(crate) static ANCHORS: &[&str] = &["://", "<meta", "cookie", "proto", "while"];

/// Checks one value; returns the id of the first rule that fires.
pub fn detect(v: &Views, rules: &Rules) -> Option<u32> {
    let l = v.html();
    let anchored = v.maybe(group::GENERIC_WORDS);
    if let Some(rest) = anchored.then(|| after_scheme(l)).flatten() {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = authority.rsplit('@').next().unwrap_or(authority);
        let host_no_port = if host.starts_with('[') {
            host.split(']').next().unwrap_or(host)
        } else {
            host.split(':').next().unwrap_or(host)
        };
        let path = rest.find('/').map_or("", |p| &rest[p..]);
        let deep = !matches!(path.trim_end_matches('/'), "" | "/latest");
        if rules.on(934110)
            && (SSRF_TARGETS
                .iter()
                .any(|t| host.contains(t.trim_end_matches('/')))
                && (deep
                    || !host.contains("169.254")
                        && !host.contains("metadata")
                        && host != "localhost")
                || ip_host(host_no_port)
                    && (host_no_port.starts_with("127.")
                        || host_no_port.starts_with("10.")
                        || host_no_port.starts_with("192.168.")
                        || host_no_port.starts_with("0")))
        {
            return Some(934110);
        }
        if rules.on(931100) && (ip_host(host_no_port) || ip_host(host)) {
            return Some(931100);
        }
        if rules.on(931120) && l.trim_end().ends_with('?') {
            return Some(931120);
        }
    } else if rules.on(934110)
        && SSRF_TARGETS.iter().skip(3).any(|t| {
            // The first byte rules out nearly every target before comparing the rest.
            l.as_bytes().first() == t.as_bytes().first()
                && l.starts_with(t)
                && l[t.len()..].starts_with(['/', '.', '4', '6'])
        })
    {
        return Some(934110);
    }
    if rules.on(931120) && ["ftp?", "ftps?", "http?", "https?"].contains(&l.trim()) {
        return Some(931120);
    }
    if rules.on(934130)
        && anchored
        && l.contains("proto")
        && (l.contains("__proto__")
            || l.contains("constructor.prototype")
            || l.contains("constructor[prototype]")
            || l.contains("[constructor][prototype]"))
    {
        return Some(934130);
    }
    if rules.on(934100) && v.maybe(group::NODE_INJECTION) && any_in(NODE_INJECTION, l) {
        return Some(934100);
    }

    // `while(!0)`, `while(!false)`: an endless loop (a loop on `!true` never runs).
    if rules.on(934100)
        && anchored
        && v.bytes.has(b'!')
        && (l.contains("while(!") || l.contains("while (!"))
        && !l.contains("!true)")
    {
        return Some(934100);
    }
    let template_logic = || {
        [
            " if ", "{if", "for ", "import", "__", "popen", "system", "exec", "eval", "config",
            "self", "request", "class", "range(", "7*7", "*", "endif", "getattr",
        ]
        .iter()
        .any(|k| l.contains(k))
    };
    let has = |b: u8| v.bytes.has(b);
    if rules.on(934150)
        && (has(b'{') || has(b'<') && l.contains("<%"))
        && (l.contains("{{")
            && l.contains("}}")
            && l.bytes()
                .any(|b| matches!(b, b'*' | b'(' | b'.' | b'[' | b'|'))
            || has(b'%') && l.contains("{%") && l.contains("%}")
            || has(b'<') && (l.contains("<%=") || l.contains("<%") && l.contains("%>"))
            || has(b'#') && l.contains("#{") && l.contains('}') && l.contains('(')
            || has(b'@') && l.contains("@{[")
            || has(b'$') && l.contains("${{")
            || has(b'*') && l.contains("*{") && l.contains('}') && l.contains('('))
        && template_logic()
    {
        return Some(934150);
    }
    if rules.on(943100)
        && anchored
        && (l.contains(".cookie")
            && (l.contains("expires=") || l.contains("document.cookie") || l.contains(';'))
            || l.contains("set-cookie")
            || l.contains("<meta") && l.contains("http-equiv"))
    {
        return Some(943100);
    }
    None
}

/// Session-id parameter names (943110/943120).
pub fn session_param(name: &str) -> bool {
    let n = name.as_bytes();
    [
        "jsessionid",
        "phpsessid",
        "aspsessionid",
        "asp.net_sessionid",
        "sessionid",
        "session_id",
        "sid",
        "connect.sid",
        "_session",
        "session-token",
        "session_token",
        "sessiontoken",
        "cfid",
        "cftoken",
        "laravel_session",
        "ci_session",
        "_flask_session",
        "rack.session",
        "express:sess",
        "jwt",
        "auth_token",
    ]
    .iter()
    // Case-insensitive `ends_with` (which covers equality), without lowercasing a copy.
    .any(|s| n.len() >= s.len() && n[n.len() - s.len()..].eq_ignore_ascii_case(s.as_bytes()))
}
