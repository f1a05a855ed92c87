//! Turns a guest's core module (as cargo builds it for wasm32-unknown-unknown) into a component.
//! The module carries its WIT world in a custom section written by wit-bindgen.

/// Why a module could not become a component.
#[derive(Debug, thiserror::Error)]
#[error("cannot make a component: {0}")]
pub struct BuildError(String);

/// Encodes `core` as a component and validates the result.
pub fn componentize(core: &[u8]) -> Result<Vec<u8>, BuildError> {
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(core)
        .and_then(|mut enc| enc.encode())
        .map_err(|e| BuildError(format!("{e:#}")))
}

/// Whether `name` is a valid plugin name: 1-63 characters of a-z, 0-9 and '-', not starting
/// with '-' (crate names for `weir plugin new`, registry names in the portal).
pub fn is_valid_plugin_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Lowercase hex SHA-256 of `bytes`: a plugin version is the hash of its component.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
