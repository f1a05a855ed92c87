//! A site's plugin chain. On a request, plugins run in chain order and each sees the request
//! as the plugins before it left it; an early answer stops the chain. On a response head they
//! run in reverse order (the first plugin has the last word, as with middleware). Plugins that
//! did not ask for a hook are skipped. A failure stops the chain unless the plugin's policy is
//! `fail_open`.

use super::actions::{check_body_action, check_request_actions, check_response_actions};
use super::instance::{FailureReason, LoadedPlugin};
use std::sync::Arc;
use weir_bundle::FailurePolicy;
use weir_sdk_wit::bindings::weir::plugin::types::{
    BodyAction, Hooks, Reply, Request, RequestAction, Response, ResponseAction,
};

/// One header edit to replay on the real request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderOp {
    /// Replace every value of the header with this one.
    Set(String, String),
    /// Remove the header.
    Remove(String),
}

/// What the chain changed on a request that goes on to a backend.
#[derive(Debug, Default)]
pub struct RequestEdits {
    /// Header edits, in order.
    pub headers: Vec<HeaderOp>,
    /// The pool a plugin routed to.
    pub route_to: Option<String>,
    /// The new path (and query) a plugin set.
    pub rewrite_path: Option<String>,
}

/// What the chain changed on a response head.
#[derive(Debug, Default)]
pub struct ResponseEdits {
    /// Header edits, in order.
    pub headers: Vec<HeaderOp>,
    /// A new status.
    pub status: Option<u16>,
}

/// Why the chain stopped the request.
#[derive(Debug)]
pub enum ChainStop {
    /// A plugin answered.
    Respond(Reply),
    /// A plugin redirected: status and location.
    Redirect(u16, String),
    /// A plugin failed under `fail_closed` or `reload`.
    Failed {
        /// The plugin's name.
        plugin: String,
        /// Why.
        reason: FailureReason,
    },
}

impl std::fmt::Display for ChainStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainStop::Respond(reply) => write!(f, "plugin answered {}", reply.status),
            ChainStop::Redirect(status, location) => {
                write!(f, "plugin redirected {status} to {location}")
            }
            ChainStop::Failed { plugin, reason } => write!(f, "plugin {plugin}: {reason}"),
        }
    }
}

/// The plugins of one site, in order.
#[derive(Debug, Default)]
pub struct Chain {
    /// The plugins.
    pub plugins: Vec<Arc<LoadedPlugin>>,
}

fn apply_header(headers: &mut Vec<(String, String)>, op: &HeaderOp) {
    match op {
        HeaderOp::Set(name, value) => {
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
            headers.push((name.to_ascii_lowercase(), value.clone()));
        }
        HeaderOp::Remove(name) => headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name)),
    }
}

/// The actions of one plugin call; `None` when a `fail_open` plugin failed (skip it).
fn actions_or_stop<T>(
    plugin: &LoadedPlugin,
    result: Result<Vec<T>, super::instance::Failure>,
) -> Result<Option<Vec<T>>, ChainStop> {
    match result {
        Ok(actions) => Ok(Some(actions)),
        Err(f) if f.policy == FailurePolicy::FailOpen => Ok(None),
        Err(f) => Err(ChainStop::Failed {
            plugin: plugin.meta.name.clone(),
            reason: f.reason,
        }),
    }
}

/// Applies a header edit to the plugin view and records it for the real message.
fn edit_header(headers: &mut Vec<(String, String)>, ops: &mut Vec<HeaderOp>, op: HeaderOp) {
    apply_header(headers, &op);
    ops.push(op);
}

impl Chain {
    /// True when some plugin wants `hook`.
    pub fn wants(&self, hook: Hooks) -> bool {
        self.plugins.iter().any(|p| p.hooks.contains(hook))
    }

    /// The largest body any plugin wants buffered for `hook` (0: none).
    pub fn max_body(&self, hook: Hooks) -> usize {
        self.plugins
            .iter()
            .filter(|p| p.hooks.contains(hook))
            .map(|p| p.max_body_bytes)
            .max()
            .unwrap_or(0)
    }

