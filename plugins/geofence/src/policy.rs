//! The geofence config (validated at `init`, every error naming its field) and the decision
//! for one request: the rule of the longest matching path prefix, else the site-wide rule.

use crate::path::normalise;
use serde::Deserialize;

/// Whether the listed countries are the only ones let in, or the ones kept out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Only the listed countries pass.
    Allow,
    /// The listed countries are blocked.
    Deny,
}

/// What happens to a request whose country is not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unknown {
    /// Let it through.
    Allow,
    /// Block it.
    Block,
}

/// The plugin's `config` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default = "default_mode")]
    mode: Mode,
    #[serde(default)]
    countries: Vec<String>,
    #[serde(default = "default_unknown")]
    unknown: Unknown,
    #[serde(default = "default_status")]
    status: u16,
    #[serde(default)]
    paths: Vec<RawPathRule>,
}

/// One `paths` entry as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPathRule {
    prefix: String,
    mode: Mode,
    countries: Vec<String>,
    #[serde(default)]
    unknown: Option<Unknown>,
}

fn default_mode() -> Mode {
    Mode::Deny
}

fn default_unknown() -> Unknown {
    Unknown::Allow
}

fn default_status() -> u16 {
    451
}

/// One allow- or deny-list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    mode: Mode,
    /// Upper-case ISO 3166-1 alpha-2 codes.
    countries: Vec<[u8; 2]>,
    unknown: Unknown,
}

/// The validated config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The status of a blocked request: 451 or 403.
    pub status: u16,
    site: Rule,
    /// Path rules, longest prefix first.
    paths: Vec<(String, Rule)>,
}

