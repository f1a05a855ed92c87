//! Weir's own HTML pages (unknown site, maintenance, rate limited, client errors), small and
//! self-contained so they can be served when nothing else works.

use bytes::Bytes;

/// The reason phrase and explanation Weir shows for `status`.
fn wording(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => ("Bad Request", "The request could not be understood."),
        404 => (
            "Site Not Found",
            "This address is not served here. Check the host name you used.",
        ),
        408 => ("Request Timeout", "The request was not sent in time."),
        413 => ("Payload Too Large", "The request body is too large."),
        429 => (
            "Too Many Requests",
            "You are sending requests too fast. Please wait a moment and try again.",
        ),
        431 => (
            "Request Header Fields Too Large",
            "The request headers are larger than this server accepts.",
        ),
        502 => ("Bad Gateway", "The site's server did not answer properly."),
        503 => (
            "Service Unavailable",
            "The site is down for maintenance or overloaded. Please try again shortly.",
        ),
        504 => (
            "Gateway Timeout",
            "The site's server did not answer in time.",
        ),
        _ => ("Error", "The request could not be completed."),
    }
}

/// A complete HTML page for `status`.
pub fn page(status: u16) -> Bytes {
    let (title, text) = wording(status);
    Bytes::from(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{status} {title}</title><style>body{{font-family:system-ui,sans-serif;\
         max-width:36rem;margin:15vh auto;padding:0 1rem;color:#222}}h1{{font-size:1.6rem}}\
         p{{color:#555}}footer{{margin-top:3rem;font-size:.8rem;color:#999}}</style></head>\
         <body><h1>{status} {title}</h1><p>{text}</p><footer>weir</footer></body></html>\n"
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn pages_name_their_status() {
        let p = super::page(404);
        let text = std::str::from_utf8(&p).expect("utf-8");
        assert!(text.contains("404 Site Not Found"));
        assert!(text.starts_with("<!doctype html>"));
    }
}
