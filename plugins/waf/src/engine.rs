//! The inspection engine: splits a request into inspected values (path, query parameters,
//! headers, cookies, body fields), normalises each and runs the detectors, returning the
//! first rule that fires. Pure Rust, no host calls, so native tests drive it directly.

use crate::body::{self, Field};
use crate::config::Config;
use crate::normalize::{url_decode, Views};
use crate::patterns::is_one_of;
use crate::rules::{self, Rule, Rules};
use crate::{generic, java, lfi, php, rce, scanner, sqli, xss};
use std::borrow::Cow;

/// The parts of a request the engine looks at.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// Path as received (percent-encoded).
    pub path: &'a str,
    /// Query string without `?`.
    pub query: &'a str,
    /// Header names lowercase.
    pub headers: &'a [(String, String)],
    pub client_ip: &'a str,
}

impl RequestParts<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Where a value was found, which decides the detectors that run on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// A request header (not a cookie).
    Header,
    /// A path, query or body argument, or a cookie.
    Argument,
}

/// A rule that fired, and where.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static Rule,
    /// Where the value was: `path`, `query:NAME`, `header:NAME`, `cookie:NAME`, `body:NAME`, …
    pub location: String,
}

/// Headers that carry no user-controlled free text worth inspecting (or are set by proxies).
pub(crate) static SKIPPED_HEADERS: &[&str] = &[
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "authorization",
    "cache-control",
    "connection",
    "content-encoding",
    "content-length",
    "content-range",
    "content-type",
    "date",
    "dnt",
    "expect",
    "forwarded",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "keep-alive",
    "origin",
    "pragma",
    "priority",
    "proxy-authorization",
    "proxy-connection",
    "range",
    "te",
    "traceparent",
    "tracestate",
    "transfer-encoding",
    "upgrade",
    "upgrade-insecure-requests",
    "via",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-proto",
    "x-real-ip",
    "x-request-id",
];

/// Header names carrying an uploaded file name.
pub(crate) static FILENAME_HEADERS: &[&str] =
    &["x-file-name", "x-filename", "x_file_name", "x_filename"];

/// A configured engine for one site.
#[derive(Debug, Default)]
pub struct Engine {
    pub config: Config,
    rules: Rules,
}

impl Engine {
    pub fn new(config: Config) -> Engine {
        let rules = Rules::new(config.paranoia, &config.disabled_rules);
        Engine { config, rules }
    }

    fn found(&self, id: u32, location: impl Into<String>) -> Option<Finding> {
        rules::find(id).map(|rule| Finding {
            rule,
            location: location.into(),
        })
    }

    /// Runs every value detector on one value; `location` names it when a rule fires.
    fn value(&self, v: &Views, location: impl FnOnce() -> String) -> Option<Finding> {
        let id = self.value_id(v, Place::Argument)?;
        self.found(id, location())
    }

    /// The id of the first rule that fires on one value found at `place`. As in CRS, headers
    /// are not searched for PHP code or the generic injections (SSRF, Node.js, templates,
    /// prototype pollution), which only arguments, cookies and bodies carry.
    fn value_id(&self, v: &Views, place: Place) -> Option<u32> {
        let r = &self.rules;
        let argument = place == Place::Argument;
        let generic = || argument.then(|| generic::detect(v, r)).flatten();
        // Words, digits, spaces, `_` and `-` cannot hold markup, paths, shell syntax beyond
        // command words, or PHP syntax: every XSS, LFI and PHP pattern needs another byte
        // (`text_skips_only_detectors_that_cannot_fire` checks it). SQL words, commands,
        // Java class fragments and names like `__proto__` remain.
        if v.bytes.only_alnum_and(b"_- ") {
            // A single token has no command line either (no separator, no arguments).
            let words = v.bytes.has(b' ');
            return sqli::detect(v, r)
                .or_else(|| words.then(|| rce::detect(v, r)).flatten())
                .or_else(|| java::detect(v, r))
                .or_else(generic);
        }
        sqli::detect(v, r)
            .or_else(|| xss::detect(v, r))
            .or_else(|| lfi::detect(v, r))
            .or_else(|| rce::detect(v, r))
            .or_else(|| argument.then(|| php::detect(v, r)).flatten())
            .or_else(|| java::detect(v, r))
            .or_else(generic)
    }

