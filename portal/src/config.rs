//! The portal's settings, layered: defaults → TOML file → `WEIR_*` environment → command-line
//! flags, then [`PortalConfig::validate`]. Secrets (database and SMTP URLs may carry
//! passwords) are [`Secret`]s, so `Debug` output and logs never show them.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use weir_bundle::{Problems, Secret};

/// Everything `weir portal` needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortalConfig {
    /// HTTP listen address.
    pub listen: String,
    /// Where SQLite keeps its file (when `database_url` is unset) and other local state.
    pub data_dir: PathBuf,
    /// `sqlite:PATH` or `postgres://USER@HOST/DB`; default `sqlite:DATA_DIR/portal.db`.
    pub database_url: Option<Secret>,
    /// The address users reach the portal at; links in emails start with it, and cookies are
    /// `Secure` when it is `https://`. Unset (empty): `http://LISTEN`.
    pub public_url: String,
    /// Outgoing email.
    pub smtp: SmtpSettings,
    /// Sign-in rules.
    pub auth: AuthSettings,
    /// Node liveness.
    pub nodes: NodeSettings,
    /// `[retention]`: days of traffic rollups kept, by tenant plan (`free = 7`). A tenant on a
    /// plan not listed keeps the longest listed.
    pub retention: BTreeMap<String, u32>,
}

/// `[nodes]`: how often nodes report and when a node counts as offline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeSettings {
    /// A node with no heartbeat for this many seconds is offline (3 missed heartbeats of 5 s).
    pub offline_after_s: u32,
    /// How often nodes send heartbeats (told to each node when it connects).
    pub heartbeat_ms: u32,
}

impl Default for NodeSettings {
    fn default() -> Self {
        NodeSettings {
            offline_after_s: 15,
            heartbeat_ms: 5_000,
        }
    }
}

/// `[smtp]`: where and as whom email is sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpSettings {
    /// `smtp://HOST:PORT` (plain; `?tls=required` for STARTTLS) or `smtps://HOST:PORT`, with
    /// optional `USER:PASSWORD@`.
    pub url: Secret,
    /// The From address, e.g. `Weir <noreply@example.com>`.
    pub from: String,
    /// How often the outbox is drained, in ms.
    pub poll_ms: u64,
    /// Attempts before a message is given up (kept, marked failed).
    pub max_attempts: u32,
}

/// `[auth]`: sessions and sign-in throttling.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// How long a session lasts, in hours.
    pub session_hours: u32,
    /// Failed sign-ins per email (or per client address, ×4) within `login_window_s` before
    /// further attempts get 429.
    pub login_max_failures: u32,
    /// The sign-in throttling window, in seconds.
    pub login_window_s: u32,
    /// Argon2id memory cost in KiB (OWASP: ≥ 19456).
    pub argon2_memory_kib: u32,
}

impl Default for PortalConfig {
    fn default() -> Self {
        PortalConfig {
            listen: "127.0.0.1:7070".into(),
            data_dir: PathBuf::from("weir-data"),
            database_url: None,
            public_url: String::new(),
            smtp: SmtpSettings::default(),
            auth: AuthSettings::default(),
            nodes: NodeSettings::default(),
            retention: BTreeMap::from([("free".to_string(), 7)]),
        }
    }
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            url: Secret::new("smtp://127.0.0.1:25"),
            from: "Weir <noreply@localhost>".into(),
            poll_ms: 1_000,
            max_attempts: 12,
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            session_hours: 24 * 14,
            login_max_failures: 5,
            login_window_s: 15 * 60,
            argon2_memory_kib: 19_456,
        }
    }
}

