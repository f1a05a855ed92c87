//! The config bundle: the one model of sites, pools and backends that a node serves.
//!
//! A node reads it from TOML (`weir.toml`); the portal will send the same model as JSON.
//! [`NodeConfig`] adds the node-local `[proxy]` table (listeners, timeouts) to a [`Bundle`].
//! [`signing`] signs bundles for nodes and verifies them there.
//! Parsing never panics; [`NodeConfig::validate`] and [`Bundle::validate`] return every problem
//! with the key path it belongs to (`pool[1].backend[0].addr`).
#![forbid(unsafe_code)]

mod cidr;
mod model;
mod problems;
mod secret;
pub mod signing;
pub mod telemetry;
mod validate;

pub use cidr::{Cidr, CidrError};
pub use model::{
    Algorithm, Backend, Bundle, FailurePolicy, Health, NodeConfig, PluginRef, Pool, ProxySettings,
    RateLimit, Site, SiteTls,
};
pub use problems::{Problem, Problems};
pub use secret::Secret;
pub use signing::{SignedBundle, VerifyError};
pub use validate::split_host_port;

/// Why a config could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The text is not valid TOML or does not fit the model (unknown key, wrong type).
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// The text is not valid JSON or does not fit the model.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
}

impl NodeConfig {
    /// Parses a node config file's text. Unknown keys are errors, so typos are caught.
    pub fn from_toml(text: &str) -> Result<Self, ParseError> {
        Ok(toml::from_str(text)?)
    }
}

impl Bundle {
    /// Parses a bundle sent as JSON (the portal's wire format).
    pub fn from_json(text: &str) -> Result<Self, ParseError> {
        Ok(serde_json::from_str(text)?)
    }

    /// Serialises the bundle to JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain structs of strings and numbers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
