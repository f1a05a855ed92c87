//! Weir's portal: the control plane's web application. Accounts (signup, email verification,
//! sign-in, reset, invitations, API tokens), tenants and their sites and pools with version
//! history, the plugin registry, and the email outbox — on SQLite (default) or PostgreSQL. Nodes, plugin uploads and billing
//! build on it.
#![forbid(unsafe_code)]

mod api;
pub mod api_tokens;
pub mod app;
pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod hub;
pub mod mail;
pub mod nodes;
mod pages;
pub mod registry;
pub mod session;
pub mod store;
pub mod telemetry;
pub mod tenant_config;
pub mod tokens;
mod ui;

pub use api::openapi;
pub use app::{router, serve, start, start_on, AppState, Running, StartError};
pub use config::{ConfigError, Flags, PortalConfig};
