//! JSON minification: validates with serde_json, then drops the whitespace between tokens
//! (member order, numbers and string escapes are kept byte for byte).

/// Minifies a JSON document; an error when it is not valid JSON.
pub fn minify(json: &str) -> Result<Vec<u8>, String> {
    serde_json::from_str::<serde::de::IgnoredAny>(json).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for &b in json.as_bytes() {
        if in_string {
            out.push(b);
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            in_string = b == b'"';
            out.push(b);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn whitespace_outside_strings_goes() {
        let out = super::minify("{ \"a b\" : [1, 2.50e3, \"x \\\" y\"],\n\t\"c\": null }").unwrap();
        assert_eq!(out, b"{\"a b\":[1,2.50e3,\"x \\\" y\"],\"c\":null}");
    }

    #[test]
    fn invalid_json_is_an_error() {
        assert!(super::minify("{\"a\": }").is_err());
        assert!(super::minify("[1, 2").is_err());
    }
}
