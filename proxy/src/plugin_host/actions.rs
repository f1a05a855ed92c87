//! Checks what a plugin returned before the host acts on it: header names and values that
//! HTTP allows, statuses in range, bounded sizes, pools that exist, and `respond` / `redirect`
//! only as the last action. Anything else is an invalid action, handled as a plugin failure.

use http::header::{HeaderName, HeaderValue};
use weir_sdk_wit::bindings::weir::plugin::types::{
    BodyAction, Reply, RequestAction, ResponseAction,
};

/// Most actions one hook call may return.
pub const MAX_ACTIONS: usize = 100;
/// Largest body a plugin may answer with or put in place, in bytes.
pub const MAX_BODY: usize = 1 << 20;
/// Longest header value, path or location, in bytes.
pub const MAX_VALUE: usize = 8 << 10;

fn check_header(name: &str, value: &str) -> Result<(), String> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("`{}` is not a header name", name.escape_debug()))?;
    if value.len() > MAX_VALUE {
        return Err(format!("header `{name}` value is over {MAX_VALUE} bytes"));
    }
    HeaderValue::from_str(value)
        .map_err(|_| format!("header `{name}` has a value HTTP does not allow"))?;
    Ok(())
}

fn check_reply(reply: &Reply) -> Result<(), String> {
    if !(200..=599).contains(&reply.status) {
        return Err(format!("reply status {} is not 200-599", reply.status));
    }
    if reply.headers.len() > MAX_ACTIONS {
        return Err(format!(
            "reply has {} headers (at most {MAX_ACTIONS})",
            reply.headers.len()
        ));
    }
    if reply.body.len() > MAX_BODY {
        return Err(format!(
            "reply body is {} bytes (at most {MAX_BODY})",
            reply.body.len()
        ));
    }
    reply
        .headers
        .iter()
        .try_for_each(|(n, v)| check_header(n, v))
}

/// Validates request actions; `pool_exists` answers for `route-to`.
pub fn check_request_actions(
    actions: &[RequestAction],
    pool_exists: impl Fn(&str) -> bool,
) -> Result<(), String> {
    if actions.len() > MAX_ACTIONS {
        return Err(format!("{} actions (at most {MAX_ACTIONS})", actions.len()));
    }
    for (i, action) in actions.iter().enumerate() {
        let last = i + 1 == actions.len();
        match action {
            RequestAction::SetHeader((n, v)) => check_header(n, v)?,
            RequestAction::RemoveHeader(n) => {
                HeaderName::from_bytes(n.as_bytes())
                    .map_err(|_| format!("`{}` is not a header name", n.escape_debug()))?;
            }
            RequestAction::Respond(reply) => {
                check_reply(reply)?;
                if !last {
                    return Err("respond must be the last action".into());
                }
            }
            RequestAction::RouteTo(pool) => {
                if !pool_exists(pool) {
                    return Err(format!("route-to names no pool `{pool}`"));
                }
            }
            RequestAction::RewritePath(path) => {
                if !path.starts_with('/') || path.len() > MAX_VALUE {
                    return Err("rewrite-path must start with '/' and be at most 8 KiB".into());
                }
                http::uri::PathAndQuery::try_from(path.as_str())
                    .map_err(|_| format!("`{}` is not a valid path", path.escape_debug()))?;
            }
            RequestAction::Redirect((status, location)) => {
                if ![301, 302, 303, 307, 308].contains(status) {
                    return Err(format!(
                        "redirect status {status} is not 301, 302, 303, 307 or 308"
                    ));
                }
                check_header("location", location)?;
                if !last {
                    return Err("redirect must be the last action".into());
                }
            }
        }
    }
    Ok(())
}

/// Validates response actions.
pub fn check_response_actions(actions: &[ResponseAction]) -> Result<(), String> {
    if actions.len() > MAX_ACTIONS {
        return Err(format!("{} actions (at most {MAX_ACTIONS})", actions.len()));
    }
    actions.iter().try_for_each(|a| match a {
        ResponseAction::SetHeader((n, v)) => check_header(n, v),
        ResponseAction::RemoveHeader(n) => HeaderName::from_bytes(n.as_bytes())
            .map(|_| ())
            .map_err(|_| format!("`{}` is not a header name", n.escape_debug())),
        ResponseAction::SetStatus(s) if (100..=599).contains(s) => Ok(()),
        ResponseAction::SetStatus(s) => Err(format!("status {s} is not 100-599")),
    })
}

/// Largest body a plugin may put in place of another, in bytes.
pub const MAX_REPLACED_BODY: usize = 64 << 20;

/// Validates a body action; `respond` is allowed on request bodies only.
pub fn check_body_action(action: &BodyAction, request_side: bool) -> Result<(), String> {
    match action {
        BodyAction::Pass => Ok(()),
        BodyAction::Replace(body) if body.len() > MAX_REPLACED_BODY => Err(format!(
            "replacement body is {} bytes (at most {MAX_REPLACED_BODY})",
            body.len()
        )),
        BodyAction::Replace(_) => Ok(()),
        BodyAction::Respond(reply) if request_side => check_reply(reply),
        BodyAction::Respond(_) => Err("respond is not allowed on a response body".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16) -> RequestAction {
        RequestAction::Respond(Reply {
            status,
            headers: vec![],
            body: vec![],
        })
    }

    #[test]
    fn invalid_actions_are_named() {
        let pools = |p: &str| p == "web";
        assert!(check_request_actions(&[reply(403)], pools).is_ok());
        assert!(check_request_actions(&[reply(999)], pools)
            .unwrap_err()
            .contains("999"));
        let bad_header = RequestAction::SetHeader(("x-bad\r\n".into(), "1".into()));
        assert!(check_request_actions(&[bad_header], pools)
            .unwrap_err()
            .contains("not a header name"));
        let bad_value = RequestAction::SetHeader(("x-ok".into(), "a\nb".into()));
        assert!(check_request_actions(&[bad_value], pools).is_err());
        assert!(check_request_actions(&[RequestAction::RouteTo("nope".into())], pools).is_err());
        assert!(check_request_actions(&[RequestAction::RouteTo("web".into())], pools).is_ok());
        let after = [reply(200), RequestAction::RemoveHeader("x".into())];
        assert!(check_request_actions(&after, pools)
            .unwrap_err()
            .contains("last"));
        assert!(
            check_request_actions(&[RequestAction::Redirect((200, "/x".into()))], pools).is_err()
        );
        assert!(
            check_request_actions(&[RequestAction::RewritePath("nope".into())], pools).is_err()
        );
        assert!(check_response_actions(&[ResponseAction::SetStatus(42)]).is_err());
    }
}
