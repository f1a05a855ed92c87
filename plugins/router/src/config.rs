//! The config JSON as written (see README.md): rules with a `match` and action keys, and a
//! `default`. Only its shape is checked here; `compile` checks the meaning.

use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The whole config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Rules in order, kept as JSON so each is read on its own and errors name its index.
    #[serde(default)]
    pub rules: Vec<Value>,
    /// Actions for requests no rule matched.
    pub default: Option<Value>,
}

/// The `match` table of a rule (or a canary's `cohort`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    /// `example.com` or `*.example.com`.
    pub host: Option<String>,
    /// `http` or `https`.
    pub scheme: Option<String>,
    /// Path condition.
    pub path: Option<RawPath>,
    /// Methods, any of which matches.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Header name → value condition.
    #[serde(default)]
    pub headers: BTreeMap<String, Value>,
    /// Cookie name → value condition.
    #[serde(default)]
    pub cookies: BTreeMap<String, Value>,
    /// Query parameter name → value condition.
    #[serde(default)]
    pub query: BTreeMap<String, Value>,
}

/// `{"prefix": …}`, `{"exact": …}` or `{"regex": …}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum RawPath {
    /// Path starts with.
    Prefix(String),
    /// Path equals.
    Exact(String),
    /// Regex over the path.
    Regex(String),
}

/// What a rule (or the default) does.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawActions {
    /// Pool to send the request to.
    pub pool: Option<String>,
    /// New path template.
    pub rewrite: Option<String>,
    /// Redirect instead of proxying.
    pub redirect: Option<RawRedirect>,
    /// Answer instead of proxying.
    pub respond: Option<RawRespond>,
    /// Request headers to set (value templates).
    #[serde(default)]
    pub set_headers: BTreeMap<String, String>,
    /// Request headers to remove.
    #[serde(default)]
    pub remove_headers: Vec<String>,
    /// Canary split.
    pub canary: Option<RawCanary>,
}

/// `redirect`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRedirect {
    /// Location template.
    pub to: String,
    /// 301, 302, 303, 307 or 308.
    #[serde(default = "default_redirect_status")]
    pub status: u16,
}

fn default_redirect_status() -> u16 {
    302
}

/// `respond`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRespond {
    /// 200-599.
    #[serde(default = "default_respond_status")]
    pub status: u16,
    /// Body text.
    #[serde(default)]
    pub body: String,
    /// Content type of the body.
    #[serde(default = "default_content_type")]
    pub content_type: String,
    /// More response headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

fn default_respond_status() -> u16 {
    200
}

fn default_content_type() -> String {
    "text/plain; charset=utf-8".into()
}

/// `canary`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCanary {
    /// Pool of the canary side.
    pub pool: String,
    /// Share of clients, 0-100 (fractions allowed, e.g. 0.5).
    #[serde(default)]
    pub percent: f64,
    /// Requests matching this always go to the canary.
    pub cohort: Option<RawMatch>,
    /// Keep a client on its side with a cookie.
    #[serde(default = "yes")]
    pub sticky: bool,
    /// Name of the sticky cookie.
    #[serde(default = "default_cookie")]
    pub sticky_cookie: String,
    /// Max-Age of the sticky cookie in seconds.
    #[serde(default = "default_max_age")]
    pub max_age_s: u64,
}

fn yes() -> bool {
    true
}

fn default_cookie() -> String {
    "weir_canary".into()
}

fn default_max_age() -> u64 {
    86_400
}

/// A rule split into its parts: name, match and the remaining (action) keys.
pub struct RawRule {
    /// `name`, if given.
    pub name: Option<String>,
    /// `match`.
    pub when: Value,
    /// Every other key.
    pub actions: Map<String, Value>,
}

impl RawRule {
    /// Splits a rule object; `Err` when it is not an object or its name is not a string.
    pub fn split(rule: Value) -> Result<RawRule, String> {
        let Value::Object(mut map) = rule else {
            return Err("a rule must be an object".into());
        };
        let name = match map.remove("name") {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err("name: must be a string".into()),
        };
        let when = map
            .remove("match")
            .unwrap_or_else(|| Value::Object(Map::new()));
        Ok(RawRule {
            name,
            when,
            actions: map,
        })
    }
}
