//! HTML minification with minify-html (spec-compliant settings only).
use crate::config::Config;

/// Minifies an HTML document. Inline `<script>`/`<style>` are minified as the config says;
/// `<pre>`, `<textarea>` and non-JavaScript `<script>` contents are kept as they are.
pub fn minify(html: &str, config: &Config) -> Vec<u8> {
    let mut cfg = minify_html::Cfg::new();
    cfg.minify_js = config.inline_js;
    cfg.minify_css = config.inline_css;
    cfg.keep_comments = config.keep_comments;
    // The `allow_*` / `minify_doctype` options may produce non-compliant HTML: left off.
    minify_html::minify(html.as_bytes(), &cfg)
}
