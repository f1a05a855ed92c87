//! The plugin's config (`config = { ... }` of `[[site.plugin]]`), validated at init.
use serde::Deserialize;

/// Largest accepted `max_bytes`: bodies are held in the guest's memory, twice (in and out).
pub const MAX_BYTES_LIMIT: u32 = 16 * 1024 * 1024;

/// A kind of response body the plugin can minify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Html,
    Css,
    Js,
    Json,
}

impl Kind {
    /// The name used in `types`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Html => "html",
            Kind::Css => "css",
            Kind::Js => "js",
            Kind::Json => "json",
        }
    }

    fn from_name(name: &str) -> Option<Kind> {
        [Kind::Html, Kind::Css, Kind::Js, Kind::Json]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

/// The config as written (every key optional).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    types: Option<Vec<String>>,
    max_bytes: Option<u32>,
    inline_js: Option<bool>,
    inline_css: Option<bool>,
    keep_comments: Option<bool>,
}

/// The validated config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Body kinds to minify.
    pub types: Vec<Kind>,
    /// Largest body minified; bigger ones pass through untouched.
    pub max_bytes: u32,
    /// Minify JavaScript inside HTML `<script>` elements.
    pub inline_js: bool,
    /// Minify CSS inside HTML `<style>` elements and `style` attributes.
    pub inline_css: bool,
    /// Keep HTML comments.
    pub keep_comments: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            types: vec![Kind::Html, Kind::Css, Kind::Js, Kind::Json],
            max_bytes: 1024 * 1024,
            inline_js: true,
            inline_css: true,
            keep_comments: false,
        }
    }
}

impl Config {
    /// Parses and validates the JSON config handed to `init`; errors name the field.
    pub fn parse(json: &str) -> Result<Config, String> {
        let raw: RawConfig = weir_plugin_sdk::parse_config(json)?;
        let defaults = Config::default();
        let types = match raw.types {
            None => defaults.types,
            Some(names) => parse_types(&names)?,
        };
        let max_bytes = raw.max_bytes.unwrap_or(defaults.max_bytes);
        if max_bytes == 0 || max_bytes > MAX_BYTES_LIMIT {
            return Err(format!(
                "invalid plugin config: max_bytes: {max_bytes} is out of range (1..={MAX_BYTES_LIMIT})"
            ));
        }
        Ok(Config {
            types,
            max_bytes,
            inline_js: raw.inline_js.unwrap_or(defaults.inline_js),
            inline_css: raw.inline_css.unwrap_or(defaults.inline_css),
            keep_comments: raw.keep_comments.unwrap_or(defaults.keep_comments),
        })
    }

    /// Whether bodies of `kind` are minified.
    pub fn wants(&self, kind: Kind) -> bool {
        self.types.contains(&kind)
    }
}

fn parse_types(names: &[String]) -> Result<Vec<Kind>, String> {
    if names.is_empty() {
        return Err(
            "invalid plugin config: types: empty (list at least one of html, css, js, json)".into(),
        );
    }
    let mut kinds = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let kind = Kind::from_name(name).ok_or_else(|| {
            format!("invalid plugin config: types[{i}]: unknown type {name:?} (expected html, css, js or json)")
        })?;
        if kinds.contains(&kind) {
            return Err(format!(
                "invalid plugin config: types[{i}]: {name:?} is listed twice"
            ));
        }
        kinds.push(kind);
    }
    Ok(kinds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_means_defaults() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
        assert_eq!(Config::parse("{}").unwrap(), Config::default());
    }

    #[test]
    fn every_key_is_read() {
        let c = Config::parse(
            r#"{"types":["css","json"],"max_bytes":4096,"inline_js":false,"inline_css":false,"keep_comments":true}"#,
        )
        .unwrap();
        assert_eq!(c.types, vec![Kind::Css, Kind::Json]);
        assert_eq!(c.max_bytes, 4096);
        assert!(!c.inline_js && !c.inline_css && c.keep_comments);
        assert!(c.wants(Kind::Css) && !c.wants(Kind::Html));
    }

    #[test]
    fn errors_name_the_field() {
        let e = Config::parse(r#"{"types":["html","xml"]}"#).unwrap_err();
        assert!(e.contains("types[1]") && e.contains("xml"), "{e}");
        let e = Config::parse(r#"{"types":["js","js"]}"#).unwrap_err();
        assert!(e.contains("types[1]") && e.contains("twice"), "{e}");
        let e = Config::parse(r#"{"types":[]}"#).unwrap_err();
        assert!(e.contains("types"), "{e}");
        let e = Config::parse(r#"{"max_bytes":0}"#).unwrap_err();
        assert!(e.contains("max_bytes"), "{e}");
        let e = Config::parse(r#"{"max_bytes":99999999}"#).unwrap_err();
        assert!(e.contains("max_bytes"), "{e}");
        let e = Config::parse(r#"{"max_bytes":"big"}"#).unwrap_err();
        assert!(e.contains("max_bytes") || e.contains("invalid type"), "{e}");
        let e = Config::parse(r#"{"typo":1}"#).unwrap_err();
        assert!(e.contains("typo"), "{e}");
    }
}
