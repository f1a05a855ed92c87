//! Cross-site scripting: an HTML tag scanner (dangerous tags, event-handler attributes,
//! script URIs) over the entity-decoded, lowercased value, plus JavaScript break-outs that
//! call a sink (`';alert(1)//`).

use crate::normalize::Views;
use crate::patterns::{any_in, group, is_one_of};
use crate::rules::Rules;

/// Tags that run or load active content by themselves.
pub(crate) static DANGEROUS_TAGS: &[&str] = &[
    "a",
    "animate",
    "applet",
    "audio",
    "b",
    "base",
    "bgsound",
    "body",
    "br",
    "button",
    "details",
    "div",
    "embed",
    "f",
    "form",
    "frame",
    "frameset",
    "handler",
    "html",
    "iframe",
    "ilayer",
    "image",
    "img",
    "import",
    "input",
    "isindex",
    "keygen",
    "layer",
    "link",
    "listener",
    "marquee",
    "math",
    "meta",
    "noscript",
    "object",
    "p",
    "plaintext",
    "portal",
    "script",
    "select",
    "set",
    "source",
    "span",
    "style",
    "svg",
    "table",
    "td",
    "template",
    "textarea",
    "track",
    "video",
    "vmlframe",
    "x",
    "xml",
    "xmp",
    "xss",
];

/// Tags only dangerous with an active attribute (any tag with `on*=`).
pub(crate) static ALWAYS_ACTIVE: &[&str] = &[
    "animate",
    "applet",
    "base",
    "bgsound",
    "embed",
    "frame",
    "frameset",
    "handler",
    "iframe",
    "ilayer",
    "import",
    "isindex",
    "layer",
    "link",
    "listener",
    "math",
    "meta",
    "noembed",
    "noframes",
    "noscript",
    "object",
    "plaintext",
    "portal",
    "script",
    "style",
    "svg",
    "vmlframe",
    "xmp",
    "xss",
];

/// URI schemes and CSS tricks that run script.
static ACTIVE_URIS: &[&str] = &[
    "javascript:",
    "vbscript:",
    "livescript:",
    "mocha:",
    "data:text/html",
    "data:image/svg",
    "data:application/",
    "-moz-binding",
    "behavior:url",
    "expression(",
    "@import",
    "xlink:href",
    "srcdoc=",
    "formaction=",
    "jar:http",
    "view-source:javascript",
    "xmlns",
    "schemalocation",
];

/// Attributes that load or style content.
static LOADING_ATTRIBUTES: &[&str] = &[
    "src=",
    "style=",
    "action=",
    "background=",
    "dynsrc=",
    "lowsrc=",
    "data=",
    "codebase=",
    "poster=",
    "formaction=",
];

/// JavaScript sinks that show a proof of concept or steal data.
static SINKS: &[&str] = &[
    "alert(",
    "alert`",
    "prompt(",
    "prompt`",
    "confirm(",
    "confirm`",
    "fromcharcode(",
    "document.cookie",
    "document.domain",
    "document.write",
    "document.location",
    "window.location",
    "location.href",
    ".innerhtml",
    "settimeout(",
    "setinterval(",
    "new function",
    "constructor(",
    "atob(",
    "import(",
    "top[",
    "self[",
    "window[",
    "parent[",
    "globalthis[",
    "execscript(",
    "msgbox",
    "document[",
    "location=",
    "location.hash",
    "onerror=",
    ".src=",
    "btoa(",
    ".call`",
    "reflect.apply",
    "reflect.construct",
    "document.queryselector",
    "document.body",
    "document.createelement",
    "document.getelementby",
    "document.forms",
    "document.images",
    "window.open(",
    "navigation.navigate",
];

/// Common event-handler name beginnings, for handlers outside a tag.
pub(crate) static HANDLER_PREFIXES: &[&str] = &[
    "onload",
    "onerror",
    "onmouse",
    "onclick",
    "ondblclick",
    "onfocus",
    "onblur",
    "onchange",
    "onsubmit",
    "onkey",
    "onanimation",
    "ontransition",
    "onbegin",
    "onend",
    "onpointer",
    "ontoggle",
    "onscroll",
    "onresize",
    "onbefore",
    "onafter",
    "oninput",
    "oninvalid",
    "onselect",
    "onstart",
    "onfinish",
    "onmessage",
    "onpage",
    "onpopstate",
    "onhashchange",
    "ondrag",
    "ondrop",
    "oncopy",
    "oncut",
    "onpaste",
    "ontouch",
    "onwheel",
    "oncontextmenu",
    "onreadystatechange",
    "onunload",
    "onsearch",
    "onshow",
    "onplay",
    "onpause",
    "oncanplay",
    "onended",
    "onprogress",
    "onabort",
    "onactivate",
    "ondeactivate",
    "onmove",
    "onrepeat",
    "onreset",
    "onseek",
    "onstorage",
    "ontimeupdate",
    "onvolumechange",
    "onwaiting",
    "onauxclick",
    "oncuechange",
    "onbounce",
    "onfilterchange",
    "onhelp",
    "onpropertychange",
    "onstop",
    "onzoom",
    "onclose",
    "onopen",
    "oncancel",
    "onformdata",
    "onbeforeprint",
];

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b':'
}

/// Removes whitespace and control characters (`java\tscript:`).
fn squeeze(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect()
}

