//! The site form: a site as its inputs show it (hosts one a line, the pool, retry-after, the
//! rate limit, the plugin chain as rows), the API body built from them, and where a site
//! problem's field path is shown.

use super::config_forms::{enum_name, object, row_input, set_or_remove, ItemForm};
use super::forms::{number, FieldErrors, Fields};
use super::render::UiError;
use crate::app::AppState;
use crate::tenant_config::Kind;
use serde::Serialize;
use serde_json::{json, Map, Value};
use weir_bundle::{Bundle, Site};

/// A site form as typed.
#[derive(Debug, Default, Serialize)]
pub struct SiteForm {
    id: String,
    hosts: String,
    pool: String,
    retry_after_s: String,
    rate: String,
    burst: String,
    plugins: Vec<PluginRow>,
    /// The maintenance page's HTML ("" = Weir's page).
    error_page_html: String,
    /// The certificate chain (PEM; "" = no TLS).
    cert_pem: String,
    /// A new private key (PEM); never filled in from the stored site.
    key_pem: String,
    /// Whether the stored site has a key (a blank key input keeps it).
    has_key: bool,
}

/// One plugin row as typed.
#[derive(Debug, Default, Serialize)]
struct PluginRow {
    name: String,
    source: String,
    config: String,
    on_error: String,
    deadline_ms: String,
    memory_mb: String,
    max_body_bytes: String,
}

const PLUGIN_KEYS: &[&str] = &[
    "name",
    "source",
    "config",
    "on_error",
    "deadline_ms",
    "memory_mb",
    "max_body_bytes",
];

impl ItemForm for SiteForm {
    type Item = Site;
    const KIND: Kind = Kind::Site;
    const NOUN: &'static str = "Site";
    const NAV: &'static str = "sites";
    const LIST_TEMPLATE: &'static str = "sites.html";
    const FORM_TEMPLATE: &'static str = "site_form.html";

    fn items(bundle: &Bundle) -> &[Site] {
        &bundle.sites
    }

    fn item_id(site: &Site) -> &str {
        &site.id
    }

    fn list(bundle: &Bundle) -> Value {
        json!({"sites": bundle.sites})
    }

