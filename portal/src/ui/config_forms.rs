//! Sites and pools: one list, new, edit, save and delete flow over [`ItemForm`], which the
//! site form ([`super::site_form`]) and the pool form ([`super::pool_form`]) implement. A form
//! builds the same JSON body the API takes and saves it through the same service
//! ([`crate::tenant_config::TenantConfig::put`]), so the validation is the API's. A refused
//! form comes back with the user's input and each problem next to the input its field path
//! names; problems no input shows go at the top. Fields a form does not show are kept from the
//! saved item.

use super::ctx::{config_error, AdminForm, Ctx};
use super::forms::{FieldErrors, Fields, FormView, TOP};
use super::guard::redirect_with_flash;
use super::pool_form::PoolForm;
use super::render::UiError;
use super::site_form::SiteForm;
use crate::app::AppState;
use crate::tenant_config::{ConfigError, Kind};
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::future::Future;
use weir_bundle::Bundle;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(item_routes::<SiteForm>())
        .merge(item_routes::<PoolForm>())
}

/// A config item's form as typed: what differs between sites and pools.
pub trait ItemForm: Serialize + Send + Sync + Sized + 'static {
    /// The saved model type.
    type Item: Serialize;
    /// What the form saves.
    const KIND: Kind;
    /// `Site`, `Pool`: how flash messages name it.
    const NOUN: &'static str;
    /// The navigation entry, also the list's path in the tenant (`sites` → `/t/…/sites`).
    const NAV: &'static str;
    const LIST_TEMPLATE: &'static str;
    const FORM_TEMPLATE: &'static str;

    /// The saved items of this kind.
    fn items(bundle: &Bundle) -> &[Self::Item];
    /// A saved item's id.
    fn item_id(item: &Self::Item) -> &str;
    /// The list page's data.
    fn list(bundle: &Bundle) -> Value;
    /// The form for a new item.
    fn blank() -> Self;
    /// The form showing a saved item.
    fn from_item(item: &Self::Item) -> Self;
    /// The form as submitted, for the item `id`.
    fn from_fields(f: &Fields, id: &str) -> Self;
    /// The item's id as typed.
    fn id(&self) -> &str;
    /// The API body (on top of the saved item's JSON, when editing); typing mistakes the body
    /// cannot carry (a number that is not one, JSON that does not parse) go to `errors`.
    fn body(&self, base: Option<Value>, errors: &mut FieldErrors) -> Value;
    /// The input a problem at `field` (the model's path) belongs next to.
    fn place_problem(field: &str) -> Option<String>;
    /// The choices the form's selects offer, as template data (name, value).
    fn choices(
        &self,
        s: &AppState,
        tenant: &str,
        bundle: &Bundle,
    ) -> impl Future<Output = Result<Vec<(&'static str, Value)>, UiError>> + Send;
}

fn item_routes<F: ItemForm>() -> Router<AppState> {
    let list_path = format!("/t/{{tenant}}/{}", F::NAV);
    Router::new()
        .route(&list_path, get(list::<F>))
        .route(
            &format!("{list_path}/new"),
            get(new_form::<F>).post(submit::<F>),
        )
        .route(
            &format!("{list_path}/{{id}}"),
            get(edit_form::<F>).post(submit::<F>),
        )
        .route(&format!("{list_path}/{{id}}/delete"), post(delete::<F>))
}

/// A serde enum's name (`fail_closed`, `round_robin`).
pub fn enum_name(v: impl Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `value`'s fields, or none when it is not a JSON object.
pub fn object(value: Option<Value>) -> Map<String, Value> {
    match value {
        Some(Value::Object(o)) => o,
        _ => Map::new(),
    }
}

/// `key` of a JSON object set to `value`, or removed when `None` (the model's default applies).
pub fn set_or_remove(object: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        Some(v) => {
            object.insert(key.to_string(), v);
        }
        None => {
            object.remove(key);
        }
    }
}

/// The input of a row's problem (`plugin[3].source` → `plugin[3].source` when `source` is one
/// of the row's `keys`, else `plugin[3]`); `None` when `field` is not in a `prefix` row.
pub fn row_input(field: &str, prefix: &str, keys: &[&str]) -> Option<String> {
    let rest = field.strip_prefix(prefix)?.strip_prefix('[')?;
    let (index, key) = rest.split_once(']')?;
    let index: usize = index.parse().ok()?;
    let key = key.strip_prefix('.').unwrap_or("");
    Some(if keys.contains(&key) {
        format!("{prefix}[{index}].{key}")
    } else {
        format!("{prefix}[{index}]")
    })
}

/// The saved item `id`; 404 when there is none.
fn find<'a, F: ItemForm>(bundle: &'a Bundle, id: &str) -> Result<&'a F::Item, UiError> {
    F::items(bundle)
        .iter()
        .find(|x| F::item_id(x) == id)
        .ok_or(UiError::NotFound)
}

async fn list<F: ItemForm>(State(s): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    let bundle = s.config_service.bundle(ctx.tenant()).await?;
    ctx.page(&s, F::NAV, F::LIST_TEMPLATE, F::list(&bundle))
}

