//! The pages email links open (`/verify`, `/reset`, `/invite`): each shows a form that POSTs
//! the link's token, so a mail scanner fetching the link uses nothing up.

use crate::app::AppState;
use crate::error::ApiError;
use crate::mail::escape_html;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new().route("/verify", get(verify_page).post(verify_submit))
}

/// A page in the portal's frame.
pub fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><link rel=\"icon\" href=\"data:,\"><title>{t} · Weir</title>\
<style>body{{font-family:system-ui,sans-serif;background:#f6f8fa;color:#1c2733;margin:0}}main{{max-width:420px;margin:10vh auto;background:#fff;border:1px solid #d0d7de;border-radius:10px;padding:28px}}h1{{font-size:22px;margin-top:0}}button{{background:#1f6feb;color:#fff;border:0;border-radius:6px;padding:10px 18px;font-size:15px;cursor:pointer}}.error{{color:#cf222e}}</style>\
</head><body><main><h1>{t}</h1>{body}</main></body></html>",
        t = escape_html(title),
    ))
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

async fn verify_page(Query(q): Query<TokenQuery>) -> Html<String> {
    page(
        "Confirm your email",
        &format!(
            "<form method=\"post\" action=\"/verify\"><input type=\"hidden\" name=\"token\" value=\"{}\"><p>One click and your address is confirmed.</p><button type=\"submit\">Confirm my email</button></form>",
            escape_html(&q.token)
        ),
    )
}

async fn verify_submit(State(s): State<AppState>, Form(q): Form<TokenQuery>) -> Response {
    match s.accounts.verify_email(&q.token).await {
        Ok(()) => page(
            "Email confirmed",
            "<p>Your email is confirmed. You can sign in now.</p>",
        )
        .into_response(),
        Err(e) => {
            let e: ApiError = e.into();
            let message = match &e {
                ApiError::Internal(_) => {
                    "Something went wrong on our side; try again in a minute.".to_string()
                }
                other => other.to_string(),
            };
            let status = e.into_response().status();
            (
                status,
                page(
                    "Link not valid",
                    &format!("<p class=\"error\">{}</p>", escape_html(&message)),
                ),
            )
                .into_response()
        }
    }
}
