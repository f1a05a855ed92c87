//! Weir built-in plugin `router`: ordered rules over host, scheme, path (prefix, exact,
//! regex), methods, headers, cookies and query parameters; the first match routes to a pool,
//! rewrites the path (with captures), edits headers, redirects or answers, optionally through
//! a canary split that is sticky by cookie. Config schema: README.md.
#![forbid(unsafe_code)]

mod canary;
mod compile;
mod config;
mod matcher;
mod router;
mod template;

use std::sync::OnceLock;
use weir_plugin_sdk::{
    export_plugin, Capabilities, Hooks, Plugin, Request, RequestAction, Response, ResponseAction,
};

/// The compiled config of this instance.
static ROUTER: OnceLock<router::Router> = OnceLock::new();

struct Router;

impl Plugin for Router {
    fn capabilities() -> Capabilities {
        let response = ROUTER
            .get()
            .is_some_and(router::Router::needs_response_hook);
        Capabilities {
            hooks: if response {
                Hooks::REQUEST | Hooks::RESPONSE
            } else {
                Hooks::REQUEST
            },
            max_body_bytes: 0,
        }
    }

    fn init(config: String) -> Result<(), String> {
        ROUTER
            .set(compile::compile(&config)?)
            .map_err(|_| "init ran twice".to_string())
    }

    fn on_request(req: Request) -> Vec<RequestAction> {
        ROUTER.get().map(|r| r.on_request(&req)).unwrap_or_default()
    }

    fn on_response(req: Request, resp: Response) -> Vec<ResponseAction> {
        ROUTER
            .get()
            .map(|r| r.on_response(&req, &resp))
            .unwrap_or_default()
    }
}

export_plugin!(Router);

#[cfg(test)]
mod tests;
