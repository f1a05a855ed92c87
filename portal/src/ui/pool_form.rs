//! The pool form: a pool as its inputs show it (algorithm, backup, active health check, the
//! backends as rows), the API body built from them (keeping the passive health statuses and
//! the TLS CA the form does not show), and where a pool problem's field path is shown.

use super::config_forms::{enum_name, object, row_input, set_or_remove, ItemForm};
use super::forms::{number, FieldErrors, Fields};
use super::render::UiError;
use crate::app::AppState;
use crate::tenant_config::Kind;
use serde::Serialize;
use serde_json::{json, Map, Value};
use weir_bundle::{Bundle, Pool};

/// A pool form as typed.
#[derive(Debug, Default, Serialize)]
pub struct PoolForm {
    id: String,
    algorithm: String,
    backup: String,
    health_path: String,
    interval_ms: String,
    timeout_ms: String,
    fail_after: String,
    pass_after: String,
    backends: Vec<BackendRow>,
}

/// One backend row as typed.
#[derive(Debug, Default, Serialize)]
struct BackendRow {
    addr: String,
    weight: String,
    tls: bool,
    sni: String,
}

const BACKEND_KEYS: &[&str] = &["addr", "weight", "tls", "sni"];

impl ItemForm for PoolForm {
    type Item = Pool;
    const KIND: Kind = Kind::Pool;
    const NOUN: &'static str = "Pool";
    const NAV: &'static str = "pools";
    const LIST_TEMPLATE: &'static str = "pools.html";
    const FORM_TEMPLATE: &'static str = "pool_form.html";

    fn items(bundle: &Bundle) -> &[Pool] {
        &bundle.pools
    }

    fn item_id(pool: &Pool) -> &str {
        &pool.id
    }

    /// Each pool with the sites that send to it.
    fn list(bundle: &Bundle) -> Value {
        let rows: Vec<Value> = bundle
            .pools
            .iter()
            .map(|p| {
                let used_by: Vec<&str> = bundle
                    .sites
                    .iter()
                    .filter(|x| x.pool == p.id)
                    .map(|x| x.id.as_str())
                    .collect();
                json!({
                    "id": p.id,
                    "algorithm": enum_name(p.algorithm),
                    "backup": p.backup,
                    "backends": p.backends.iter().map(|b| b.addr.as_str()).collect::<Vec<_>>(),
                    "health_path": p.health.path,
                    "used_by": used_by,
                })
            })
            .collect();
        json!({"pools": rows})
    }

