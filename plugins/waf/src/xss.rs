//! Cross-site scripting: an HTML tag scanner (dangerous tags, event-handler attributes,
//! script URIs) over the entity-decoded, lowercased value, plus JavaScript break-outs that
//! call a sink (`';alert(1)//`).

use crate::normalize::Views;
use crate::patterns::{any_in, group, is_one_of, pairs};
use crate::rules::Rules;
use std::borrow::Cow;

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

/// URI schemes and CSS tricks that run script; the first `SCRIPT_URIS` run it anywhere in a
/// value (941130), the rest inside a tag.
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

/// How many of `ACTIVE_URIS` run script anywhere in a value.
const SCRIPT_URIS: usize = 9;

/// The URIs and bindings that run script anywhere in a value (joined in the one-pass group
/// automaton).
pub(crate) fn script_uris() -> &'static [&'static str] {
    ACTIVE_URIS.get(..SCRIPT_URIS).unwrap_or(ACTIVE_URIS)
}

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
pub(crate) static SINKS: &[&str] = &[
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
    "onwebkit",
    "onmoz",
    "onms",
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
fn squeeze(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        // ASCII whitespace and control characters are exactly the bytes up to space and DEL.
        let gone = |b: &u8| *b <= b' ' || *b == 0x7f;
        if !s.as_bytes().iter().any(gone) {
            return Cow::Borrowed(s);
        }
        let mut kept = s.as_bytes().to_vec();
        kept.retain(|b| !gone(b));
        // Removing ASCII bytes from ASCII text leaves ASCII, which is valid UTF-8.
        return Cow::Owned(String::from_utf8(kept).unwrap_or_default());
    }
    Cow::Owned(
        s.chars()
            .filter(|c| !c.is_whitespace() && !c.is_control())
            .collect(),
    )
}

