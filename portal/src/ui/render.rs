//! Templates and the responses built from them: the embedded minijinja environment (HTML
//! autoescaped), [`UiError`] (every failure as a page: 404, 403, a CSRF refusal, a redirect to
//! sign in), and [`Shell`], the layout's data for a signed-in page of one tenant.

use crate::error::ApiError;
use crate::store::{Membership, StoreError};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::{Environment, Value};
use serde::Serialize;
use std::fmt::Write as _;
use std::sync::OnceLock;
use weir_bundle::Problems;

/// `(name.html, its source)` for each template name; `include_str!` puts them in the binary.
macro_rules! templates {
    ($($name:ident),* $(,)?) => {
        &[$((
            concat!(stringify!($name), ".html"),
            include_str!(concat!("../../templates/", stringify!($name), ".html")),
        )),*]
    };
}

/// Every template, by name.
const TEMPLATES: &[(&str, &str)] = templates![
    base,
    app,
    bare,
    macros,
    message,
    login,
    signup,
    reset_request,
    reset,
    invite,
    dashboard,
    sites,
    site_form,
    site_dashboard,
    pools,
    pool_form,
    plugins,
    members,
    tokens,
    token_created,
    nodes,
    node_created,
    history,
    version,
    settings,
];

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "template does not parse");
            }
        }
        env.add_global("css_url", Value::from(super::assets::url("app.css")));
        env.add_global("js_url", Value::from(super::assets::url("app.js")));
        env.add_global("icon_url", Value::from(super::assets::url("icon.svg")));
        env.add_global(
            "dashboard_js_url",
            Value::from(super::assets::url("dashboard.js")),
        );
        env.set_formatter(format_value);
        env.add_filter("datetime", datetime);
        env.add_filter("filesize", filesize);
        env
    })
}

/// Writes a value into the page: strings HTML-escaped (but `/` left alone, so links read
/// well), everything else as minijinja does.
fn format_value(
    out: &mut minijinja::Output,
    state: &minijinja::State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    if matches!(state.auto_escape(), minijinja::AutoEscape::Html) && !value.is_safe() {
        if let Some(text) = value.as_str() {
            for c in text.chars() {
                match c {
                    '<' => out.write_str("&lt;")?,
                    '>' => out.write_str("&gt;")?,
                    '&' => out.write_str("&amp;")?,
                    '"' => out.write_str("&quot;")?,
                    '\'' => out.write_str("&#x27;")?,
                    c => out.write_char(c)?,
                }
            }
            return Ok(());
        }
    }
    minijinja::escape_formatter(out, state, value)
}

/// A unix time as `2026-11-22 14:03 UTC` (`never` when unset).
fn datetime(v: Value) -> String {
    let Ok(secs) = i64::try_from(v) else {
        return "never".into();
    };
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// Days since 1970-01-01 as a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A byte count for people: `812 B`, `14.2 KiB`, `3.1 MiB`.
fn filesize(v: Value) -> String {
    let n = i64::try_from(v).unwrap_or(0) as f64;
    if n < 1024.0 {
        format!("{n} B")
    } else if n < 1024.0 * 1024.0 {
        format!("{:.1} KiB", n / 1024.0)
    } else {
        format!("{:.1} MiB", n / (1024.0 * 1024.0))
    }
}

/// Renders a template with `ctx`.
pub fn html(name: &str, ctx: impl Serialize) -> Result<Html<String>, UiError> {
    let template = env()
        .get_template(name)
        .map_err(|e| UiError::Internal(format!("template {name}: {e}")))?;
    template
        .render(ctx)
        .map(Html)
        .map_err(|e| UiError::Internal(format!("rendering {name}: {e:#}")))
}

/// A message page in the small centred frame (`title`, paragraphs, an optional link).
pub fn message(
    status: StatusCode,
    title: &str,
    text: &str,
    link: Option<(&str, &str)>,
) -> Response {
    let ctx = serde_json::json!({
        "title": title,
        "text": text,
        "error": !status.is_success(),
        "link": link.map(|(href, label)| serde_json::json!({"href": href, "label": label})),
    });
    match html("message.html", ctx) {
        Ok(page) => (status, page).into_response(),
        Err(e) => e.into_response(),
    }
}

/// A page that could not be shown as asked.
#[derive(Debug)]
pub enum UiError {
    /// Not signed in: go to `/login?next=…`.
    SignIn(String),
    /// Nothing here for this user (also another tenant's pages).
    NotFound,
    /// Signed in but not allowed (the reason).
    Forbidden(String),
    /// The form's CSRF token is missing or wrong.
    Csrf,
    /// Something the user can fix or should know (status, message).
    Refused(StatusCode, String),
    /// Our failure; logged with an id.
    Internal(String),
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self {
            UiError::SignIn(next) => {
                let target = if next == "/" || next.is_empty() {
                    "/login".to_string()
                } else {
                    format!("/login?next={}", super::forms::url_encode(&next))
                };
                Redirect::to(&target).into_response()
            }
            UiError::NotFound => message(
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is nothing here, or it belongs to an organisation you are not part of.",
                Some(("/", "Go to your dashboard")),
            ),
            UiError::Forbidden(reason) => message(
                StatusCode::FORBIDDEN,
                "Not allowed",
                &reason,
                Some(("/", "Go to your dashboard")),
            ),
            UiError::Csrf => message(
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form's security token (CSRF token) is missing or does not match your session, so nothing was changed. Go back, reload the page and submit it again.",
                Some(("/", "Go to your dashboard")),
            ),
            UiError::Refused(status, text) => message(status, "That did not work", &text, Some(("/", "Go to your dashboard"))),
            UiError::Internal(detail) => {
                let id = crate::tokens::new_id("err");
                tracing::error!(error_id = %id, error = %detail, "page failed");
                let mut r = message(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    &format!("This is our fault, not yours. Try again in a minute; if it keeps happening, quote {id} to support."),
                    Some(("/", "Go to your dashboard")),
                );
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
                r
            }
        }
    }
}

