//! Turns the config JSON into a [`Router`]: every regex compiled and every template resolved
//! once, and every mistake reported as `rule N (name): field: reason` (N counts from 0, as
//! the `rules` array does) or `default: field: reason`.

use crate::canary::{Canary, BUCKETS};
use crate::config::{RawActions, RawCanary, RawConfig, RawMatch, RawPath, RawRule};
use crate::matcher::{HostMatch, Matcher, PathMatch, ValueMatch};
use crate::router::{Actions, Router, Rule, Terminal};
use crate::template::{Groups, Template};
use regex_lite::{Regex, RegexBuilder};
use serde_json::Value;
use std::collections::BTreeMap;
use weir_plugin_sdk::Reply;

/// Largest compiled regex, in bytes (keeps a hostile pattern from eating the memory limit).
const REGEX_SIZE_LIMIT: usize = 256 * 1024;
/// Largest `respond` body (the host's limit for a reply).
const MAX_BODY: usize = 1 << 20;
/// Most rules in one config.
const MAX_RULES: usize = 1000;

/// Reads `value` as `T`; an error names the field it is about, after `prefix`
/// (`match.path: …`, `canary: missing field `pool``).
fn read<T: serde::de::DeserializeOwned>(prefix: &str, value: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match (prefix, path.as_str()) {
            ("", ".") => inner.to_string(),
            (_, ".") => format!("{prefix}: {inner}"),
            ("", _) => format!("{path}: {inner}"),
            _ => format!("{prefix}.{path}: {inner}"),
        }
    })
}

/// Parses and checks the whole config.
pub fn compile(config: &str) -> Result<Router, String> {
    let text = if config.trim().is_empty() {
        "{}"
    } else {
        config
    };
    let raw: RawConfig =
        serde_json::from_str(text).map_err(|e| format!("invalid router config: {e}"))?;
    if raw.rules.len() > MAX_RULES {
        return Err(format!("{} rules (at most {MAX_RULES})", raw.rules.len()));
    }
    let mut rules = Vec::with_capacity(raw.rules.len());
    for (i, value) in raw.rules.into_iter().enumerate() {
        let label = match value.get("name").and_then(Value::as_str) {
            Some(name) => format!("rule {i} ({name})"),
            None => format!("rule {i}"),
        };
        rules.push(compile_rule(i, value).map_err(|e| format!("{label}: {e}"))?);
    }
    let default = match raw.default {
        None => None,
        Some(value) => {
            let raw: RawActions = read("", value).map_err(|e| format!("default: {e}"))?;
            Some(
                compile_actions(
                    raw,
                    &Groups {
                        count: 1,
                        names: vec![],
                    },
                    "default",
                )
                .map_err(|e| format!("default: {e}"))?,
            )
        }
    };
    Ok(Router { rules, default })
}

fn compile_rule(index: usize, value: Value) -> Result<Rule, String> {
    let raw = RawRule::split(value)?;
    let when: RawMatch = read("match", raw.when)?;
    let (matcher, groups) = compile_match(when).map_err(|e| format!("match.{e}"))?;
    let actions: RawActions = read("", Value::Object(raw.actions))?;
    let salt = raw.name.unwrap_or_else(|| format!("rule {index}"));
    let actions = compile_actions(actions, &groups, &salt)?;
    Ok(Rule { matcher, actions })
}