    /// Runs one body hook over the whole `body` through `plugins` (those that want `hook` and
    /// whose `max_body_bytes` the body fits; the others never see a partial body). Returns
    /// the final body and whether a plugin replaced it.
    fn run_body_hook<'a>(
        plugins: impl Iterator<Item = &'a Arc<LoadedPlugin>>,
        hook: Hooks,
        mut body: Vec<u8>,
        call: impl Fn(
            &mut wasmtime::Store<super::instance::HostState>,
            &weir_sdk_wit::bindings::Plugin,
            &[u8],
        ) -> wasmtime::Result<BodyAction>,
    ) -> Result<(Vec<u8>, bool), ChainStop> {
        let request_side = hook == Hooks::REQUEST_BODY;
        let mut replaced = false;
        for plugin in plugins {
            if !plugin.hooks.contains(hook) || body.len() > plugin.max_body_bytes {
                continue;
            }
            let current: &[u8] = &body;
            let result = plugin.call(
                |store, bindings| call(store, bindings, current),
                |action| check_body_action(action, request_side),
            );
            let Some(mut actions) = actions_or_stop(plugin, result.map(|a| vec![a]))? else {
                continue;
            };
            match actions.pop() {
                Some(BodyAction::Replace(new)) => {
                    body = new;
                    replaced = true;
                }
                Some(BodyAction::Respond(reply)) => return Err(ChainStop::Respond(reply)),
                Some(BodyAction::Pass) | None => {}
            }
        }
        Ok((body, replaced))
    }

    /// Runs `on-request-body` in chain order over the whole request `body`; returns the new
    /// body when a plugin replaced it.
    pub fn on_request_body(
        &self,
        req: &Request,
        body: Vec<u8>,
    ) -> Result<Option<Vec<u8>>, ChainStop> {
        let (body, replaced) = Self::run_body_hook(
            self.plugins.iter(),
            Hooks::REQUEST_BODY,
            body,
            |store, b, current| {
                b.weir_plugin_filter()
                    .call_on_request_body(store, req, current, true)
            },
        )?;
        Ok(replaced.then_some(body))
    }

    /// Runs `on-response-body` in reverse chain order over the whole response `body`; each
    /// plugin may pass it on or replace it.
    pub fn on_response_body(
        &self,
        req: &Request,
        resp: &Response,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, ChainStop> {
        Self::run_body_hook(
            self.plugins.iter().rev(),
            Hooks::RESPONSE_BODY,
            body,
            |store, b, current| {
                b.weir_plugin_filter()
                    .call_on_response_body(store, req, resp, current)
            },
        )
        .map(|(body, _)| body)
    }

    /// Runs `on-request` through the chain, updating `req` as it goes.
    pub fn on_request(
        &self,
        req: &mut Request,
        pool_exists: impl Fn(&str) -> bool,
    ) -> Result<RequestEdits, ChainStop> {
        let mut edits = RequestEdits::default();
        for plugin in self
            .plugins
            .iter()
            .filter(|p| p.hooks.contains(Hooks::REQUEST))
        {
            let view: &Request = req;
            let result = plugin.call(
                |store, bindings| bindings.weir_plugin_filter().call_on_request(store, view),
                |actions| check_request_actions(actions, &pool_exists),
            );
            let Some(actions) = actions_or_stop(plugin, result)? else {
                continue;
            };
            for action in actions {
                match action {
                    RequestAction::SetHeader((name, value)) => edit_header(
                        &mut req.headers,
                        &mut edits.headers,
                        HeaderOp::Set(name, value),
                    ),
                    RequestAction::RemoveHeader(name) => {
                        edit_header(&mut req.headers, &mut edits.headers, HeaderOp::Remove(name))
                    }
                    RequestAction::Respond(reply) => return Err(ChainStop::Respond(reply)),
                    RequestAction::Redirect((status, location)) => {
                        return Err(ChainStop::Redirect(status, location))
                    }
                    RequestAction::RouteTo(pool) => edits.route_to = Some(pool),
                    RequestAction::RewritePath(path) => {
                        match path.split_once('?') {
                            Some((p, q)) => {
                                req.path = p.to_string();
                                req.query = q.to_string();
                            }
                            None => {
                                req.path = path.clone();
                                req.query.clear();
                            }
                        }
                        edits.rewrite_path = Some(path);
                    }
                }
            }
        }
        Ok(edits)
    }

    /// Runs `on-response` through the chain in reverse order, updating `resp` as it goes.
    pub fn on_response(
        &self,
        req: &Request,
        resp: &mut Response,
    ) -> Result<ResponseEdits, ChainStop> {
        let mut edits = ResponseEdits::default();
        for plugin in self
            .plugins
            .iter()
            .rev()
            .filter(|p| p.hooks.contains(Hooks::RESPONSE))
        {
            let view: &Response = resp;
            let result = plugin.call(
                |store, bindings| {
                    bindings
                        .weir_plugin_filter()
                        .call_on_response(store, req, view)
                },
                |actions| check_response_actions(actions),
            );
            let Some(actions) = actions_or_stop(plugin, result)? else {
                continue;
            };
            for action in actions {
                match action {
                    ResponseAction::SetHeader((name, value)) => edit_header(
                        &mut resp.headers,
                        &mut edits.headers,
                        HeaderOp::Set(name, value),
                    ),
                    ResponseAction::RemoveHeader(name) => edit_header(
                        &mut resp.headers,
                        &mut edits.headers,
                        HeaderOp::Remove(name),
                    ),
                    ResponseAction::SetStatus(status) => {
                        resp.status = status;
                        edits.status = Some(status);
                    }
                }
            }
        }
        Ok(edits)
    }
}
