//! A tenant's sites and pools as one service for the UI and the API: every change is applied
//! to the tenant's whole bundle and checked with the bundle's own validation (the same the
//! node runs), so a saved config always loads on a node. Each change becomes a version; any
//! version can be diffed against another and rolled back to.

use crate::db::now;
use crate::hub::Hub;
use crate::registry::Registry;
use crate::store::{ConfigChange, ConfigItem, Store, StoreError, VersionInfo};
use crate::tokens::hash_token;
use weir_bundle::{Bundle, Pool, Problem, Problems, Secret, Site};
use weir_proxy::loader::{load_certified_key, Pem};

/// The two kinds of items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Site,
    Pool,
}

impl Kind {
    /// The stored name and the bundle's key (`site`, `pool`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Site => "site",
            Kind::Pool => "pool",
        }
    }
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The body does not fit the model (unknown field, wrong type, missing field).
    #[error("{0}")]
    Malformed(String),
    /// The item has problems (field paths relative to the item), or the change would break
    /// another item (full paths, e.g. `site[0].pool`).
    #[error("{0}")]
    Invalid(Problems),
    /// No such item or version in this tenant.
    #[error("not found")]
    NotFound,
    /// An item with this id exists already.
    #[error("a {0} with id `{1}` already exists")]
    Exists(&'static str, String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One line of a diff.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct DiffLine {
    /// ` `, `+` or `-`.
    #[schema(value_type = String)]
    pub op: char,
    pub text: String,
}

/// The config service for one store.
#[derive(Clone)]
pub struct TenantConfig {
    store: Store,
    registry: Registry,
    hub: Hub,
}

fn parse_item<T: serde::de::DeserializeOwned>(spec: &str) -> Result<T, StoreError> {
    serde_json::from_str(spec).map_err(|e| StoreError::Db(sqlx::Error::Decode(Box::new(e))))
}

/// Puts the item's id into a JSON body (the path names it) and checks the body's own id.
fn with_id(mut body: serde_json::Value, id: &str) -> Result<serde_json::Value, ConfigError> {
    let Some(object) = body.as_object_mut() else {
        return Err(ConfigError::Malformed(
            "the body must be a JSON object".into(),
        ));
    };
    match object.get("id") {
        Some(serde_json::Value::String(given)) if given != id => {
            return Err(ConfigError::Malformed(format!(
                "id `{given}` in the body differs from `{id}` in the path"
            )))
        }
        _ => {}
    }
    object.insert("id".into(), serde_json::Value::String(id.to_string()));
    Ok(body)
}

/// Problems of the item at `prefix` (`site[2].`) with that prefix removed; others as they are.
fn relative_to(problems: Problems, prefix: &str) -> Problems {
    Problems(
        problems
            .0
            .into_iter()
            .map(|p| match p.field.strip_prefix(prefix) {
                Some(rest) => Problem {
                    field: rest.to_string(),
                    message: p.message,
                },
                None => p,
            })
            .collect(),
    )
}

impl TenantConfig {
    /// The service; saved changes are pushed to connected nodes through `hub`.
    pub fn new(store: Store, registry: Registry, hub: Hub) -> TenantConfig {
        TenantConfig {
            store,
            registry,
            hub,
        }
    }

    /// Stores a change as the tenant's next version and pushes it to the tenant's nodes.
    async fn save(
        &self,
        tenant_id: &str,
        change: &ConfigChange,
        bundle: &Bundle,
        summary: &str,
        author: &str,
    ) -> Result<i64, ConfigError> {
        let version = self
            .store
            .save_config(tenant_id, change, &bundle.to_json(), summary, author, now())
            .await?;
        self.hub.changed(tenant_id).await;
        Ok(version)
    }

    /// Portal rules on a site's chain: each source names a component this tenant may use, and
    /// the plugin's own `init` accepts its config (what a node would find out at load).
    async fn plugin_problems(&self, tenant_id: &str, site: &Site) -> Problems {
        let mut p = Problems::default();
        for (j, plugin) in site.plugins.iter().enumerate() {
            match self.registry.resolve(tenant_id, &plugin.source).await {
                Err(reason) => p.push(format!("plugin[{j}].source"), reason),
                Ok(component) => {
                    if let Err(reason) = self
                        .registry
                        .check_config(component, plugin.config.clone())
                        .await
                    {
                        p.push(format!("plugin[{j}].config"), reason);
                    }
                }
            }
        }
        p
    }

    /// The tenant's current bundle (sites and pools sorted by id).
    pub async fn bundle(&self, tenant_id: &str) -> Result<Bundle, StoreError> {
        let mut bundle = Bundle::default();
        for item in self.store.config_items(tenant_id).await? {
            match item.kind.as_str() {
                "site" => bundle.sites.push(parse_item(&item.spec)?),
                "pool" => bundle.pools.push(parse_item(&item.spec)?),
                _ => {}
            }
        }
        Ok(bundle)
    }

