//! Weir built-in plugin `geofence`: allow- or deny-lists of countries per site and per path
//! prefix, with a policy for clients whose country is unknown. The country is the one the
//! host resolved from its geo database (`request.country`); a blocked request gets 451 (or
//! 403) with a small HTML page, and each block is counted as `geofence_block_<cc>`.
//! Config schema: README.md.
#![forbid(unsafe_code)]

mod path;
mod policy;

use policy::{country_code, Policy};
use std::sync::OnceLock;
use weir_plugin_sdk::{export_plugin, host, Plugin, Reply, Request, RequestAction};

static POLICY: OnceLock<Policy> = OnceLock::new();

/// The reason phrase of a blocking status.
fn reason(status: u16) -> &'static str {
    match status {
        403 => "Forbidden",
        _ => "Unavailable For Legal Reasons",
    }
}

/// The page a blocked client sees.
fn blocked_page(status: u16) -> Reply {
    let reason = reason(status);
    let body = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{status} {reason}</title></head>\n\
         <body><h1>{status} {reason}</h1>\n<p>This content is not available in your country or region.</p></body></html>\n"
    );
    Reply {
        status,
        headers: vec![
            ("content-type".into(), "text/html; charset=utf-8".into()),
            ("cache-control".into(), "no-store".into()),
        ],
        body: body.into_bytes(),
    }
}

/// The metric counting a block: `geofence_block_de`, or `geofence_block_unknown`.
fn block_metric(country: Option<&str>) -> String {
    match country.and_then(country_code) {
        Some([a, b]) => format!(
            "geofence_block_{}{}",
            char::from(a.to_ascii_lowercase()),
            char::from(b.to_ascii_lowercase())
        ),
        None => "geofence_block_unknown".to_string(),
    }
}

struct Geofence;

impl Plugin for Geofence {
    fn init(config: String) -> Result<(), String> {
        let policy = Policy::parse(&config)?;
        POLICY.set(policy).map_err(|_| "init ran twice".to_string())
    }

    fn on_request(req: Request) -> Vec<RequestAction> {
        let Some(policy) = POLICY.get() else {
            return vec![];
        };
        let country = req.country.as_deref();
        if !policy.blocks(&req.path, country) {
            return vec![];
        }
        host::metric_incr(&block_metric(country), 1);
        vec![RequestAction::Respond(blocked_page(policy.status))]
    }
}

export_plugin!(Geofence);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_the_status() {
        let page = blocked_page(451);
        assert_eq!(page.status, 451);
        let body = String::from_utf8(page.body).expect("utf-8");
        assert!(body.contains("451 Unavailable For Legal Reasons"), "{body}");
        let page = blocked_page(403);
        let body = String::from_utf8(page.body).expect("utf-8");
        assert!(body.contains("<h1>403 Forbidden</h1>"), "{body}");
    }

    #[test]
    fn metric_names_fit_the_host_rules() {
        assert_eq!(block_metric(Some("DE")), "geofence_block_de");
        assert_eq!(block_metric(None), "geofence_block_unknown");
        assert_eq!(block_metric(Some("--")), "geofence_block_unknown");
    }
}
