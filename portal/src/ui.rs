//! The portal's web UI: server-rendered HTML pages (minijinja templates embedded in the
//! binary, autoescaped) over the same services the JSON API uses, so a form is validated
//! exactly like the API body it builds. Every form carries a CSRF token: the session's on
//! signed-in pages, a double-submit cookie (`weir_csrf`) on the anonymous ones. JavaScript
//! (`/static/app.js`) only adds conveniences; every page works without it.

mod account;
mod assets;
mod config_forms;
mod ctx;
mod forms;
mod guard;
mod nodes;
mod plugins;
mod pool_form;
mod render;
mod site_dashboard;
mod site_form;
mod tenant;

use crate::app::AppState;
use axum::Router;

/// Every UI route.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(assets::routes())
        .merge(account::routes())
        .merge(tenant::routes())
        .merge(config_forms::routes())
        .merge(plugins::routes())
        .merge(nodes::routes())
        .merge(site_dashboard::routes())
}
