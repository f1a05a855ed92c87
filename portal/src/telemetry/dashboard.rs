//! A site's dashboard: its stored minutes from every node summed into time buckets (1 h: 60
//! one-minute buckets, 24 h: 96 of 15 minutes, 7 d: 84 of 2 hours, aligned to UTC so a
//! refresh moves them only when a bucket closes) with requests by class, errors, latency
//! percentiles from the summed histograms, and WAF blocks; plus the range's totals.
//! Countries and slow paths are each node-minute's top ten merged, so a long tail spread
//! thinly over many minutes can be missing from them.

use super::NodeStatus;
use crate::store::MinuteRow;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use utoipa::ToSchema;
use weir_bundle::telemetry::{latency_quantile, top_n, SlowPath, LATENCY_BUCKETS, TOP_N};

/// How far back a dashboard looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Range {
    #[serde(rename = "1h")]
    Hour,
    #[serde(rename = "24h")]
    Day,
    #[serde(rename = "7d")]
    Week,
}

impl Range {
    /// `1h`, `24h` or `7d`.
    pub fn parse(text: &str) -> Option<Range> {
        match text {
            "1h" => Some(Range::Hour),
            "24h" => Some(Range::Day),
            "7d" => Some(Range::Week),
            _ => None,
        }
    }

    /// The range as written in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Range::Hour => "1h",
            Range::Day => "24h",
            Range::Week => "7d",
        }
    }

    /// (minutes per bucket, buckets).
    fn shape(self) -> (i64, i64) {
        match self {
            Range::Hour => (1, 60),
            Range::Day => (15, 96),
            Range::Week => (120, 84),
        }
    }

    /// The minutes `from..to` shown when the current minute is `now`: whole buckets, the
    /// last one holding `now`.
    pub fn window(self, now: i64) -> (i64, i64) {
        let (size, count) = self.shape();
        let to = (now.div_euclid(size) + 1) * size;
        (to - size * count, to)
    }
}

/// One time bucket, all nodes together.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Bucket {
    /// Unix seconds of the bucket's start.
    pub t: i64,
    /// Requests by status class: 1xx, 2xx, 3xx, 4xx, 5xx.
    pub requests: [u64; 5],
    /// 5xx answers (and requests with no answer).
    pub errors: u64,
    /// Latency percentiles in microseconds (none without requests).
    pub p50_us: Option<u64>,
    pub p95_us: Option<u64>,
    pub p99_us: Option<u64>,
    /// WAF blocks, all categories.
    pub waf_blocks: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub plugin_failures: u64,
}

/// Requests from one country.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CountryCount {
    /// ISO code (`--`: unknown).
    pub country: String,
    pub requests: u64,
}

/// A path's time over the range.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PathTotal {
    pub path: String,
    pub count: u64,
    pub total_us: u64,
    pub max_us: u64,
    pub avg_us: u64,
}

/// The whole range.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Totals {
    pub requests: [u64; 5],
    pub errors: u64,
    pub p50_us: Option<u64>,
    pub p95_us: Option<u64>,
    pub p99_us: Option<u64>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub plugin_failures: u64,
    /// WAF blocks by category.
    pub waf_blocks: BTreeMap<String, u64>,
    /// The ten countries with the most requests.
    pub countries: Vec<CountryCount>,
    /// The ten paths with the most total time.
    pub slow_paths: Vec<PathTotal>,
}

/// A site's dashboard.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Dashboard {
    pub site: String,
    pub range: Range,
    /// Seconds per bucket.
    pub bucket_s: i64,
    /// Unix seconds: the first bucket's start and the last one's end.
    pub from: i64,
    pub to: i64,
    /// Oldest first.
    pub series: Vec<Bucket>,
    pub totals: Totals,
    /// The tenant's nodes that ever sent a heartbeat.
    pub nodes: Vec<NodeStatus>,
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn add_histogram(sum: &mut [u64], add: &[u64]) {
    for (s, a) in sum.iter_mut().zip(add) {
        *s = s.saturating_add(*a);
    }
}

/// (p50, p95, p99) of a histogram.
fn percentiles(h: &[u64]) -> [Option<u64>; 3] {
    [0.5, 0.95, 0.99].map(|q| latency_quantile(h, q))
}

