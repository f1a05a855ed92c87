//! A site's traffic dashboard (`/t/{tenant}/sites/{id}/dashboard?range=1h|24h|7d`): every
//! number is rendered on the server (the page reads without JavaScript), and
//! `/static/dashboard.js` draws the series as SVG charts and refreshes the page's numbers from
//! the JSON API (`/api/t/{tenant}/sites/{id}/dashboard`) every 5 seconds.

use super::ctx::Ctx;
use super::render::UiError;
use crate::app::AppState;
use crate::error::ApiError;
use crate::telemetry::{Range, TelemetryError};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::json;

pub fn routes() -> Router<AppState> {
    Router::new().route("/t/{tenant}/sites/{id}/dashboard", get(dashboard))
}

#[derive(Deserialize)]
struct RangeQuery {
    range: Option<String>,
}

/// Microseconds for people: `840 µs`, `12.3 ms`, `1.20 s`; `—` for none.
fn duration(us: Option<u64>) -> String {
    match us {
        None => "—".into(),
        Some(us) if us < 1_000 => format!("{us} µs"),
        Some(us) if us < 1_000_000 => format!("{:.1} ms", us as f64 / 1e3),
        Some(us) => format!("{:.2} s", us as f64 / 1e6),
    }
}

async fn dashboard(
    State(s): State<AppState>,
    ctx: Ctx,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<RangeQuery>,
) -> Result<Response, UiError> {
    let range = q
        .range
        .as_deref()
        .and_then(Range::parse)
        .unwrap_or(Range::Hour);
    let d = match s.telemetry.dashboard(ctx.tenant(), &id, range).await {
        Ok(d) => d,
        Err(TelemetryError::NoSite) => return Err(UiError::NotFound),
        Err(e) => return Err(ApiError::from(e).into()),
    };
    let t = &d.totals;
    let requests: u64 = t.requests.iter().sum();
    let error_pct = if requests == 0 {
        "—".to_string()
    } else {
        format!("{:.2} %", t.errors as f64 * 100.0 / requests as f64)
    };
    let series: Vec<_> = d
        .series
        .iter()
        .rev()
        .filter(|b| b.requests.iter().sum::<u64>() > 0 || b.waf_blocks > 0)
        .map(|b| {
            json!({
                "t": b.t, "requests": b.requests.iter().sum::<u64>(), "by_class": b.requests,
                "p50": duration(b.p50_us), "p95": duration(b.p95_us), "p99": duration(b.p99_us),
                "waf": b.waf_blocks,
            })
        })
        .collect();
    let slow: Vec<_> = t
        .slow_paths
        .iter()
        .map(|p| json!({"path": p.path, "count": p.count, "avg": duration(Some(p.avg_us)), "max": duration(Some(p.max_us)), "total": duration(Some(p.total_us))}))
        .collect();
    let data = json!({
        "site": id,
        "range": range.as_str(),
        "ranges": ["1h", "24h", "7d"],
        "api": format!("/api/t/{}/sites/{}/dashboard?range={}", ctx.tenant(), id, range.as_str()),
        "summary": {
            "requests": requests,
            "errors": t.errors,
            "error_pct": error_pct,
            "p50": duration(t.p50_us), "p95": duration(t.p95_us), "p99": duration(t.p99_us),
            "waf": t.waf_blocks.values().sum::<u64>(),
            "bytes_in": t.bytes_in, "bytes_out": t.bytes_out,
            "plugin_failures": t.plugin_failures,
        },
        "series": series,
        "waf": t.waf_blocks,
        "countries": t.countries,
        "slow_paths": slow,
        "nodes": d.nodes,
        "bucket_s": d.bucket_s,
    });
    ctx.page(&s, "sites", "site_dashboard.html", data)
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(None), "—");
        assert_eq!(duration(Some(840)), "840 µs");
        assert_eq!(duration(Some(12_345)), "12.3 ms");
        assert_eq!(duration(Some(1_200_000)), "1.20 s");
    }
}
