//! The WAF's site config (JSON from the site's `[[site.plugin]]` table), validated once at
//! `init` so a bad value is rejected when the node loads the config, naming the field.

use crate::rules;
use serde::Deserialize;
use std::net::IpAddr;

/// Largest body the host hands to a plugin's body hook.
pub const MAX_BODY_LIMIT: u32 = 64 * 1024;

/// Block (403) or only log and count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    #[default]
    Block,
    DetectOnly,
}

/// Things that are never inspected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawAllow {
    paths: Vec<String>,
    params: Vec<String>,
    ips: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    mode: Mode,
    paranoia: u8,
    allow: RawAllow,
    disabled_rules: Vec<u32>,
    max_body_bytes: u32,
}

impl Default for RawConfig {
    fn default() -> Self {
        RawConfig {
            mode: Mode::Block,
            paranoia: 1,
            allow: RawAllow::default(),
            disabled_rules: Vec::new(),
            max_body_bytes: MAX_BODY_LIMIT,
        }
    }
}

/// An allowlisted client network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    fn parse(text: &str) -> Result<Net, String> {
        let (ip, prefix) = match text.split_once('/') {
            Some((ip, p)) => (ip, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = ip
            .trim()
            .parse()
            .map_err(|_| "not an IP address".to_string())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("prefix length must be 0-{max}"))?,
            None => max,
        };
        Ok(Net { addr, prefix })
    }

    /// Whether `ip` lies in this network.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        let (a, b, bits) = match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(*b) as u128, 32),
            (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(*b), 128),
            _ => return false,
        };
        let shift = bits - u32::from(self.prefix);
        if shift >= 128 {
            return true;
        }
        (a >> shift) == (b >> shift)
    }
}

/// The validated config.
#[derive(Debug)]
pub struct Config {
    pub mode: Mode,
    pub paranoia: u8,
    /// Path prefixes that are not inspected.
    pub allow_paths: Vec<String>,
    /// Parameter names (query, body, cookie; case-insensitive) whose values are not inspected.
    pub allow_params: Vec<String>,
    pub allow_ips: Vec<Net>,
    pub disabled_rules: Vec<u32>,
    pub max_body_bytes: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config::from_raw(RawConfig::default())
            .unwrap_or_else(|_| unreachable!("defaults are valid"))
    }
}

impl Config {
    /// Parses and validates the JSON config; the error names the field and the reason.
    pub fn parse(json: &str) -> Result<Config, String> {
        let text = if json.trim().is_empty() { "{}" } else { json };
        let raw: RawConfig =
            serde_json::from_str(text).map_err(|e| format!("invalid waf config: {e}"))?;
        Config::from_raw(raw).map_err(|e| format!("invalid waf config: {e}"))
    }

    fn from_raw(raw: RawConfig) -> Result<Config, String> {
        if !(1..=2).contains(&raw.paranoia) {
            return Err(format!("paranoia: must be 1 or 2, got {}", raw.paranoia));
        }
        if raw.max_body_bytes > MAX_BODY_LIMIT {
            return Err(format!(
                "max_body_bytes: at most {MAX_BODY_LIMIT} (the host's body hook limit), got {}",
                raw.max_body_bytes
            ));
        }
        for (i, id) in raw.disabled_rules.iter().enumerate() {
            if rules::find(*id).is_none() {
                return Err(format!(
                    "disabled_rules[{i}]: unknown rule id {id} (see the rule table in the README)"
                ));
            }
        }
        for (i, p) in raw.allow.paths.iter().enumerate() {
            if !p.starts_with('/') {
                return Err(format!(
                    "allow.paths[{i}]: must start with \"/\", got {p:?}"
                ));
            }
        }
        for (i, p) in raw.allow.params.iter().enumerate() {
            if p.is_empty() {
                return Err(format!("allow.params[{i}]: must not be empty"));
            }
        }
        let mut allow_ips = Vec::new();
        for (i, ip) in raw.allow.ips.iter().enumerate() {
            allow_ips.push(Net::parse(ip).map_err(|e| format!("allow.ips[{i}]: {e}: {ip:?}"))?);
        }
        Ok(Config {
            mode: raw.mode,
            paranoia: raw.paranoia,
            allow_paths: raw.allow.paths,
            allow_params: raw
                .allow
                .params
                .iter()
                .map(|p| p.to_ascii_lowercase())
                .collect(),
            allow_ips,
            disabled_rules: raw.disabled_rules,
            max_body_bytes: raw.max_body_bytes,
        })
    }

    /// Whether requests from this client IP skip inspection.
    pub fn ip_allowed(&self, ip: &str) -> bool {
        match ip.parse::<IpAddr>() {
            Ok(ip) => self.allow_ips.iter().any(|n| n.contains(&ip)),
            Err(_) => false,
        }
    }

    /// Whether this (percent-encoded) path skips inspection.
    pub fn path_allowed(&self, path: &str) -> bool {
        self.allow_paths
            .iter()
            .any(|p| path.starts_with(p.as_str()))
    }

    /// Whether this parameter's value skips inspection.
    pub fn param_allowed(&self, name: &str) -> bool {
        !self.allow_params.is_empty()
            && self
                .allow_params
                .iter()
                .any(|p| p.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_block_at_paranoia_one() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.mode, Mode::Block);
        assert_eq!(c.paranoia, 1);
        let rules = rules::Rules::new(c.paranoia, &c.disabled_rules);
        assert!(rules.on(942100));
        assert!(!rules.on(942440), "a paranoia-2 rule is off at 1");
    }

    #[test]
    fn full_config_parses() {
        let c = Config::parse(
            r#"{"mode":"detect-only","paranoia":2,"allow":{"paths":["/health"],"params":["Token"],"ips":["10.0.0.0/8","::1"]},"disabled_rules":[942100],"max_body_bytes":1024}"#,
        )
        .unwrap();
        assert_eq!(c.mode, Mode::DetectOnly);
        let rules = rules::Rules::new(c.paranoia, &c.disabled_rules);
        assert!(!rules.on(942100));
        assert!(rules.on(942440));
        assert!(c.ip_allowed("10.1.2.3"));
        assert!(!c.ip_allowed("11.1.2.3"));
        assert!(c.ip_allowed("::1"));
        assert!(c.path_allowed("/health/live"));
        assert!(c.param_allowed("token"));
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (r#"{"paranoia":3}"#, "paranoia"),
            (r#"{"mode":"maybe"}"#, "unknown variant"),
            (r#"{"disabled_rules":[1,942100]}"#, "disabled_rules[0]"),
            (r#"{"allow":{"ips":["10.0.0.0/40"]}}"#, "allow.ips[0]"),
            (r#"{"allow":{"ips":["nope"]}}"#, "allow.ips[0]"),
            (r#"{"allow":{"paths":["health"]}}"#, "allow.paths[0]"),
            (r#"{"max_body_bytes":100000}"#, "max_body_bytes"),
            (r#"{"paranioa":1}"#, "unknown field"),
        ];
        for (json, want) in cases {
            let err = Config::parse(json).unwrap_err();
            assert!(err.contains(want), "{json}: {err}");
        }
    }
}