impl UiError {
    /// A refusal (422) that lists the `problems`.
    pub fn invalid(problems: &Problems) -> UiError {
        let reasons: Vec<String> = problems.0.iter().map(|p| p.to_string()).collect();
        UiError::Refused(StatusCode::UNPROCESSABLE_ENTITY, reasons.join("; "))
    }

    /// The reason in words, for a flash message.
    pub fn text(&self) -> String {
        match self {
            UiError::Forbidden(m) | UiError::Refused(_, m) => m.clone(),
            UiError::NotFound => "not found".into(),
            UiError::SignIn(_) => "sign in first".into(),
            UiError::Csrf => "the form's security token did not match".into(),
            UiError::Internal(_) => "an internal error".into(),
        }
    }
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::NotFound => UiError::NotFound,
            ApiError::Forbidden(m) => UiError::Forbidden(m),
            ApiError::Unauthorized(_) => UiError::SignIn("/".into()),
            ApiError::Internal(d) => UiError::Internal(d),
            ApiError::Invalid(p) => UiError::invalid(&p),
            ApiError::BadRequest(m) => UiError::Refused(StatusCode::BAD_REQUEST, m),
            ApiError::Conflict(m) => UiError::Refused(StatusCode::CONFLICT, m),
            ApiError::Gone(m) => UiError::Refused(StatusCode::GONE, m),
            ApiError::TooLarge(m) => UiError::Refused(StatusCode::PAYLOAD_TOO_LARGE, m),
            ApiError::TooMany(m, _) => UiError::Refused(StatusCode::TOO_MANY_REQUESTS, m),
        }
    }
}

impl From<StoreError> for UiError {
    fn from(e: StoreError) -> Self {
        ApiError::from(e).into()
    }
}

/// One tenant in the switcher.
#[derive(Debug, Serialize)]
pub struct TenantLink {
    pub id: String,
    pub name: String,
    pub role: String,
}

/// A flash message shown once at the top of the next page.
#[derive(Debug, Clone, Serialize)]
pub struct Flash {
    /// `ok` or `error`.
    pub kind: String,
    pub message: String,
}

/// What the signed-in layout shows around a tenant's page.
#[derive(Debug, Serialize)]
pub struct Shell {
    pub user_email: String,
    pub csrf_token: String,
    pub tenants: Vec<TenantLink>,
    pub tenant_id: String,
    pub tenant_name: String,
    pub role: String,
    /// Owners and admins may change things; members only read.
    pub can_change: bool,
    /// The active navigation entry.
    pub nav: &'static str,
    pub flash: Option<Flash>,
}

impl Shell {
    /// The layout data for `member` (the current tenant) among all of the user's `tenants`.
    pub fn new(
        member: &Membership,
        tenants: &[Membership],
        csrf_token: &str,
        nav: &'static str,
        flash: Option<Flash>,
    ) -> Shell {
        Shell {
            user_email: member.email.clone(),
            csrf_token: csrf_token.to_string(),
            tenants: tenants
                .iter()
                .map(|m| TenantLink {
                    id: m.tenant_id.clone(),
                    name: m.tenant_name.clone(),
                    role: m.role.clone(),
                })
                .collect(),
            tenant_id: member.tenant_id.clone(),
            tenant_name: member.tenant_name.clone(),
            role: member.role.clone(),
            can_change: matches!(member.role.as_str(), "owner" | "admin"),
            nav,
            flash,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_renders_with_empty_data() {
        for (name, _) in TEMPLATES {
            let t = env().get_template(name);
            assert!(t.is_ok(), "{name}: {:?}", t.err());
        }
        let page = html(
            "message.html",
            serde_json::json!({"title": "<x>", "text": "a & b"}),
        )
        .expect("renders");
        assert!(
            page.0.contains("&lt;x&gt;") && page.0.contains("a &amp; b"),
            "autoescaped: {}",
            page.0
        );
    }

    #[test]
    fn dates_and_sizes_read_well() {
        assert_eq!(datetime(Value::from(0)), "1970-01-01 00:00 UTC");
        assert_eq!(datetime(Value::from(1_700_000_000)), "2023-11-14 22:13 UTC");
        assert_eq!(datetime(Value::from(())), "never");
        assert_eq!(filesize(Value::from(812)), "812 B");
        assert_eq!(filesize(Value::from(3 * 1024 * 1024 + 200_000)), "3.2 MiB");
    }
}
