//! Request body parsing into named fields, bounded by the body size the host hands over:
//! URL-encoded forms, JSON (every key and string/number leaf), multipart/form-data (field
//! values, part names and file names) and XML (attribute values and text). Anything else is
//! inspected as one text value.
use std::borrow::Cow;

/// One field of a body: its name and (still encoded when `encoded`) value, borrowed from
/// the text it was split from where it can be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field<'a> {
    pub name: Cow<'a, str>,
    pub value: Cow<'a, str>,
    /// The value is percent-encoded form data.
    pub encoded: bool,
    /// The value is an uploaded file name.
    pub filename: bool,
}

/// An XML attribute value or text node: entities decoded, then percent-decoded like every
/// other argument (CRS decodes `XML:/*` the same way).
fn xml_field(value: &str) -> Field<'static> {
    field("", &crate::normalize::html_decode(value), true)
}

fn field(name: &str, value: &str, encoded: bool) -> Field<'static> {
    Field {
        name: Cow::Owned(name.to_string()),
        value: Cow::Owned(value.to_string()),
        encoded,
        filename: false,
    }
}

impl Field<'_> {
    fn into_owned(self) -> Field<'static> {
        Field {
            name: Cow::Owned(self.name.into_owned()),
            value: Cow::Owned(self.value.into_owned()),
            encoded: self.encoded,
            filename: self.filename,
        }
    }
}

/// Most JSON nesting followed; deeper values are inspected as raw text.
const MAX_JSON_DEPTH: usize = 32;

/// The deepest bracket nesting in a JSON text (brackets inside strings count too, which
/// only errs towards treating a document as text).
fn nesting(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for b in text.bytes() {
        match b {
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Splits a URL-encoded form (or query string) into encoded (name, value) pairs.
pub fn urlencoded(text: &str) -> Vec<Field<'_>> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Field {
                name: Cow::Borrowed(name),
                value: Cow::Borrowed(value),
                encoded: true,
                filename: false,
            }
        })
        .collect()
}

fn json_walk(value: &serde_json::Value, name: &str, depth: usize, out: &mut Vec<Field<'static>>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                // Keys are inspected too ({"__proto__": …}, {"$where": …}).
                out.push(field("", k, false));
                if depth < MAX_JSON_DEPTH {
                    json_walk(v, k, depth + 1, out);
                }
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                if depth < MAX_JSON_DEPTH {
                    json_walk(v, name, depth + 1, out);
                }
            }
        }
        serde_json::Value::String(s) => out.push(field(name, s, false)),
        serde_json::Value::Number(n) => out.push(field(name, &n.to_string(), false)),
        _ => {}
    }
}

fn header_param<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    header.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(key)
            .then(|| v.trim().trim_matches('"'))
    })
}

/// Parts of a multipart body: each part's name, file name and content.
fn multipart(text: &str, boundary: &str, out: &mut Vec<Field<'static>>) {
    let delim = format!("--{boundary}");
    for part in text.split(delim.as_str()).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let part = part.trim_start_matches(['\r', '\n']);
        let (head, content) = match part
            .find("\r\n\r\n")
            .map(|i| (i, 4))
            .or_else(|| part.find("\n\n").map(|i| (i, 2)))
        {
            Some((i, sep)) => (&part[..i], &part[i + sep..]),
            None => (part, ""),
        };
        let mut name = "";
        for line in head.lines() {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition") {
                name = header_param(line, "name").unwrap_or("");
                if let Some(f) = header_param(line, "filename") {
                    out.push(Field {
                        name: Cow::Owned(name.to_string()),
                        value: Cow::Owned(f.to_string()),
                        encoded: false,
                        filename: true,
                    });
                }
            }
        }
        out.push(field("", name, false));
        let content = content.trim_end_matches(['\r', '\n']);
        out.push(field(name, content, false));
    }
}

