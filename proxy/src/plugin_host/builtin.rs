//! The built-in plugins every site may use — WAF, geo-fencing, minification and routing. Their
//! components (built from plugins/ into plugins/dist/ and committed) are part of the `weir`
//! binary, so a config names them as `source = "builtin:NAME"` and no file is needed.

/// Prefix of a plugin `source` that names a built-in plugin.
pub const PREFIX: &str = "builtin:";

/// `(name, component)` of built-in plugins, each read from `plugins/dist/<name>.wasm`.
macro_rules! builtins {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_bytes!(concat!("../../../plugins/dist/", $name, ".wasm")))),*]
    };
}

/// Name and component of each built-in plugin.
const BUILTINS: &[(&str, &[u8])] = builtins!["geofence", "minify", "router", "waf"];

/// The names of the built-in plugins, sorted.
pub fn names() -> Vec<&'static str> {
    BUILTINS.iter().map(|(n, _)| *n).collect()
}

/// The built-in plugin a `source` names: `Some(Ok(bytes))` for a known one, `Some(Err(..))`
/// for `builtin:` with an unknown name, `None` when `source` is not a built-in reference.
pub fn lookup(source: &str) -> Option<Result<&'static [u8], String>> {
    let name = source.strip_prefix(PREFIX)?;
    Some(
        BUILTINS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, bytes)| *bytes)
            .ok_or_else(|| {
                let known: Vec<&str> = BUILTINS.iter().map(|(n, _)| *n).collect();
                format!(
                    "unknown built-in plugin `{name}` (built-in: {})",
                    known.join(", ")
                )
            }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_is_a_valid_component() {
        for (name, bytes) in BUILTINS {
            let found = lookup(&format!("builtin:{name}"));
            assert!(matches!(found, Some(Ok(b)) if b == *bytes), "{name}");
            weir_sdk_wit::precheck(bytes, &weir_sdk_wit::Limits::default())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn unknown_builtins_are_named_and_paths_are_not_builtins() {
        let err = lookup("builtin:nope")
            .and_then(Result::err)
            .unwrap_or_default();
        assert!(
            err.contains("unknown built-in plugin `nope`") && err.contains("waf"),
            "{err}"
        );
        assert!(lookup("plugins/dist/waf.wasm").is_none());
    }
}
