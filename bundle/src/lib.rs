//! The config bundle: the one model of sites, pools and backends that a node serves.
//!
//! A node reads it from TOML (`weir.toml`); the portal will send the same model as JSON.
//! [`NodeConfig`] adds the node-local `[proxy]` table (listeners, timeouts) to a [`Bundle`].
//! Parsing never panics; [`NodeConfig::validate`] and [`Bundle::validate`] return every problem
//! with the key path it belongs to (`pool[1].backend[0].addr`).
#![forbid(unsafe_code)]

mod model;
mod problems;
mod secret;
mod validate;

pub use model::{
    Algorithm, Backend, Bundle, Health, NodeConfig, Pool, ProxySettings, RateLimit, Site, SiteTls,
};
pub use problems::{Problem, Problems};
pub use secret::Secret;
pub use validate::split_host_port;

/// Why a config could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The text is not valid TOML or does not fit the model (unknown key, wrong type).
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// A top-level key that is not `proxy`, `site` or `pool`.
    #[error("unknown top-level key `{0}`, expected one of `proxy`, `site`, `pool`")]
    UnknownKey(String),
    /// The text is not valid JSON or does not fit the model.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
}

const TOP_LEVEL_KEYS: [&str; 3] = ["proxy", "site", "pool"];

impl NodeConfig {
    /// Parses a node config file's text. Unknown keys are errors, so typos are caught.
    pub fn from_toml(text: &str) -> Result<Self, ParseError> {
        let table: toml::Table = toml::from_str(text)?;
        if let Some(key) = table.keys().find(|k| !TOP_LEVEL_KEYS.contains(&k.as_str())) {
            return Err(ParseError::UnknownKey(key.clone()));
        }
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