/// A two-letter code in upper case, or `None` when `code` is not two ASCII letters.
pub fn country_code(code: &str) -> Option<[u8; 2]> {
    match code.as_bytes() {
        [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            Some([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
        }
        _ => None,
    }
}

fn countries(field: &str, list: &[String]) -> Result<Vec<[u8; 2]>, String> {
    list.iter()
        .enumerate()
        .map(|(i, c)| {
            country_code(c).ok_or_else(|| {
                format!("{field}[{i}]: `{c}` is not a two-letter ISO 3166-1 country code")
            })
        })
        .collect()
}

impl Rule {
    /// Whether a request from `country` (`None`: unknown) is blocked.
    fn blocks(&self, country: Option<[u8; 2]>) -> bool {
        match country {
            None => self.unknown == Unknown::Block,
            Some(c) => {
                let listed = self.countries.contains(&c);
                match self.mode {
                    Mode::Allow => !listed,
                    Mode::Deny => listed,
                }
            }
        }
    }
}

impl Policy {
    /// Parses and checks the JSON config given to `init`.
    pub fn parse(json: &str) -> Result<Policy, String> {
        let raw: RawConfig = weir_plugin_sdk::parse_config(json)?;
        if raw.status != 451 && raw.status != 403 {
            return Err(format!("status: must be 451 or 403, got {}", raw.status));
        }
        let site = Rule {
            mode: raw.mode,
            countries: countries("countries", &raw.countries)?,
            unknown: raw.unknown,
        };
        let mut paths = Vec::with_capacity(raw.paths.len());
        for (i, p) in raw.paths.iter().enumerate() {
            if !p.prefix.starts_with('/') {
                return Err(format!(
                    "paths[{i}].prefix: must start with '/', got {:?}",
                    p.prefix
                ));
            }
            let prefix = normalise(&p.prefix);
            if paths
                .iter()
                .any(|(other, _): &(String, Rule)| *other == prefix)
            {
                return Err(format!("paths[{i}].prefix: `{}` is listed twice", p.prefix));
            }
            let rule = Rule {
                mode: p.mode,
                countries: countries(&format!("paths[{i}].countries"), &p.countries)?,
                unknown: p.unknown.unwrap_or(raw.unknown),
            };
            paths.push((prefix, rule));
        }
        paths.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        Ok(Policy {
            status: raw.status,
            site,
            paths,
        })
    }

    /// The rule for `path`: the longest matching prefix, else the site-wide rule.
    fn rule_for(&self, path: &str) -> &Rule {
        let path = normalise(path);
        self.paths
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix.as_str()))
            .map_or(&self.site, |(_, rule)| rule)
    }

    /// Whether a request for `path` from `country` (as the host resolved it; `None` or
    /// anything but two letters counts as unknown) is blocked.
    pub fn blocks(&self, path: &str, country: Option<&str>) -> bool {
        self.rule_for(path).blocks(country.and_then(country_code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: &str) -> Policy {
        Policy::parse(json).expect("valid config")
    }

    #[test]
    fn allow_and_deny_lists() {
        let allow = policy(r#"{"mode": "allow", "countries": ["DE", "fr"]}"#);
        assert!(!allow.blocks("/", Some("DE")));
        assert!(!allow.blocks("/", Some("FR")), "lower case is normalised");
        assert!(!allow.blocks("/", Some("de")));
        assert!(allow.blocks("/", Some("US")));
        assert_eq!(allow.status, 451);
        let deny = policy(r#"{"mode": "deny", "countries": ["US"], "status": 403}"#);
        assert!(deny.blocks("/x", Some("US")));
        assert!(!deny.blocks("/x", Some("DE")));
        assert_eq!(deny.status, 403);
        let nothing = policy("{}");
        assert!(!nothing.blocks("/", Some("US")));
        assert!(!nothing.blocks("/", None));
    }

    #[test]
    fn unknown_countries_follow_their_policy() {
        let open = policy(r#"{"mode": "allow", "countries": ["DE"]}"#);
        assert!(!open.blocks("/", None), "default: unknown passes");
        assert!(
            !open.blocks("/", Some("--")),
            "not a code counts as unknown"
        );
        let closed = policy(r#"{"mode": "deny", "countries": ["US"], "unknown": "block"}"#);
        assert!(closed.blocks("/", None));
        assert!(!closed.blocks("/", Some("DE")));
    }

    #[test]
    fn the_longest_path_prefix_wins() {
        let p = policy(
            r#"{"mode": "deny", "countries": [],
                "paths": [
                  {"prefix": "/eu/", "mode": "allow", "countries": ["DE", "FR"]},
                  {"prefix": "/eu/open/", "mode": "deny", "countries": []},
                  {"prefix": "/us", "mode": "allow", "countries": ["US"], "unknown": "block"}
                ]}"#,
        );
        assert!(!p.blocks("/shop", Some("US")), "site-wide rule");
        assert!(p.blocks("/eu/shop", Some("US")));
        assert!(!p.blocks("/eu/shop", Some("DE")));
        assert!(!p.blocks("/eu/open/x", Some("US")), "longer prefix wins");
        assert!(p.blocks("//eu/shop", Some("US")), "no dodging with //");
        assert!(p.blocks("/x/../eu/shop", Some("US")), "no dodging with ..");
        assert!(
            p.blocks("/%65u/shop", Some("US")),
            "no dodging with escapes"
        );
        assert!(p.blocks("/us/x", None), "path rule's own unknown policy");
        assert!(
            !p.blocks("/eu/x", None),
            "inherits the site's unknown policy"
        );
        assert!(!p.blocks("/us", Some("US")));
    }

    #[test]
    fn bad_configs_name_the_field() {
        let err = |json: &str| Policy::parse(json).expect_err("invalid");
        assert_eq!(
            err(r#"{"countries": ["DE", "D3"]}"#),
            "countries[1]: `D3` is not a two-letter ISO 3166-1 country code"
        );
        assert_eq!(
            err(r#"{"status": 404}"#),
            "status: must be 451 or 403, got 404"
        );
        assert_eq!(
            err(r#"{"paths": [{"prefix": "/a", "mode": "deny", "countries": ["USA"]}]}"#),
            "paths[0].countries[0]: `USA` is not a two-letter ISO 3166-1 country code"
        );
        assert_eq!(
            err(r#"{"paths": [{"prefix": "eu", "mode": "deny", "countries": []}]}"#),
            "paths[0].prefix: must start with '/', got \"eu\""
        );
        assert!(err(r#"{"mode": "maybe"}"#).contains("maybe"));
        assert!(err(r#"{"contries": []}"#).contains("contries"));
        assert!(err(r#"{"paths": [{"prefix": "/a"}]}"#).contains("mode"));
    }
}
