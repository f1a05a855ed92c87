//! The nodes page: a tenant's nodes with their state (waiting for enrollment, enrolled, join
//! token expired, revoked) and status from heartbeats (online or offline and since when, bundle
//! applied, last heartbeat), a form that creates a node and shows its one-time join token and
//! the command that uses it, and revocation.

use super::ctx::{AdminForm, Ctx};
use super::forms::{FieldErrors, FormView};
use super::guard::redirect_with_flash;
use super::render::UiError;
use crate::app::AppState;
use crate::db::now;
use crate::nodes::{NodeError, JOIN_TTL_S};
use crate::store::Node;
use axum::extract::State;
use axum::http::header;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/nodes", get(nodes).post(create))
        .route("/t/{tenant}/nodes/{id}/revoke", post(revoke))
}

/// What a node's row says about it.
fn state(node: &Node, at: i64) -> &'static str {
    match (node.revoked_at, node.enrolled_at) {
        (Some(_), _) => "revoked",
        (None, Some(_)) => "enrolled",
        (None, None) if node.join_expires_at <= at => "join token expired",
        (None, None) => "waiting for enrollment",
    }
}

async fn nodes_page(s: &AppState, ctx: &Ctx, form: FormView) -> Result<Response, UiError> {
    let at = now();
    let statuses = s.telemetry.node_statuses(ctx.tenant()).await?;
    let nodes: Vec<_> = s
        .store
        .nodes(ctx.tenant())
        .await?
        .into_iter()
        .map(|n| {
            let mut row = json!(n);
            row["state"] = json!(state(&n, at));
            row["status"] = json!(statuses.iter().find(|st| st.node_id == n.id));
            row
        })
        .collect();
    ctx.form_page(s, "nodes", "nodes.html", json!({ "nodes": nodes }), form)
}

async fn nodes(State(s): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    nodes_page(&s, &ctx, FormView::blank(json!({"name": ""}))).await
}

/// Creates a node; its join token is shown on the answer page and nowhere else.
async fn create(
    State(s): State<AppState>,
    AdminForm { ctx, form, .. }: AdminForm,
) -> Result<Response, UiError> {
    let name = form.get("name").trim().to_string();
    let (node, join_token) = match s.nodes.create(ctx.tenant(), &name, ctx.author()).await {
        Ok(created) => created,
        Err(NodeError::Invalid(field, message)) => {
            let kept = json!({ "name": name });
            return nodes_page(
                &s,
                &ctx,
                FormView::refused(kept, FieldErrors::one(field, message)),
            )
            .await;
        }
        Err(e) => return Err(crate::error::ApiError::from(e).into()),
    };
    let command = format!(
        "weir proxy --portal {} --join-token {join_token} --data-dir /var/lib/weir",
        s.config.base_url()
    );
    let data = json!({"node": node, "join_token": join_token, "command": command, "minutes": JOIN_TTL_S / 60});
    let mut r = ctx.page(&s, "nodes", "node_created.html", data)?;
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

async fn revoke(
    State(s): State<AppState>,
    AdminForm { ctx, id, .. }: AdminForm,
) -> Result<Response, UiError> {
    if !s.nodes.revoke(ctx.tenant(), &id).await? {
        return Err(UiError::NotFound);
    }
    Ok(redirect_with_flash(
        &s,
        &ctx.path("/nodes"),
        "ok",
        "The node is revoked; its credential stopped working at once.",
    ))
}
