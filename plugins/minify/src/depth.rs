//! A cheap upper estimate of how deeply an HTML document nests elements. minify-html's parser
//! recurses once per level and the guest's stack is fixed, so documents nested deeper than
//! [`MAX_DEPTH`] are served as they are instead of trapping the plugin.

/// Deepest estimated nesting that is minified (see docs/benchmarks.md for the stack it needs).
pub const MAX_DEPTH: usize = 400;

/// Elements without content: they open nothing.
const VOID: [&str; 14] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// Elements whose end tag may be omitted (`<li>`, `<p>`, table cells…): their nesting is implied
/// by the parser, so they are not counted either way.
const IMPLIED_END: [&str; 16] = [
    "body", "colgroup", "dd", "dt", "head", "html", "li", "optgroup", "option", "p", "rp", "rt",
    "tbody", "td", "tfoot", "th",
];

/// Estimated element nesting depth of `html`: start tags minus end tags, not counting void and
/// implied-end elements, and never below zero.
pub fn nesting_depth(html: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut i = 0;
    while let Some(offset) = html[i..].iter().position(|&b| b == b'<') {
        i += offset + 1;
        let closing = html.get(i) == Some(&b'/');
        let start = if closing { i + 1 } else { i };
        let len = html[start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
            .count();
        if len == 0 || !html[start].is_ascii_alphabetic() {
            continue;
        }
        let name = String::from_utf8_lossy(&html[start..start + len]).to_ascii_lowercase();
        if VOID.contains(&name.as_str()) || IMPLIED_END.contains(&name.as_str()) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else {
            let tag_end = html[start..]
                .iter()
                .position(|&b| b == b'>')
                .map(|p| start + p);
            let self_closing = tag_end.is_some_and(|end| end > 0 && html[end - 1] == b'/');
            if !self_closing {
                depth += 1;
                deepest = deepest.max(depth);
            }
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::nesting_depth;

    #[test]
    fn counts_real_nesting_only() {
        assert_eq!(
            nesting_depth(b"<div><section><span>x</span></section></div>"),
            3
        );
        assert_eq!(nesting_depth(b"<ul><li>a<li>b<li>c</ul><p>x<p>y"), 1);
        assert_eq!(nesting_depth(b"<div><img src=a><br><svg/></div>"), 1);
        assert_eq!(nesting_depth(b"a < b </ div>"), 0);
        let deep = "<div>".repeat(1000) + &"</div>".repeat(1000);
        assert_eq!(nesting_depth(deep.as_bytes()), 1000);
        let stray = "</div>".repeat(10) + "<div>";
        assert_eq!(nesting_depth(stray.as_bytes()), 1);
    }
}