/// A regex, with the error prefixed by `field`.
fn regex(field: &str, pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("{field}: {}", one_line(&e.to_string())))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// True for a valid HTTP token (header, cookie or method name).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The matcher and the capture groups its path offers to templates.
fn compile_match(raw: RawMatch) -> Result<(Matcher, Groups), String> {
    let host = raw.host.map(|h| {
        let h = h.to_ascii_lowercase();
        match h.strip_prefix('*') {
            Some(suffix) if suffix.starts_with('.') => Ok(HostMatch::Subdomain(suffix.into())),
            _ if h.is_empty() || h.contains(['*', '/', ':', ' ']) => Err(format!(
                "host: `{h}` is not a host name or `*.suffix` (no port, no scheme)"
            )),
            _ => Ok(HostMatch::Exact(h)),
        }
    });
    let host = host.transpose()?;
    let scheme = match raw.scheme.as_deref() {
        None => None,
        Some(s @ ("http" | "https")) => Some(s.to_string()),
        Some(s) => return Err(format!("scheme: `{s}` is not http or https")),
    };
    let mut groups = Groups {
        count: 1,
        names: vec![],
    };
    let path = match raw.path {
        None => None,
        Some(RawPath::Prefix(p)) | Some(RawPath::Exact(p)) if !p.starts_with('/') => {
            return Err(format!("path: `{p}` must start with '/'"));
        }
        Some(RawPath::Prefix(p)) => {
            groups.count = 2;
            Some(PathMatch::Prefix(p))
        }
        Some(RawPath::Exact(p)) => Some(PathMatch::Exact(p)),
        Some(RawPath::Regex(p)) => {
            let re = regex("path.regex", &p)?;
            groups.count = re.captures_len();
            groups.names = re
                .capture_names()
                .enumerate()
                .filter_map(|(i, n)| n.map(|n| (n.to_string(), i)))
                .collect();
            Some(PathMatch::Regex(re))
        }
    };
    let mut methods = Vec::with_capacity(raw.methods.len());
    for (i, m) in raw.methods.iter().enumerate() {
        if !is_token(m) {
            return Err(format!("methods[{i}]: `{m}` is not a method name"));
        }
        methods.push(m.to_ascii_uppercase());
    }
    let headers = value_matches("headers", raw.headers, true)?;
    let cookies = value_matches("cookies", raw.cookies, false)?;
    let query = value_matches("query", raw.query, false)?;
    Ok((
        Matcher {
            host,
            scheme,
            path,
            methods,
            headers,
            cookies,
            query,
        },
        groups,
    ))
}

/// `name → condition` pairs: a string (equal), `{"regex": …}` or `{"present": bool}`.
fn value_matches(
    field: &str,
    raw: BTreeMap<String, Value>,
    header_names: bool,
) -> Result<Vec<(String, ValueMatch)>, String> {
    let mut out = Vec::with_capacity(raw.len());
    for (name, cond) in raw {
        let at = format!("{field}.{name}");
        if header_names && !is_token(&name) {
            return Err(format!("{at}: `{name}` is not a header name"));
        }
        if name.is_empty() {
            return Err(format!("{field}: a name must not be empty"));
        }
        let m = match cond {
            Value::String(s) => ValueMatch::Exact(s),
            Value::Object(map) if map.len() == 1 => match map.into_iter().next() {
                Some((k, Value::String(p))) if k == "regex" => {
                    ValueMatch::Regex(regex(&format!("{at}.regex"), &p)?)
                }
                Some((k, Value::Bool(b))) if k == "present" => ValueMatch::Present(b),
                _ => {
                    return Err(format!(
                    "{at}: expected a string, {{\"regex\": \"…\"}} or {{\"present\": true|false}}"
                ))
                }
            },
            _ => {
                return Err(format!(
                    "{at}: expected a string, {{\"regex\": \"…\"}} or {{\"present\": true|false}}"
                ))
            }
        };
        let name = if header_names {
            name.to_ascii_lowercase()
        } else {
            name
        };
        out.push((name, m));
    }
    Ok(out)
}

/// Header value check the host applies too: no control characters, at most 8 KiB.
fn check_header_value(at: &str, value: &str) -> Result<(), String> {
    if value.len() > 8 << 10 || value.bytes().any(|b| b < 0x20 && b != b'\t' || b == 0x7f) {
        return Err(format!("{at}: not a valid header value"));
    }
    Ok(())
}