/// Values given on the command line (the last layer).
#[derive(Debug, Default, Clone)]
pub struct Flags {
    /// `--listen`.
    pub listen: Option<String>,
    /// `--database-url`.
    pub database_url: Option<String>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--public-url`.
    pub public_url: Option<String>,
}

/// Why the config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown keys.
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    /// An environment variable has a value of the wrong type.
    #[error("{name}: {message}")]
    Env { name: String, message: String },
    /// The merged config has problems (each names its key).
    #[error("{0}")]
    Invalid(Problems),
}

impl PortalConfig {
    /// Loads the layers: `file` (when given; a missing file is an error), the environment
    /// (`env` is usually `std::env::vars()`), then `flags`. Validates the result.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: &Flags,
    ) -> Result<PortalConfig, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?
            }
            None => PortalConfig::default(),
        };
        for (name, value) in env {
            config.apply_env(&name, value)?;
        }
        if let Some(v) = &flags.listen {
            config.listen = v.clone();
        }
        if let Some(v) = &flags.database_url {
            config.database_url = Some(Secret::new(v.clone()));
        }
        if let Some(v) = &flags.data_dir {
            config.data_dir = v.clone();
        }
        if let Some(v) = &flags.public_url {
            config.public_url = v.clone();
        }
        if config.public_url.is_empty() {
            config.public_url = format!("http://{}", config.listen);
        }
        config
            .validate()
            .into_result()
            .map_err(ConfigError::Invalid)?;
        Ok(config)
    }

    fn apply_env(&mut self, name: &str, value: String) -> Result<(), ConfigError> {
        let number = |value: &str| {
            value.parse::<u64>().map_err(|_| ConfigError::Env {
                name: name.to_string(),
                message: format!("`{value}` is not a whole number"),
            })
        };
        match name {
            "WEIR_LISTEN" => self.listen = value,
            "WEIR_DATA_DIR" => self.data_dir = PathBuf::from(value),
            "WEIR_DATABASE_URL" => self.database_url = Some(Secret::new(value)),
            "WEIR_PUBLIC_URL" => self.public_url = value,
            "WEIR_SMTP_URL" => self.smtp.url = Secret::new(value),
            "WEIR_SMTP_FROM" => self.smtp.from = value,
            "WEIR_SMTP_POLL_MS" => self.smtp.poll_ms = number(&value)?,
            "WEIR_NODES_OFFLINE_AFTER_S" => {
                self.nodes.offline_after_s = u32::try_from(number(&value)?).unwrap_or(u32::MAX)
            }
            "WEIR_NODES_HEARTBEAT_MS" => {
                self.nodes.heartbeat_ms = u32::try_from(number(&value)?).unwrap_or(u32::MAX)
            }
            _ => {
                if let Some(plan) = name.strip_prefix("WEIR_RETENTION_") {
                    let days = u32::try_from(number(&value)?).unwrap_or(u32::MAX);
                    self.retention.insert(plan.to_ascii_lowercase(), days);
                }
            }
        }
        Ok(())
    }

    /// The database URL in effect (the SQLite file in `data_dir` by default).
    pub fn database_url(&self) -> Secret {
        self.database_url.clone().unwrap_or_else(|| {
            Secret::new(format!(
                "sqlite:{}",
                self.data_dir.join("portal.db").display()
            ))
        })
    }

    /// Whether cookies get the `Secure` attribute.
    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The public URL without a trailing `/`.
    pub fn base_url(&self) -> &str {
        self.public_url.trim_end_matches('/')
    }

    /// Days of rollups kept for a tenant on `plan`: its own setting, else the longest one
    /// listed (a plan missing from the config never loses data early).
    pub fn retention_days(&self, plan: &str) -> u32 {
        self.retention
            .get(plan)
            .or_else(|| self.retention.values().max())
            .copied()
            .unwrap_or(7)
    }

    /// Every problem, by key.
    pub fn validate(&self) -> Problems {
        let mut p = Problems::default();
        if self.listen.parse::<SocketAddr>().is_err() {
            p.push("listen", format!("`{}` is not ip:port", self.listen));
        }
        match url::Url::parse(&self.public_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => p.push(
                "public_url",
                format!("`{}` is not an http(s) URL", self.public_url),
            ),
        }
        if let Some(db) = &self.database_url {
            let url = db.expose();
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
            {
                p.push(
                    "database_url",
                    "must start with sqlite: or postgres:// (value hidden: it may hold a password)",
                );
            }
        }
        match url::Url::parse(self.smtp.url.expose()) {
            Ok(u) if matches!(u.scheme(), "smtp" | "smtps") && u.host().is_some() => {}
            _ => p.push(
                "smtp.url",
                "must be smtp://HOST:PORT or smtps://HOST:PORT (value hidden: it may hold a password)",
            ),
        }
        if self.smtp.from.parse::<lettre::message::Mailbox>().is_err() {
            p.push(
                "smtp.from",
                format!("`{}` is not an email address", self.smtp.from),
            );
        }
        if !(10..=60_000).contains(&self.smtp.poll_ms) {
            p.push("smtp.poll_ms", "must be between 10 and 60000 ms");
        }
        if !(1..=100).contains(&self.smtp.max_attempts) {
            p.push("smtp.max_attempts", "must be between 1 and 100");
        }
        if !(1..=24 * 90).contains(&self.auth.session_hours) {
            p.push("auth.session_hours", "must be between 1 and 2160 hours");
        }
        if !(1..=1000).contains(&self.auth.login_max_failures) {
            p.push("auth.login_max_failures", "must be between 1 and 1000");
        }
        if !(10..=86_400).contains(&self.auth.login_window_s) {
            p.push(
                "auth.login_window_s",
                "must be between 10 and 86400 seconds",
            );
        }
        if !(1024..=1 << 20).contains(&self.auth.argon2_memory_kib) {
            p.push(
                "auth.argon2_memory_kib",
                "must be between 1024 and 1048576 KiB",
            );
        }
        let offline_ok = (1..=86_400).contains(&self.nodes.offline_after_s);
        if !offline_ok {
            p.push(
                "nodes.offline_after_s",
                "must be between 1 and 86400 seconds",
            );
        }
        if !(200..=300_000).contains(&self.nodes.heartbeat_ms) {
            p.push("nodes.heartbeat_ms", "must be between 200 and 300000 ms");
        } else if offline_ok
            && u64::from(self.nodes.heartbeat_ms) * 2 > u64::from(self.nodes.offline_after_s) * 1000
        {
            p.push(
                "nodes.heartbeat_ms",
                "must be at most half of nodes.offline_after_s, or every node looks offline between heartbeats",
            );
        }
        if self.retention.is_empty() {
            p.push("retention", "list at least one plan, e.g. free = 7");
        }
        for (plan, days) in &self.retention {
            if plan.is_empty() || plan.len() > 64 {
                p.push(
                    format!("retention.{plan}"),
                    "plan names are 1-64 characters",
                );
            }
            if !(1..=3650).contains(days) {
                p.push(
                    format!("retention.{plan}"),
                    "must be between 1 and 3650 days",
                );
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn layers_apply_in_order_file_env_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("portal.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:7001\"\npublic_url = \"https://portal.example\"\n[smtp]\nfrom = \"Ops <ops@example.com>\"\n",
        )
        .unwrap();
        let c = PortalConfig::load(
            Some(&file),
            env(&[
                ("WEIR_LISTEN", "127.0.0.1:7002"),
                ("WEIR_SMTP_URL", "smtp://user:hunter2@mail.example:587"),
                ("HOME", "/root"),
            ]),
            &Flags {
                listen: Some("127.0.0.1:7003".into()),
                ..Flags::default()
            },
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:7003");
        assert_eq!(c.public_url, "https://portal.example");
        assert!(c.https());
        assert_eq!(c.smtp.from, "Ops <ops@example.com>");
        assert_eq!(c.smtp.url.expose(), "smtp://user:hunter2@mail.example:587");
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(
            c.database_url().expose(),
            format!("sqlite:{}", Path::new("weir-data/portal.db").display())
        );
    }

    #[test]
    fn the_public_url_follows_the_listen_address_unless_set() {
        let flags = Flags {
            listen: Some("127.0.0.1:7171".into()),
            ..Flags::default()
        };
        let c = PortalConfig::load(None, [], &flags).unwrap();
        assert_eq!(c.public_url, "http://127.0.0.1:7171");
        assert!(!c.https());
        let c = PortalConfig::load(
            None,
            env(&[("WEIR_PUBLIC_URL", "https://p.example")]),
            &flags,
        )
        .unwrap();
        assert_eq!(c.base_url(), "https://p.example");
    }

    #[test]
    fn node_and_retention_settings_layer_and_validate() {
        let c = PortalConfig::load(None, [], &Flags::default()).unwrap();
        assert_eq!(c.nodes.offline_after_s, 15);
        assert_eq!(c.retention_days("free"), 7);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("portal.toml");
        std::fs::write(
            &file,
            "[nodes]\noffline_after_s = 30\n[retention]\nfree = 3\npro = 90\n",
        )
        .unwrap();
        let c = PortalConfig::load(
            Some(&file),
            env(&[
                ("WEIR_NODES_OFFLINE_AFTER_S", "20"),
                ("WEIR_RETENTION_FREE", "5"),
            ]),
            &Flags::default(),
        )
        .unwrap();
        assert_eq!(c.nodes.offline_after_s, 20);
        assert_eq!(
            (
                c.retention_days("free"),
                c.retention_days("pro"),
                c.retention_days("team")
            ),
            (5, 90, 90),
            "an unlisted plan keeps the longest"
        );
        std::fs::write(
            &file,
            "[nodes]\noffline_after_s = 0\n[retention]\nfree = 0\n",
        )
        .unwrap();
        let Err(ConfigError::Invalid(p)) = PortalConfig::load(Some(&file), [], &Flags::default())
        else {
            panic!("expected problems");
        };
        let fields: Vec<&str> = p.0.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, ["nodes.offline_after_s", "retention.free"]);
        // Heartbeats: from the environment, and never so rare that nodes look offline.
        let c = PortalConfig::load(
            None,
            env(&[("WEIR_NODES_HEARTBEAT_MS", "1000")]),
            &Flags::default(),
        )
        .unwrap();
        assert_eq!(c.nodes.heartbeat_ms, 1000);
        std::fs::write(&file, "[nodes]\nheartbeat_ms = 9000\n").unwrap();
        let Err(ConfigError::Invalid(p)) = PortalConfig::load(Some(&file), [], &Flags::default())
        else {
            panic!("expected problems");
        };
        assert_eq!(p.0[0].field, "nodes.heartbeat_ms");
        assert!(
            p.0[0].message.contains("half of nodes.offline_after_s"),
            "{p}"
        );
    }

    #[test]
    fn bad_values_are_named_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("portal.toml");
        std::fs::write(&file, "listen = \"nowhere\"\n[smtp]\nfrom = \"not an address\"\nurl = \"http://x:secretpw@y\"\n").unwrap();
        let Err(ConfigError::Invalid(p)) = PortalConfig::load(Some(&file), [], &Flags::default())
        else {
            panic!("expected problems");
        };
        let fields: Vec<&str> = p.0.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, ["listen", "smtp.url", "smtp.from"]);
        assert!(!p.to_string().contains("secretpw"));
        std::fs::write(&file, "lisen = \"127.0.0.1:1\"\n").unwrap();
        let e = PortalConfig::load(Some(&file), [], &Flags::default()).unwrap_err();
        assert!(e.to_string().contains("unknown field `lisen`"), "{e}");
        let e = PortalConfig::load(
            None,
            env(&[("WEIR_SMTP_POLL_MS", "soon")]),
            &Flags::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "WEIR_SMTP_POLL_MS: `soon` is not a whole number"
        );
    }
}
