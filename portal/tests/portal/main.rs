//! Portal integration tests: the store on both databases, and whole flows through a real
//! portal on 127.0.0.1:0 with real SMTP delivery.

mod browser;
mod flows;
mod fuzz;
mod nodes;
mod plugins;
mod router;
mod store;
mod support;
mod telemetry;
mod ui;