fn compile_actions(raw: RawActions, groups: &Groups, salt: &str) -> Result<Actions, String> {
    let terminal_name = match (&raw.redirect, &raw.respond) {
        (Some(_), Some(_)) => return Err("redirect and respond cannot both be set".into()),
        (Some(_), None) => Some("redirect"),
        (None, Some(_)) => Some("respond"),
        (None, None) => None,
    };
    let forwarding = raw.pool.is_some()
        || raw.rewrite.is_some()
        || raw.canary.is_some()
        || !raw.set_headers.is_empty()
        || !raw.remove_headers.is_empty();
    if let (Some(t), true) = (terminal_name, forwarding) {
        return Err(format!(
            "{t} answers the request itself: it cannot be combined with pool, rewrite, canary, set_headers or remove_headers"
        ));
    }
    if terminal_name.is_none() && !forwarding {
        return Err(
            "no action (pool, rewrite, redirect, respond, set_headers, remove_headers or canary)"
                .into(),
        );
    }
    let terminal = match (raw.redirect, raw.respond) {
        (Some(r), _) => {
            if ![301, 302, 303, 307, 308].contains(&r.status) {
                return Err(format!(
                    "redirect.status: {} is not 301, 302, 303, 307 or 308",
                    r.status
                ));
            }
            if r.to.is_empty() {
                return Err("redirect.to: must not be empty".into());
            }
            check_header_value("redirect.to", &r.to)?;
            let to = Template::parse(&r.to, groups).map_err(|e| format!("redirect.to: {e}"))?;
            Some(Terminal::Redirect(r.status, to))
        }
        (None, Some(r)) => {
            if !(200..=599).contains(&r.status) {
                return Err(format!("respond.status: {} is not 200-599", r.status));
            }
            if r.body.len() > MAX_BODY {
                return Err(format!("respond.body: over {MAX_BODY} bytes"));
            }
            check_header_value("respond.content_type", &r.content_type)?;
            let mut headers = vec![("content-type".to_string(), r.content_type)];
            for (name, value) in r.headers {
                if !is_token(&name) {
                    return Err(format!("respond.headers.{name}: not a header name"));
                }
                check_header_value(&format!("respond.headers.{name}"), &value)?;
                headers.push((name.to_ascii_lowercase(), value));
            }
            Some(Terminal::Respond(Reply {
                status: r.status,
                headers,
                body: r.body.into_bytes(),
            }))
        }
        (None, None) => None,
    };
    if raw.pool.as_deref() == Some("") {
        return Err("pool: must not be empty".into());
    }
    let rewrite = match raw.rewrite {
        None => None,
        Some(r) => {
            let t = Template::parse(&r, groups).map_err(|e| format!("rewrite: {e}"))?;
            if !t.starts_with("/") {
                return Err(format!("rewrite: `{r}` must start with '/'"));
            }
            Some(t)
        }
    };
    let mut set_headers = Vec::with_capacity(raw.set_headers.len());
    for (name, value) in raw.set_headers {
        let at = format!("set_headers.{name}");
        if !is_token(&name) {
            return Err(format!("{at}: not a header name"));
        }
        check_header_value(&at, &value)?;
        let t = Template::parse(&value, groups).map_err(|e| format!("{at}: {e}"))?;
        set_headers.push((name.to_ascii_lowercase(), t));
    }
    let mut remove_headers = Vec::with_capacity(raw.remove_headers.len());
    for (i, name) in raw.remove_headers.into_iter().enumerate() {
        if !is_token(&name) {
            return Err(format!(
                "remove_headers[{i}]: `{name}` is not a header name"
            ));
        }
        remove_headers.push(name.to_ascii_lowercase());
    }
    let canary = raw
        .canary
        .map(|c| compile_canary(c, salt).map_err(|e| format!("canary.{e}")))
        .transpose()?;
    Ok(Actions {
        remove_headers,
        set_headers,
        rewrite,
        pool: raw.pool,
        canary,
        terminal,
    })
}

fn compile_canary(raw: RawCanary, salt: &str) -> Result<Canary, String> {
    if raw.pool.is_empty() {
        return Err("pool: must not be empty".into());
    }
    if !(0.0..=100.0).contains(&raw.percent) {
        return Err(format!("percent: {} is not between 0 and 100", raw.percent));
    }
    if raw.sticky && !is_token(&raw.sticky_cookie) {
        return Err(format!(
            "sticky_cookie: `{}` is not a cookie name",
            raw.sticky_cookie
        ));
    }
    let cohort = raw
        .cohort
        .map(|m| {
            compile_match(m)
                .map(|(m, _)| m)
                .map_err(|e| format!("cohort.{e}"))
        })
        .transpose()?;
    Ok(Canary {
        pool: raw.pool,
        // In range by the check above; rounding to hundredths of a percent.
        basis_points: (raw.percent * (BUCKETS as f64) / 100.0).round() as u64,
        cohort,
        cookie: raw.sticky.then_some(raw.sticky_cookie),
        max_age_s: raw.max_age_s,
        salt: salt.to_string(),
    })
}