    /// The model's defaults, and one backend row to fill in.
    fn blank() -> PoolForm {
        let mut form = PoolForm::from_item(&Pool {
            id: String::new(),
            algorithm: Default::default(),
            backup: None,
            health: Default::default(),
            tls_ca: None,
            backends: Vec::new(),
        });
        form.backends.push(BackendRow {
            weight: "1".into(),
            ..BackendRow::default()
        });
        form
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn from_item(pool: &Pool) -> PoolForm {
        let h = &pool.health;
        PoolForm {
            id: pool.id.clone(),
            algorithm: enum_name(pool.algorithm),
            backup: pool.backup.clone().unwrap_or_default(),
            health_path: h.path.clone().unwrap_or_default(),
            interval_ms: h.interval_ms.to_string(),
            timeout_ms: h.timeout_ms.to_string(),
            fail_after: h.fail_after.to_string(),
            pass_after: h.pass_after.to_string(),
            backends: pool
                .backends
                .iter()
                .map(|b| BackendRow {
                    addr: b.addr.clone(),
                    weight: b.weight.to_string(),
                    tls: b.tls,
                    sni: b.sni.clone().unwrap_or_default(),
                })
                .collect(),
        }
    }

    fn from_fields(f: &Fields, id: &str) -> PoolForm {
        let backends = f
            .rows("backend")
            .into_iter()
            .map(|row| BackendRow {
                addr: row.get("addr").map_or("", |v| v.trim()).to_string(),
                weight: row.get("weight").cloned().unwrap_or_default(),
                tls: row.contains_key("tls"),
                sni: row.get("sni").map_or("", |v| v.trim()).to_string(),
            })
            .filter(|r| {
                !(r.addr.is_empty()
                    && r.sni.is_empty()
                    && !r.tls
                    && matches!(r.weight.trim(), "" | "1"))
            })
            .collect();
        PoolForm {
            id: id.trim().to_string(),
            algorithm: f.get("algorithm").to_string(),
            backup: f.get("backup").trim().to_string(),
            health_path: f.get("health_path").trim().to_string(),
            interval_ms: f.get("health.interval_ms").to_string(),
            timeout_ms: f.get("health.timeout_ms").to_string(),
            fail_after: f.get("health.fail_after").to_string(),
            pass_after: f.get("health.pass_after").to_string(),
            backends,
        }
    }

    fn body(&self, base: Option<Value>, errors: &mut FieldErrors) -> Value {
        let mut body = object(base);
        if matches!(
            self.algorithm.as_str(),
            "round_robin" | "weighted" | "least_conn"
        ) {
            body.insert("algorithm".into(), Value::String(self.algorithm.clone()));
        } else {
            errors.add(
                "algorithm",
                "choose round robin, weighted or least connections",
            );
        }
        let backup = (!self.backup.is_empty()).then(|| Value::String(self.backup.clone()));
        set_or_remove(&mut body, "backup", backup);
        let mut health = object(body.remove("health"));
        let path = (!self.health_path.is_empty()).then(|| Value::String(self.health_path.clone()));
        set_or_remove(&mut health, "path", path);
        for (key, raw) in [
            ("interval_ms", &self.interval_ms),
            ("timeout_ms", &self.timeout_ms),
            ("fail_after", &self.fail_after),
            ("pass_after", &self.pass_after),
        ] {
            let n = number::<u64>(errors, &format!("health.{key}"), raw).map(Value::from);
            set_or_remove(&mut health, key, n);
        }
        body.insert("health".into(), Value::Object(health));
        let mut backends = Vec::new();
        for (j, row) in self.backends.iter().enumerate() {
            let mut b = Map::new();
            b.insert("addr".into(), Value::String(row.addr.clone()));
            if let Some(w) = number::<u32>(errors, &format!("backend[{j}].weight"), &row.weight) {
                b.insert("weight".into(), Value::from(w));
            }
            b.insert("tls".into(), Value::Bool(row.tls));
            if !row.sni.is_empty() {
                b.insert("sni".into(), Value::String(row.sni.clone()));
            }
            backends.push(Value::Object(b));
        }
        body.insert("backend".into(), Value::Array(backends));
        Value::Object(body)
    }

    fn place_problem(field: &str) -> Option<String> {
        match field {
            "id" | "algorithm" | "backup" | "backend" | "health.interval_ms"
            | "health.timeout_ms" | "health.fail_after" | "health.pass_after" => Some(field.into()),
            "health.path" => Some("health_path".into()),
            _ => row_input(field, "backend", BACKEND_KEYS),
        }
    }

    /// The other pools, as backups; a typed backup that is not (or no longer) one stays offered.
    async fn choices(
        &self,
        _: &AppState,
        _: &str,
        bundle: &Bundle,
    ) -> Result<Vec<(&'static str, Value)>, UiError> {
        let mut others: Vec<String> = bundle
            .pools
            .iter()
            .map(|p| p.id.clone())
            .filter(|id| *id != self.id)
            .collect();
        if !self.backup.is_empty() && !others.contains(&self.backup) {
            others.push(self.backup.clone());
        }
        Ok(vec![("others", json!(others))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_form_keeps_hidden_health_settings() {
        let f = Fields(vec![
            ("algorithm".into(), "weighted".into()),
            ("health.interval_ms".into(), "2000".into()),
            ("health.timeout_ms".into(), "".into()),
            ("backend[0].addr".into(), "10.0.0.1:80".into()),
            ("backend[0].weight".into(), "3".into()),
            ("backend[0].tls".into(), "on".into()),
            ("backend[1].addr".into(), "".into()),
            ("backend[1].weight".into(), "1".into()),
            ("backend[2].addr".into(), "10.0.0.2:80".into()),
            ("backend[2].weight".into(), "x".into()),
        ]);
        let form = PoolForm::from_fields(&f, "web");
        assert_eq!(form.backends.len(), 2);
        let mut errors = FieldErrors::default();
        let base = json!({"id": "web", "health": {"passive_statuses": [502], "timeout_ms": 100}});
        let body = form.body(Some(base), &mut errors);
        assert_eq!(body["health"]["passive_statuses"], json!([502]));
        assert_eq!(body["health"]["interval_ms"], 2000);
        assert!(body["health"].get("timeout_ms").is_none());
        assert_eq!(
            body["backend"][0],
            json!({"addr": "10.0.0.1:80", "weight": 3, "tls": true})
        );
        assert_eq!(errors.0.keys().collect::<Vec<_>>(), ["backend[1].weight"]);
    }
}