/// An `on…=` event-handler attribute preceded by a delimiter.
/// With `opened`, only a handler whose `=` follows the name directly and opens an empty or
/// quoted value (`onx= `, `onx="`) counts: an attribute being written, whatever its name.
fn event_handler(s: &str, opened: bool) -> bool {
    let b = s.as_bytes();
    for at in pairs(s, *b"on") {
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
        if !(3..=50).contains(&letters) {
            continue;
        }
        if opened {
            // Only where an attribute starts: after a space or a closed quote.
            if at > 0
                && matches!(
                    b[at - 1],
                    b' ' | b'"' | b'\'' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c
                )
                && b.get(j) == Some(&b'=')
                && b.get(j + 1)
                    .is_none_or(|c| c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b'`'))
            {
                return true;
            }
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
        if event_handler(rest, false) {
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

/// Tags that are dangerous by their name alone, even spelled with junk between the letters
/// (`<s c r i p t`, `<f/o/r/m`), as NoScript's injection checker reads them (941160); unlike
/// it, a longer word (`<formal>`) is not the tag.
static OBFUSCATED_ALWAYS: &[&str] = &["form", "marquee", "script", "style", "svg"];

/// Tags that are dangerous when something other than `>` follows their name (941160).
static OBFUSCATED_WITH_ATTRIBUTES: &[&str] = &[
    "animate", "applet", "audio", "base", "bindings", "body", "embed", "frame", "iframe", "image",
    "img", "isindex", "link", "meta", "object", "param", "set", "video",
];

/// Whether `name`'s letters start at `b[0]`, with any non-word bytes (but no `<`) between
/// them; returns the index just after the last letter.
fn spelled_out(b: &[u8], name: &str) -> Option<usize> {
    let mut i = 0;
    for (n, want) in name.bytes().enumerate() {
        if n > 0 {
            // Junk between letters: bounded so a long value stays cheap.
            let mut junk = 0;
            while i < b.len() && !is_word(b[i]) && b[i] != b'<' && junk < 8 {
                i += 1;
                junk += 1;
            }
        }
        if b.get(i) != Some(&want) {
            return None;
        }
        i += 1;
    }
    Some(i)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `<` then a dangerous tag name, possibly namespaced and spelled with junk between its
/// letters (941160).
fn obfuscated_tag(s: &str) -> bool {
    let b = s.as_bytes();
    s.match_indices('<').any(|(at, _)| {
        let mut i = at + 1;
        let stop = (at + 24).min(b.len());
        while i < stop && !is_word(b[i]) && b[i] != b'<' && b[i] != b'>' {
            i += 1;
        }
        // A namespace prefix (`x:script`).
        if let Some(colon) = b[i..stop].iter().position(|c| *c == b':') {
            if b[i..i + colon].iter().all(|c| is_word(*c)) {
                i += colon + 1;
            }
        }
        let rest = &b[i.min(b.len())..];
        // The name must end there (`<formal>` is another word).
        OBFUSCATED_ALWAYS.iter().any(|n| {
            spelled_out(rest, n).is_some_and(|end| rest.get(end).is_none_or(|c| !is_word(*c)))
        }) || OBFUSCATED_WITH_ATTRIBUTES.iter().any(|n| {
            spelled_out(rest, n)
                .is_some_and(|end| rest.get(end).is_some_and(|c| !is_word(*c) && *c != b'>'))
        })
    })
}

/// `data:` URIs that carry a document: a media type then `;` or `,`, a `base64` or `charset=`
/// parameter, or markup after the comma (941170).
fn data_uri(s: &str) -> bool {
    let b = s.as_bytes();
    s.match_indices("data:").any(|(at, _)| {
        if at > 0 && is_word(b[at - 1]) {
            return false;
        }
        let rest = &s[at + 5..];
        let r = rest.as_bytes();
        // `data://…` is PHP's stream wrapper, not a data URI.
        if rest.starts_with('/') {
            return false;
        }
        // `data:,` / `data:;` / `data:text/html;` / `data:image/svg+xml,`
        let mime = r
            .iter()
            .take_while(|c| is_word(**c) || matches!(c, b'/' | b'+' | b'-' | b'.'))
            .count();
        let typed = mime == 0 || rest[..mime].contains('/');
        if typed && matches!(r.get(mime), Some(b';' | b',')) {
            return true;
        }
        // The next 256 bytes, cut back to a character boundary.
        let mut cut = rest.len().min(256);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let head = &rest[..cut];
        head.find(';')
            .is_some_and(|p| head[p..].contains("base64") || head[p..].contains("charset="))
            || head.find(',').is_some_and(|p| {
                head[p..]
                    .find('<')
                    .is_some_and(|q| head[p + q..].contains('>') && head[p + q..].len() > 2)
            })
    })
}

/// Internet Explorer's `<?import implementation="…">` (941240).
fn ie_import(s: &str) -> bool {
    ["<import", "<?import"].iter().any(|t| {
        s.find(t).is_some_and(|at| {
            s[at..]
                .find("implementation")
                .is_some_and(|p| s[at + p + 14..].trim_start().starts_with('='))
        })
    })
}

/// JavaScript string escapes (`\x3c`, `\u003c`) decoded, as CRS's `jsDecode` does; `\xHH`
/// gives the Latin-1 character, so `\xbc` is `¼`.
fn js_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('\\') {
        out.push_str(&rest[..p]);
        let tail = &rest[p + 1..];
        let (digits, skip) = match tail.as_bytes().first() {
            Some(b'x') => (tail.get(1..3), 3),
            Some(b'u') => (tail.get(1..5), 5),
            _ => (None, 0),
        };
        match digits
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .and_then(char::from_u32)
        {
            Some(c) => {
                out.push(c);
                rest = &tail[skip..];
            }
            None => {
                out.push('\\');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A closing tag written with the bytes 0xBC / 0xBE, which US-ASCII readers that drop the
/// top bit take as `<` / `>` (`¼/script¾`), 941310.
fn us_ascii_tag(s: &str) -> bool {
    let closing = |after: &str| after.trim_start().starts_with('/');
    // The last closer decides whether any opener has one after it (linear, not per opener).
    let last_be = s.rfind('\u{be}');
    let last_closer = last_be.max(s.rfind('>'));
    s.match_indices('\u{bc}').any(|(at, c)| {
        let after = &s[at + c.len()..];
        last_closer.is_some_and(|e| e > at) && closing(after)
    }) || s
        .match_indices('<')
        .any(|(at, _)| last_be.is_some_and(|e| e > at) && closing(&s[at + 1..]))
}

/// A quote, a JavaScript operator and an assignment to an object property: breaking out of
/// an attribute into script (`' ++in foo.bar=`, `"-x.y=1`), 941340.
fn quote_then_assignment(s: &str) -> bool {
    let b = s.as_bytes();
    s.match_indices(['\'', '"', '`']).any(|(at, _)| {
        let mut i = at + 1;
        while b.get(i) == Some(&b' ') {
            i += 1;
        }
        let ops = b[i.min(b.len())..]
            .iter()
            .take_while(|c| matches!(c, b'+' | b'-' | b'!' | b'~'))
            .count();
        // `in` reads as the operator too (`' in foo.bar=`, form-decoded `'++in`).
        let word_in = ops == 0 && b[i.min(b.len())..].starts_with(b"in");
        if ops == 0 && !word_in {
            return false;
        }
        i += if word_in { 2 } else { ops };
        while b.get(i) == Some(&b' ') {
            i += 1;
        }
        // `name(.name)+` then `=` (not `==`).
        let start = i;
        let mut dots = 0;
        while i < b.len() && i < start + 64 && (is_word(b[i]) || b[i] == b'.' || b[i] == b'$') {
            dots += usize::from(b[i] == b'.');
            i += 1;
        }
        while b.get(i) == Some(&b' ') {
            i += 1;
        }
        i > start
            && dots > 0
            && b[start].is_ascii_alphabetic()
            && b.get(i) == Some(&b'=')
            && b.get(i + 1) != Some(&b'=')
    })
}

/// JSFuck-style code: almost only `[]()!+`, with `![]` / `!+[]` atoms (941360).
fn jsfuck(s: &str) -> bool {
    let t: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let symbols = t
        .iter()
        .filter(|b| matches!(b, b'[' | b']' | b'(' | b')' | b'!' | b'+'))
        .count();
    t.len() >= 8
        && symbols * 10 >= t.len() * 9
        && t.windows(2).filter(|w| w == b"[]").count() >= 2
        && t.contains(&b'!')
}

/// A function called through an empty tagged template, which needs no parentheses:
/// ``alert.call``​``, ``Reflect.apply``​`` (941180).
fn tagged_template_call(sq: &str) -> bool {
    [".call``", ".apply``", ".bind``", ".call`${", ".apply`${"]
        .iter()
        .any(|t| sq.contains(t))
}

/// Checks one value; returns the id of the first rule that fires. Rules are skipped when a
/// byte that all their patterns need is absent from the value.
pub fn detect(v: &Views, rules: &Rules) -> Option<u32> {
    let h = v.html();
    if !v.bytes.any(b"<>:(=`.[\\") && v.bytes.is_ascii() {
        return None;
    }
    if v.bytes.has(b'<') {
        if let Some(id) = tags(h) {
            if rules.on(id) {
                return Some(id);
            }
        }
        if rules.on(941160) && obfuscated_tag(h) {
            return Some(941160);
        }
        if rules.on(941240) && ie_import(h) {
            return Some(941240);
        }
    }
    if rules.on(941170) && v.bytes.has(b':') && data_uri(h) {
        return Some(941170);
    }
    // JavaScript-escaped markup (`\x3cscript\x3e`, US-ASCII `\xbcscript\xbe`).
    if v.bytes.has(b'\\') && (h.contains("\\x") || h.contains("\\u")) {
        let js = js_unescape(h);
        if let Some(id) = tags(&js) {
            if rules.on(id) {
                return Some(id);
            }
        }
        if rules.on(941310) && us_ascii_tag(&js) {
            return Some(941310);
        }
    }
    if rules.on(941310) && !v.bytes.is_ascii() && us_ascii_tag(h) {
        return Some(941310);
    }
    if rules.on(941360) && v.bytes.has(b'!') && v.bytes.has(b'[') && jsfuck(h) {
        return Some(941360);
    }
    if rules.on(941120)
        && v.bytes.has(b'=')
        && (v.maybe(group::XSS_HANDLERS) && event_handler(h, false) && any_in(HANDLER_PREFIXES, h)
            || event_handler(h, true))
    {
        return Some(941120);
    }
    // HTML comment and CDATA openers (`-->` alone is as often an arrow in text).
    if rules.on(941181) && v.bytes.has(b'<') && (h.contains("<!--") || h.contains("<![cdata[")) {
        return Some(941181);
    }
    if rules.on(941340) && v.bytes.has(b'=') && quote_then_assignment(h) {
        return Some(941340);
    }
    // Every script URI below holds `:`, `(` or `-`; every sink `(`, `` ` ``, `[`, `=`, `.` or
    // is `msgbox`.
    let uri_bytes = v.bytes.any(b":(-");
    let sink_bytes = v.bytes.any(b"(`[=.") || h.contains("msgbox");
    if !uri_bytes && !sink_bytes && !v.bytes.has(b'!') {
        return None;
    }
    let sq = squeeze(h);
    // Unsqueezed, `sq` is `html`, where the joined pass already looked for sinks and
    // script URIs.
    let squeezed = matches!(sq, Cow::Owned(_));
    let sinks = squeezed || v.maybe(group::XSS_SINKS);
    let has = |b: u8| v.bytes.has(b);
    if rules.on(941130)
        && uri_bytes
        && ((squeezed || v.maybe(group::XSS_SCRIPT_URIS))
            && script_uris().iter().any(|u| sq.contains(u))
            || has(b'(')
                && (has(b'=') && sq.contains("style=") && sq.contains("expression(")
                    || sq.contains("url(javascript")))
    {
        return Some(941130);
    }
    if rules.on(941180)
        && (sink_bytes && (sinks && js_breakout(&sq) || has(b'`') && tagged_template_call(&sq))
            || has(b'!') && has(b'[') && h.matches("![]").count() >= 2)
    {
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

    /// The URIs searched anywhere in a value are the script schemes and the two CSS
    /// bindings, and every one of them fires.
    #[test]
    fn script_uris_are_the_schemes_and_bindings() {
        let uris = script_uris();
        assert_eq!(
            (uris.first(), uris.last()),
            (Some(&"javascript:"), Some(&"behavior:url"))
        );
        for u in uris {
            assert!(hit(&format!("style={u}y")), "{u}");
        }
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
            // Obfuscated tag names, data URIs with markup, IE imports, JS-escaped and
            // US-ASCII markup, JSFuck, vendor event handlers, tagged-template calls.
            "$<f o r m",
            "1234<s/c/r/i/p/t",
            "<x:s\tv\tg",
            "<img/x",
            " data: , <x>",
            "data:text/html;base64,PHNjcmlwdD4=",
            "<importimplementation=",
            "\\x3cscript\\x3ealert(1)\\x3c/script\\x3e",
            "\\xbcscript\\xbealert(\\xa2XSS\\xa2)\\xbc/script\\xbe",
            "\u{bc}script\u{be}alert(1)\u{bc}/script\u{be}",
            "(![]+[])[+!+[]]",
            "x onwebkitplaybacktargetavailabilitychanged=1",
            "Reflect.sort.call``",
            "  onabcdefgh= ",
            "x\" onfoo=\"y",
            "<!--#exec cmd",
        ] {
            assert!(hit(s), "{s}");
        }
    }

    /// 941340 is a paranoia-2 rule.
    #[test]
    fn property_assignment_after_quote() {
        let r = Rules::new(2, &[]);
        let fires = |s: &str| detect(&Views::of_decoded(s.into()), &r) == Some(941340);
        for s in ["' ++infoo.bar=", "'  infoo.bar=", "\"-window.name=1"] {
            assert!(fires(s), "{s}");
        }
        for s in [
            "it's -- a.b = c == d",
            "'-1' = x.y",
            "\"input\" x.y=1",
            "'in' out",
        ] {
            assert!(!fires(s), "{s}");
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
            "a <formal> b",
            "<b>bold</b> and <i>x</i>",
            "<image>",
            "metadata: 1, 2 <3",
            "data: 5, 6",
            "\u{bc} cup sugar, \u{be} cup flour",
            "sitzbez\\xc3\\x83\\xc2\\xbcge > fu",
            "data://text/plain;base64,SSBsb3ZlIFBIUAo=",
            "[1] (2) [3]",
            "C:\\xampp\\htdocs",
            "use fn.call here",
            "status online=1 and online=yes",
            "SGVsbG8gd29ybGQ/onafe=",
            "step 1 --> step 2",
        ] {
            assert!(!hit(s), "{s}");
        }
    }
}
