//! Weir built-in plugin `minify`: minifies HTML, CSS, JavaScript and JSON response bodies
//! (minify-html, lightningcss, oxc), leaving encoded, `no-transform`, partial and oversize
//! responses alone and weakening the `ETag` of what it may change. See README.md.
#![forbid(unsafe_code)]

mod config;
mod css;
mod decide;
mod depth;
mod html;
mod js;
mod json;

#[cfg(test)]
mod bench;
#[cfg(test)]
mod correctness;

use config::{Config, Kind};
use decide::{decide, weaken_etag, Skip};
// Links the getrandom `custom` backend that minify-html's dependencies need on wasm32.
use minify_entropy as _;
use std::sync::OnceLock;
use weir_plugin_sdk::{
    export_plugin, header, host, BodyAction, Capabilities, Hooks, LogLevel, Plugin, Request,
    Response, ResponseAction,
};

static CONFIG: OnceLock<Config> = OnceLock::new();

/// What minifying one body gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The minified body, strictly smaller than the original.
    Smaller(Vec<u8>),
    /// Minified fine but not smaller: the original is served.
    NotSmaller,
    /// Not UTF-8 text: left alone.
    NotUtf8,
    /// HTML nested deeper than [`depth::MAX_DEPTH`]: left alone.
    TooDeep,
    /// The minifier rejected the body (e.g. a CSS or JS syntax error): the original is served.
    Failed(String),
}

/// Minifies `body` as `kind`.
pub fn minify_body(kind: Kind, config: &Config, body: &[u8]) -> Outcome {
    let Ok(text) = std::str::from_utf8(body) else {
        return Outcome::NotUtf8;
    };
    let minified = match kind {
        Kind::Html if depth::nesting_depth(body) > depth::MAX_DEPTH => return Outcome::TooDeep,
        Kind::Html => Ok(html::minify(text, config)),
        Kind::Css => css::minify(text),
        Kind::Js => js::minify(text),
        Kind::Json => json::minify(text),
    };
    match minified {
        Err(reason) => Outcome::Failed(reason),
        Ok(out) if out.len() < body.len() => Outcome::Smaller(out),
        Ok(_) => Outcome::NotSmaller,
    }
}

/// Whether the response head may describe a minified body, so its `ETag` is weakened. A 304
/// usually carries no `Content-Type`; it is treated like the 200 it revalidates.
fn may_be_minified(config: &Config, req: &Request, resp: &Response) -> bool {
    match decide(config, resp.status, &req.headers, &resp.headers) {
        Ok(_) => true,
        Err(Skip::Type) => resp.status == 304 && header(&resp.headers, "content-type").is_none(),
        Err(_) => false,
    }
}

struct Minify;

impl Plugin for Minify {
    fn capabilities() -> Capabilities {
        Capabilities {
            hooks: Hooks::RESPONSE | Hooks::RESPONSE_BODY,
            max_body_bytes: CONFIG.get().cloned().unwrap_or_default().max_bytes,
        }
    }

    fn init(config: String) -> Result<(), String> {
        CONFIG
            .set(Config::parse(&config)?)
            .map_err(|_| "init ran twice".to_string())
    }

    fn on_response(req: Request, resp: Response) -> Vec<ResponseAction> {
        let Some(config) = CONFIG.get() else {
            return Vec::new();
        };
        if !may_be_minified(config, &req, &resp) {
            return Vec::new();
        }
        let mut actions = Vec::new();
        if let Some(weak) = header(&resp.headers, "etag").and_then(weaken_etag) {
            actions.push(ResponseAction::SetHeader(("etag".into(), weak)));
        }
        if req.method.eq_ignore_ascii_case("HEAD") {
            // A GET would get the minified body: the original length would be wrong.
            actions.push(ResponseAction::RemoveHeader("content-length".into()));
        }
        actions
    }

    fn on_response_body(req: Request, resp: Response, body: Vec<u8>) -> BodyAction {
        let Some(config) = CONFIG.get() else {
            return BodyAction::Pass;
        };
        let kind = match decide(config, resp.status, &req.headers, &resp.headers) {
            Ok(kind) => kind,
            Err(skip) => {
                host::metric_incr(skip.metric(), 1);
                return BodyAction::Pass;
            }
        };
        if body.len() > config.max_bytes as usize {
            host::metric_incr(Skip::TooBig.metric(), 1);
            return BodyAction::Pass;
        }
        match minify_body(kind, config, &body) {
            Outcome::Smaller(out) => {
                host::metric_incr("minified", 1);
                host::metric_incr("bytes_saved", (body.len() - out.len()) as u64);
                BodyAction::Replace(out)
            }
            Outcome::NotSmaller => {
                host::metric_incr("not_smaller", 1);
                BodyAction::Pass
            }
            Outcome::NotUtf8 => {
                host::metric_incr("skipped_not_utf8", 1);
                BodyAction::Pass
            }
            Outcome::TooDeep => {
                host::metric_incr("skipped_too_deep", 1);
                BodyAction::Pass
            }
            Outcome::Failed(reason) => {
                host::metric_incr("failed", 1);
                host::log(
                    LogLevel::Debug,
                    &format!("minify: {} {} left as is: {reason}", kind.name(), req.path),
                );
                BodyAction::Pass
            }
        }
    }
}

export_plugin!(Minify);
