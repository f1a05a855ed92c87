//! Correctness of the minifiers on the realistic pages in tests/data/minify/: the minified HTML
//! parses (html5ever, via scraper) to the same elements and text, `<pre>`/`<textarea>` and
//! non-JavaScript `<script>` contents are byte-identical, inline and standalone CSS and JS
//! still parse, JSON keeps its value.
use crate::config::{Config, Kind};
use crate::{minify_body, Outcome};
use lightningcss::stylesheet::{ParserOptions, StyleAttribute, StyleSheet};
use oxc_allocator::Allocator;
use oxc_parser::Parser;
use oxc_span::SourceType;
use scraper::{ElementRef, Html, Node, Selector};

/// The realistic HTML pages.
pub const PAGES: [&str; 6] = [
    "blog.html",
    "shop.html",
    "docs.html",
    "form.html",
    "recipe.html",
    "newsletter.html",
];

/// Contents of tests/data/minify/`name`.
pub fn page(name: &str) -> String {
    let path = format!(
        "{}/../../tests/data/minify/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn minified(kind: Kind, config: &Config, text: &str) -> String {
    match minify_body(kind, config, text.as_bytes()) {
        Outcome::Smaller(out) => String::from_utf8(out).expect("minified output is UTF-8"),
        other => panic!("expected a smaller body, got {other:?}"),
    }
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Inside an element whose text is not rendered as flowing text.
fn in_raw(element: Option<ElementRef>) -> bool {
    std::iter::successors(element, |e| e.parent().and_then(ElementRef::wrap)).any(|e| {
        matches!(
            e.value().name(),
            "script" | "style" | "pre" | "textarea" | "template"
        )
    })
}

/// Every non-blank text node outside script/style/pre/textarea, whitespace collapsed.
fn flowing_texts(doc: &Html) -> Vec<String> {
    doc.tree
        .nodes()
        .filter_map(|n| match n.value() {
            Node::Text(t) if !in_raw(n.parent().and_then(ElementRef::wrap)) => Some(collapse(t)),
            _ => None,
        })
        .filter(|t| !t.is_empty())
        .collect()
}

fn select<'a>(doc: &'a Html, css: &str) -> Vec<ElementRef<'a>> {
    let selector = Selector::parse(css).expect("test selector");
    doc.select(&selector).collect()
}

/// Elements laid out as blocks: whitespace between them is not rendered.
const BLOCKS: &str = "address, article, aside, blockquote, div, dl, dt, dd, footer, form, h1, h2, h3, h4, \
    h5, h6, header, hr, li, main, nav, ol, p, pre, section, table, tbody, thead, tfoot, tr, td, th, ul";

/// Whitespace-collapsed text of every element that holds only inline content (no block inside):
/// catches a dropped space between inline elements (`<b>a</b> <i>b</i>`), which the per-node
/// comparison cannot see. Text across block boundaries is not compared, since the whitespace
/// between blocks is exactly what may go.
fn block_texts(doc: &Html) -> Vec<String> {
    let blocks = Selector::parse(BLOCKS).expect("test selector");
    select(
        doc,
        "title, h1, h2, h3, p, li, td, th, a, label, option, button, blockquote",
    )
    .into_iter()
    .filter(|e| !e.select(&blocks).any(|inner| inner.id() != e.id()))
    .map(|e| collapse(&e.text().collect::<String>()))
    .collect()
}

/// Exact text of every element matching `css`.
fn exact_texts(doc: &Html, css: &str) -> Vec<String> {
    select(doc, css)
        .into_iter()
        .map(|e| e.text().collect())
        .collect()
}

fn element_names(doc: &Html) -> Vec<String> {
    select(doc, "*")
        .into_iter()
        .map(|e| e.value().name().to_string())
        .collect()
}

fn is_js(script: &ElementRef) -> Option<SourceType> {
    match script
        .value()
        .attr("type")
        .map(str::trim)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("") | Some("text/javascript") | Some("application/javascript") => {
            Some(SourceType::cjs())
        }
        Some("module") => Some(SourceType::mjs()),
        _ => None,
    }
}

fn assert_js_parses(code: &str, source_type: SourceType, what: &str) {
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, code, source_type).parse();
    assert!(
        parsed.errors.is_empty(),
        "{what} does not parse: {:?}\n{code}",
        parsed.errors
    );
}

fn assert_css_parses(code: &str, what: &str) {
    if let Err(e) = StyleSheet::parse(code, ParserOptions::default()) {
        panic!("{what} does not parse: {e}\n{code}");
    }
}

