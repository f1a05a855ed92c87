//! The compiled router: ordered rules, first match wins, then the default. A match yields
//! the list of request actions the host applies (header edits, rewrite, route-to; or one
//! redirect / respond), and on the response the sticky canary cookie.

use crate::canary::{self, Canary, MARKER};
use crate::matcher::{Matcher, PathCaps};
use crate::template::Template;
use weir_plugin_sdk::{header, Reply, Request, RequestAction, Response, ResponseAction};

/// What a rule does instead of proxying.
#[derive(Debug)]
pub enum Terminal {
    /// Redirect with this status to this location.
    Redirect(u16, Template),
    /// Answer with this reply.
    Respond(Reply),
}

/// The actions of a rule or of the default.
#[derive(Debug, Default)]
pub struct Actions {
    /// Headers to remove, then
    pub remove_headers: Vec<String>,
    /// headers to set, then
    pub set_headers: Vec<(String, Template)>,
    /// the new path, then
    pub rewrite: Option<Template>,
    /// the pool (or the canary's choice between it and the canary pool).
    pub pool: Option<String>,
    /// Canary split.
    pub canary: Option<Canary>,
    /// Redirect or respond (alone).
    pub terminal: Option<Terminal>,
}

/// One rule.
#[derive(Debug)]
pub struct Rule {
    /// Its conditions.
    pub matcher: Matcher,
    /// Its actions.
    pub actions: Actions,
}

/// The whole router.
#[derive(Debug, Default)]
pub struct Router {
    /// Rules in order.
    pub rules: Vec<Rule>,
    /// Actions when no rule matches.
    pub default: Option<Actions>,
}

impl Actions {
    /// The host actions for `req`, whose path match gave `caps`.
    fn apply(&self, req: &Request, caps: &PathCaps<'_>) -> Vec<RequestAction> {
        match &self.terminal {
            Some(Terminal::Respond(reply)) => return vec![RequestAction::Respond(reply.clone())],
            Some(Terminal::Redirect(status, to)) => {
                let location = with_query(to.expand(caps, req), &req.query);
                return vec![RequestAction::Redirect((*status, location))];
            }
            None => {}
        }
        let mut out = Vec::with_capacity(self.remove_headers.len() + self.set_headers.len() + 3);
        out.extend(
            self.remove_headers
                .iter()
                .map(|h| RequestAction::RemoveHeader(h.clone())),
        );
        out.extend(
            self.set_headers
                .iter()
                .map(|(h, v)| RequestAction::SetHeader((h.clone(), v.expand(caps, req)))),
        );
        let mut pool = self.pool.as_ref();
        let mut marked = false;
        if let Some(c) = &self.canary {
            let decision = c.decide(req);
            if decision.canary {
                pool = Some(&c.pool);
            }
            if let Some(cookie) = decision.set_cookie {
                out.push(RequestAction::SetHeader((MARKER.into(), cookie)));
                marked = true;
            }
        }
        if !marked && canary::marker(req).is_some() {
            // A marker the client sent itself is not passed on.
            out.push(RequestAction::RemoveHeader(MARKER.into()));
        }
        if let Some(t) = &self.rewrite {
            out.push(RequestAction::RewritePath(with_query(
                t.expand(caps, req),
                &req.query,
            )));
        }
        if let Some(p) = pool {
            out.push(RequestAction::RouteTo(p.clone()));
        }
        out
    }

    fn sticky_canary(&self) -> Option<&Canary> {
        self.canary.as_ref().filter(|c| c.cookie.is_some())
    }
}

/// `target` with the request's query appended when the target carries none of its own.
fn with_query(mut target: String, query: &str) -> String {
    if !query.is_empty() && !target.contains('?') {
        target.push('?');
        target.push_str(query);
    }
    target
}

impl Router {
    /// The actions for a request: the first matching rule's, else the default's, else none.
    pub fn on_request(&self, req: &Request) -> Vec<RequestAction> {
        for rule in &self.rules {
            if let Some(caps) = rule.matcher.matches(req) {
                return rule.actions.apply(req, &caps);
            }
        }
        match &self.default {
            Some(actions) => actions.apply(req, &PathCaps::Whole(&req.path)),
            None if canary::marker(req).is_some() => {
                vec![RequestAction::RemoveHeader(MARKER.into())]
            }
            None => Vec::new(),
        }
    }

    /// True when some canary hands out a sticky cookie (then the response hook is needed).
    pub fn needs_response_hook(&self) -> bool {
        self.all_actions().any(|a| a.sticky_canary().is_some())
    }

    fn all_actions(&self) -> impl Iterator<Item = &Actions> {
        self.rules
            .iter()
            .map(|r| &r.actions)
            .chain(self.default.as_ref())
    }

    /// The sticky cookie for a response whose request was marked by [`Self::on_request`].
    /// A response that sets cookies of its own is left alone (the host's set-header would
    /// replace them); the client keeps its hashed side and gets the cookie next time.
    pub fn on_response(&self, req: &Request, resp: &Response) -> Vec<ResponseAction> {
        let Some(mark) = canary::marker(req) else {
            return Vec::new();
        };
        if header(&resp.headers, "set-cookie").is_some() {
            return Vec::new();
        }
        let secure = req.scheme == "https";
        self.all_actions()
            .filter_map(Actions::sticky_canary)
            .find_map(|c| c.cookie_header(mark, secure))
            .map(|cookie| vec![ResponseAction::SetHeader(("set-cookie".into(), cookie))])
            .unwrap_or_default()
    }
}