    /// Creates (`create = true`, refused when it exists) or replaces (refused when it does not)
    /// an item from a JSON body. Returns the new version.
    pub async fn put(
        &self,
        tenant_id: &str,
        kind: Kind,
        id: &str,
        body: serde_json::Value,
        create: bool,
        author: &str,
    ) -> Result<i64, ConfigError> {
        let body = with_id(body, id)?;
        if id == "new" {
            let mut p = Problems::default();
            p.push(
                "id",
                "`new` is reserved (it names the form for a new item); choose another id",
            );
            return Err(ConfigError::Invalid(p));
        }
        let mut bundle = self.bundle(tenant_id).await?;
        let (index, spec, extra) = match kind {
            Kind::Site => {
                let mut site: Site = serde_json::from_value(body)
                    .map_err(|e| ConfigError::Malformed(e.to_string()))?;
                site.tenant = tenant_id.to_string();
                keep_stored_key(&mut site, &bundle);
                let mut extra = self.plugin_problems(tenant_id, &site).await;
                extra.extend(site_content_problems(&site));
                let spec = serde_json::to_string(&site).unwrap_or_default();
                (
                    place(&mut bundle.sites, site, |s| &s.id, create, kind)?,
                    spec,
                    extra,
                )
            }
            Kind::Pool => {
                let pool: Pool = serde_json::from_value(body)
                    .map_err(|e| ConfigError::Malformed(e.to_string()))?;
                let spec = serde_json::to_string(&pool).unwrap_or_default();
                (
                    place(&mut bundle.pools, pool, |p| &p.id, create, kind)?,
                    spec,
                    Problems::default(),
                )
            }
        };
        let prefix = format!("{}[{index}].", kind.as_str());
        let mut problems = relative_to(bundle.validate(), &prefix);
        problems.extend(extra);
        problems.into_result().map_err(ConfigError::Invalid)?;
        let verb = if create { "create" } else { "update" };
        let item = ConfigItem {
            kind: kind.as_str().into(),
            id: id.into(),
            spec,
        };
        self.save(
            tenant_id,
            &ConfigChange::Put(item),
            &bundle,
            &format!("{verb} {} {id}", kind.as_str()),
            author,
        )
        .await
    }

    /// Deletes an item; refused when something still refers to it.
    pub async fn delete(
        &self,
        tenant_id: &str,
        kind: Kind,
        id: &str,
        author: &str,
    ) -> Result<i64, ConfigError> {
        let mut bundle = self.bundle(tenant_id).await?;
        let before = bundle.sites.len() + bundle.pools.len();
        match kind {
            Kind::Site => bundle.sites.retain(|s| s.id != id),
            Kind::Pool => bundle.pools.retain(|p| p.id != id),
        }
        if bundle.sites.len() + bundle.pools.len() == before {
            return Err(ConfigError::NotFound);
        }
        bundle
            .validate()
            .into_result()
            .map_err(ConfigError::Invalid)?;
        let change = ConfigChange::Delete {
            kind: kind.as_str().into(),
            id: id.into(),
        };
        let summary = format!("delete {} {id}", kind.as_str());
        self.save(tenant_id, &change, &bundle, &summary, author)
            .await
    }

    /// The history, newest first.
    pub async fn versions(&self, tenant_id: &str) -> Result<Vec<VersionInfo>, StoreError> {
        self.store.config_versions(tenant_id).await
    }

    /// The tenant's current bundle for showing: private keys replaced by a fingerprint.
    pub async fn bundle_for_display(&self, tenant_id: &str) -> Result<Bundle, StoreError> {
        Ok(redact(self.bundle(tenant_id).await?))
    }

    /// The bundle of one version for showing (private keys replaced by a fingerprint).
    pub async fn version(&self, tenant_id: &str, version: i64) -> Result<Bundle, ConfigError> {
        Ok(redact(self.stored_version(tenant_id, version).await?))
    }

    /// The bundle of one version as stored (version 0 is the empty start).
    async fn stored_version(&self, tenant_id: &str, version: i64) -> Result<Bundle, ConfigError> {
        if version == 0 {
            return Ok(Bundle::default());
        }
        let json = self
            .store
            .config_version(tenant_id, version)
            .await?
            .ok_or(ConfigError::NotFound)?;
        Ok(parse_item(&json)?)
    }

