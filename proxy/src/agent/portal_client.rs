//! The node's HTTP calls to the portal's node API (`/api/node/v1/…`): enroll with a join
//! token, open the event stream, download a plugin component, send a heartbeat. Refusals
//! carry the portal's own reason.

use super::node_dir::NodeIdentity;
use std::time::Duration;
use weir_bundle::telemetry::Heartbeat;

/// Why a call to the portal failed.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// The portal could not be reached or the answer broke off.
    #[error("cannot reach the portal at {url}: {message}")]
    Unreachable {
        /// The URL called.
        url: String,
        /// The transport's message.
        message: String,
    },
    /// The portal answered with an error status.
    #[error("the portal refused ({status}): {reason}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The portal's message.
        reason: String,
    },
    /// The answer is not what the API documents.
    #[error("unexpected answer from the portal: {0}")]
    Protocol(String),
}

impl PortalError {
    /// The credential was refused: revoked or unknown.
    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            PortalError::Refused {
                status: 401 | 403,
                ..
            }
        )
    }
}

/// What the portal answers to enrollment.
#[derive(Debug, serde::Deserialize)]
struct Enrolled {
    node_id: String,
    tenant_id: String,
    credential: String,
    portal_public_key: String,
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    error: String,
}

/// A client of one portal.
#[derive(Debug, Clone)]
pub struct PortalClient {
    http: reqwest::Client,
    base: String,
}

impl PortalClient {
    /// A client for the portal at `base` (`https://portal.example.com`).
    pub fn new(base: &str) -> Result<PortalClient, PortalError> {
        let base = base.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(PortalError::Protocol(format!(
                "portal URL `{base}` must start with http:// or https://"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("weir-node/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PortalError::Protocol(e.to_string()))?;
        Ok(PortalClient { http, base })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn unreachable(&self, path: &str, e: reqwest::Error) -> PortalError {
        PortalError::Unreachable {
            url: self.url(path),
            message: e.to_string(),
        }
    }

    /// Fails with the portal's reason unless `resp` is a success.
    async fn ok(resp: reqwest::Response) -> Result<reqwest::Response, PortalError> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let text = resp.text().await.unwrap_or_default();
        let reason = serde_json::from_str::<ErrorBody>(&text)
            .map(|b| b.error)
            .unwrap_or_else(|_| text.chars().take(200).collect());
        Err(PortalError::Refused {
            status: status.as_u16(),
            reason,
        })
    }

    /// Trades a join token for this node's identity.
    pub async fn enroll(&self, join_token: &str) -> Result<NodeIdentity, PortalError> {
        let path = "/api/node/v1/enroll";
        let resp = self
            .http
            .post(self.url(path))
            .timeout(Duration::from_secs(30))
            .json(&serde_json::json!({
                "join_token": join_token,
                "version": env!("CARGO_PKG_VERSION"),
            }))
            .send()
            .await
            .map_err(|e| self.unreachable(path, e))?;
        let e: Enrolled = Self::ok(resp)
            .await?
            .json()
            .await
            .map_err(|e| PortalError::Protocol(e.to_string()))?;
        Ok(NodeIdentity {
            portal: self.base.clone(),
            node_id: e.node_id,
            tenant_id: e.tenant_id,
            credential: weir_bundle::Secret::new(e.credential),
            portal_public_key: e.portal_public_key,
        })
    }

    fn auth(&self, id: &NodeIdentity) -> String {
        format!("Node {}", id.credential.expose())
    }

    /// Opens the event stream, telling the portal which bundle this node serves.
    pub async fn events(
        &self,
        id: &NodeIdentity,
        version: i64,
        hash: &str,
    ) -> Result<reqwest::Response, PortalError> {
        let path = "/api/node/v1/events";
        let resp = self
            .http
            .get(self.url(path))
            .header("authorization", self.auth(id))
            .header("x-weir-bundle-version", version.to_string())
            .header("x-weir-bundle-hash", hash)
            .header("accept", "text/event-stream")
            .send()
            .await
            .map_err(|e| self.unreachable(path, e))?;
        Self::ok(resp).await
    }

    /// Downloads the plugin component with SHA-256 `hash`.
    pub async fn blob(&self, id: &NodeIdentity, hash: &str) -> Result<Vec<u8>, PortalError> {
        let path = format!("/api/node/v1/blobs/{hash}");
        let resp = self
            .http
            .get(self.url(&path))
            .header("authorization", self.auth(id))
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .map_err(|e| self.unreachable(&path, e))?;
        let bytes = Self::ok(resp)
            .await?
            .bytes()
            .await
            .map_err(|e| self.unreachable(&path, e))?;
        Ok(bytes.to_vec())
    }

    /// Sends a heartbeat.
    pub async fn heartbeat(&self, id: &NodeIdentity, hb: &Heartbeat) -> Result<(), PortalError> {
        let path = "/api/node/v1/heartbeat";
        let resp = self
            .http
            .post(self.url(path))
            .header("authorization", self.auth(id))
            .timeout(Duration::from_secs(10))
            .json(hb)
            .send()
            .await
            .map_err(|e| self.unreachable(path, e))?;
        Self::ok(resp).await.map(|_| ())
    }
}
