//! Sites and pools: lists, and new/edit forms that build the same JSON body the API takes and
//! save it through the same service ([`crate::tenant_config::TenantConfig::put`]), so the
//! validation is the API's. A refused form comes back with the user's input and each problem
//! next to the input its field path names (`hosts[1]` → the hosts box, `backend[2].addr` → the
//! third backend row's address); problems no input shows go at the top. Fields a form does not
//! show (a site's TLS files, a pool's passive health statuses) are kept from the saved item.

use super::forms::{number, FieldErrors, Fields, TOP};
use super::guard::{redirect_with_flash, Browser};
use super::render::UiError;
use super::tenant::{config_error, Ctx};
use crate::app::AppState;
use crate::tenant_config::{ConfigError, Kind};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use serde_json::{json, Map, Value};
use weir_bundle::{Pool, Site};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/sites", get(sites))
        .route("/t/{tenant}/sites/new", get(new_site).post(create_site))
        .route("/t/{tenant}/sites/{id}", get(edit_site).post(update_site))
        .route("/t/{tenant}/sites/{id}/delete", post(delete_site))
        .route("/t/{tenant}/pools", get(pools))
        .route("/t/{tenant}/pools/new", get(new_pool).post(create_pool))
        .route("/t/{tenant}/pools/{id}", get(edit_pool).post(update_pool))
        .route("/t/{tenant}/pools/{id}/delete", post(delete_pool))
}

/// A serde enum's name (`fail_closed`, `round_robin`).
fn enum_name(v: impl Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `key` of a JSON object set to `value`, or removed when `None` (the model's default applies).
fn set_or_remove(object: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        Some(v) => {
            object.insert(key.to_string(), v);
        }
        None => {
            object.remove(key);
        }
    }
}

/// `plugin[3].source` → (3, "source").
fn row_field<'a>(field: &'a str, prefix: &str) -> Option<(usize, &'a str)> {
    let rest = field.strip_prefix(prefix)?.strip_prefix('[')?;
    let (index, key) = rest.split_once(']')?;
    Some((index.parse().ok()?, key.strip_prefix('.').unwrap_or("")))
}

// ---------------------------------------------------------------------------------------------
// Sites

/// A site form as typed.
#[derive(Debug, Default, Serialize)]
struct SiteForm {
    id: String,
    hosts: String,
    pool: String,
    retry_after_s: String,
    rate: String,
    burst: String,
    plugins: Vec<PluginRow>,
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

impl SiteForm {
    fn from_site(site: &Site) -> SiteForm {
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
        }
    }