    fn blank() -> SiteForm {
        SiteForm {
            retry_after_s: "30".into(),
            ..SiteForm::default()
        }
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn from_item(site: &Site) -> SiteForm {
        SiteForm {
            id: site.id.clone(),
            hosts: site.hosts.join("\n"),
            pool: site.pool.clone(),
            retry_after_s: site.retry_after_s.to_string(),
            rate: site
                .rate_limit
                .as_ref()
                .map(|r| r.rate.to_string())
                .unwrap_or_default(),
            burst: site
                .rate_limit
                .as_ref()
                .map(|r| r.burst.to_string())
                .unwrap_or_default(),
            error_page_html: site.error_page_html.clone().unwrap_or_default(),
            cert_pem: site
                .tls
                .as_ref()
                .and_then(|t| t.cert_pem.clone())
                .unwrap_or_default(),
            key_pem: String::new(),
            has_key: site.tls.as_ref().is_some_and(|t| t.key_pem.is_some()),
            plugins: site
                .plugins
                .iter()
                .map(|p| PluginRow {
                    name: p.name.clone(),
                    source: p.source.clone(),
                    config: serde_json::to_string_pretty(&p.config).unwrap_or_default(),
                    on_error: enum_name(p.on_error),
                    deadline_ms: p.deadline_ms.to_string(),
                    memory_mb: p.memory_mb.to_string(),
                    max_body_bytes: p.max_body_bytes.to_string(),
                })
                .collect(),
        }
    }

    fn from_fields(f: &Fields, id: &str) -> SiteForm {
        let plugins = f
            .rows("plugin")
            .into_iter()
            .map(|mut row| {
                let mut take = |k: &str| row.remove(k).unwrap_or_default();
                PluginRow {
                    name: take("name").trim().to_string(),
                    source: take("source").trim().to_string(),
                    config: take("config"),
                    on_error: take("on_error"),
                    deadline_ms: take("deadline_ms"),
                    memory_mb: take("memory_mb"),
                    max_body_bytes: take("max_body_bytes"),
                }
            })
            .filter(|r| {
                !(r.name.is_empty() && r.source.is_empty() && matches!(r.config.trim(), "" | "{}"))
            })
            .collect();
        SiteForm {
            id: id.trim().to_string(),
            hosts: f.get("hosts").to_string(),
            pool: f.get("pool").trim().to_string(),
            retry_after_s: f.get("retry_after_s").to_string(),
            rate: f.get("rate_limit.rate").to_string(),
            burst: f.get("rate_limit.burst").to_string(),
            plugins,
            error_page_html: f.get("error_page_html").to_string(),
            cert_pem: f.get("tls.cert_pem").trim().to_string(),
            key_pem: f.get("tls.key_pem").trim().to_string(),
            has_key: f.get("has_key") == "1",
        }
    }

    fn body(&self, base: Option<Value>, errors: &mut FieldErrors) -> Value {
        let mut body = object(base);
        let hosts: Vec<Value> = self
            .hosts
            .lines()
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(|h| Value::String(h.to_string()))
            .collect();
        body.insert("hosts".into(), Value::Array(hosts));
        body.insert("pool".into(), Value::String(self.pool.clone()));
        let retry = number::<u32>(errors, "retry_after_s", &self.retry_after_s).map(Value::from);
        set_or_remove(&mut body, "retry_after_s", retry);
        let rate = number::<f64>(errors, "rate_limit.rate", &self.rate);
        let burst = number::<u32>(errors, "rate_limit.burst", &self.burst);
        let limit = match (self.rate.trim().is_empty(), self.burst.trim().is_empty()) {
            (true, true) => None,
            (false, true) => {
                errors.add("rate_limit.burst", "give a burst too (or clear the rate)");
                None
            }
            (true, false) => {
                errors.add("rate_limit.rate", "give a rate too (or clear the burst)");
                None
            }
            (false, false) => match (rate, burst) {
                (Some(rate), Some(burst)) => Some(json!({"rate": rate, "burst": burst})),
                _ => None,
            },
        };
        set_or_remove(&mut body, "rate_limit", limit);
        let page = (!self.error_page_html.trim().is_empty())
            .then(|| Value::String(self.error_page_html.clone()));
        set_or_remove(&mut body, "error_page_html", page);
        body.remove("error_page");
        // A blank key keeps the stored one (the service fills it in); no certificate, no TLS.
        let tls = match (self.cert_pem.is_empty(), self.key_pem.is_empty()) {
            (true, true) => None,
            (true, false) => {
                errors.add(
                    "tls.cert_pem",
                    "paste the certificate too (or clear the key)",
                );
                None
            }
            (false, true) => Some(json!({"cert_pem": self.cert_pem})),
            (false, false) => Some(json!({"cert_pem": self.cert_pem, "key_pem": self.key_pem})),
        };
        set_or_remove(&mut body, "tls", tls);
        let mut chain = Vec::new();
        for (j, row) in self.plugins.iter().enumerate() {
            let at = |key: &str| format!("plugin[{j}].{key}");
            let mut p = Map::new();
            p.insert("name".into(), Value::String(row.name.clone()));
            p.insert("source".into(), Value::String(row.source.clone()));
            let config = if row.config.trim().is_empty() {
                json!({})
            } else {
                match serde_json::from_str::<Value>(&row.config) {
                    Ok(v) => v,
                    Err(e) => {
                        errors.add(at("config"), format!("is not valid JSON: {e}"));
                        json!({})
                    }
                }
            };
            p.insert("config".into(), config);
            if !row.on_error.is_empty() {
                if matches!(
                    row.on_error.as_str(),
                    "fail_closed" | "fail_open" | "reload"
                ) {
                    p.insert("on_error".into(), Value::String(row.on_error.clone()));
                } else {
                    errors.add(at("on_error"), "must be fail_closed, fail_open or reload");
                }
            }
            for key in ["deadline_ms", "memory_mb", "max_body_bytes"] {
                let raw = match key {
                    "deadline_ms" => &row.deadline_ms,
                    "memory_mb" => &row.memory_mb,
                    _ => &row.max_body_bytes,
                };
                if let Some(n) = number::<u64>(errors, &at(key), raw) {
                    p.insert(key.into(), Value::from(n));
                }
            }
            chain.push(Value::Object(p));
        }
        body.insert("plugin".into(), Value::Array(chain));
        Value::Object(body)
    }

    fn place_problem(field: &str) -> Option<String> {
        match field {
            "id" | "pool" | "retry_after_s" | "rate_limit.rate" | "rate_limit.burst"
            | "error_page_html" | "tls.cert_pem" | "tls.key_pem" => return Some(field.into()),
            "error_page" => return Some("error_page_html".into()),
            "tls.cert" => return Some("tls.cert_pem".into()),
            "tls.key" => return Some("tls.key_pem".into()),
            "rate_limit" => return Some("rate_limit.rate".into()),
            "hosts" => return Some("hosts".into()),
            _ => {}
        }
        if field.starts_with("hosts[") {
            return Some("hosts".into());
        }
        row_input(field, "plugin", PLUGIN_KEYS)
    }

    /// The pools to send to, and the plugin sources (built-in, uploaded) for the chain; a value
    /// typed that is not (or no longer) among them stays offered.
    async fn choices(
        &self,
        s: &AppState,
        tenant: &str,
        bundle: &Bundle,
    ) -> Result<Vec<(&'static str, Value)>, UiError> {
        let mut pools: Vec<String> = bundle.pools.iter().map(|p| p.id.clone()).collect();
        if !self.pool.is_empty() && !pools.contains(&self.pool) {
            pools.push(self.pool.clone());
        }
        let mut sources: Vec<Value> = weir_proxy::builtin_plugin_names()
            .into_iter()
            .map(|n| json!({"value": format!("builtin:{n}"), "label": format!("{n} (built-in)")}))
            .collect();
        for v in s.registry.list(tenant).await? {
            sources.push(json!({"value": format!("registry:{}@{}", v.name, v.version), "label": format!("{} v{} (uploaded)", v.name, v.version)}));
        }
        for row in &self.plugins {
            if !row.source.is_empty() && !sources.iter().any(|x| x["value"] == row.source.as_str())
            {
                sources.push(json!({"value": row.source, "label": row.source}));
            }
        }
        Ok(vec![("pools", json!(pools)), ("sources", json!(sources))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_form_builds_the_api_body_and_flags_typing_mistakes() {
        let f = Fields(vec![
            ("hosts".into(), " a.example \n\nb.example\n".into()),
            ("pool".into(), "web".into()),
            ("retry_after_s".into(), "".into()),
            ("rate_limit.rate".into(), "2.5".into()),
            ("rate_limit.burst".into(), "".into()),
            ("plugin[4].name".into(), "waf".into()),
            ("plugin[4].source".into(), "builtin:waf".into()),
            ("plugin[4].config".into(), "{\"paranoia\": 2}".into()),
            ("plugin[4].on_error".into(), "fail_open".into()),
            ("plugin[7].name".into(), "".into()),
            ("plugin[7].config".into(), "{}".into()),
            ("plugin[9].name".into(), "bad".into()),
            ("plugin[9].config".into(), "{oops".into()),
            (
                "tls.cert_pem".into(),
                " -----BEGIN CERTIFICATE-----x \n".into(),
            ),
            ("tls.key_pem".into(), "".into()),
            ("error_page_html".into(), "<h1>soon</h1>".into()),
        ]);
        let form = SiteForm::from_fields(&f, "shop");
        assert_eq!(form.plugins.len(), 2, "the empty row is dropped");
        let mut errors = FieldErrors::default();
        let body = form.body(
            Some(json!({"id": "shop", "tls": {"cert_pem": "old", "key_pem": "K"}, "retry_after_s": 9, "tenant": "t"})),
            &mut errors,
        );
        assert_eq!(body["hosts"], json!(["a.example", "b.example"]));
        assert_eq!(
            body["tenant"], "t",
            "fields the form does not show are kept"
        );
        assert_eq!(
            body["tls"],
            json!({"cert_pem": "-----BEGIN CERTIFICATE-----x"}),
            "a blank key is left out, so the stored key is kept"
        );
        assert_eq!(body["error_page_html"], "<h1>soon</h1>");
        assert!(
            body.get("retry_after_s").is_none(),
            "an empty number means the default"
        );
        assert_eq!(body["plugin"][0]["config"]["paranoia"], 2);
        assert_eq!(body["plugin"][0]["on_error"], "fail_open");
        let keys: Vec<&str> = errors.0.keys().map(String::as_str).collect();
        assert_eq!(keys, ["plugin[1].config", "rate_limit.burst"]);
    }
}
