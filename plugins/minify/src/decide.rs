//! Decides, from the request method and the response head, whether a response is minified.
use crate::config::{Config, Kind};
use weir_plugin_sdk::header;

/// Why a response is left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Not a content type the config lists (or no content type).
    Type,
    /// A charset other than UTF-8.
    Charset,
    /// `Content-Encoding` is set (e.g. gzip): the bytes are not text.
    Encoded,
    /// `Cache-Control: no-transform` on the request or the response.
    NoTransform,
    /// `Content-Length` (or the body) is over `max_bytes`.
    TooBig,
    /// A partial (206 / `Content-Range`) response.
    Partial,
}

impl Skip {
    /// Metric name counted when a body is skipped for this reason.
    pub fn metric(self) -> &'static str {
        match self {
            Skip::Type => "skipped_type",
            Skip::Charset => "skipped_charset",
            Skip::Encoded => "skipped_encoded",
            Skip::NoTransform => "skipped_no_transform",
            Skip::TooBig => "skipped_too_big",
            Skip::Partial => "skipped_partial",
        }
    }
}

/// The body kind named by a `Content-Type` value, if any.
pub fn kind_of(content_type: &str) -> Option<Kind> {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "text/html" => Some(Kind::Html),
        "text/css" => Some(Kind::Css),
        "application/javascript"
        | "text/javascript"
        | "application/x-javascript"
        | "application/ecmascript"
        | "text/ecmascript" => Some(Kind::Js),
        "application/json" => Some(Kind::Json),
        m if m.starts_with("application/") && m.ends_with("+json") => Some(Kind::Json),
        _ => None,
    }
}

/// Whether the `charset` parameter of `content_type` (if any) is UTF-8 (or its ASCII subset).
fn utf8_charset(content_type: &str) -> bool {
    content_type.split(';').skip(1).all(|param| {
        let Some((name, value)) = param.split_once('=') else {
            return true;
        };
        if !name.trim().eq_ignore_ascii_case("charset") {
            return true;
        }
        let value = value.trim().trim_matches('"').to_ascii_lowercase();
        matches!(value.as_str(), "utf-8" | "utf8" | "us-ascii")
    })
}

/// Whether a `Cache-Control` list carries `no-transform`.
fn no_transform(headers: &[(String, String)]) -> bool {
    headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("cache-control"))
        .flat_map(|(_, v)| v.split(','))
        .any(|d| d.trim().eq_ignore_ascii_case("no-transform"))
}

/// The kind to minify this response as, or why it is left alone. `request_headers` and
/// `response_headers` are the lists the plugin was given.
pub fn decide(
    config: &Config,
    status: u16,
    request_headers: &[(String, String)],
    response_headers: &[(String, String)],
) -> Result<Kind, Skip> {
    let content_type = header(response_headers, "content-type").unwrap_or("");
    let kind = kind_of(content_type)
        .filter(|k| config.wants(*k))
        .ok_or(Skip::Type)?;
    if !utf8_charset(content_type) {
        return Err(Skip::Charset);
    }
    if header(response_headers, "content-encoding")
        .is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity"))
    {
        return Err(Skip::Encoded);
    }
    if no_transform(response_headers) || no_transform(request_headers) {
        return Err(Skip::NoTransform);
    }
    if status == 206 || header(response_headers, "content-range").is_some() {
        return Err(Skip::Partial);
    }
    let announced =
        header(response_headers, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > u64::from(config.max_bytes)) {
        return Err(Skip::TooBig);
    }
    Ok(kind)
}

/// `ETag` weakened (`"x"` → `W/"x"`); `None` when it is already weak.
pub fn weaken_etag(etag: &str) -> Option<String> {
    let etag = etag.trim();
    if etag.starts_with("W/") {
        return None;
    }
    Some(format!("W/{etag}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn content_types_map_to_kinds() {
        assert_eq!(kind_of("text/html; charset=utf-8"), Some(Kind::Html));
        assert_eq!(kind_of("TEXT/CSS"), Some(Kind::Css));
        assert_eq!(kind_of("text/javascript"), Some(Kind::Js));
        assert_eq!(kind_of("application/ld+json"), Some(Kind::Json));
        assert_eq!(kind_of("image/png"), None);
        assert_eq!(kind_of("application/xhtml+xml"), None);
    }

    #[test]
    fn every_skip_reason() {
        let c = Config::default();
        let none = h(&[]);
        let ok = |r: &[(&str, &str)]| decide(&c, 200, &none, &h(r));
        assert_eq!(ok(&[("content-type", "text/html")]), Ok(Kind::Html));
        assert_eq!(ok(&[("content-type", "image/png")]), Err(Skip::Type));
        assert_eq!(ok(&[]), Err(Skip::Type));
        assert_eq!(
            ok(&[("content-type", "text/html; charset=iso-8859-1")]),
            Err(Skip::Charset)
        );
        assert_eq!(
            ok(&[("content-type", "text/css"), ("content-encoding", "gzip")]),
            Err(Skip::Encoded)
        );
        assert_eq!(
            ok(&[
                ("content-type", "text/css"),
                ("content-encoding", "identity")
            ]),
            Ok(Kind::Css)
        );
        assert_eq!(
            ok(&[
                ("content-type", "text/css"),
                ("cache-control", "public, No-Transform")
            ]),
            Err(Skip::NoTransform)
        );
        assert_eq!(
            decide(
                &c,
                200,
                &h(&[("cache-control", "no-transform")]),
                &h(&[("content-type", "text/css")])
            ),
            Err(Skip::NoTransform)
        );
        assert_eq!(
            decide(&c, 206, &none, &h(&[("content-type", "text/css")])),
            Err(Skip::Partial)
        );
        assert_eq!(
            ok(&[("content-type", "text/css"), ("content-length", "1048577")]),
            Err(Skip::TooBig)
        );
        assert_eq!(
            ok(&[("content-type", "text/css"), ("content-length", "1048576")]),
            Ok(Kind::Css)
        );
        let css_only = Config {
            types: vec![Kind::Css],
            ..Config::default()
        };
        assert_eq!(
            decide(&css_only, 200, &none, &h(&[("content-type", "text/html")])),
            Err(Skip::Type)
        );
    }

    #[test]
    fn etags_are_weakened_once() {
        assert_eq!(weaken_etag("\"abc\"").as_deref(), Some("W/\"abc\""));
        assert_eq!(weaken_etag("W/\"abc\""), None);
    }
}
