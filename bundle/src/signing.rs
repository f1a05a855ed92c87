//! Signed bundles: the portal signs each config version with its ed25519 key, and a node
//! accepts only bundles whose signature verifies with the portal key it pinned at enrollment.
//! The signature covers a domain tag, the version number and the exact JSON text, so neither
//! the config nor its version can be changed or replayed under another number.

use crate::Bundle;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// A bundle as sent to nodes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedBundle {
    /// The tenant's config version (0: nothing configured yet).
    pub version: i64,
    /// The bundle as JSON text, exactly as signed.
    pub bundle: String,
    /// Base64 ed25519 signature over [`signed_message`].
    pub signature: String,
}

/// Why a signed bundle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The pinned key is not a base64 ed25519 public key.
    #[error("the pinned portal key is not a base64 ed25519 public key")]
    BadKey,
    /// The signature is not base64 of 64 bytes.
    #[error("the signature is not a base64 ed25519 signature")]
    BadSignature,
    /// The signature does not verify: the bundle, its version or the key differ from what was
    /// signed.
    #[error("the signature does not match the bundle (tampered, or signed by another portal)")]
    Mismatch,
    /// Signed, but not a bundle this node understands.
    #[error("the signed bundle does not parse: {0}")]
    Parse(String),
}

/// What the signature covers.
pub fn signed_message(version: i64, bundle_json: &str) -> Vec<u8> {
    format!("weir-bundle-v1\n{version}\n{bundle_json}").into_bytes()
}

/// Signs `bundle_json` as `version`.
pub fn sign(key: &SigningKey, version: i64, bundle_json: &str) -> SignedBundle {
    let signature = key.sign(&signed_message(version, bundle_json));
    SignedBundle {
        version,
        bundle: bundle_json.to_string(),
        signature: STANDARD.encode(signature.to_bytes()),
    }
}

/// The public key of `key`, base64 (what nodes pin).
pub fn public_key(key: &SigningKey) -> String {
    STANDARD.encode(key.verifying_key().to_bytes())
}

impl SignedBundle {
    /// Verifies the signature with the pinned `portal_key` (base64) and parses the bundle.
    pub fn verify(&self, portal_key: &str) -> Result<Bundle, VerifyError> {
        let key: [u8; 32] = STANDARD
            .decode(portal_key.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(VerifyError::BadKey)?;
        let key = VerifyingKey::from_bytes(&key).map_err(|_| VerifyError::BadKey)?;
        let signature: [u8; 64] = STANDARD
            .decode(self.signature.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(VerifyError::BadSignature)?;
        key.verify_strict(
            &signed_message(self.version, &self.bundle),
            &Signature::from_bytes(&signature),
        )
        .map_err(|_| VerifyError::Mismatch)?;
        Bundle::from_json(&self.bundle).map_err(|e| VerifyError::Parse(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn a_signed_bundle_verifies_and_any_change_is_refused() {
        let json = r#"{"site":[],"pool":[]}"#;
        let signed = sign(&key(1), 7, json);
        let pinned = public_key(&key(1));
        assert_eq!(signed.verify(&pinned), Ok(Bundle::default()));
        let mut tampered = signed.clone();
        tampered.bundle = r#"{"site":[],"pool":[] }"#.into();
        assert_eq!(tampered.verify(&pinned), Err(VerifyError::Mismatch));
        let mut replayed = signed.clone();
        replayed.version = 8;
        assert_eq!(replayed.verify(&pinned), Err(VerifyError::Mismatch));
        assert_eq!(
            signed.verify(&public_key(&key(2))),
            Err(VerifyError::Mismatch)
        );
        let mut garbled = signed.clone();
        garbled.signature = "not base64!".into();
        assert_eq!(garbled.verify(&pinned), Err(VerifyError::BadSignature));
        assert_eq!(signed.verify("c2hvcnQ="), Err(VerifyError::BadKey));
        let not_a_bundle = sign(&key(1), 1, "{\"colour\": 1}");
        assert!(matches!(
            not_a_bundle.verify(&pinned),
            Err(VerifyError::Parse(_))
        ));
    }
}
