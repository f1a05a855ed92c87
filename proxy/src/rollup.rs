//! Per-site, per-minute traffic rollups for the portal's heartbeats (`weir_bundle::telemetry`):
//! the request path records into them, the node agent sends [`Rollups::pending`] and then
//! forgets what the portal took with [`Rollups::delivered`].
//!
//! Sites are spread over a few shards, each behind one short lock; recording a request into a
//! minute that exists allocates nothing unless the request's path (or country) is new in that
//! minute. Memory is bounded: [`MAX_PENDING_MINUTES`] minutes per site (the oldest is dropped,
//! with one warning), [`MAX_KEYS`] distinct paths and countries per minute (further paths count
//! as `(other)`), and the top [`TOP_N`] of each are sent.
//!
//! A minute that was delivered and forgotten never comes back: a request recorded late (its
//! clock read just before the minute turned) is counted in the next pending minute instead,
//! because the portal replaces a stored minute with what it is sent.

use parking_lot::Mutex;
use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
use weir_bundle::telemetry::{
    latency_bucket, top_n, SiteMinute, SlowPath, LATENCY_BUCKETS, MAX_ENTRIES, MAX_MINUTES, TOP_N,
};

/// Minutes kept per site while the portal is away (two hours).
pub const MAX_PENDING_MINUTES: usize = 120;
/// Distinct paths (and countries) counted per site-minute.
pub const MAX_KEYS: usize = 1000;
/// Longer paths are cut to this many bytes (at a character boundary).
const MAX_PATH_BYTES: usize = 256;
/// Where paths beyond [`MAX_KEYS`] are counted.
const OTHER_PATHS: &str = "(other)";
/// Where WAF categories beyond [`MAX_ENTRIES`] are counted.
const OTHER_CATEGORY: &str = "other";
/// Longest country code or WAF category kept.
const MAX_KEY_BYTES: usize = 64;
const SHARDS: usize = 16;
/// A site with nothing pending is forgotten this many minutes after its last delivered one.
const FORGET_IDLE_MINUTES: i64 = 3;

/// The node's rollups (shared by the request path, plugins and the agent).
pub struct Rollups {
    shards: Box<[Mutex<HashMap<String, SiteRollup>>]>,
    hasher: RandomState,
    warned_drop: AtomicBool,
    /// The current minute ([`current_minute`]; tests set their own).
    clock: Box<dyn Fn() -> i64 + Send + Sync>,
}

impl std::fmt::Debug for Rollups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rollups").finish_non_exhaustive()
    }
}

impl Default for Rollups {
    fn default() -> Self {
        Self::new()
    }
}

/// One site's pending minutes, oldest first.
struct SiteRollup {
    minutes: VecDeque<Minute>,
    /// Minutes up to this one were delivered (or dropped): nothing is recorded into them.
    settled_through: i64,
}

/// One site-minute being counted.
struct Minute {
    minute: i64,
    requests: [u64; 5],
    bytes_in: u64,
    bytes_out: u64,
    latency: [u64; LATENCY_BUCKETS],
    plugin_failures: u64,
    waf_blocks: HashMap<String, u64>,
    countries: HashMap<String, u64>,
    paths: HashMap<String, PathTime>,
}

#[derive(Default, Clone, Copy)]
struct PathTime {
    count: u64,
    total_us: u64,
    max_us: u64,
}

/// Everything counted in a minute that only grows: two snapshots with the same total are the
/// same (every recording adds at least one to it).
fn events(requests: &[u64; 5], plugin_failures: u64, waf: impl Iterator<Item = u64>) -> u64 {
    requests
        .iter()
        .copied()
        .chain(waf)
        .fold(plugin_failures, u64::saturating_add)
}

/// The index of a status's class in `requests` (no response, or a strange one, is 5xx).
fn class_index(status: u16) -> usize {
    match status {
        100..=199 => 0,
        200..=299 => 1,
        300..=399 => 2,
        400..=499 => 3,
        _ => 4,
    }
}