    /// Runs the detectors once on sample values so their pattern automata get built (used
    /// to time that cost; instances build them lazily on first use).
    #[cfg(test)]
    pub fn warm_up(&self) {
        for sample in [
            "a=b (c); d/e.f <g> 'h' \"i\" $j `k` |l &m {n} [o] #p @q:r ..\\s",
            "x(1)",
            "--",
            "__x",
        ] {
            let _ = self.value_id(&Views::of_decoded(sample.to_string()), Place::Argument);
        }
    }

    /// Whether the request skips inspection (allowlisted client or path).
    pub fn allowlisted(&self, req: &RequestParts) -> bool {
        self.config.ip_allowed(req.client_ip) || self.config.path_allowed(req.path)
    }

    fn filename(&self, name: &str, location: &str) -> Option<Finding> {
        if self.rules.on(933110) && php::php_filename(name) {
            return self.found(933110, location);
        }
        let n = name
            .trim()
            .trim_end_matches(['.', ' '])
            .to_ascii_lowercase();
        if self.rules.on(944140) && (n.ends_with(".jsp") || n.ends_with(".jspx")) {
            return self.found(944140, location);
        }
        None
    }

    /// Encoded `name=value` fields (query, form body).
    fn fields(&self, fields: &[Field], place: &str, referer_off_site: bool) -> Option<Finding> {
        for f in fields {
            let name = if f.encoded {
                url_decode(&f.name, true)
            } else {
                Cow::Borrowed(f.name.as_ref())
            };
            if !name.is_empty() {
                let loc = || format!("{place}-name");
                if let Some(found) = self.value(&Views::of_text(Cow::Borrowed(&name)), loc) {
                    return Some(found);
                }
                // An encoded `=` hides a value in the name (`pay%3D…`): inspect it alone too.
                if let Some((_, tail)) = name.split_once('=') {
                    if !tail.is_empty() {
                        if let Some(found) = self.value(&Views::of_text(Cow::Borrowed(tail)), loc) {
                            return Some(found);
                        }
                    }
                }
                if generic::session_param(&name) {
                    let id = if referer_off_site { 943110 } else { 943120 };
                    if self.rules.on(id) && (id == 943110 || !f.value.is_empty()) {
                        return self.found(id, loc());
                    }
                }
            }
            if self.config.param_allowed(&name) {
                continue;
            }
            let loc = || format!("{place}:{name}");
            if f.filename {
                if let Some(found) = self.filename(&f.value, &loc()) {
                    return Some(found);
                }
            }
            let views = if f.encoded {
                Views::of_encoded(&f.value, true)
            } else {
                Views::of_text(Cow::Borrowed(&f.value))
            };
            if let Some(found) = self.value(&views, loc) {
                return Some(found);
            }
        }
        None
    }

    /// Whether the Referer names another host than the request's.
    fn referer_off_site(&self, req: &RequestParts) -> bool {
        let Some(referer) = req.header("referer") else {
            return false;
        };
        let host = req
            .header("host")
            .unwrap_or("")
            .split(':')
            .next()
            .unwrap_or("");
        let rhost = referer
            .split("://")
            .nth(1)
            .unwrap_or("")
            .split(['/', ':', '?'])
            .next()
            .unwrap_or("");
        !rhost.is_empty() && !rhost.eq_ignore_ascii_case(host)
    }

