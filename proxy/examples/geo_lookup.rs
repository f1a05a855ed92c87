//! Measures the node's country lookup (`GeoDb::country`, the work done once per request for
//! sites with plugins) on a database the size of GeoLite2-Country, written on the spot.
//!
//! ```sh
//! CARGO_TARGET_DIR=... cargo run --release --workspace --example geo_lookup [NETWORKS] [LOOKUPS] [KEEP_AS]
//! ```
//! Prints the database size, the time to open it and the mean time per lookup; with
//! `KEEP_AS`, the database is also written there (for proxy benchmarks with `geo_db`).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;
use weir_proxy::geo::GeoDb;
use weir_testkit::mmdb::{write_country_db, RecordShape};

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let networks = arg(1, 300_000);
    let lookups = arg(2, 2_000_000);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let codes: Vec<String> = (0..250)
        .map(|i| {
            let a = char::from(b'A' + (i / 26) as u8);
            let b = char::from(b'A' + (i % 26) as u8);
            format!("{a}{b}")
        })
        .collect();
    // Random /24 networks (some overlap; later ones win, as in any real database).
    let nets: Vec<(String, &str)> = (0..networks)
        .map(|_| {
            let n = (rng.next() as u32) & 0xffff_ff00;
            let code = &codes[(rng.next() % 250) as usize];
            (format!("{}/24", Ipv4Addr::from(n)), code.as_str())
        })
        .collect();
    let pairs: Vec<(&str, &str)> = nets.iter().map(|(n, c)| (n.as_str(), *c)).collect();
    let started = Instant::now();
    let bytes = write_country_db(RecordShape::GeoIp2, &pairs);
    let write_ms = started.elapsed().as_secs_f64() * 1000.0;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("country.mmdb");
    std::fs::write(&path, &bytes)?;
    if let Some(keep) = std::env::args().nth(3) {
        std::fs::write(keep, &bytes)?;
    }

    let started = Instant::now();
    let db = GeoDb::open(&path)?;
    let open_ms = started.elapsed().as_secs_f64() * 1000.0;

    // Half the addresses inside written networks, half random (mostly unmapped).
    let addrs: Vec<IpAddr> = (0..4096)
        .map(|i| {
            let base = if i % 2 == 0 {
                nets[(rng.next() % nets.len() as u64) as usize]
                    .0
                    .trim_end_matches("/24")
                    .parse::<Ipv4Addr>()
                    .map_or(0, u32::from)
                    | (rng.next() as u32 & 0xff)
            } else {
                rng.next() as u32
            };
            IpAddr::V4(Ipv4Addr::from(base))
        })
        .collect();
    let mut found = 0usize;
    for ip in &addrs {
        found += usize::from(db.country(*ip).is_some());
    }
    let started = Instant::now();
    let mut hits = 0usize;
    for i in 0..lookups {
        hits += usize::from(db.country(addrs[i % addrs.len()]).is_some());
    }
    let per_lookup_ns = started.elapsed().as_nanos() as f64 / lookups as f64;
    println!(
        "networks written: {networks}; database: {} KiB (written in {write_ms:.0} ms); open: {open_ms:.1} ms",
        bytes.len() / 1024
    );
    println!(
        "lookups: {lookups}, {:.0}% with a country; mean {per_lookup_ns:.0} ns per lookup",
        100.0 * hits as f64 / lookups as f64
    );
    std::hint::black_box(found);
    Ok(())
}
