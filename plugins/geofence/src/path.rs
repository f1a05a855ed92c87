//! The request path as a backend would resolve it, so a path rule cannot be dodged with
//! `//eu/`, `/x/../eu/` or `/%65u/`: unreserved characters are percent-decoded, empty and
//! `.` segments dropped, `..` segments resolved. Other escapes (`%2F`...) stay as they are.

/// The value of an ASCII hex digit.
fn hex(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Decodes `%XX` escapes of unreserved characters (RFC 3986: letters, digits, `-._~`).
fn decode_unreserved(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                let c = h * 16 + l;
                if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
                    out.push(char::from(c));
                    i += 3;
                    continue;
                }
            }
        }
        // Copy one whole character (the path may hold non-ASCII text).
        let len = path[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&path[i..i + len]);
        i += len;
    }
    out
}

/// The normalised form of `path`: always starts with `/`; keeps a trailing `/`.
pub fn normalise(path: &str) -> String {
    let decoded = decode_unreserved(path);
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(decoded.len() + 1);
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    let trailing = decoded.ends_with('/')
        || decoded.ends_with("/.")
        || decoded.ends_with("/..")
        || segments.is_empty();
    if trailing {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn dodges_resolve_to_the_real_path() {
        assert_eq!(normalise("/eu/shop"), "/eu/shop");
        assert_eq!(normalise("//eu//shop"), "/eu/shop");
        assert_eq!(normalise("/x/../eu/"), "/eu/");
        assert_eq!(normalise("/./eu/."), "/eu/");
        assert_eq!(normalise("/%65%55/a"), "/eU/a");
        assert_eq!(normalise("/../../eu"), "/eu");
        assert_eq!(normalise("/a%2Fb"), "/a%2Fb", "reserved escapes stay");
        assert_eq!(normalise("/"), "/");
        assert_eq!(normalise(""), "/");
        assert_eq!(normalise("/caf\u{e9}/%"), "/caf\u{e9}/%");
        assert_eq!(normalise("/a%4"), "/a%4");
    }
}
