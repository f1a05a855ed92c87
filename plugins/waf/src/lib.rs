//! Weir built-in plugin `waf`: a web application firewall. It inspects the path, query,
//! headers, cookies and (bounded) bodies of requests for SQL injection, XSS, path traversal,
//! command execution, PHP/Java injection and scanners, and blocks (403 with a request id) or
//! only reports. This file only wires the pure engine (`engine.rs`) to the plugin SDK.
#![forbid(unsafe_code)]

mod body;
mod config;
mod engine;
mod generic;
mod java;
mod lfi;
mod normalize;
mod patterns;
mod php;
mod rce;
mod rules;
mod scanner;
mod sqli;
mod sqli_lex;
mod xss;

#[cfg(test)]
mod corpus_tests;

use config::{Config, Mode};
use engine::{Engine, Finding, RequestParts};
use std::cell::{Cell, RefCell};
use weir_plugin_sdk::{
    export_plugin, host, request_header, BodyAction, Capabilities, Hooks, LogLevel, Plugin, Reply,
    Request, RequestAction,
};

thread_local! {
    static ENGINE: RefCell<Engine> = RefCell::new(Engine::default());
    static COUNTER: Cell<u64> = const { Cell::new(0) };
}

struct Waf;

fn parts(req: &Request) -> RequestParts<'_> {
    RequestParts {
        path: &req.path,
        query: &req.query,
        headers: &req.headers,
        client_ip: &req.client_ip,
    }
}

/// The request's id: the client's `x-request-id` when it is short and plain, else a new one.
fn request_id(req: &Request) -> String {
    if let Some(id) = request_header(req, "x-request-id") {
        if !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return id.to_string();
        }
    }
    let n = COUNTER.with(|c| {
        c.set(c.get().wrapping_add(1));
        c.get()
    });
    format!("waf-{:x}-{:x}", host::now_ms(), n)
}

/// Logs and counts a finding; in block mode returns the 403 reply.
fn act(req: &Request, finding: &Finding, mode: Mode) -> Option<Reply> {
    let rule = finding.rule;
    let category = rule.category.name();
    let id = request_id(req);
    let action = if mode == Mode::Block {
        "block"
    } else {
        "detect"
    };
    host::log(
        LogLevel::Warn,
        &format!(
            "waf {action}: rule={} category={category} location={} request_id={id} client_ip={} path={} ({})",
            rule.id, finding.location, req.client_ip, req.path, rule.name
        ),
    );
    // Metric names are `[a-z0-9_]` (host rule): waf_block_sqli_942100.
    host::metric_incr(
        &format!("waf_{action}_{}_{}", category.replace('-', "_"), rule.id),
        1,
    );
    if mode == Mode::DetectOnly {
        return None;
    }
    Some(Reply {
        status: 403,
        headers: vec![
            ("content-type".into(), "text/plain; charset=utf-8".into()),
            ("x-request-id".into(), id.clone()),
            ("cache-control".into(), "no-store".into()),
        ],
        body: format!("Forbidden: this request was blocked by the web application firewall ({category}).\nRequest id: {id}\n")
            .into_bytes(),
    })
}

impl Plugin for Waf {
    fn capabilities() -> Capabilities {
        let max = ENGINE.with(|e| e.borrow().config.max_body_bytes);
        Capabilities {
            hooks: if max > 0 {
                Hooks::REQUEST | Hooks::REQUEST_BODY
            } else {
                Hooks::REQUEST
            },
            max_body_bytes: max,
        }
    }

    fn init(config: String) -> Result<(), String> {
        let config = Config::parse(&config)?;
        ENGINE.with(|e| *e.borrow_mut() = Engine::new(config));
        Ok(())
    }

    fn on_request(req: Request) -> Vec<RequestAction> {
        ENGINE.with(|e| {
            let engine = e.borrow();
            let p = parts(&req);
            if engine.allowlisted(&p) {
                return Vec::new();
            }
            match engine.inspect_request(&p) {
                Some(f) => act(&req, &f, engine.config.mode)
                    .map(RequestAction::Respond)
                    .into_iter()
                    .collect(),
                None => Vec::new(),
            }
        })
    }

    fn on_request_body(req: Request, body: Vec<u8>, _complete: bool) -> BodyAction {
        ENGINE.with(|e| {
            let engine = e.borrow();
            let p = parts(&req);
            if engine.allowlisted(&p) {
                return BodyAction::Pass;
            }
            match engine
                .inspect_body(&p, &body)
                .and_then(|f| act(&req, &f, engine.config.mode))
            {
                Some(reply) => BodyAction::Respond(reply),
                None => BodyAction::Pass,
            }
        })
    }
}

export_plugin!(Waf);
