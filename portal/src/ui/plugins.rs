//! `/t/{tenant}/plugins`: the built-in plugins, the tenant's uploaded versions, and the upload
//! form (multipart: `csrf_token`, `name`, `notes`, `file`), validated by the registry like an
//! API upload.

use super::ctx::Ctx;
use super::forms::{FieldErrors, FormView};
use super::guard::{redirect_with_flash, Browser};
use super::render::UiError;
use crate::app::AppState;
use crate::registry::{RegistryError, MAX_UPLOAD_BYTES};
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/t/{tenant}/plugins",
        get(plugins)
            .post(upload)
            .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES + 64 * 1024)),
    )
}

/// The built-in and uploaded plugins (each with the sites that use it) and the upload form.
async fn plugins_page(s: &AppState, ctx: &Ctx, form: FormView) -> Result<Response, UiError> {
    let bundle = s.config_service.bundle(ctx.tenant()).await?;
    let used_by = |source: &str| -> Vec<String> {
        bundle
            .sites
            .iter()
            .filter(|x| x.plugins.iter().any(|p| p.source == source))
            .map(|x| x.id.clone())
            .collect()
    };
    let builtin: Vec<Value> = weir_proxy::builtin_plugin_names()
        .into_iter()
        .map(|n| {
            let source = format!("builtin:{n}");
            json!({"name": n, "used_by": used_by(&source), "source": source})
        })
        .collect();
    let uploaded: Vec<Value> = s
        .registry
        .list(ctx.tenant())
        .await?
        .into_iter()
        .map(|v| {
            let source = format!("registry:{}@{}", v.name, v.version);
            json!({
                "name": v.name,
                "version": v.version,
                "sha256": v.sha256,
                "sha_short": v.sha256.chars().take(12).collect::<String>(),
                "size": v.size,
                "notes": v.notes,
                "created_by": v.created_by,
                "created_at": v.created_at,
                "used_by": used_by(&source),
                "source": source,
            })
        })
        .collect();
    let data = json!({"builtin": builtin, "uploaded": uploaded, "max_mib": MAX_UPLOAD_BYTES >> 20});
    ctx.form_page(s, "plugins", "plugins.html", data, form)
}

/// The upload form's values before anything was typed.
fn blank() -> Value {
    json!({"name": "", "notes": ""})
}

async fn plugins(State(s): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    plugins_page(&s, &ctx, FormView::blank(blank())).await
}

/// What the upload form sent.
#[derive(Default)]
struct UploadForm {
    csrf_token: String,
    name: String,
    notes: String,
    file: Option<Vec<u8>>,
}

async fn read_upload(mut multipart: Multipart) -> Result<UploadForm, String> {
    let mut form = UploadForm::default();
    let too_big = || format!("the file is larger than {} MiB", MAX_UPLOAD_BYTES >> 20);
    while let Some(field) = multipart.next_field().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_big()
        } else {
            e.body_text()
        }
    })? {
        let name = field.name().unwrap_or("").to_string();
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_big()
            } else {
                e.body_text()
            }
        })?;
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match name.as_str() {
            "csrf_token" => form.csrf_token = text(),
            "name" => form.name = text().trim().to_string(),
            "notes" => form.notes = text(),
            "file" if !bytes.is_empty() => form.file = Some(bytes.to_vec()),
            _ => {}
        }
    }
    Ok(form)
}

async fn upload(
    State(s): State<AppState>,
    b: Browser,
    Path(t): Path<String>,
    multipart: Multipart,
) -> Result<Response, UiError> {
    let form = match read_upload(multipart).await {
        Ok(f) => f,
        Err(reason) => {
            // The token may not have been read: nothing is stored, and the page says why.
            let ctx = Ctx::load(&s, b, &t).await?;
            let errors = FieldErrors::one("file", reason);
            let form = FormView::new(StatusCode::PAYLOAD_TOO_LARGE, blank(), errors);
            return plugins_page(&s, &ctx, form).await;
        }
    };
    b.check_csrf(&form.csrf_token)?;
    let ctx = Ctx::load(&s, b, &t).await?;
    ctx.require_admin()?;
    let kept = json!({"name": form.name, "notes": form.notes});
    let errors = match form.file {
        None => FieldErrors::one("file", "choose a .wasm component to upload"),
        Some(bytes) => match s
            .registry
            .upload(&t, &form.name, &form.notes, bytes, ctx.author())
            .await
        {
            Ok(v) => {
                return Ok(redirect_with_flash(
                    &s,
                    &ctx.path("/plugins"),
                    "ok",
                    &format!(
                        "Uploaded {} version {}: use it as registry:{}@{} in a site's chain.",
                        v.name, v.version, v.name, v.version
                    ),
                ))
            }
            Err(RegistryError::Invalid(field, m)) => FieldErrors::one(field, m),
            Err(RegistryError::Rejected(reason)) => FieldErrors::one("file", reason),
            Err(RegistryError::Store(e)) => return Err(e.into()),
        },
    };
    plugins_page(&s, &ctx, FormView::refused(kept, errors)).await
}