    /// Line diff of two versions' bundles (pretty JSON), `from` → `to`.
    pub async fn diff(
        &self,
        tenant_id: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<DiffLine>, ConfigError> {
        let a = self.version(tenant_id, from).await?;
        let b = self.version(tenant_id, to).await?;
        let pretty = |b: &Bundle| serde_json::to_string_pretty(b).unwrap_or_default();
        Ok(diff_lines(&pretty(&a), &pretty(&b)))
    }

    /// Makes `version`'s sites and pools current again, as a new version.
    pub async fn rollback(
        &self,
        tenant_id: &str,
        version: i64,
        author: &str,
    ) -> Result<i64, ConfigError> {
        let bundle = self.stored_version(tenant_id, version).await?;
        let mut items = Vec::new();
        for site in &bundle.sites {
            items.push(ConfigItem {
                kind: "site".into(),
                id: site.id.clone(),
                spec: serde_json::to_string(site).unwrap_or_default(),
            });
        }
        for pool in &bundle.pools {
            items.push(ConfigItem {
                kind: "pool".into(),
                id: pool.id.clone(),
                spec: serde_json::to_string(pool).unwrap_or_default(),
            });
        }
        self.save(
            tenant_id,
            &ConfigChange::ReplaceAll(items),
            &bundle,
            &format!("roll back to version {version}"),
            author,
        )
        .await
    }
}

/// What a redacted private key reads as (a fingerprint, so diffs show key changes).
const HIDDEN_KEY: &str = "(hidden; sha256 ";

/// Replaces every private key with a fingerprint, for showing a bundle to people (the API,
/// the UI, history and diffs). Private keys are write-only.
pub fn redact(mut bundle: Bundle) -> Bundle {
    for site in &mut bundle.sites {
        if let Some(key) = site.tls.as_mut().and_then(|t| t.key_pem.as_mut()) {
            let fingerprint = hash_token(key.expose());
            *key = Secret::new(format!("{HIDDEN_KEY}{})", &fingerprint[..16]));
        }
    }
    bundle
}

/// A certificate sent without its key (or with the redacted placeholder) keeps the stored key,
/// so what the API shows can be sent back.
fn keep_stored_key(site: &mut Site, current: &Bundle) {
    let Some(tls) = site.tls.as_mut() else {
        return;
    };
    let placeholder = tls
        .key_pem
        .as_ref()
        .is_some_and(|k| k.expose().starts_with(HIDDEN_KEY));
    if tls.cert_pem.is_some() && tls.key.is_none() && (tls.key_pem.is_none() || placeholder) {
        tls.key_pem = current
            .sites
            .iter()
            .find(|s| s.id == site.id)
            .and_then(|s| s.tls.as_ref())
            .and_then(|t| t.key_pem.clone());
    }
}

/// Portal rules on a site's certificate and maintenance page: the portal keeps their content
/// (a node's file paths mean nothing here), and a certificate must parse and match its key.
fn site_content_problems(site: &Site) -> Problems {
    let mut p = Problems::default();
    if site.error_page.is_some() {
        p.push(
            "error_page",
            "the portal keeps the page itself: send its HTML as error_page_html",
        );
    }
    let Some(tls) = &site.tls else {
        return p;
    };
    for (field, path) in [("tls.cert", &tls.cert), ("tls.key", &tls.key)] {
        if path.is_some() {
            p.push(
                field,
                format!("the portal keeps certificates itself: send the PEM text as {field}_pem"),
            );
        }
    }
    if let (Some(cert), Some(key)) = (&tls.cert_pem, &tls.key_pem) {
        let (cert, key) = (Pem::Text(cert), Pem::Text(key.expose()));
        if let Err((half, message)) = load_certified_key(&cert, &key) {
            p.push(format!("tls.{half}_pem"), message);
        }
    }
    p
}

/// Inserts or replaces `item` in `list` by id; returns its index.
fn place<T>(
    list: &mut Vec<T>,
    item: T,
    id: impl Fn(&T) -> &String,
    create: bool,
    kind: Kind,
) -> Result<usize, ConfigError> {
    let key = id(&item).clone();
    match list.iter().position(|x| *id(x) == key) {
        Some(_) if create => Err(ConfigError::Exists(kind.as_str(), key)),
        Some(i) => {
            list[i] = item;
            Ok(i)
        }
        None if !create => Err(ConfigError::NotFound),
        None => {
            list.push(item);
            Ok(list.len() - 1)
        }
    }
}

/// A line diff by longest common subsequence (inputs are small: one tenant's bundle).
pub fn diff_lines(a: &str, b: &str) -> Vec<DiffLine> {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    let (n, m) = (a.len(), b.len());
    if n.saturating_mul(m) > 4_000_000 {
        // Too big for the quadratic table: show it as replaced.
        let mut out: Vec<DiffLine> = a
            .iter()
            .map(|t| DiffLine {
                op: '-',
                text: t.to_string(),
            })
            .collect();
        out.extend(b.iter().map(|t| DiffLine {
            op: '+',
            text: t.to_string(),
        }));
        return out;
    }
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let line = |op, text: &str| DiffLine {
        op,
        text: text.to_string(),
    };
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n && j < m {
        if a[i] == b[j] {
            out.push(line(' ', a[i]));
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            out.push(line('-', a[i]));
            i += 1;
        } else {
            out.push(line('+', b[j]));
            j += 1;
        }
    }
    out.extend(a[i..].iter().map(|t| line('-', t)));
    out.extend(b[j..].iter().map(|t| line('+', t)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_marks_changed_lines() {
        let d = diff_lines("a\nb\nc\n", "a\nx\nc\nd\n");
        let ops: String = d.iter().map(|l| l.op).collect();
        assert_eq!(ops, " -+ +");
        assert_eq!(d[2].text, "x");
        assert_eq!(d[4].text, "d");
    }
}