impl Dashboard {
    /// Sums `rows` (minutes `from..` of one site) into `range`'s buckets and totals.
    pub fn build(
        site: &str,
        range: Range,
        from: i64,
        rows: &[MinuteRow],
        nodes: Vec<NodeStatus>,
    ) -> Dashboard {
        let (size, n) = range.shape();
        let mut series: Vec<Bucket> = (0..n)
            .map(|i| Bucket {
                t: (from + i * size) * 60,
                ..Bucket::default()
            })
            .collect();
        let mut histograms = vec![vec![0u64; LATENCY_BUCKETS]; series.len()];
        let mut all = vec![0u64; LATENCY_BUCKETS];
        let mut totals = Totals::default();
        let mut countries: HashMap<String, u64> = HashMap::new();
        let mut paths: HashMap<String, SlowPath> = HashMap::new();
        for row in rows {
            let Some(i) = usize::try_from((row.minute - from).div_euclid(size))
                .ok()
                .filter(|&i| i < series.len())
            else {
                continue;
            };
            let b = &mut series[i];
            let requests = [
                row.req_1xx,
                row.req_2xx,
                row.req_3xx,
                row.req_4xx,
                row.req_5xx,
            ];
            for (k, v) in requests.into_iter().enumerate() {
                b.requests[k] += count(v);
                totals.requests[k] += count(v);
            }
            b.bytes_in += count(row.bytes_in);
            b.bytes_out += count(row.bytes_out);
            b.plugin_failures += count(row.plugin_failures);
            let latency: Vec<u64> = serde_json::from_str(&row.latency).unwrap_or_default();
            add_histogram(&mut histograms[i], &latency);
            add_histogram(&mut all, &latency);
            let waf: BTreeMap<String, u64> =
                serde_json::from_str(&row.waf_blocks).unwrap_or_default();
            for (category, n) in waf {
                b.waf_blocks += n;
                *totals.waf_blocks.entry(category).or_default() += n;
            }
            let from_countries: BTreeMap<String, u64> =
                serde_json::from_str(&row.countries).unwrap_or_default();
            for (c, n) in from_countries {
                *countries.entry(c).or_default() += n;
            }
            let slow: Vec<SlowPath> = serde_json::from_str(&row.slow_paths).unwrap_or_default();
            for s in slow {
                let p = paths.entry(s.path).or_default();
                p.count += s.count;
                p.total_us = p.total_us.saturating_add(s.total_us);
                p.max_us = p.max_us.max(s.max_us);
            }
        }
        for (b, h) in series.iter_mut().zip(&histograms) {
            b.errors = b.requests[4];
            [b.p50_us, b.p95_us, b.p99_us] = percentiles(h);
            totals.bytes_in += b.bytes_in;
            totals.bytes_out += b.bytes_out;
            totals.plugin_failures += b.plugin_failures;
        }
        totals.errors = totals.requests[4];
        [totals.p50_us, totals.p95_us, totals.p99_us] = percentiles(&all);
        totals.countries = top_n(countries, TOP_N, |&n| n)
            .into_iter()
            .map(|(country, requests)| CountryCount { country, requests })
            .collect();
        totals.slow_paths = top_n(paths, TOP_N, |p| p.total_us)
            .into_iter()
            .map(|(path, p)| PathTotal {
                path,
                count: p.count,
                total_us: p.total_us,
                max_us: p.max_us,
                avg_us: p.total_us.checked_div(p.count).unwrap_or(0),
            })
            .collect();
        Dashboard {
            site: site.to_string(),
            range,
            bucket_s: size * 60,
            from: from * 60,
            to: (from + size * n) * 60,
            series,
            totals,
            nodes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_whole_buckets_ending_with_the_current_minute() {
        assert_eq!(Range::Hour.window(1000), (941, 1001));
        assert_eq!(Range::Day.window(1000), (1005 - 96 * 15, 1005));
        assert_eq!(Range::Week.window(1000), (1080 - 84 * 120, 1080));
        for r in ["1h", "24h", "7d"] {
            assert_eq!(Range::parse(r).map(Range::as_str), Some(r));
        }
        assert_eq!(Range::parse("2h"), None);
    }
}