/// `text` cut to at most `max` bytes at a character boundary.
fn clip(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

/// Adds `n` to `key`, inserting it while the map has fewer than `cap` keys and counting it
/// under `other` beyond that.
fn add_capped(map: &mut HashMap<String, u64>, key: &str, n: u64, cap: usize, other: &str) {
    if let Some(v) = map.get_mut(key) {
        *v = v.saturating_add(n);
    } else {
        let key = if map.len() < cap { key } else { other };
        let v = map.entry(key.to_string()).or_default();
        *v = v.saturating_add(n);
    }
}

impl Minute {
    fn new(minute: i64) -> Minute {
        Minute {
            minute,
            requests: [0; 5],
            bytes_in: 0,
            bytes_out: 0,
            latency: [0; LATENCY_BUCKETS],
            plugin_failures: 0,
            waf_blocks: HashMap::new(),
            countries: HashMap::new(),
            paths: HashMap::new(),
        }
    }

    fn events(&self) -> u64 {
        events(
            &self.requests,
            self.plugin_failures,
            self.waf_blocks.values().copied(),
        )
    }

    fn add_path(&mut self, path: &str, latency_us: u64) {
        let path = clip(path, MAX_PATH_BYTES);
        let entry = match self.paths.get_mut(path) {
            Some(e) => e,
            None => {
                let key = if self.paths.len() < MAX_KEYS {
                    path
                } else {
                    OTHER_PATHS
                };
                self.paths.entry(key.to_string()).or_default()
            }
        };
        entry.count += 1;
        entry.total_us = entry.total_us.saturating_add(latency_us);
        entry.max_us = entry.max_us.max(latency_us);
    }

    fn snapshot(&self, site: &str) -> SiteMinute {
        let used = self
            .latency
            .iter()
            .rposition(|&n| n > 0)
            .map_or(0, |i| i + 1);
        SiteMinute {
            site: site.to_string(),
            minute: self.minute,
            requests: self.requests,
            bytes_in: self.bytes_in,
            bytes_out: self.bytes_out,
            latency: self.latency[..used].to_vec(),
            plugin_failures: self.plugin_failures,
            waf_blocks: self
                .waf_blocks
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            countries: top_n(&self.countries, TOP_N, |&&n| n)
                .into_iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect::<BTreeMap<_, _>>(),
            slow_paths: top_n(&self.paths, TOP_N, |p| p.total_us)
                .into_iter()
                .map(|(path, p)| SlowPath {
                    path: path.clone(),
                    count: p.count,
                    total_us: p.total_us,
                    max_us: p.max_us,
                })
                .collect(),
        }
    }
}

impl SiteRollup {
    fn new() -> SiteRollup {
        SiteRollup {
            minutes: VecDeque::new(),
            settled_through: i64::MIN,
        }
    }

    /// The pending minute `minute` (or the next one still pending, when it was settled),
    /// created if needed; true when the oldest minute had to be dropped to make room.
    fn minute_mut(&mut self, minute: i64) -> (&mut Minute, bool) {
        let mut minute = minute.max(self.settled_through + 1);
        let mut dropped = false;
        if let Err(at) = self.minutes.binary_search_by_key(&minute, |m| m.minute) {
            if self.minutes.len() >= MAX_PENDING_MINUTES {
                if let Some(oldest) = self.minutes.pop_front() {
                    self.settled_through = self.settled_through.max(oldest.minute);
                    dropped = true;
                }
                minute = minute.max(self.settled_through + 1);
            }
            let at = if dropped { at.saturating_sub(1) } else { at };
            if self.minutes.get(at).map(|m| m.minute) != Some(minute) {
                self.minutes.insert(at, Minute::new(minute));
            }
        }
        let at = self
            .minutes
            .binary_search_by_key(&minute, |m| m.minute)
            .unwrap_or_else(|at| at.min(self.minutes.len().saturating_sub(1)));
        // Present: it was found or inserted just above.
        (&mut self.minutes[at], dropped)
    }
}

/// The current UTC minute (Unix seconds / 60).
pub fn current_minute() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| (d.as_secs() / 60) as i64)
}

/// The WAF category of a plugin metric `waf_block_<category>_<rule id>`.
fn waf_category(metric: &str) -> Option<&str> {
    let rest = metric.strip_prefix("waf_block_")?;
    let (category, rule) = rest.rsplit_once('_')?;
    let is_rule = !rule.is_empty() && rule.bytes().all(|b| b.is_ascii_digit());
    (is_rule && !category.is_empty()).then_some(category)
}

impl Rollups {
    /// Empty rollups on the wall clock.
    pub fn new() -> Rollups {
        Rollups::with_clock(current_minute)
    }

    /// Empty rollups whose current minute is `clock()`.
    pub fn with_clock(clock: impl Fn() -> i64 + Send + Sync + 'static) -> Rollups {
        Rollups {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            warned_drop: AtomicBool::new(false),
            clock: Box::new(clock),
        }
    }