/// Attribute values and text nodes of an XML document (no entity expansion).
fn xml(text: &str, out: &mut Vec<Field<'static>>) {
    let mut rest = text;
    while let Some(lt) = rest.find('<') {
        let t = rest[..lt].trim();
        if !t.is_empty() {
            out.push(xml_field(t));
        }
        let Some(gt) = rest[lt..].find('>') else {
            out.push(field("", &rest[lt..], false));
            return;
        };
        let tag = &rest[lt + 1..lt + gt];
        // Malformed attributes (`a="" WAITFOR …"`) are seen through the whole attribute text.
        if let Some(sp) = tag.find(char::is_whitespace) {
            if !tag.starts_with('?') && tag[sp..].matches('"').count() > 2 {
                out.push(xml_field(&tag[sp..]));
            }
        }
        let mut attrs = tag;
        while let Some(eq) = attrs.find('=') {
            let after = attrs[eq + 1..].trim_start();
            let q = after.chars().next().unwrap_or(' ');
            if q == '"' || q == '\'' {
                let val = &after[1..];
                let end = val.find(q).unwrap_or(val.len());
                out.push(xml_field(&val[..end]));
                attrs = &val[(end + 1).min(val.len())..];
            } else {
                attrs = after;
            }
        }
        rest = &rest[lt + gt + 1..];
    }
    let t = rest.trim();
    if !t.is_empty() {
        out.push(xml_field(t));
    }
}

/// Fields that outlive the text they were split from.
fn owned(fields: Vec<Field<'_>>) -> Vec<Field<'static>> {
    fields.into_iter().map(Field::into_owned).collect()
}

/// The fields of a body with this Content-Type.
pub fn fields(content_type: Option<&str>, body: &[u8]) -> Vec<Field<'static>> {
    let text = String::from_utf8_lossy(body);
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    let mut out = Vec::new();
    if ct.contains("json") {
        // Deeply nested documents are inspected as text: parsing them would recurse deeper
        // than the plugin's small stack allows.
        if nesting(&text) > MAX_JSON_DEPTH {
            out.push(field("", &text, false));
            return out;
        }
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) => json_walk(&v, "", 0, &mut out),
            Err(_) => out.push(field("", &text, false)),
        }
    } else if ct.starts_with("multipart/") {
        match header_param(content_type.unwrap_or(""), "boundary") {
            Some(b) if !b.is_empty() => multipart(&text, b, &mut out),
            _ => out.push(field("", &text, false)),
        }
    } else if ct.contains("xml") {
        xml(&text, &mut out);
    } else if ct.is_empty() || ct.starts_with("application/x-www-form-urlencoded") {
        out = owned(urlencoded(&text));
    } else {
        // text/plain and others: the raw text, and form fields if it looks like a form.
        out.push(field("", &text, false));
        if text.contains('=') {
            out.extend(owned(urlencoded(&text)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind() {
        let f = fields(Some("application/x-www-form-urlencoded"), b"a=1&b=%27x");
        assert_eq!(f[1].value, "%27x");
        let j = fields(Some("application/json"), br#"{"q":{"x":["' or 1=1"]}}"#);
        assert!(j.iter().any(|f| f.value == "' or 1=1" && f.name == "x"));
        let m = fields(
            Some("multipart/form-data; boundary=XX"),
            b"--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.php\"\r\n\r\nhello\r\n--XX--\r\n",
        );
        assert!(m.iter().any(|f| f.filename && f.value == "a.php"));
        assert!(m.iter().any(|f| f.value == "hello"));
        let deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
        assert_eq!(
            fields(Some("application/json"), deep.as_bytes()).len(),
            1,
            "inspected as text"
        );
        let x = fields(Some("application/xml"), br#"<a probe="v1">t</a>"#);
        assert_eq!(
            x.iter().map(|f| f.value.as_ref()).collect::<Vec<_>>(),
            vec!["v1", "t"]
        );
    }
}
