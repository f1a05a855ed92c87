//! Native throughput of the minifiers on the test pages (the baseline for the Wasm numbers in
//! docs/benchmarks.md). Run: `cargo test -p minify --release --target x86_64-unknown-linux-gnu
//! -- --ignored --nocapture bench`.
use crate::config::{Config, Kind};
use crate::correctness::{page, PAGES};
use crate::{minify_body, Outcome};
use std::time::{Duration, Instant};

/// Minifies `text` repeatedly for at least `min` and returns (output bytes, MB/s).
fn measure(kind: Kind, text: &str, min: Duration) -> (usize, f64) {
    let config = Config::default();
    let size = |o: Outcome| match o {
        Outcome::Smaller(out) => out.len(),
        _ => text.len(),
    };
    let out = size(minify_body(kind, &config, text.as_bytes()));
    let started = Instant::now();
    let mut runs = 0u32;
    while started.elapsed() < min || runs < 10 {
        std::hint::black_box(minify_body(
            kind,
            &config,
            std::hint::black_box(text.as_bytes()),
        ));
        runs += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    (out, text.len() as f64 * f64::from(runs) / secs / 1e6)
}

#[test]
#[ignore = "benchmark; run in release with --ignored --nocapture"]
fn bench_native_throughput() {
    let mut files: Vec<(&str, Kind)> = PAGES.iter().map(|p| (*p, Kind::Html)).collect();
    files.extend([
        ("site.css", Kind::Css),
        ("app.js", Kind::Js),
        ("products.json", Kind::Json),
    ]);
    println!("| file | bytes | minified | saved | native MB/s |\n|---|---:|---:|---:|---:|");
    for (name, kind) in files {
        let text = page(name);
        let (out, mbps) = measure(kind, &text, Duration::from_millis(500));
        let saved = 100.0 * (text.len() - out) as f64 / text.len() as f64;
        println!(
            "| {name} | {} | {out} | {saved:.1} % | {mbps:.1} |",
            text.len()
        );
    }
}