    fn shard(&self, site: &str) -> &Mutex<HashMap<String, SiteRollup>> {
        &self.shards[(self.hasher.hash_one(site) as usize) % SHARDS]
    }

    /// Runs `f` on `site`'s pending current minute under its shard's lock.
    fn with_minute(&self, site: &str, f: impl FnOnce(&mut Minute)) {
        let minute = (self.clock)();
        let mut sites = self.shard(site).lock();
        if !sites.contains_key(site) {
            sites.insert(site.to_string(), SiteRollup::new());
        }
        let Some(rollup) = sites.get_mut(site) else {
            return;
        };
        let (m, dropped) = rollup.minute_mut(minute);
        f(m);
        drop(sites);
        if dropped && !self.warned_drop.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                site,
                kept = MAX_PENDING_MINUTES,
                "the portal has not taken the traffic rollups for a while; the oldest minutes are dropped (warned once)"
            );
        }
    }

    /// Records a finished request of `site` now. `status` 0 (no response) counts as 5xx;
    /// `country` is `None` when the node has no geo database (`--`: not known).
    #[allow(clippy::too_many_arguments)]
    pub fn record_request(
        &self,
        site: &str,
        status: u16,
        latency_us: u64,
        bytes_in: u64,
        bytes_out: u64,
        path: &str,
        country: Option<&str>,
    ) {
        self.with_minute(site, |m| {
            m.requests[class_index(status)] += 1;
            m.bytes_in = m.bytes_in.saturating_add(bytes_in);
            m.bytes_out = m.bytes_out.saturating_add(bytes_out);
            m.latency[latency_bucket(latency_us)] += 1;
            m.add_path(path, latency_us);
            if let Some(c) = country {
                add_capped(&mut m.countries, clip(c, MAX_KEY_BYTES), 1, MAX_KEYS, "--");
            }
        });
    }

    /// Records a failed plugin call of `site` now.
    pub fn record_plugin_failure(&self, site: &str) {
        self.with_minute(site, |m| m.plugin_failures += 1);
    }

    /// Records a plugin counter of `site` now: `waf_block_<category>_<rule id>` counts `n` WAF
    /// blocks of the category; other names are not rolled up.
    pub fn record_plugin_metric(&self, site: &str, name: &str, n: u64) {
        let Some(category) = waf_category(name) else {
            return;
        };
        if n == 0 {
            return;
        }
        self.with_minute(site, |m| {
            add_capped(
                &mut m.waf_blocks,
                clip(category, MAX_KEY_BYTES),
                n,
                MAX_ENTRIES,
                OTHER_CATEGORY,
            );
        });
    }

    /// Every undelivered site-minute, the current ones included, oldest first (by minute, then
    /// site); at most [`MAX_MINUTES`] (what the portal takes in one heartbeat) — a longer
    /// backlog goes out oldest first over the next heartbeats.
    pub fn pending(&self) -> Vec<SiteMinute> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let sites = shard.lock();
            for (site, rollup) in sites.iter() {
                out.extend(rollup.minutes.iter().map(|m| m.snapshot(site)));
            }
        }
        out.sort_by(|a, b| a.minute.cmp(&b.minute).then_with(|| a.site.cmp(&b.site)));
        out.truncate(MAX_MINUTES);
        out
    }

    /// Forgets the minutes the portal took: each of `sent` that is closed (before the current
    /// minute) and has not changed since it was sent. The current minute, and a minute that
    /// changed after the snapshot, stay pending and go out again.
    pub fn delivered(&self, sent: &[SiteMinute]) {
        let now = (self.clock)();
        for s in sent.iter().filter(|s| s.minute < now) {
            let mut sites = self.shard(&s.site).lock();
            let Some(rollup) = sites.get_mut(s.site.as_str()) else {
                continue;
            };
            let Ok(at) = rollup.minutes.binary_search_by_key(&s.minute, |m| m.minute) else {
                continue;
            };
            let sent_events = events(
                &s.requests,
                s.plugin_failures,
                s.waf_blocks.values().copied(),
            );
            if rollup.minutes[at].events() == sent_events {
                rollup.minutes.remove(at);
                rollup.settled_through = rollup.settled_through.max(s.minute);
            }
        }
        for shard in self.shards.iter() {
            shard.lock().retain(|_, r| {
                !r.minutes.is_empty() || r.settled_through >= now - FORGET_IDLE_MINUTES
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicI64;
    use std::sync::Arc;

    /// Rollups on a clock the test sets.
    struct Clocked {
        r: Rollups,
        now: Arc<AtomicI64>,
    }

    impl std::ops::Deref for Clocked {
        type Target = Rollups;
        fn deref(&self) -> &Rollups {
            &self.r
        }
    }

    impl Clocked {
        fn new() -> Clocked {
            let now = Arc::new(AtomicI64::new(0));
            let clock = Arc::clone(&now);
            Clocked {
                r: Rollups::with_clock(move || clock.load(Ordering::Relaxed)),
                now,
            }
        }

        fn at(&self, minute: i64) -> &Rollups {
            self.now.store(minute, Ordering::Relaxed);
            &self.r
        }
    }

    fn req(r: &Clocked, minute: i64, site: &str, status: u16, us: u64, path: &str) {
        r.at(minute)
            .record_request(site, status, us, 10, 100, path, Some("DE"));
    }

    #[test]
    fn requests_are_counted_per_site_and_minute() {
        let r = Clocked::new();
        req(&r, 100, "a", 200, 1_000, "/x");
        req(&r, 100, "a", 503, 5_000, "/y");
        req(&r, 100, "a", 0, 50, "/y");
        req(&r, 101, "a", 301, 100, "/x");
        req(&r, 100, "b", 404, 100, "/z");
        let p = r.pending();
        let keys: Vec<_> = p.iter().map(|m| (m.minute, m.site.as_str())).collect();
        assert_eq!(keys, [(100, "a"), (100, "b"), (101, "a")]);
        let a = &p[0];
        assert_eq!(a.requests, [0, 1, 0, 0, 2]);
        assert_eq!((a.bytes_in, a.bytes_out), (30, 300));
        assert_eq!(a.latency.iter().sum::<u64>(), 3);
        assert_eq!(
            a.latency.len(),
            latency_bucket(5_000) + 1,
            "trailing zeros cut"
        );
        assert_eq!(a.countries.get("DE"), Some(&3));
        assert_eq!(a.slow_paths[0].path, "/y");
        assert_eq!(
            (
                a.slow_paths[0].count,
                a.slow_paths[0].total_us,
                a.slow_paths[0].max_us
            ),
            (2, 5_050, 5_000)
        );
        assert_eq!(p[1].requests, [0, 0, 0, 1, 0]);
        assert_eq!(p[2].requests, [0, 0, 1, 0, 0]);
    }

    #[test]
    fn delivered_keeps_the_current_minute_and_changed_minutes() {
        let r = Clocked::new();
        req(&r, 100, "a", 200, 1_000, "/");
        req(&r, 101, "a", 200, 1_000, "/");
        req(&r, 100, "b", 200, 1_000, "/");
        let sent = r.pending();
        assert_eq!(sent.len(), 3);
        // Minute 100 of site b changes after the snapshot.
        req(&r, 100, "b", 500, 1_000, "/");
        r.at(101).delivered(&sent);
        let left = r.pending();
        let keys: Vec<_> = left.iter().map(|m| (m.minute, m.site.as_str())).collect();
        assert_eq!(keys, [(100, "b"), (101, "a")], "changed and current stay");
        assert_eq!(left[0].requests, [0, 1, 0, 0, 1], "sent again whole");
        // A late request for the delivered minute 100 of site a goes to the next pending one.
        req(&r, 100, "a", 200, 1_000, "/late");
        let a101 = r
            .pending()
            .into_iter()
            .find(|m| m.site == "a")
            .expect("a's pending minute");
        assert_eq!((a101.minute, a101.requests[1]), (101, 2));
        // Once the minute closes, it is forgotten.
        let sent = r.pending();
        r.at(102).delivered(&sent);
        assert!(r.pending().is_empty());
    }

    #[test]
    fn pending_minutes_per_site_are_capped_oldest_dropped() {
        let r = Clocked::new();
        for minute in 0..(MAX_PENDING_MINUTES as i64 + 5) {
            req(&r, minute, "a", 200, 10, "/");
        }
        let p = r.pending();
        assert_eq!(p.len(), MAX_PENDING_MINUTES);
        assert_eq!(p[0].minute, 5);
        // A request for a dropped minute lands in the oldest one still pending.
        req(&r, 2, "a", 200, 10, "/");
        let p = r.pending();
        assert_eq!(p.len(), MAX_PENDING_MINUTES);
        assert_eq!((p[0].minute, p[0].requests[1]), (5, 2));
    }

    #[test]
    fn a_heartbeat_carries_at_most_max_minutes() {
        let r = Clocked::new();
        for site in 0..6 {
            for minute in 0..100 {
                req(&r, minute, &format!("s{site}"), 200, 10, "/");
            }
        }
        let p = r.pending();
        assert_eq!(p.len(), MAX_MINUTES);
        assert!(p.windows(2).all(|w| w[0].minute <= w[1].minute));
        assert_eq!(p.last().map(|m| m.minute), Some(83));
    }

    #[test]
    fn paths_and_countries_are_capped_and_the_top_ten_sent() {
        let r = Clocked::new();
        for i in 0..(MAX_KEYS as u64 + 200) {
            r.at(7).record_request(
                "a",
                200,
                i + 1,
                0,
                0,
                &format!("/p{i}"),
                Some(&format!("C{i}")),
            );
        }
        let long = "/é".repeat(400);
        r.at(7).record_request("a", 200, 1, 0, 0, &long, None);
        let p = r.pending();
        let m = &p[0];
        assert_eq!(m.requests[1], MAX_KEYS as u64 + 201);
        assert_eq!(m.slow_paths.len(), TOP_N);
        assert_eq!(m.countries.len(), TOP_N);
        // The 200 paths beyond the cap (the slowest ones) add up under "(other)".
        assert_eq!(m.slow_paths[0].path, OTHER_PATHS);
        assert_eq!(m.slow_paths[0].count, 201);
        assert_eq!(m.countries.get("--"), Some(&200));
        let inner = r.shards.iter().map(|s| s.lock()).find_map(|sites| {
            sites
                .get("a")
                .map(|a| (a.minutes[0].paths.len(), a.minutes[0].countries.len()))
        });
        assert_eq!(inner, Some((MAX_KEYS + 1, MAX_KEYS + 1)));
        assert!(m.slow_paths.iter().all(|s| s.path.len() <= MAX_PATH_BYTES));
    }

    #[test]
    fn waf_blocks_come_from_plugin_metrics() {
        assert_eq!(waf_category("waf_block_sqli_942100"), Some("sqli"));
        assert_eq!(
            waf_category("waf_block_protocol_attack_921110"),
            Some("protocol_attack")
        );
        assert_eq!(waf_category("waf_detect_sqli_942100"), None);
        assert_eq!(waf_category("waf_block_sqli"), None);
        assert_eq!(waf_category("waf_block__1"), None);
        assert_eq!(waf_category("waf_block_xss_"), None);
        let r = Clocked::new();
        r.at(3)
            .record_plugin_metric("a", "waf_block_sqli_942100", 2);
        r.at(3)
            .record_plugin_metric("a", "waf_block_sqli_942101", 1);
        r.at(3)
            .record_plugin_metric("a", "waf_block_protocol_attack_921110", 1);
        r.at(3).record_plugin_metric("a", "cache_hit", 5);
        r.at(3).record_plugin_metric("a", "waf_block_xss_941100", 0);
        for i in 0..(MAX_ENTRIES + 3) {
            r.at(3)
                .record_plugin_metric("b", &format!("waf_block_c{i}x_1"), 1);
        }
        let p = r.pending();
        let a = &p[0];
        assert_eq!(a.waf_blocks.get("sqli"), Some(&3));
        assert_eq!(a.waf_blocks.get("protocol_attack"), Some(&1));
        assert_eq!(a.waf_blocks.len(), 2);
        let b = &p[1];
        assert_eq!(b.waf_blocks.len(), MAX_ENTRIES + 1);
        assert_eq!(b.waf_blocks.get(OTHER_CATEGORY), Some(&3));
    }

    #[test]
    fn plugin_failures_count_and_a_changed_minute_is_not_forgotten() {
        let r = Clocked::new();
        r.at(5).record_plugin_metric("a", "waf_block_xss_941100", 1);
        let sent = r.pending();
        r.at(5).record_plugin_metric("a", "waf_block_xss_941100", 1);
        r.at(9).delivered(&sent);
        assert_eq!(r.pending()[0].waf_blocks.get("xss"), Some(&2));
        r.record_plugin_failure("a");
        assert!(r.pending().iter().any(|m| m.plugin_failures == 1));
    }
}