    /// Inspects path, query, headers and cookies.
    pub fn inspect_request(&self, req: &RequestParts) -> Option<Finding> {
        let path_views = Views::of_encoded(req.path, false);
        let lower = path_views.lower();
        let slashed = if lower.contains('\\') {
            Cow::Owned(lower.replace('\\', "/"))
        } else {
            Cow::Borrowed(lower)
        };
        if let Some(id) = lfi::detect_path(&slashed, &self.rules) {
            return self.found(id, "path");
        }
        if let Some(f) = self.value(&path_views, || "path".into()) {
            return Some(f);
        }
        let off_site = self.referer_off_site(req);
        if !req.query.is_empty() {
            if let Some(f) = self.fields(&body::urlencoded(req.query), "query", off_site) {
                return Some(f);
            }
        }
        for (name, value) in req.headers {
            let name: Cow<str> = if name.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(name.to_ascii_lowercase())
            } else {
                Cow::Borrowed(name)
            };
            if is_one_of(SKIPPED_HEADERS, &name) || name.starts_with("sec-") {
                continue;
            }
            let loc = || format!("header:{name}");
            if name == "cookie" {
                if let Some(f) = self.cookies(value) {
                    return Some(f);
                }
                continue;
            }
            if name == "user-agent" {
                if let Some(id) = scanner::detect(value, &self.rules) {
                    return self.found(id, loc());
                }
            }
            if is_one_of(FILENAME_HEADERS, &name) {
                if let Some(f) = self.filename(&url_decode(value, false), &loc()) {
                    return Some(f);
                }
            }
            let v = Views::of_encoded(value, false);
            if let Some(id) = self.value_id(&v, Place::Header) {
                return self.found(id, loc());
            }
        }
        None
    }

    fn cookies(&self, header: &str) -> Option<Finding> {
        for pair in header.split(';') {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = url_decode(name.trim(), false);
            if let Some(f) = self.value(&Views::of_text(Cow::Borrowed(&name)), || {
                "cookie-name".into()
            }) {
                return Some(f);
            }
            if self.config.param_allowed(&name) {
                continue;
            }
            if let Some(f) = self.value(&Views::of_encoded(value, false), || {
                format!("cookie:{name}")
            }) {
                return Some(f);
            }
        }
        None
    }

    /// Inspects a buffered request body.
    pub fn inspect_body(&self, req: &RequestParts, body: &[u8]) -> Option<Finding> {
        let limit = (self.config.max_body_bytes as usize).min(body.len());
        let fields = body::fields(req.header("content-type"), &body[..limit]);
        self.fields(&fields, "body", false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(json: &str) -> Engine {
        Engine::new(Config::parse(json).unwrap())
    }

    fn headers(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn req<'a>(path: &'a str, query: &'a str, headers: &'a [(String, String)]) -> RequestParts<'a> {
        RequestParts {
            path,
            query,
            headers,
            client_ip: "203.0.113.9",
        }
    }

    #[test]
    fn finds_sqli_in_a_query_parameter() {
        let h = headers(&[]);
        let f = engine("{}")
            .inspect_request(&req("/p", "id=1%27%20or%20%271%27%3D%271", &h))
            .unwrap();
        assert_eq!((f.rule.id, f.location.as_str()), (942100, "query:id"));
    }

    #[test]
    fn a_disabled_rule_does_not_fire() {
        let h = headers(&[]);
        let q = "name=%3Cscript%3Ealert(1)%3C/script%3E";
        assert_eq!(
            engine("{}")
                .inspect_request(&req("/x", q, &h))
                .unwrap()
                .rule
                .id,
            941110
        );
        assert!(engine(r#"{"disabled_rules":[941110,941160,941180]}"#)
            .inspect_request(&req("/x", q, &h))
            .is_none());
    }

    #[test]
    fn browser_requests_pass_at_paranoia_two() {
        let h = headers(&[
            ("user-agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"),
            ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            ("referer", "https://shop.test/category/shoes?utm_source=newsletter"),
            ("cookie", "session=3f9a1c2b7d; consent=1; cart=%7B%22items%22%3A2%7D"),
        ]);
        let e = engine(r#"{"paranoia":2}"#);
        let r = req(
            "/search",
            "q=red+running+shoes&size=42&sort=price_asc&page=2",
            &h,
        );
        assert!(
            e.inspect_request(&r).is_none(),
            "{:?}",
            e.inspect_request(&r)
        );
        let body =
            b"name=Ann+O%27Neil&street=12+Main+St.&city=Dublin&note=Please+ring+twice%2C+thanks%21";
        let ct = headers(&[("content-type", "application/x-www-form-urlencoded")]);
        assert!(e.inspect_body(&req("/checkout", "", &ct), body).is_none());
    }

    /// Values of letters, digits, spaces, `_` and `-` skip XSS, LFI and PHP: those detectors
    /// find nothing in such text, attack words included.
    #[test]
    fn text_skips_only_detectors_that_cannot_fire() {
        let r = Rules::new(2, &[]);
        for s in [
            "script alert 1",
            "javascript vbscript",
            "etc passwd boot ini",
            "php input data",
            "onload onerror x",
            "x-moz-binding msgbox",
            "document cookie",
            "a-b_c 1 2",
        ] {
            let v = Views::of_decoded(s.into());
            assert!(v.bytes.only_alnum_and(b"_- "), "{s}");
            assert!(xss::detect(&v, &r).is_none(), "{s}");
            assert!(lfi::detect(&v, &r).is_none(), "{s}");
            assert!(php::detect(&v, &r).is_none(), "{s}");
        }
        // A command line of plain words still reaches the command detector.
        let v = Views::of_decoded("nc -e sh evil 4444".into());
        assert!(v.bytes.only_alnum_and(b"_- "));
        assert!(engine("{}").value_id(&v, Place::Argument).is_some());
    }

    /// Pathological 64 KiB bodies (repeated tags, dots, comments, calls, quotes) are inspected
    /// without panicking; their cost shows in this test's run time.
    #[test]
    fn pathological_bodies_are_handled() {
        let ct = headers(&[("content-type", "text/plain")]);
        let e = engine(r#"{"paranoia":2}"#);
        for unit in [
            "<a", "..", "a /*", "abs(", "'", "on", "${", "a*", "é$x)(", "\\", "%25", "&#", "0x",
            "\u{bc}/", "</", "{", "\n", "data:", "'+", "1e", "<!",
        ] {
            let body = unit.repeat(64 * 1024 / unit.len());
            let _ = e.inspect_body(&req("/", "", &ct), body.as_bytes());
        }
    }

    #[test]
    fn json_bodies_and_allowlisted_parameters() {
        let ct = headers(&[("content-type", "application/json")]);
        let body = br#"{"user":{"name":"admin' OR 1=1 -- ","pass":"x"}}"#;
        let f = engine("{}")
            .inspect_body(&req("/api", "", &ct), body)
            .unwrap();
        assert_eq!(
            (f.rule.category.name(), f.location.as_str()),
            ("sqli", "body:name")
        );
        assert!(engine(r#"{"allow":{"params":["name"]}}"#)
            .inspect_body(&req("/api", "", &ct), body)
            .is_none());
    }
}

/// The values of a browser-like GET (path, query, headers, cookies), for the timing tests.
#[cfg(test)]
const BROWSER_VALUES: [&str; 15] = [
    "/category/shoes/running", "red running shoes", "42", "price_asc", "2", "newsletter",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "https://shop.example/category/shoes?utm_source=newsletter&utm_medium=email",
    "3f9a1c2b7d4e5f60718293a4b5c6d7e8", "analytics=1&ads=0", "{\"items\":2}", "GA1.2.123456789.1700000000",
    "document", "navigate", "1",
];

/// A detector as the timing tests call it.
#[cfg(test)]
type Detector = fn(&Views, &Rules) -> Option<u32>;

/// Every detector by name, for the timing tests.
#[cfg(test)]
const DETECTORS: [(&str, Detector); 7] = [
    ("sqli", sqli::detect),
    ("xss", xss::detect),
    ("lfi", lfi::detect),
    ("rce", rce::detect),
    ("php", php::detect),
    ("java", java::detect),
    ("generic", generic::detect),
];

#[cfg(test)]
mod timing {
    use super::*;
    use std::time::Instant;

    /// Rough per-detector cost on a browser-like request (run with --ignored --nocapture).
    #[test]
    #[ignore]
    fn detector_costs() {
        let values = BROWSER_VALUES;
        let r = Rules::new(2, &[]);
        let views: Vec<Views> = values
            .iter()
            .map(|v| Views::of_decoded(v.to_string()))
            .collect();
        let n = 2000;
        let dets = DETECTORS;
        let t = Instant::now();
        Engine::new(Config::parse(r#"{"paranoia":2}"#).unwrap()).warm_up();
        println!("warm-up (builds every automaton) {:?}", t.elapsed());
        let t = Instant::now();
        for _ in 0..n {
            for v in &values {
                std::hint::black_box(Views::of_decoded(v.to_string()));
            }
        }
        println!("views {:?}/request", t.elapsed() / n);
        for (name, d) in dets {
            let t = Instant::now();
            for _ in 0..n {
                for v in &views {
                    std::hint::black_box(d(v, &r));
                }
            }
            println!("{name} {:?}/request", t.elapsed() / n);
        }
    }
}

/// Per-value and whole-request timing (run with --ignored --nocapture --test-threads=1);
/// `WAF_SPIN=N` only runs N whole requests, `WAF_ONE=value` 1,000 runs of one value (for
/// instruction counts under callgrind).
#[cfg(test)]
mod timing_detail {
    use super::*;
    use std::time::Instant;

    #[test]
    #[ignore]
    fn per_value_costs() {
        let values = &BROWSER_VALUES[..12];
        let r = Rules::new(2, &[]);
        Engine::new(Config::parse(r#"{"paranoia":2}"#).unwrap()).warm_up();
        let dets = DETECTORS;
        let n = 3000;
        for v in values {
            if std::env::var("WAF_SPIN").is_ok() {
                break;
            }
            let views = Views::of_decoded(v.to_string());
            let mut line = format!("{:<30}", v.chars().take(28).collect::<String>());
            let t = Instant::now();
            for _ in 0..n {
                std::hint::black_box(Views::of_decoded(v.to_string()));
            }
            line += &format!(" views {:>6}", (t.elapsed() / n).as_nanos());
            for (name, d) in dets {
                let t = Instant::now();
                for _ in 0..n {
                    std::hint::black_box(d(&views, &r));
                }
                line += &format!(" {name} {:>6}", (t.elapsed() / n).as_nanos());
            }
            println!("{line}");
        }
        let e = Engine::new(Config::parse(r#"{"paranoia":2}"#).unwrap());
        let h: Vec<(String, String)> = [
            ("host", "shop.example"),
            ("user-agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"),
            ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"),
            ("accept-language", "en-GB,en;q=0.9,de;q=0.8"),
            ("accept-encoding", "gzip, deflate, br, zstd"),
            ("referer", "https://shop.example/category/shoes?utm_source=newsletter&utm_medium=email"),
            ("cookie", "session=3f9a1c2b7d4e5f60718293a4b5c6d7e8; consent=analytics%3D1%26ads%3D0; cart=%7B%22items%22%3A2%7D; _ga=GA1.2.123456789.1700000000"),
            ("sec-fetch-dest", "document"),
            ("sec-fetch-mode", "navigate"),
            ("upgrade-insecure-requests", "1"),
        ].iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        let req = RequestParts {
            path: "/category/shoes/running",
            query: "q=red+running+shoes&size=42&sort=price_asc&page=2&utm_source=newsletter",
            headers: &h,
            client_ip: "203.0.113.9",
        };
        if let Ok(one) = std::env::var("WAF_ONE") {
            for _ in 0..1000 {
                std::hint::black_box(e.value_id(&Views::of_decoded(one.clone()), Place::Argument));
            }
            return;
        }
        let mut samples = Vec::new();
        for _ in 0..n {
            let t = Instant::now();
            std::hint::black_box(e.inspect_request(&req));
            samples.push(t.elapsed().as_nanos());
        }
        if let Ok(n) = std::env::var("WAF_SPIN") {
            for _ in 0..n.parse::<u32>().unwrap_or(0) {
                std::hint::black_box(e.inspect_request(&req));
            }
            return;
        }
        samples.sort();
        println!(
            "whole request p50 {} ns p99 {} ns",
            samples[samples.len() / 2],
            samples[samples.len() * 99 / 100]
        );
    }
}