/// An `on…=` event-handler attribute preceded by a delimiter.
fn event_handler(s: &str) -> bool {
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(pos) = s[from..].find("on") {
        let at = from + pos;
        from = at + 2;
        let delim = at == 0
            || matches!(
                b[at - 1],
                b' ' | b'"'
                    | b'\''
                    | b'`'
                    | b'/'
                    | b';'
                    | b','
                    | b'('
                    | b'='
                    | b'\t'
                    | b'\n'
                    | b'\r'
                    | 0x0b
                    | 0x0c
            )
            || b[at - 1].is_ascii_digit();
        if !delim {
            continue;
        }
        let mut j = at + 2;
        while j < b.len() && b[j].is_ascii_alphabetic() {
            j += 1;
        }
        let letters = j - at - 2;
        if !(3..=30).contains(&letters) {
            continue;
        }
        while j < b.len() && (b[j].is_ascii_whitespace() || b[j] == 0x0b || b[j] == b'/') {
            j += 1;
        }
        if b.get(j) == Some(&b'=') && b.get(j + 1) != Some(&b'=') {
            return true;
        }
    }
    false
}

/// Scans `<tag …` openings: returns the rule id for a script tag, a dangerous tag or a tag
/// carrying an event handler / script URI.
fn tags(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(pos) = s[from..].find('<') {
        let at = from + pos;
        from = at + 1;
        let mut j = at + 1;
        while j < b.len()
            && (b[j] == b'/' || b[j] == b'!' || b[j] == b'%' || b[j] == b'?' || b[j] == 0x0b)
        {
            j += 1;
        }
        let start = j;
        while j < b.len() && is_name_byte(b[j]) {
            j += 1;
        }
        if j == start || !b[start].is_ascii_alphabetic() {
            continue;
        }
        let full = &s[start..j];
        // Namespaced tags (`x:script`) count by their local name.
        let name = full.rsplit(':').next().unwrap_or(full);
        if name == "script" {
            return Some(941110);
        }
        let rest_end = s[j..].find('<').map_or(s.len(), |p| j + p);
        let rest = &s[j..rest_end];
        if is_one_of(ALWAYS_ACTIVE, name) {
            return Some(941100);
        }
        if event_handler(rest) {
            return Some(941120);
        }
        let squeezed = squeeze(rest);
        if any_in(ACTIVE_URIS, &squeezed) {
            return Some(941130);
        }
        if is_one_of(DANGEROUS_TAGS, name)
            && (rest.contains('=') || rest.starts_with('>'))
            && any_in(SINKS, &squeezed)
        {
            return Some(941100);
        }
        // Attributes that load or style content (`<img src=`, `<p style=`); a plain link
        // (`<a href=…>`) is ordinary text in comments and product descriptions.
        if is_one_of(DANGEROUS_TAGS, name) && any_in(LOADING_ATTRIBUTES, &squeezed) {
            return Some(941100);
        }
    }
    None
}

/// A quote / bracket break-out followed by a sink call: `";alert(1)//`, `'-alert(1)-'`;
/// `sq` is the value squeezed.
fn js_breakout(sq: &str) -> bool {
    // One pass to see whether any sink occurs before locating each.
    if !any_in(SINKS, sq) {
        return false;
    }
    SINKS.iter().any(|k| {
        sq.find(k).is_some_and(|at| {
            let before = &sq[..at];
            // A sink at the very start, or after JS punctuation.
            before.is_empty()
                || before.ends_with([
                    '\'', '"', ';', '+', '-', '(', '|', '&', '{', '}', '`', '=', '>', ',', '*',
                    '/', '!', '?', ':', '[', '.',
                ])
        })
    })
}

/// Checks one value; returns the id of the first rule that fires. Rules are skipped when a
/// byte that all their patterns need is absent from the value.
pub fn detect(v: &Views, rules: &Rules) -> Option<u32> {
    let h = v.html();
    if !v.bytes.any(b"<:(=`.[") {
        return None;
    }
    if v.bytes.has(b'<') {
        if let Some(id) = tags(h) {
            if rules.on(id) {
                return Some(id);
            }
        }
    }
    if rules.on(941120)
        && v.bytes.has(b'=')
        && v.maybe(group::XSS_HANDLERS)
        && event_handler(h)
        && any_in(HANDLER_PREFIXES, h)
    {
        return Some(941120);
    }
    // Every script URI below holds `:`, `(` or `-`; every sink `(`, `` ` ``, `[`, `=`, `.` or
    // is `msgbox`.
    let uri_bytes = v.bytes.any(b":(-");
    let sink_bytes = v.bytes.any(b"(`[=.") || h.contains("msgbox");
    if !uri_bytes && !sink_bytes && !v.bytes.has(b'!') {
        return None;
    }
    let sq = squeeze(h);
    if rules.on(941130)
        && uri_bytes
        && (ACTIVE_URIS.iter().take(7).any(|u| sq.contains(u))
            || sq.contains("-moz-binding")
            || sq.contains("behavior:url")
            || (sq.contains("style=") && sq.contains("expression("))
            || sq.contains("url(javascript"))
    {
        return Some(941130);
    }
    if rules.on(941180) && (sink_bytes && js_breakout(&sq) || h.matches("![]").count() >= 2) {
        return Some(941180);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(s: &str) -> bool {
        detect(&Views::of_decoded(s.into()), &Rules::new(1, &[])).is_some()
    }

    #[test]
    fn attacks() {
        for s in [
            "<script>alert(1)</script>",
            "\"><img src=x onerror=alert(1)>",
            "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
            "';alert(String.fromCharCode(88))//",
            "<svg/onload=alert(1)>",
            "&lt;iframe src=x&gt;",
        ] {
            assert!(hit(s), "{s}");
        }
    }

    #[test]
    fn benign() {
        for s in [
            "a < b and c > d",
            "style=color:red;background:white",
            "I love onions = yes?",
            "status online=1",
            "x <= 3",
            "Tom & Jerry",
        ] {
            assert!(!hit(s), "{s}");
        }
    }
}
