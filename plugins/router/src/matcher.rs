//! Compiled match conditions of a rule (host, scheme, path, methods, headers, cookies, query
//! parameters) and the lookups they need on a request. Every condition present must hold.

use regex_lite::{Captures, Regex};
use std::borrow::Cow;
use weir_plugin_sdk::Request;

/// How a host is matched.
#[derive(Debug)]
pub enum HostMatch {
    /// This host exactly (lowercase).
    Exact(String),
    /// Any subdomain of this suffix (`*.example.com` stores `.example.com`).
    Subdomain(String),
}

/// How the path is matched (on the path as received, percent-encoded, without the query).
#[derive(Debug)]
pub enum PathMatch {
    /// Starts with this text; `$1` is the rest.
    Prefix(String),
    /// Is exactly this text.
    Exact(String),
    /// The regex matches somewhere (anchor it with `^…$`); its groups are `$1`…
    Regex(Regex),
}

/// How a header, cookie or query value is matched.
#[derive(Debug)]
pub enum ValueMatch {
    /// Equal to this text.
    Exact(String),
    /// The regex matches somewhere in the value.
    Regex(Regex),
    /// Present (`true`) or absent (`false`), any value.
    Present(bool),
}

/// The capture groups of a path match, for templates.
#[derive(Debug)]
pub enum PathCaps<'a> {
    /// Only group 0, the whole path.
    Whole(&'a str),
    /// A prefix match: group 0 the whole path, group 1 the rest after the prefix.
    Prefix(&'a str, &'a str),
    /// A regex match.
    Regex(Captures<'a>),
}

impl PathCaps<'_> {
    /// Group `i`, `None` when it did not take part in the match.
    pub fn group(&self, i: usize) -> Option<&str> {
        match (self, i) {
            (PathCaps::Whole(p), 0) | (PathCaps::Prefix(p, _), 0) => Some(p),
            (PathCaps::Prefix(_, rest), 1) => Some(rest),
            (PathCaps::Regex(c), i) => c.get(i).map(|m| m.as_str()),
            _ => None,
        }
    }
}

/// All conditions of one rule (or of a canary cohort).
#[derive(Debug, Default)]
pub struct Matcher {
    /// Host condition.
    pub host: Option<HostMatch>,
    /// `http` or `https`.
    pub scheme: Option<String>,
    /// Path condition.
    pub path: Option<PathMatch>,
    /// Uppercase methods, any of which matches (empty: any method).
    pub methods: Vec<String>,
    /// Header conditions (lowercase names).
    pub headers: Vec<(String, ValueMatch)>,
    /// Cookie conditions.
    pub cookies: Vec<(String, ValueMatch)>,
    /// Query parameter conditions (names and values percent-decoded).
    pub query: Vec<(String, ValueMatch)>,
}

impl ValueMatch {
    /// Whether the values found under one name (possibly none) satisfy the condition: any
    /// one of them for `Exact` and `Regex`.
    fn check<'a>(&self, mut values: impl Iterator<Item = Cow<'a, str>>) -> bool {
        match self {
            ValueMatch::Present(want) => values.next().is_some() == *want,
            ValueMatch::Exact(text) => values.any(|v| v == text.as_str()),
            ValueMatch::Regex(re) => values.any(|v| re.is_match(&v)),
        }
    }
}

impl Matcher {
    /// The path's captures when every condition holds, `None` otherwise.
    pub fn matches<'r>(&self, req: &'r Request) -> Option<PathCaps<'r>> {
        if let Some(host) = &self.host {
            let ok = match host {
                HostMatch::Exact(h) => req.host == *h,
                HostMatch::Subdomain(suffix) => {
                    req.host.len() > suffix.len() && req.host.ends_with(suffix.as_str())
                }
            };
            if !ok {
                return None;
            }
        }
        if self.scheme.as_ref().is_some_and(|s| *s != req.scheme) {
            return None;
        }
        if !self.methods.is_empty() && !self.methods.iter().any(|m| m == &req.method) {
            return None;
        }
        if !self
            .headers
            .iter()
            .all(|(n, m)| m.check(header_values(req, n)))
            || !self
                .cookies
                .iter()
                .all(|(n, m)| m.check(cookie_values(req, n)))
            || !self
                .query
                .iter()
                .all(|(n, m)| m.check(query_values(req, n)))
        {
            return None;
        }
        let path = req.path.as_str();
        match &self.path {
            None => Some(PathCaps::Whole(path)),
            Some(PathMatch::Exact(p)) => (path == p).then_some(PathCaps::Whole(path)),
            Some(PathMatch::Prefix(p)) => path
                .strip_prefix(p.as_str())
                .map(|rest| PathCaps::Prefix(path, rest)),
            Some(PathMatch::Regex(re)) => re.captures(path).map(PathCaps::Regex),
        }
    }
}

/// Values of request header `name` (lowercase).
fn header_values<'r>(req: &'r Request, name: &'r str) -> impl Iterator<Item = Cow<'r, str>> {
    req.headers
        .iter()
        .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str().into())
}

/// Values of cookie `name` over every `cookie` header.
fn cookie_values<'r>(req: &'r Request, name: &'r str) -> impl Iterator<Item = Cow<'r, str>> {
    cookies(req).filter_map(move |(k, v)| (k == name).then_some(v.into()))
}

/// Values of query parameter `name` (decoded).
fn query_values<'r>(req: &'r Request, name: &'r str) -> impl Iterator<Item = Cow<'r, str>> {
    req.query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(move |pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k) == name).then(|| percent_decode(v))
        })
}

/// Every `(name, value)` cookie the request carries, in order.
pub fn cookies(req: &Request) -> impl Iterator<Item = (&str, &str)> {
    req.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| v.split(';'))
        .filter_map(|c| {
            let (k, v) = c.split_once('=')?;
            Some((k.trim(), v.trim().trim_matches('"')))
        })
}

/// `%XX` and `+` decoded; invalid escapes and bytes that are not UTF-8 are kept as they are.
fn percent_decode(text: &str) -> Cow<'_, str> {
    if !text.contains(['%', '+']) {
        return text.into();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            ) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => s.into(),
        Err(_) => text.into(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A request for tests.
    pub fn request(
        method: &str,
        host: &str,
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
    ) -> Request {
        Request {
            method: method.into(),
            scheme: "http".into(),
            host: host.into(),
            path: path.into(),
            query: query.into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            client_ip: "203.0.113.9".into(),
            country: None,
            tls: None,
            site_id: "shop".into(),
            tenant_id: "acme".into(),
        }
    }

    #[test]
    fn query_values_are_decoded() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        let req = request("GET", "h", "/", "q=caf%C3%A9&flag&x=1", &[]);
        assert_eq!(query_values(&req, "q").collect::<Vec<_>>(), ["café"]);
        assert_eq!(query_values(&req, "flag").collect::<Vec<_>>(), [""]);
        assert_eq!(query_values(&req, "nope").count(), 0);
    }

    #[test]
    fn cookies_are_read_from_every_cookie_header() {
        let req = request(
            "GET",
            "h",
            "/",
            "",
            &[("cookie", "a=1; b=\"2\""), ("cookie", "c=3")],
        );
        let all: Vec<_> = cookies(&req).collect();
        assert_eq!(all, [("a", "1"), ("b", "2"), ("c", "3")]);
    }
}
