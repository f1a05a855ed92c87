//! Reading submitted forms: [`Fields`] (an urlencoded body as ordered pairs, with rows named
//! `backend[0].addr`), [`FieldErrors`] (messages by field path, the same paths the bundle's
//! validation reports, so a problem lands next to its input), [`FormView`] (a form as shown
//! again) and small parsers.

use super::render::UiError;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use weir_bundle::Problems;

/// A submitted urlencoded form.
#[derive(Debug, Default)]
pub struct Fields(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = UiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, UiError> {
        match axum::Form::<Vec<(String, String)>>::from_request(req, state).await {
            Ok(axum::Form(pairs)) => Ok(Fields(pairs)),
            Err(e) => Err(UiError::Refused(StatusCode::BAD_REQUEST, e.body_text())),
        }
    }
}

impl Fields {
    /// The first value of `name` (empty when absent).
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Rows named `prefix[N].key`, in order of N (gaps are fine: rows removed in the page).
    pub fn rows(&self, prefix: &str) -> Vec<BTreeMap<String, String>> {
        let mut rows: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix(prefix).and_then(|r| r.strip_prefix('[')) else {
                continue;
            };
            let Some((index, key)) = rest.split_once("].") else {
                continue;
            };
            let Ok(index) = index.parse::<usize>() else {
                continue;
            };
            if index > 10_000 {
                continue;
            }
            rows.entry(index)
                .or_default()
                .entry(key.to_string())
                .or_insert_with(|| v.clone());
        }
        rows.into_values().collect()
    }
}

/// Error messages by field path; `_form` holds those that belong to no input.
#[derive(Debug, Default, Serialize)]
pub struct FieldErrors(pub BTreeMap<String, Vec<String>>);

/// The key of messages shown at the top of a form.
pub const TOP: &str = "_form";

impl FieldErrors {
    /// Adds `message` at `field`.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(message.into());
    }

    /// Just `message` at `field`.
    pub fn one(field: impl Into<String>, message: impl Into<String>) -> FieldErrors {
        let mut e = FieldErrors::default();
        e.add(field, message);
        e
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Places each problem at the input `place` names for its path, or at the top.
    pub fn from_problems(
        problems: &Problems,
        place: impl Fn(&str) -> Option<String>,
    ) -> FieldErrors {
        let mut e = FieldErrors::default();
        for p in &problems.0 {
            match place(&p.field) {
                Some(field) => e.add(field, p.message.clone()),
                None if p.field.is_empty() => e.add(TOP, p.message.clone()),
                None => e.add(TOP, format!("{}: {}", p.field, p.message)),
            }
        }
        e
    }
}

/// A form as a page shows it: the values in its inputs, the messages next to them, and the
/// status the page answers with.
#[derive(Debug)]
pub struct FormView {
    pub status: StatusCode,
    /// The inputs' values, a JSON object.
    pub values: Value,
    pub errors: FieldErrors,
}

impl FormView {
    /// A fresh form (200).
    pub fn blank(values: Value) -> FormView {
        FormView::new(StatusCode::OK, values, FieldErrors::default())
    }

    /// A form shown again with what was wrong.
    pub fn new(status: StatusCode, values: Value, errors: FieldErrors) -> FormView {
        FormView {
            status,
            values,
            errors,
        }
    }

    /// A refused form (422) with what was wrong.
    pub fn refused(values: Value, errors: FieldErrors) -> FormView {
        FormView::new(StatusCode::UNPROCESSABLE_ENTITY, values, errors)
    }
}

/// `value` as a number for `field`, or a message next to it; `None` for an empty value.
pub fn number<T: std::str::FromStr>(
    errors: &mut FieldErrors,
    field: &str,
    value: &str,
) -> Option<T> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    match value.parse::<T>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.add(field, format!("`{value}` is not a valid number here"));
            None
        }
    }
}

/// Percent-encodes everything but unreserved characters (for a query value).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where to go after signing in: a path on this site, else `/`.
pub fn safe_next(next: &str) -> &str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.bytes().any(|b| b < 0x20 || b == 0x7f || b == b'\\');
    if ok {
        next
    } else {
        "/"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_group_by_index_in_order_and_skip_junk() {
        let f = Fields(vec![
            ("backend[3].addr".into(), "b:2".into()),
            ("backend[0].addr".into(), "a:1".into()),
            ("backend[0].tls".into(), "on".into()),
            ("backend[x].addr".into(), "junk".into()),
            ("backend[99999].addr".into(), "too far".into()),
            ("backends[1].addr".into(), "other".into()),
        ]);
        let rows = f.rows("backend");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["addr"], "a:1");
        assert_eq!(rows[0]["tls"], "on");
        assert_eq!(rows[1]["addr"], "b:2");
    }

    #[test]
    fn only_local_next_targets() {
        assert_eq!(safe_next("/t/x/sites?a=1"), "/t/x/sites?a=1");
        for bad in [
            "https://evil.test",
            "//evil.test",
            "/\\evil.test",
            "",
            "javascript:x",
            "/a\nb",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
        assert_eq!(url_encode("/t/a b?c=d&e"), "/t/a%20b%3Fc%3Dd%26e");
    }
}