/// Renders the form (`creating` a new item, or editing `form.id()`): fresh, or refused (422)
/// with `errors`.
async fn show<F: ItemForm>(
    s: &AppState,
    ctx: &Ctx,
    creating: bool,
    form: &F,
    errors: Option<FieldErrors>,
) -> Result<Response, UiError> {
    let bundle = s.config_service.bundle(ctx.tenant()).await?;
    let target = if creating { "new" } else { form.id() };
    let action = ctx.path(&format!("/{}/{target}", F::NAV));
    let mut data = Map::new();
    data.insert("creating".into(), json!(creating));
    data.insert("action".into(), json!(action));
    for (name, value) in form.choices(s, ctx.tenant(), &bundle).await? {
        data.insert(name.into(), value);
    }
    let view = match errors {
        None => FormView::blank(json!(form)),
        Some(errors) => FormView::refused(json!(form), errors),
    };
    ctx.form_page(s, F::NAV, F::FORM_TEMPLATE, Value::Object(data), view)
}

async fn new_form<F: ItemForm>(State(s): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    show(&s, &ctx, true, &F::blank(), None).await
}

async fn edit_form<F: ItemForm>(
    State(s): State<AppState>,
    ctx: Ctx,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let bundle = s.config_service.bundle(ctx.tenant()).await?;
    let form = F::from_item(find::<F>(&bundle, &id)?);
    show(&s, &ctx, false, &form, None).await
}

/// Saves a form: creating, or replacing `existing`.
async fn save<F: ItemForm>(
    s: &AppState,
    ctx: &Ctx,
    form: &Fields,
    existing: Option<&str>,
) -> Result<Response, UiError> {
    let creating = existing.is_none();
    let base = match existing {
        Some(id) => {
            let bundle = s.config_service.bundle(ctx.tenant()).await?;
            Some(json!(find::<F>(&bundle, id)?))
        }
        None => None,
    };
    let typed = F::from_fields(form, existing.unwrap_or(form.get("id")));
    let mut errors = FieldErrors::default();
    let body = typed.body(base, &mut errors);
    if errors.is_empty() {
        let result = s
            .config_service
            .put(
                ctx.tenant(),
                F::KIND,
                typed.id(),
                body,
                creating,
                ctx.author(),
            )
            .await;
        errors = match result {
            Ok(version) => {
                let verb = if creating { "created" } else { "saved" };
                return Ok(redirect_with_flash(
                    s,
                    &ctx.path(&format!("/{}", F::NAV)),
                    "ok",
                    &format!("{} {} {verb} (version {version}).", F::NOUN, typed.id()),
                ));
            }
            Err(ConfigError::Invalid(problems)) => {
                FieldErrors::from_problems(&problems, F::place_problem)
            }
            Err(ConfigError::Exists(kind, id)) => {
                FieldErrors::one("id", format!("a {kind} with id `{id}` already exists"))
            }
            Err(ConfigError::Malformed(m)) => FieldErrors::one(TOP, m),
            Err(e) => return Err(config_error(e)),
        };
    }
    show(s, ctx, creating, &typed, Some(errors)).await
}

/// A submitted form: creating (no `{id}` in the path), or replacing `{id}`.
async fn submit<F: ItemForm>(
    State(s): State<AppState>,
    AdminForm { ctx, form, id }: AdminForm,
) -> Result<Response, UiError> {
    let existing = Some(id.as_str()).filter(|id| !id.is_empty());
    save::<F>(&s, &ctx, &form, existing).await
}

/// Deletes an item; a refusal (something still uses it) comes back as a message on its page.
async fn delete<F: ItemForm>(
    State(s): State<AppState>,
    AdminForm { ctx, id, .. }: AdminForm,
) -> Result<Response, UiError> {
    let result = s
        .config_service
        .delete(ctx.tenant(), F::KIND, &id, ctx.author())
        .await;
    let (list, noun) = (format!("/{}", F::NAV), F::NOUN);
    ctx.after_change(
        &s,
        result,
        (&list, |version| {
            format!("{noun} {id} deleted (version {version}).")
        }),
        (
            &format!("{list}/{id}"),
            &format!("{noun} {id} was not deleted"),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_land_on_their_inputs() {
        let site: fn(&str) -> Option<String> = SiteForm::place_problem;
        let pool: fn(&str) -> Option<String> = PoolForm::place_problem;
        for (place, field, input) in [
            (site, "hosts[2]", Some("hosts")),
            (site, "plugin[1].config", Some("plugin[1].config")),
            (site, "plugin[0].weird", Some("plugin[0]")),
            (site, "plugin[x].name", None),
            (site, "tls.cert", Some("tls.cert_pem")),
            (site, "tls.key_pem", Some("tls.key_pem")),
            (site, "error_page", Some("error_page_html")),
            (site, "tls.sni", None),
            (site, "site[0].pool", None),
            (pool, "backend[3].addr", Some("backend[3].addr")),
            (pool, "backend[1]", Some("backend[1]")),
            (pool, "backends[0].addr", None),
            (pool, "health.path", Some("health_path")),
            (pool, "health.passive_statuses[0]", None),
        ] {
            assert_eq!(place(field).as_deref(), input, "{field}");
        }
    }
}
