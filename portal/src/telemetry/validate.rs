//! What the portal refuses in a heartbeat (422, each problem naming its field): more than
//! [`MAX_MINUTES`] minutes, a minute more than [`MAX_MINUTE_SKEW`] from the portal's clock, a
//! latency histogram longer than [`LATENCY_BUCKETS`], strings over [`MAX_TEXT`] bytes, maps
//! and lists over [`MAX_ENTRIES`] entries. Limits shared with the node (`weir_bundle::telemetry`).

use weir_bundle::telemetry::{
    Heartbeat, SiteMinute, LATENCY_BUCKETS, MAX_ENTRIES, MAX_MINUTES, MAX_MINUTE_SKEW, MAX_TEXT,
};
use weir_bundle::Problems;

/// At most this many problems are reported.
const MAX_PROBLEMS: usize = 20;

/// A stored string: at most [`MAX_TEXT`] bytes, no NUL (a PostgreSQL text cannot hold one).
fn text(p: &mut Problems, field: impl FnOnce() -> String, value: &str) {
    if value.len() > MAX_TEXT {
        p.push(field(), format!("must be at most {MAX_TEXT} bytes"));
    } else if value.contains('\0') {
        p.push(field(), "must not contain NUL characters");
    }
}

fn keys<'a>(
    p: &mut Problems,
    field: &str,
    len: usize,
    mut names: impl Iterator<Item = &'a String>,
) {
    if len > MAX_ENTRIES {
        p.push(field, format!("must have at most {MAX_ENTRIES} entries"));
    } else if names.any(|k| k.is_empty() || k.len() > MAX_TEXT) {
        p.push(field, format!("keys must be 1-{MAX_TEXT} bytes"));
    }
}

fn minute(p: &mut Problems, i: usize, m: &SiteMinute, now_minute: i64) {
    let at = |name: &str| format!("minutes[{i}].{name}");
    if m.site.is_empty() || m.site.len() > MAX_TEXT {
        p.push(at("site"), format!("must be 1-{MAX_TEXT} bytes"));
    }
    if m.minute.abs_diff(now_minute) > MAX_MINUTE_SKEW.unsigned_abs() {
        p.push(
            at("minute"),
            format!(
                "must be within {} days of the portal's clock (Unix minutes; now {now_minute})",
                MAX_MINUTE_SKEW / (24 * 60)
            ),
        );
    }
    if m.latency.len() > LATENCY_BUCKETS {
        p.push(
            at("latency"),
            format!("must have at most {LATENCY_BUCKETS} buckets"),
        );
    }
    keys(
        p,
        &at("waf_blocks"),
        m.waf_blocks.len(),
        m.waf_blocks.keys(),
    );
    keys(p, &at("countries"), m.countries.len(), m.countries.keys());
    if m.slow_paths.len() > MAX_ENTRIES {
        p.push(
            at("slow_paths"),
            format!("must have at most {MAX_ENTRIES} entries"),
        );
    } else {
        for (j, s) in m.slow_paths.iter().enumerate() {
            text(p, || at(&format!("slow_paths[{j}].path")), &s.path);
        }
    }
}

/// Every problem of `beat` (empty: acceptable) with the portal's clock at `now_minute`.
pub fn validate(beat: &Heartbeat, now_minute: i64) -> Problems {
    let mut p = Problems::default();
    if beat.bundle_version < 0 {
        p.push("bundle_version", "must be 0 or more");
    }
    text(&mut p, || "bundle_hash".into(), &beat.bundle_hash);
    text(&mut p, || "weir_version".into(), &beat.weir_version);
    if let Some(e) = &beat.apply_error {
        text(&mut p, || "apply_error".into(), e);
    }
    if beat.minutes.len() > MAX_MINUTES {
        p.push(
            "minutes",
            format!(
                "at most {MAX_MINUTES} minutes per heartbeat (got {}); send the rest in the next one",
                beat.minutes.len()
            ),
        );
        return p;
    }
    for (i, m) in beat.minutes.iter().enumerate() {
        if p.0.len() >= MAX_PROBLEMS {
            break;
        }
        minute(&mut p, i, m, now_minute);
    }
    p.0.truncate(MAX_PROBLEMS);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_bundle::telemetry::SlowPath;

    fn fields(beat: &Heartbeat) -> Vec<String> {
        validate(beat, 1_000_000)
            .0
            .into_iter()
            .map(|p| p.field)
            .collect()
    }

    #[test]
    fn a_sane_heartbeat_passes() {
        let beat = Heartbeat {
            bundle_version: 3,
            minutes: vec![SiteMinute {
                site: "shop".into(),
                minute: 1_000_000 - 5,
                latency: vec![1; LATENCY_BUCKETS],
                ..SiteMinute::default()
            }],
            ..Heartbeat::default()
        };
        assert!(fields(&beat).is_empty());
    }

    #[test]
    fn each_limit_names_its_field() {
        let long = "x".repeat(MAX_TEXT + 1);
        let many: std::collections::BTreeMap<String, u64> =
            (0..=MAX_ENTRIES).map(|i| (format!("k{i}"), 1)).collect();
        let beat = Heartbeat {
            bundle_version: -1,
            weir_version: long.clone(),
            bundle_hash: "ab\0".into(),
            apply_error: Some(long.clone()),
            minutes: vec![
                SiteMinute {
                    site: String::new(),
                    minute: 1_000_000 + MAX_MINUTE_SKEW + 1,
                    latency: vec![0; LATENCY_BUCKETS + 1],
                    waf_blocks: many.clone(),
                    countries: [(String::new(), 1)].into(),
                    ..SiteMinute::default()
                },
                SiteMinute {
                    site: "shop".into(),
                    minute: 1_000_000 - MAX_MINUTE_SKEW - 1,
                    slow_paths: vec![SlowPath {
                        path: long,
                        ..SlowPath::default()
                    }],
                    ..SiteMinute::default()
                },
            ],
            ..Heartbeat::default()
        };
        assert_eq!(
            fields(&beat),
            [
                "bundle_version",
                "bundle_hash",
                "weir_version",
                "apply_error",
                "minutes[0].site",
                "minutes[0].minute",
                "minutes[0].latency",
                "minutes[0].waf_blocks",
                "minutes[0].countries",
                "minutes[1].minute",
                "minutes[1].slow_paths[0].path",
            ]
        );
        let beat = Heartbeat {
            minutes: vec![SiteMinute::default(); MAX_MINUTES + 1],
            ..Heartbeat::default()
        };
        assert_eq!(fields(&beat), ["minutes"]);
    }
}