/// Every check of one page under `config`.
fn check_page(name: &str, config: &Config) {
    let original = page(name);
    let out = minified(Kind::Html, config, &original);
    assert!(out.len() < original.len(), "{name} got smaller");
    let (a, b) = (Html::parse_document(&original), Html::parse_document(&out));
    assert!(
        b.errors.len() <= a.errors.len(),
        "{name}: minified parses with new errors: {:?}",
        b.errors
    );
    assert_eq!(
        element_names(&a),
        element_names(&b),
        "{name}: same elements"
    );
    assert_eq!(flowing_texts(&a), flowing_texts(&b), "{name}: same text");
    assert_eq!(
        block_texts(&a),
        block_texts(&b),
        "{name}: same text per block"
    );
    assert_eq!(
        exact_texts(&a, "pre"),
        exact_texts(&b, "pre"),
        "{name}: <pre> intact"
    );
    assert_eq!(
        exact_texts(&a, "textarea"),
        exact_texts(&b, "textarea"),
        "{name}: <textarea> intact"
    );
    let (scripts_a, scripts_b) = (select(&a, "script"), select(&b, "script"));
    assert_eq!(scripts_a.len(), scripts_b.len(), "{name}: same scripts");
    for (i, (sa, sb)) in scripts_a.iter().zip(&scripts_b).enumerate() {
        let (ta, tb): (String, String) = (sa.text().collect(), sb.text().collect());
        match is_js(sa) {
            Some(source_type) if config.inline_js => {
                assert_js_parses(&tb, source_type, &format!("{name} script {i}"))
            }
            // Kept as is: inline JS when not minified, and every non-JS script (JSON-LD,
            // templates) always.
            _ => assert_eq!(ta.trim(), tb.trim(), "{name} script {i} intact"),
        }
    }
    for (i, style) in select(&b, "style").iter().enumerate() {
        assert_css_parses(
            &style.text().collect::<String>(),
            &format!("{name} <style> {i}"),
        );
    }
    for element in select(&b, "[style]") {
        let value = element.value().attr("style").unwrap_or_default();
        assert!(
            StyleAttribute::parse(value, ParserOptions::default()).is_ok(),
            "{name}: style attribute {value:?} parses"
        );
    }
}

#[test]
fn pages_keep_their_dom_text_and_raw_contents() {
    for name in PAGES {
        check_page(name, &Config::default());
    }
}

#[test]
fn pages_stay_correct_without_inline_minification() {
    let config = Config {
        inline_js: false,
        inline_css: false,
        ..Config::default()
    };
    for name in PAGES {
        check_page(name, &config);
    }
}

#[test]
fn inline_js_is_left_byte_identical_when_disabled() {
    let config = Config {
        inline_js: false,
        ..Config::default()
    };
    let out = minified(Kind::Html, &config, &page("shop.html"));
    assert!(
        out.contains("function selectSize(button) {"),
        "script kept as written"
    );
    let minified_js = minified(Kind::Html, &Config::default(), &page("shop.html"));
    assert!(
        !minified_js.contains("function selectSize(button) {"),
        "and minified when enabled"
    );
}

#[test]
fn a_space_between_inline_elements_survives() {
    let out = minified(
        Kind::Html,
        &Config::default(),
        "<p>\n  <b>bold</b>   <i>italic</i>\n</p>\n",
    );
    let doc = Html::parse_document(&out);
    assert_eq!(block_texts(&doc), vec!["bold italic".to_string()], "{out}");
}

#[test]
fn comments_go_unless_kept() {
    let html = "<p>a</p>\n<!-- secret build info -->\n<p>b</p>\n";
    assert!(!minified(Kind::Html, &Config::default(), html).contains("secret"));
    let keep = Config {
        keep_comments: true,
        ..Config::default()
    };
    assert!(minified(Kind::Html, &keep, html).contains("secret"));
}

#[test]
fn standalone_css_parses_to_the_same_style_sheet() {
    let original = page("site.css");
    let out = minified(Kind::Css, &Config::default(), &original);
    assert_css_parses(&out, "minified site.css");
    // Re-minifying the output changes nothing: both print the same rules.
    let again = crate::css::minify(&out).expect("minified CSS minifies");
    assert_eq!(String::from_utf8(again).unwrap(), out);
    assert!(out.contains("@media (prefers-color-scheme:dark)"), "{out}");
}

#[test]
fn standalone_js_still_parses() {
    let out = minified(Kind::Js, &Config::default(), &page("app.js"));
    assert_js_parses(&out, SourceType::cjs(), "minified app.js");
    assert!(
        out.contains("acme.cart.v2") && out.contains("AcmeCart"),
        "strings and globals kept"
    );
}

#[test]
fn es_modules_are_minified_too() {
    let out = minified(
        Kind::Js,
        &Config::default(),
        "import { a } from './a.js';\nexport const   answer = a( 40 ) + 2;\n",
    );
    assert_js_parses(&out, SourceType::mjs(), "minified module");
}

#[test]
fn json_keeps_its_value() {
    let original = page("products.json");
    let out = minified(Kind::Json, &Config::default(), &original);
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&original).unwrap(),
        serde_json::from_str(&out).unwrap(),
    );
    assert_eq!(a, b);
}

#[test]
fn broken_input_is_reported_not_mangled() {
    let c = Config::default();
    assert!(matches!(
        minify_body(Kind::Js, &c, b"function (( {"),
        Outcome::Failed(_)
    ));
    assert!(matches!(
        minify_body(Kind::Css, &c, b"a { color: red; } }}} @media {"),
        Outcome::Failed(_)
    ));
    assert!(matches!(
        minify_body(Kind::Json, &c, b"{\"a\":"),
        Outcome::Failed(_)
    ));
    assert_eq!(
        minify_body(Kind::Html, &c, b"<p>caf\xe9</p>"),
        Outcome::NotUtf8
    );
    assert_eq!(
        minify_body(Kind::Css, &c, b"a{color:red}"),
        Outcome::NotSmaller
    );
}

#[test]
fn html_nested_too_deep_is_left_alone() {
    let nested = |n: usize| "<div>\n  ".repeat(n) + "deep" + &"</div>\n".repeat(n);
    let c = Config::default();
    let ok = nested(crate::depth::MAX_DEPTH);
    assert!(matches!(
        minify_body(Kind::Html, &c, ok.as_bytes()),
        Outcome::Smaller(_)
    ));
    let deep = nested(crate::depth::MAX_DEPTH + 1);
    assert_eq!(
        minify_body(Kind::Html, &c, deep.as_bytes()),
        Outcome::TooDeep
    );
}