    /// The API body (on top of the saved site's JSON, when editing); typing mistakes the body
    /// cannot carry (a number that is not one, JSON that does not parse) go to `errors`.
    fn body(&self, base: Option<Value>, errors: &mut FieldErrors) -> Value {
        let mut body = match base {
            Some(Value::Object(o)) => o,
            _ => Map::new(),
        };
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
}

/// The input a site problem belongs next to.
fn place_site_problem(field: &str) -> Option<String> {
    match field {
        "id" | "pool" | "retry_after_s" | "rate_limit.rate" | "rate_limit.burst" => {
            return Some(field.into())
        }
        "rate_limit" => return Some("rate_limit.rate".into()),
        "hosts" => return Some("hosts".into()),
        _ => {}
    }
    if field.starts_with("hosts[") {
        return Some("hosts".into());
    }
    let (j, key) = row_field(field, "plugin")?;
    Some(if PLUGIN_KEYS.contains(&key) {
        format!("plugin[{j}].{key}")
    } else {
        format!("plugin[{j}]")
    })
}

async fn sites(
    State(s): State<AppState>,
    b: Browser,
    Path(t): Path<String>,
) -> Result<Response, UiError> {
    let ctx = Ctx::load(&s, b, &t).await?;
    let bundle = s.config_service.bundle(&t).await?;
    ctx.page(&s, "sites", "sites.html", json!({"sites": bundle.sites}))
}

/// Renders the site form.
async fn site_page(
    s: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    creating: bool,
    form: &SiteForm,
    errors: &FieldErrors,
) -> Result<Response, UiError> {
    let bundle = s.config_service.bundle(ctx.tenant()).await?;
    let mut pools: Vec<String> = bundle.pools.iter().map(|p| p.id.clone()).collect();
    if !form.pool.is_empty() && !pools.contains(&form.pool) {
        pools.push(form.pool.clone());
    }
    let mut sources: Vec<Value> = weir_proxy::builtin_plugin_names()
        .into_iter()
        .map(|n| json!({"value": format!("builtin:{n}"), "label": format!("{n} (built-in)")}))
        .collect();
    for v in s.registry.list(ctx.tenant()).await? {
        sources.push(json!({"value": format!("registry:{}@{}", v.name, v.version), "label": format!("{} v{} (uploaded)", v.name, v.version)}));
    }
    for row in &form.plugins {
        if !row.source.is_empty() && !sources.iter().any(|x| x["value"] == row.source.as_str()) {
            sources.push(json!({"value": row.source, "label": row.source}));
        }
    }
    let action = if creating {
        ctx.path("/sites/new")
    } else {
        ctx.path(&format!("/sites/{}", form.id))
    };
    ctx.page_with(
        s,
        status,
        "sites",
        "site_form.html",
        json!({"creating": creating, "form": form, "errors": errors, "pools": pools, "sources": sources, "action": action}),
    )
}

async fn new_site(
    State(s): State<AppState>,
    b: Browser,
    Path(t): Path<String>,
) -> Result<Response, UiError> {
    let ctx = Ctx::load(&s, b, &t).await?;
    let form = SiteForm {
        retry_after_s: "30".into(),
        ..SiteForm::default()
    };
    site_page(
        &s,
        &ctx,
        StatusCode::OK,
        true,
        &form,
        &FieldErrors::default(),
    )
    .await
}

async fn edit_site(
    State(s): State<AppState>,
    b: Browser,
    Path((t, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let ctx = Ctx::load(&s, b, &t).await?;
    let bundle = s.config_service.bundle(&t).await?;
    let site = bundle
        .sites
        .iter()
        .find(|x| x.id == id)
        .ok_or(UiError::NotFound)?;
    site_page(
        &s,
        &ctx,
        StatusCode::OK,
        false,
        &SiteForm::from_site(site),
        &FieldErrors::default(),
    )
    .await
}

/// Saves a site form: creating, or replacing `id`.
async fn save_site(
    s: &AppState,
    ctx: &Ctx,
    form: &Fields,
    existing: Option<&str>,
) -> Result<Response, UiError> {
    ctx.require_admin()?;
    let creating = existing.is_none();
    let base = match existing {
        Some(id) => {
            let bundle = s.config_service.bundle(ctx.tenant()).await?;
            let site = bundle
                .sites
                .iter()
                .find(|x| x.id == id)
                .ok_or(UiError::NotFound)?;
            Some(json!(site))
        }
        None => None,
    };
    let typed = SiteForm::from_fields(form, existing.unwrap_or(form.get("id")));
    let mut errors = FieldErrors::default();
    let body = typed.body(base, &mut errors);
    if !errors.is_empty() {
        return site_page(
            s,
            ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            creating,
            &typed,
            &errors,
        )
        .await;
    }
    let result = s
        .config_service
        .put(
            ctx.tenant(),
            Kind::Site,
            &typed.id,
            body,
            creating,
            ctx.author(),
        )
        .await;
    let errors = match result {
        Ok(version) => {
            let verb = if creating { "created" } else { "saved" };
            return Ok(redirect_with_flash(
                s,
                &ctx.path("/sites"),
                "ok",
                &format!("Site {} {verb} (version {version}).", typed.id),
            ));
        }
        Err(ConfigError::Invalid(problems)) => {
            FieldErrors::from_problems(&problems, place_site_problem)
        }
        Err(ConfigError::Exists(kind, id)) => {
            let mut e = FieldErrors::default();
            e.add("id", format!("a {kind} with id `{id}` already exists"));
            e
        }
        Err(ConfigError::Malformed(m)) => {
            let mut e = FieldErrors::default();
            e.add(TOP, m);
            e
        }
        Err(e) => return Err(config_error(e)),
    };
    site_page(
        s,
        ctx,
        StatusCode::UNPROCESSABLE_ENTITY,
        creating,
        &typed,
        &errors,
    )
    .await
}

async fn create_site(
    State(s): State<AppState>,
    b: Browser,
    Path(t): Path<String>,
    form: Fields,
) -> Result<Response, UiError> {
    let ctx = Ctx::load_form(&s, b, &t, &form).await?;
    save_site(&s, &ctx, &form, None).await
}

async fn update_site(
    State(s): State<AppState>,
    b: Browser,
    Path((t, id)): Path<(String, String)>,
    form: Fields,
) -> Result<Response, UiError> {
    let ctx = Ctx::load_form(&s, b, &t, &form).await?;
    save_site(&s, &ctx, &form, Some(&id)).await
}

/// Deletes an item; a refusal (something still uses it) comes back as a message on its page.
async fn delete_item(s: &AppState, ctx: &Ctx, kind: Kind, id: &str) -> Result<Response, UiError> {
    ctx.require_admin()?;
    let (list, noun) = match kind {
        Kind::Site => ("/sites", "Site"),
        Kind::Pool => ("/pools", "Pool"),
    };
    match s
        .config_service
        .delete(ctx.tenant(), kind, id, ctx.author())
        .await
    {
        Ok(version) => Ok(redirect_with_flash(
            s,
            &ctx.path(list),
            "ok",
            &format!("{noun} {id} deleted (version {version})."),
        )),
        Err(ConfigError::NotFound) => Err(UiError::NotFound),
        Err(ConfigError::Store(e)) => Err(e.into()),
        Err(e) => Ok(redirect_with_flash(
            s,
            &ctx.path(&format!("{list}/{id}")),
            "error",
            &format!("{noun} {id} was not deleted: {}", config_error(e).text()),
        )),
    }
}

async fn delete_site(
    State(s): State<AppState>,
    b: Browser,
    Path((t, id)): Path<(String, String)>,
    form: Fields,
) -> Result<Response, UiError> {
    let ctx = Ctx::load_form(&s, b, &t, &form).await?;
    delete_item(&s, &ctx, Kind::Site, &id).await
}

// ---------------------------------------------------------------------------------------------
// Pools

/// A pool form as typed.
#[derive(Debug, Default, Serialize)]
struct PoolForm {
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

impl PoolForm {
    fn from_pool(pool: &Pool) -> PoolForm {
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

    /// The API body (on top of the saved pool's JSON, when editing).
    fn body(&self, base: Option<Value>, errors: &mut FieldErrors) -> Value {
        let mut body = match base {
            Some(Value::Object(o)) => o,
            _ => Map::new(),
        };
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
        let mut health = match body.remove("health") {
            Some(Value::Object(o)) => o,
            _ => Map::new(),
        };
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
}

/// The input a pool problem belongs next to.
fn place_pool_problem(field: &str) -> Option<String> {
    match field {
        "id" | "algorithm" | "backup" | "backend" | "health.interval_ms" | "health.timeout_ms"
        | "health.fail_after" | "health.pass_after" => return Some(field.into()),
        "health.path" => return Some("health_path".into()),
        _ => {}
    }
    let (j, key) = row_field(field, "backend")?;
    Some(if BACKEND_KEYS.contains(&key) {
        format!("backend[{j}].{key}")
    } else {
        format!("backend[{j}]")
    })
}

async fn pools(
    State(s): State<AppState>,
    b: Browser,
    Path(t): Path<String>,
) -> Result<Response, UiError> {
    let ctx = Ctx::load(&s, b, &t).await?;
    let bundle = s.config_service.bundle(&t).await?;
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
    ctx.page(&s, "pools", "pools.html", json!({"pools": rows}))
}

/// Renders the pool form.
async fn pool_page(
    s: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    creating: bool,
    form: &PoolForm,
    errors: &FieldErrors,
) -> Result<Response, UiError> {
    let bundle = s.config_service.bundle(ctx.tenant()).await?;
    let mut others: Vec<String> = bundle
        .pools
        .iter()
        .map(|p| p.id.clone())
        .filter(|id| *id != form.id)
        .collect();
    if !form.backup.is_empty() && !others.contains(&form.backup) {
        others.push(form.backup.clone());
    }
    let action = if creating {
        ctx.path("/pools/new")
    } else {
        ctx.path(&format!("/pools/{}", form.id))
    };
    ctx.page_with(
        s,
        status,
        "pools",
        "pool_form.html",
        json!({"creating": creating, "form": form, "errors": errors, "others": others, "action": action}),
    )
}

async fn new_pool(
    State(s): State<AppState>,
    b: Browser,
    Path(t): Path<String>,
) -> Result<Response, UiError> {
    let ctx = Ctx::load(&s, b, &t).await?;
    let mut form = PoolForm::from_pool(&Pool {
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
    pool_page(
        &s,
        &ctx,
        StatusCode::OK,
        true,
        &form,
        &FieldErrors::default(),
    )
    .await
}

async fn edit_pool(
    State(s): State<AppState>,
    b: Browser,
    Path((t, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let ctx = Ctx::load(&s, b, &t).await?;
    let bundle = s.config_service.bundle(&t).await?;
    let pool = bundle
        .pools
        .iter()
        .find(|x| x.id == id)
        .ok_or(UiError::NotFound)?;
    pool_page(
        &s,
        &ctx,
        StatusCode::OK,
        false,
        &PoolForm::from_pool(pool),
        &FieldErrors::default(),
    )
    .await
}

/// Saves a pool form: creating, or replacing `id`.
async fn save_pool(
    s: &AppState,
    ctx: &Ctx,
    form: &Fields,
    existing: Option<&str>,
) -> Result<Response, UiError> {
    ctx.require_admin()?;
    let creating = existing.is_none();
    let base = match existing {
        Some(id) => {
            let bundle = s.config_service.bundle(ctx.tenant()).await?;
            let pool = bundle
                .pools
                .iter()
                .find(|x| x.id == id)
                .ok_or(UiError::NotFound)?;
            Some(json!(pool))
        }
        None => None,
    };
    let typed = PoolForm::from_fields(form, existing.unwrap_or(form.get("id")));
    let mut errors = FieldErrors::default();
    let body = typed.body(base, &mut errors);
    if !errors.is_empty() {
        return pool_page(
            s,
            ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            creating,
            &typed,
            &errors,
        )
        .await;
    }
    let result = s
        .config_service
        .put(
            ctx.tenant(),
            Kind::Pool,
            &typed.id,
            body,
            creating,
            ctx.author(),
        )
        .await;
    let errors = match result {
        Ok(version) => {
            let verb = if creating { "created" } else { "saved" };
            return Ok(redirect_with_flash(
                s,
                &ctx.path("/pools"),
                "ok",
                &format!("Pool {} {verb} (version {version}).", typed.id),
            ));
        }
        Err(ConfigError::Invalid(problems)) => {
            FieldErrors::from_problems(&problems, place_pool_problem)
        }
        Err(ConfigError::Exists(kind, id)) => {
            let mut e = FieldErrors::default();
            e.add("id", format!("a {kind} with id `{id}` already exists"));
            e
        }
        Err(ConfigError::Malformed(m)) => {
            let mut e = FieldErrors::default();
            e.add(TOP, m);
            e
        }
        Err(e) => return Err(config_error(e)),
    };
    pool_page(
        s,
        ctx,
        StatusCode::UNPROCESSABLE_ENTITY,
        creating,
        &typed,
        &errors,
    )
    .await
}

async fn create_pool(
    State(s): State<AppState>,
    b: Browser,
    Path(t): Path<String>,
    form: Fields,
) -> Result<Response, UiError> {
    let ctx = Ctx::load_form(&s, b, &t, &form).await?;
    save_pool(&s, &ctx, &form, None).await
}

async fn update_pool(
    State(s): State<AppState>,
    b: Browser,
    Path((t, id)): Path<(String, String)>,
    form: Fields,
) -> Result<Response, UiError> {
    let ctx = Ctx::load_form(&s, b, &t, &form).await?;
    save_pool(&s, &ctx, &form, Some(&id)).await
}

async fn delete_pool(
    State(s): State<AppState>,
    b: Browser,
    Path((t, id)): Path<(String, String)>,
    form: Fields,
) -> Result<Response, UiError> {
    let ctx = Ctx::load_form(&s, b, &t, &form).await?;
    delete_item(&s, &ctx, Kind::Pool, &id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_land_on_their_inputs() {
        assert_eq!(place_site_problem("hosts[2]").as_deref(), Some("hosts"));
        assert_eq!(
            place_site_problem("plugin[1].config").as_deref(),
            Some("plugin[1].config")
        );
        assert_eq!(
            place_site_problem("plugin[0].weird").as_deref(),
            Some("plugin[0]")
        );
        assert_eq!(place_site_problem("tls.cert"), None);
        assert_eq!(place_site_problem("site[0].pool"), None);
        assert_eq!(
            place_pool_problem("backend[3].addr").as_deref(),
            Some("backend[3].addr")
        );
        assert_eq!(
            place_pool_problem("health.path").as_deref(),
            Some("health_path")
        );
        assert_eq!(place_pool_problem("health.passive_statuses[0]"), None);
    }

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
        ]);
        let form = SiteForm::from_fields(&f, "shop");
        assert_eq!(form.plugins.len(), 2, "the empty row is dropped");
        let mut errors = FieldErrors::default();
        let body = form.body(
            Some(json!({"id": "shop", "tls": {"cert": "c", "key": "k"}, "retry_after_s": 9})),
            &mut errors,
        );
        assert_eq!(body["hosts"], json!(["a.example", "b.example"]));
        assert_eq!(
            body["tls"]["cert"], "c",
            "fields the form does not show are kept"
        );
        assert!(
            body.get("retry_after_s").is_none(),
            "an empty number means the default"
        );
        assert_eq!(body["plugin"][0]["config"]["paranoia"], 2);
        assert_eq!(body["plugin"][0]["on_error"], "fail_open");
        let keys: Vec<&str> = errors.0.keys().map(String::as_str).collect();
        assert_eq!(keys, ["plugin[1].config", "rate_limit.burst"]);
    }

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
